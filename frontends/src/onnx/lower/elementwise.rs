//! Elementwise ops: binary (with numpy broadcasting), variadic Max / Min / Sum, unary
//! activations, Where, Clip, Cast / CastLike, Softmax, Identity and Dropout.

use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::{norm_axis, NodeCtx};
use crate::onnx::proto::{dtype_of, elem_type_name};
use qcc_ir::{BinaryOp, DType, Dim, Op, UnaryOp};

fn legacy_broadcast_check(ctx: &NodeCtx) -> LResult<()> {
    // Opset < 7 binary ops broadcast only with `broadcast=1`, aligning B to the trailing
    // dims of A (numpy-compatible) unless `axis` says otherwise.
    if ctx.opset < 7 && ctx.attrs().has("axis") && ctx.attrs().int_or("broadcast", 0)? == 1 {
        return Err(LowerError::Unsupported(
            "legacy broadcasting with an explicit 'axis'".to_string(),
        ));
    }
    Ok(())
}

/// A binary elementwise op.
pub(crate) fn binary(ctx: &mut NodeCtx, op: BinaryOp) -> LResult<()> {
    ctx.expect_inputs(2, 2)?;
    legacy_broadcast_check(ctx)?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    ctx.emit1(Op::Binary(op), vec![a, b])?;
    Ok(())
}

macro_rules! binary_fns {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            /// The binary op of the same name.
            pub(crate) fn $name(ctx: &mut NodeCtx) -> LResult<()> {
                binary(ctx, BinaryOp::$op)
            }
        )*
    };
}

binary_fns!(
    add => Add, sub => Sub, mul => Mul, div => Div, pow => Pow,
    less => Less, less_equal => LessOrEqual, greater => Greater,
    greater_equal => GreaterOrEqual, equal => Equal, and => And, or => Or,
);

/// A variadic op folded left to right into a chain of binary ops.
fn variadic(ctx: &mut NodeCtx, op: BinaryOp) -> LResult<()> {
    let n = ctx.num_inputs();
    if n == 0 {
        bail!("expected at least 1 input");
    }
    let mut acc = ctx.input(0)?;
    if n == 1 {
        ctx.emit1(Op::Identity, vec![acc])?;
        return Ok(());
    }
    for i in 1..n {
        let v = ctx.input(i)?;
        if i + 1 == n {
            ctx.emit1(Op::Binary(op), vec![acc, v])?;
        } else {
            acc = ctx.tmp(
                &format!("{}{i}", Op::Binary(op).name()),
                Op::Binary(op),
                vec![acc, v],
            )?;
        }
    }
    Ok(())
}

/// ONNX Max (variadic).
pub(crate) fn max(ctx: &mut NodeCtx) -> LResult<()> {
    variadic(ctx, BinaryOp::Max)
}

/// ONNX Min (variadic).
pub(crate) fn min(ctx: &mut NodeCtx) -> LResult<()> {
    variadic(ctx, BinaryOp::Min)
}

/// ONNX Sum (variadic).
pub(crate) fn sum(ctx: &mut NodeCtx) -> LResult<()> {
    variadic(ctx, BinaryOp::Add)
}

/// A unary op.
pub(crate) fn unary(ctx: &mut NodeCtx, op: UnaryOp) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::Unary(op), vec![x])?;
    Ok(())
}

macro_rules! unary_fns {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            /// The unary op of the same name.
            pub(crate) fn $name(ctx: &mut NodeCtx) -> LResult<()> {
                unary(ctx, UnaryOp::$op)
            }
        )*
    };
}

unary_fns!(
    relu => Relu, sigmoid => Sigmoid, tanh => Tanh, exp => Exp, log => Log, neg => Neg,
    abs => Abs, sqrt => Sqrt, reciprocal => Reciprocal, round => Round, floor => Floor,
    ceil => Ceil, not => Not, hard_swish => HardSwish, erf => Erf,
);

/// ONNX LeakyRelu.
pub(crate) fn leaky_relu(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let alpha = ctx.attrs().float_or("alpha", 0.01)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::LeakyRelu { alpha }, vec![x])?;
    Ok(())
}

/// ONNX HardSigmoid.
pub(crate) fn hard_sigmoid(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let a = ctx.attrs();
    let alpha = a.float_or("alpha", 0.2)?;
    let beta = a.float_or("beta", 0.5)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::HardSigmoid { alpha, beta }, vec![x])?;
    Ok(())
}

/// ONNX Where.
pub(crate) fn where_(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(3, 3)?;
    let c = ctx.input(0)?;
    let a = ctx.input(1)?;
    let b = ctx.input(2)?;
    ctx.emit1(Op::Where, vec![c, a, b])?;
    Ok(())
}

/// ONNX Clip: attributes before opset 11, optional `min` / `max` inputs after. Constant
/// bounds become attributes; run-time bounds use the dynamic form `[x, min, max]` with an
/// absent bound materialised as the type's extreme value.
pub(crate) fn clip(ctx: &mut NodeCtx) -> LResult<()> {
    if ctx.opset < 11 {
        ctx.expect_inputs(1, 1)?;
        let a = ctx.attrs();
        let min = a.float("min")?.map(f64::from);
        let max = a.float("max")?.map(f64::from);
        let x = ctx.input(0)?;
        ctx.emit1(Op::Clip { min, max }, vec![x])?;
        return Ok(());
    }
    ctx.expect_inputs(1, 3)?;
    let x = ctx.input(0)?;
    if ctx.input_is_static(1)? && ctx.input_is_static(2)? {
        let min = ctx.const_scalar(1, "min")?;
        let max = ctx.const_scalar(2, "max")?;
        ctx.emit1(Op::Clip { min, max }, vec![x])?;
        return Ok(());
    }
    let dtype = ctx.ty(x).dtype;
    let (lo, hi) = match dtype.int_range() {
        Some((lo, hi)) => (lo as f64, hi as f64),
        None => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let min = match ctx.opt_input(1)? {
        Some(v) => v,
        None => ctx.scalar_const("min", dtype, lo),
    };
    let max = match ctx.opt_input(2)? {
        Some(v) => v,
        None => ctx.scalar_const("max", dtype, hi),
    };
    ctx.emit1(
        Op::Clip {
            min: None,
            max: None,
        },
        vec![x, min, max],
    )?;
    Ok(())
}

/// ONNX Cast (`saturate` only matters for float8 targets, which are unsupported).
pub(crate) fn cast(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let a = ctx.attrs();
    let to = match a.int("to")? {
        Some(t) => t,
        None => match a.string("to")? {
            // Opset 1 spelled the type as a string.
            Some(s) => legacy_type_name(&s)?,
            None => bail!("missing required attribute 'to'"),
        },
    };
    let t32 = i32::try_from(to).map_err(|_| format!("invalid 'to' value {to}"))?;
    let Some(dtype) = dtype_of(t32) else {
        return Err(LowerError::Unsupported(format!(
            "Cast to {}",
            elem_type_name(t32)
        )));
    };
    let x = ctx.input(0)?;
    ctx.emit1_with(
        Op::Cast { to: dtype },
        vec![x],
        ResultOverride::plain(dtype),
    )?;
    Ok(())
}

fn legacy_type_name(s: &str) -> LResult<i64> {
    let d = match s.to_ascii_uppercase().as_str() {
        "FLOAT" => DType::F32,
        "DOUBLE" => DType::F64,
        "INT8" => DType::I8,
        "UINT8" => DType::U8,
        "INT16" => DType::I16,
        "UINT16" => DType::U16,
        "INT32" => DType::I32,
        "UINT32" => DType::U32,
        "INT64" => DType::I64,
        "UINT64" => DType::U64,
        "BOOL" => DType::Bool,
        other => {
            return Err(LowerError::Unsupported(format!("Cast to '{other}'")));
        }
    };
    Ok(crate::onnx::proto::elem_type_of(d) as i64)
}

/// ONNX CastLike: cast input 0 to the element type of input 1.
pub(crate) fn cast_like(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 2)?;
    let to = ctx.peek_type(1)?.dtype;
    let x = ctx.input(0)?;
    ctx.emit1_with(Op::Cast { to }, vec![x], ResultOverride::plain(to))?;
    Ok(())
}

/// ONNX Softmax. Opset >= 13: along `axis` (default -1). Before 13 the input is coerced to
/// 2-d at `axis` (default 1): the same as a last-axis softmax when `axis` is the last dim,
/// otherwise flatten -> softmax(-1) -> reshape back.
pub(crate) fn softmax(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    if ctx.opset >= 13 {
        let axis = ctx.attrs().int_or("axis", -1)?;
        ctx.emit1(Op::Softmax { axis }, vec![x])?;
        return Ok(());
    }
    let xt = ctx.ty(x).clone();
    let rank = xt.rank();
    let axis = ctx.attrs().int_or("axis", 1)?;
    let a = if rank == 0 { 0 } else { norm_axis(axis, rank)? };
    if rank == 0 || a + 1 == rank {
        ctx.emit1(Op::Softmax { axis: -1 }, vec![x])?;
        return Ok(());
    }
    // Reshape spec for the way back: fixed dims, and -1 for at most one unknown dim.
    let unknown = xt.shape.iter().filter(|d| d.fixed().is_none()).count();
    if unknown > 1 {
        return Err(LowerError::Unsupported(format!(
            "Softmax-{} at axis {a} on an input with {unknown} non-fixed dims",
            ctx.opset
        )));
    }
    let spec: Vec<i64> = xt
        .shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n as i64,
            _ => -1,
        })
        .collect();
    let flat = ctx.tmp("flatten", Op::Flatten { axis: a as i64 }, vec![x])?;
    let sm = ctx.tmp("softmax", Op::Softmax { axis: -1 }, vec![flat])?;
    ctx.emit1(
        Op::Reshape {
            shape: spec,
            allowzero: false,
        },
        vec![sm],
    )?;
    Ok(())
}

/// ONNX Identity.
pub(crate) fn identity(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::Identity, vec![x])?;
    Ok(())
}

/// ONNX Dropout at inference: identity. A requested mask output or training_mode=1 is
/// unsupported.
pub(crate) fn dropout(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 3)?;
    if ctx.output_name(1).is_some() {
        return Err(LowerError::Unsupported("Dropout mask output".to_string()));
    }
    if ctx.has_input(2) {
        match ctx.const_input(2)? {
            Some(t) if t.data.to_f64_vec().iter().all(|&v| v == 0.0) => {}
            _ => {
                return Err(LowerError::Unsupported(
                    "Dropout with training_mode".to_string(),
                ))
            }
        }
    }
    let x = ctx.input(0)?;
    ctx.emit_outputs(Op::Identity, vec![x], 1, &[])?;
    Ok(())
}

/// ONNX LayerNormalization (opset 17): `layer_norm` over the dims from `axis` on. The
/// optional Mean and InvStdDev results are not produced (unsupported when requested).
pub(crate) fn layer_norm(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 3)?;
    if (1..ctx.num_outputs()).any(|i| ctx.output_name(i).is_some_and(|n| !n.is_empty())) {
        return Err(LowerError::Unsupported(
            "LayerNormalization's Mean / InvStdDev outputs".into(),
        ));
    }
    let a = ctx.attrs();
    let axis = a.int_or("axis", -1)?;
    let epsilon = a.float_or("epsilon", 1e-5)?;
    if a.int_or("stash_type", 1)? != 1 {
        return Err(LowerError::Unsupported(
            "LayerNormalization with stash_type other than float".into(),
        ));
    }
    let mut ins = vec![ctx.input(0)?, ctx.input(1)?];
    if ctx.has_input(2) {
        ins.push(ctx.input(2)?);
    }
    ctx.emit1(Op::LayerNorm { axis, epsilon }, ins)?;
    Ok(())
}

/// ONNX Gelu (opset 20): `gelu`, or `gelu_tanh` with `approximate = "tanh"`.
pub(crate) fn gelu(ctx: &mut NodeCtx) -> LResult<()> {
    let approximate = ctx.attrs().string("approximate")?;
    let op = match approximate.as_deref().unwrap_or("none") {
        "none" => UnaryOp::Gelu,
        "tanh" => UnaryOp::GeluTanh,
        other => {
            return Err(LowerError::Unsupported(format!(
                "Gelu with approximate = '{other}'"
            )))
        }
    };
    unary(ctx, op)
}
