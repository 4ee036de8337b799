//! Kernels of the ops that exist for TFLite numerics (see docs/numerics.md).

use super::conv::tensor_params;
use super::{arity, Ctx, R};
use crate::gemmlowp::{softmax_row, SoftmaxParams};
use crate::quant::{dequantize_f32, quantize_f32};
use crate::{Data, RequantMode, Tensor};

/// `qsoftmax {beta}`: softmax along the last axis of a quantized tensor.
///
/// Fixed-point modules: TFLite's `reference_ops::Softmax` (gemmlowp fixed point, outputs
/// offset by the result dtype's minimum, which TFLite requires to be the zero point).
/// Float modules: `quantize(softmax(beta * dequantize(x)))` in f32.
pub(crate) fn qsoftmax(ctx: &Ctx, ins: &[&Tensor], beta: f32) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    if !x.dtype().is_int() {
        return Err(format!(
            "operand must be a quantized integer tensor, got {}",
            x.dtype()
        ));
    }
    let (sx, zx) = tensor_params(ctx, 0)?;
    let q = ctx.out_q(0)?;
    let dt = ctx.out_ty(0).dtype;
    if !q.is_per_tensor() || q.scale.is_empty() || q.zero_point.is_empty() {
        return Err("result must have per-tensor quantization parameters".into());
    }
    let Some((omin, omax)) = dt.int_range() else {
        return Err(format!("result must be an integer type, got {dt}"));
    };
    let depth = x.shape.last().copied().unwrap_or(0);
    if x.shape.is_empty() {
        return Err("operand must have rank >= 1".into());
    }
    let v = x.data.to_i64_vec();
    let mut out = Vec::with_capacity(v.len());
    if depth == 0 {
        return Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &out)));
    }
    match ctx.module.requant {
        RequantMode::FixedPoint => {
            let p = SoftmaxParams::new(beta as f64, sx as f64);
            let bits = (dt.size() * 8) as i32;
            for row in v.chunks(depth) {
                softmax_row(&p, row, bits, omin, omax, &mut out);
            }
        }
        RequantMode::Float => {
            let (sy, zy) = (q.scale[0], q.zero_point[0] as i64);
            let (qmin, qmax) = q.storage_range(dt);
            for row in v.chunks(depth) {
                let f: Vec<f32> = row
                    .iter()
                    .map(|&r| beta * dequantize_f32(r, sx, zx))
                    .collect();
                let m = f.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = f.iter().map(|&a| (a - m).exp()).collect();
                let s: f32 = e.iter().sum();
                out.extend(e.iter().map(|&a| quantize_f32(a / s, sy, zy, qmin, qmax)));
            }
        }
    }
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &out)))
}
