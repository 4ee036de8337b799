//! Activations: fused activation functions (an integer `clip` on the quantized result, with
//! TFLite's CalculateActivationRangeQuantized bounds) and SOFTMAX.

use super::{expect_dtype, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::{DType, Op, ValueId};
use tract_tflite::tflite::ActivationFunctionType as A;

/// TFLite's `TfLiteRound`: round half away from zero.
fn tflite_round(x: f32) -> f32 {
    x.round()
}

/// `[act_min, act_max]` of a quantized output as CalculateActivationRangeQuantized computes
/// it: the activation's real bounds quantized with the output's scale and zero point
/// (`zp + round_half_away(f / scale)` in f32), intersected with the dtype's range.
pub(crate) fn quantized_range(act: A, dtype: DType, scale: f32, zp: i64) -> LResult<(i64, i64)> {
    let Some((qmin, qmax)) = dtype.int_range() else {
        bail!("quantized activation range on non-integer type {dtype}");
    };
    // Saturating: a tiny scale makes `f / scale` infinite (the bound then lies outside the
    // dtype's range and the intersection drops it).
    let q = |f: f32| zp.saturating_add(tflite_round(f / scale) as i64);
    Ok(match act {
        A::NONE => (qmin, qmax),
        A::RELU => (qmin.max(q(0.0)), qmax),
        A::RELU6 => (qmin.max(q(0.0)), qmax.min(q(6.0))),
        A::RELU_N1_TO_1 => (qmin.max(q(-1.0)), qmax.min(q(1.0))),
        other => unsupported!("fused activation {:?} is not supported", other),
    })
}

/// Applies the fused activation `act` to `v`, the value of output tensor `t`: a `clip` with
/// integer bounds on quantized outputs, a float `clip` / `relu` on float outputs.
pub(crate) fn fused_activation(
    b: &mut Builder<'_>,
    t: usize,
    v: ValueId,
    act: A,
) -> LResult<ValueId> {
    if act == A::NONE {
        return Ok(v);
    }
    let dtype = b.tensor(t).dtype;
    let name = format!("{}_act", b.tensor(t).name);
    if dtype.is_float() {
        let (lo, hi) = match act {
            A::RELU => (Some(0.0), None),
            A::RELU6 => (Some(0.0), Some(6.0)),
            A::RELU_N1_TO_1 => (Some(-1.0), Some(1.0)),
            other => unsupported!("fused activation {:?} is not supported", other),
        };
        return b.emit(&name, Op::Clip { min: lo, max: hi }, vec![v], None, None);
    }
    let (scale, zp) = b.per_tensor(t, "the output")?;
    let (lo, hi) = quantized_range(act, dtype, scale, zp)?;
    let (qmin, qmax) = dtype.int_range().unwrap_or((lo, hi));
    if lo <= qmin && hi >= qmax {
        return Ok(v);
    }
    let min = (lo > qmin).then_some(lo as f64);
    let max = (hi < qmax).then_some(hi as f64);
    b.emit(&name, Op::Clip { min, max }, vec![v], None, None)
}

/// SOFTMAX: `qsoftmax` on quantized tensors (the reference kernel's gemmlowp fixed point
/// in fixed-point mode), `softmax` on float ones; always along the last axis.
pub(crate) fn softmax(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let beta = op
        .fb
        .builtin_options_as_softmax_options()
        .map_or(1.0, |o| o.beta());
    let dt = expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the input",
    )?;
    let xv = b.value(x)?;
    let rank = b.ty(xv).rank();
    if rank == 0 {
        bail!("input must have rank >= 1");
    }
    let v = if dt == DType::F32 {
        if beta != 1.0 {
            unsupported!("float SOFTMAX with beta {beta} != 1");
        }
        b.emit_tensor(y, Op::Softmax { axis: -1 }, vec![xv])?
    } else {
        let od = b.tensor(y).dtype;
        if !matches!(od, DType::I8 | DType::U8 | DType::I16) {
            unsupported!("quantized SOFTMAX to {od}");
        }
        b.per_tensor(x, "the input")?;
        b.per_tensor(y, "the output")?;
        b.emit_tensor(y, Op::QSoftmax { axis: -1, beta }, vec![xv])?
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}
