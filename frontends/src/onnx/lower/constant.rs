//! ONNX Constant: binds its output name to a module constant (its `const` node is emitted
//! at first use).

use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use crate::onnx::tensor::tensor_from_proto;
use qcc_ir::{Data, Dim, Op, Tensor};

/// ONNX Constant (value, value_float(s), value_int(s)).
pub(crate) fn constant(ctx: &mut NodeCtx) -> LResult<()> {
    if ctx.num_inputs() != 0 {
        bail!("expected 0 inputs, got {}", ctx.num_inputs());
    }
    let a = ctx.attrs();
    let names: Vec<&str> = a.names().collect();
    if names.len() != 1 {
        bail!("expected exactly one value attribute, got {names:?}");
    }
    let t = match names[0] {
        "value" => {
            let p = a.tensor("value")?.expect("present");
            let mut p = p.clone();
            if p.name.is_empty() {
                p.name = ctx.output_name(0).unwrap_or("").to_string();
            }
            tensor_from_proto(&p, "constant").map_err(LowerError::Msg)?
        }
        "value_float" => Tensor::new(
            vec![],
            Data::F32(vec![a.float("value_float")?.expect("present")]),
        ),
        "value_floats" => {
            let v = a.floats("value_floats")?.expect("present");
            Tensor::new(vec![v.len()], Data::F32(v))
        }
        "value_int" => Tensor::new(
            vec![],
            Data::I64(vec![a.int("value_int")?.expect("present")]),
        ),
        "value_ints" => {
            let v = a.ints("value_ints")?.expect("present");
            Tensor::new(vec![v.len()], Data::I64(v))
        }
        other => {
            return Err(LowerError::Unsupported(format!("Constant with '{other}'")));
        }
    };
    ctx.bind_const_output(t)
}

/// ONNX ConstantOfShape: a tensor of `shape` filled with `value` (a one-element tensor,
/// default f32 0). A shape known at compile time gives a constant; one holding a symbolic
/// dim or computed at run time gives the value expanded to it.
pub(crate) fn constant_of_shape(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let fill = match ctx.attrs().tensor("value")? {
        Some(p) => tensor_from_proto(p, "value").map_err(LowerError::Msg)?,
        None => Tensor::new(vec![1], Data::F32(vec![0.0])),
    };
    if fill.len() != 1 {
        bail!("'value' must hold one element, got {}", fill.len());
    }
    let one = Tensor::new(vec![], fill.data.clone());
    let Some(dims) = super::layout::target_dims(ctx, 0, "shape")? else {
        let c = ctx.b.add_const(&format!("{}_value", ctx.name), one);
        let x = ctx.b.const_value(c);
        let s = ctx.input(0)?;
        ctx.emit1(Op::Expand { shape: vec![] }, vec![x, s])?;
        return Ok(());
    };
    let fixed: Option<Vec<usize>> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(k) => Some(*k),
            _ => None,
        })
        .collect();
    if let Some(shape) = fixed {
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= 1 << 28)
            .ok_or_else(|| LowerError::Msg(format!("shape {shape:?} is too large")))?;
        let data = Data::from_le_bytes(fill.dtype(), &fill.data.to_le_bytes().repeat(n))
            .ok_or_else(|| LowerError::Msg("cannot repeat the fill value".into()))?;
        return ctx.bind_const_output(Tensor::new(shape, data));
    }
    let c = ctx.b.add_const(&format!("{}_value", ctx.name), one);
    let x = ctx.b.const_value(c);
    ctx.emit1(Op::Expand { shape: dims }, vec![x])?;
    Ok(())
}
