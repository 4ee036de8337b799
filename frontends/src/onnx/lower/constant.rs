//! ONNX Constant: binds its output name to a module constant (its `const` node is emitted
//! at first use).

use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use crate::onnx::tensor::tensor_from_proto;
use qcc_ir::{Data, Tensor};

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
