//! `qsoftmax`: ONNX Runtime's QLinearSoftmax (`contrib_ops/cpu/quantization/
//! qlinear_softmax.cc`, uint8 path; int8 runs in the uint8 domain as ORT's x86 QDQ
//! rewrite makes it).

use super::quant_ops::{ort_domain_offset, per_tensor_in, per_tensor_out};
use super::{arity, norm_axis, prod, Ctx, R};
use crate::quant::round_half_even;
use crate::{Data, Tensor};

/// The 256-entry table of `exp((i - 255 + b) * s_x)` for `i = x - max + 255`, with
/// `b = max(0, ln(FLT_MAX / d) - 5) / s_x` so that a row of `d` terms cannot overflow.
pub fn exp_table(sx: f32, d: usize) -> Vec<f32> {
    let bs = ((f32::MAX / d as f32) as f64).ln();
    let bs = (bs - 5.0).max(0.0) / sx as f64;
    (0..256)
        .map(|i| ((i as f64 - 255.0 + bs) * sx as f64).exp() as f32)
        .collect()
}

/// `qsoftmax` of `beta * x` along `axis` (see [`crate::Op::QSoftmax`]): ONNX Runtime's
/// kernel in float modules with `beta == 1`, otherwise the TFLite / float-simulation kernel
/// of [`super::tflite_ops::qsoftmax`] (last axis only).
pub(crate) fn qsoftmax(ctx: &Ctx, ins: &[&Tensor], axis: i64, beta: f32) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    if ctx.module.requant == crate::RequantMode::FixedPoint || beta != 1.0 {
        let rank = x.shape.len();
        if rank == 0 || norm_axis(axis, rank)? != rank - 1 {
            return Err(format!(
                "qsoftmax with beta {beta} or in a fixed-point module works along the last axis, not axis {axis}"
            ));
        }
        return super::tflite_ops::qsoftmax(ctx, ins, beta);
    }
    if x.dtype().size() != 1 {
        return Err(format!(
            "qsoftmax needs an 8-bit operand, found {}",
            x.dtype()
        ));
    }
    let rank = x.shape.len();
    if rank == 0 {
        return Err("qsoftmax needs at least one dimension".into());
    }
    let ax = norm_axis(axis, rank)?;
    let (sx, _) = per_tensor_in(ctx, 0)?;
    let (sy, zy, dt, (qmin, qmax)) = per_tensor_out(ctx)?;
    let (outer, d, inner) = (prod(&x.shape[..ax]), x.shape[ax], prod(&x.shape[ax + 1..]));
    let xv = x.data.to_i64_vec();
    let mut vals = vec![0i64; xv.len()];
    if d == 0 {
        return Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)));
    }
    let table = exp_table(sx, d);
    let ys = (1.0f32 / sy).floor();
    let off = ort_domain_offset(dt);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * d + k) * inner + i;
            let xmax = (0..d).map(|k| xv[at(k)]).max().unwrap_or(0);
            let t = |k: usize| table[(xv[at(k)] - xmax + 255) as usize];
            let mut sum = 0f32;
            for k in 0..d {
                sum += t(k);
            }
            for k in 0..d {
                let n = round_half_even(t(k) * ys / sum) as i64;
                vals[at(k)] = (n + zy + off).clamp(qmin + off, qmax + off) - off;
            }
        }
    }
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)))
}
