//! ONNX Constant: binds its output name to a module constant (its `const` node is emitted
//! at first use).

use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use crate::onnx::tensor::tensor_from_proto;
use qcc_ir::{Data, Dim, Op, Tensor};
use std::sync::Arc;

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
    let dims = super::layout::target_dims(ctx, 0, "shape")?;
    let fixed: Option<Vec<usize>> = dims
        .as_ref()
        .and_then(|d| d.iter().map(Dim::fixed).collect());
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
    // The value expanded to the shape: symbolic dims, or the shape as a run-time operand.
    let c = ctx.b.add_const(
        &format!("{}_value", ctx.name),
        Tensor::new(vec![], fill.data),
    );
    let x = ctx.b.const_value(c);
    super::layout::expand_to(ctx, x, dims, 0)
}

/// ONNX Range: constant bounds give a constant (the interpreter's
/// [`qcc_ir::interp::onnx_range`]); an integer range from 0 by 1 to a symbolic dim (`torch.arange(x.size(1))`) gives the `range` op; other
/// bounds its dynamic form.
pub(crate) fn range(ctx: &mut NodeCtx) -> LResult<()> {
    use super::shape::SymInt;
    ctx.expect_inputs(3, 3)?;
    let scalar = |ctx: &NodeCtx, i: usize| -> LResult<Option<Arc<Tensor>>> {
        match ctx.const_input(i)? {
            Some(t) if t.len() == 1 => Ok(Some(t)),
            Some(t) => bail!("input {i} must be a scalar, got {} elements", t.len()),
            None => Ok(None),
        }
    };
    let (start, delta) = (scalar(ctx, 0)?, scalar(ctx, 2)?);
    let limit_name = ctx.input_name(1)?;
    let sym = ctx.b.shape_vals.get(limit_name).cloned();
    let limit = if sym.is_some() { None } else { scalar(ctx, 1)? };
    match (start, limit, delta, sym) {
        (Some(s), Some(l), Some(d), _) => {
            let t = qcc_ir::interp::onnx_range(&[&s, &l, &d]).map_err(LowerError::Msg)?;
            ctx.bind_const_output(t)
        }
        (Some(s), None, Some(d), Some(sv)) if sv.vals.len() == 1 => {
            let (sv0, dt) = (&sv.vals[0], s.dtype());
            let (s, d) = (s.data.to_i64_vec()[0], d.data.to_i64_vec()[0]);
            match sv0 {
                SymInt::Sym(name)
                    if dt.is_int() && s == 0 && d == 1 && qcc_ir::is_plain_dim_name(name) =>
                {
                    let op = Op::Range {
                        start: 0,
                        delta: 1,
                        len: vec![Dim::Sym(name.clone())],
                        to: dt,
                    };
                    ctx.emit1(op, vec![])?;
                    Ok(())
                }
                _ => Err(LowerError::Unsupported(
                    "Range to a symbolic dim other than from 0 by 1".into(),
                )),
            }
        }
        _ => {
            // Bounds computed at run time: the dynamic form (a data-dependent shape).
            let ins = (0..3).map(|i| ctx.input(i)).collect::<LResult<Vec<_>>>()?;
            let to = ctx.ty(ins[0]).dtype;
            let op = Op::Range {
                start: 0,
                delta: 1,
                len: vec![],
                to,
            };
            ctx.emit1(op, ins)?;
            Ok(())
        }
    }
}
