//! Kernels of the ops that exist for TFLite numerics (see docs/numerics.md).

use super::conv::{tensor_params, weight_params};
use super::{arity, Ctx, R};
use crate::gemmlowp::{softmax_row, SoftmaxParams};
use crate::quant::{
    dequantize_f32, multiply_by_quantized_multiplier, quantize_f32, quantize_multiplier,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
use crate::{DType, Data, RequantMode, Tensor};

/// The one operand of a quantized unary op, which must hold integers.
fn single_int_operand<'a>(ins: &[&'a Tensor]) -> R<&'a Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    if !x.dtype().is_int() {
        return Err(format!(
            "operand must be a quantized integer tensor, got {}",
            x.dtype()
        ));
    }
    Ok(x)
}

/// `qsoftmax {beta}`: softmax along the last axis of a quantized tensor.
///
/// Fixed-point modules: TFLite's `reference_ops::Softmax` (gemmlowp fixed point, outputs
/// offset by the result dtype's minimum, which TFLite requires to be the zero point).
/// Float modules: `quantize(softmax(beta * dequantize(x)))` in f32.
pub(crate) fn qsoftmax(ctx: &Ctx, ins: &[&Tensor], beta: f32) -> R<Tensor> {
    let x = single_int_operand(ins)?;
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
    if x.dtype() == DType::I16 {
        if dt != DType::I16 || q.zero_point[0] != 0 || zx != 0 {
            return Err("int16 softmax needs int16 operands with zero points 0".into());
        }
        let out = super::tflite_softmax16::softmax_int16(&v, depth, sx, beta);
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

/// `qfully_connected`: TFLite's reference FULLY_CONNECTED (`reference_integer_ops::
/// FullyConnected` / `FullyConnectedPerChannel` with float scales): the accumulator has the
/// bias type (int32 wrapping without a bias or with an i32 bias, int64 with an i64 bias) and
/// is requantized in f64, `round_half_away(acc * (s_x * s_w[n] / s_y)) + z_y`, saturated.
pub(crate) fn qfully_connected(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (x, w) = (ins[0], ins[1]);
    if !x.dtype().is_int() || !w.dtype().is_int() {
        return Err(format!(
            "operands must be quantized integers, got {} and {}",
            x.dtype(),
            w.dtype()
        ));
    }
    if x.shape.len() != 2 || w.shape.len() != 2 || x.shape[1] != w.shape[1] {
        return Err(format!(
            "expected x: M x K and w: N x K, got {:?} and {:?}",
            x.shape, w.shape
        ));
    }
    let (m, k, n) = (x.shape[0], x.shape[1], w.shape[0]);
    let (sx, zx) = tensor_params(ctx, 0)?;
    let (sw, zw) = weight_params(ctx, 1, 0, n)?;
    let q = ctx.out_q(0)?;
    let dt = ctx.out_ty(0).dtype;
    if !q.is_per_tensor() || q.scale.is_empty() || q.zero_point.is_empty() {
        return Err("result must have per-tensor quantization parameters".into());
    }
    let (sy, zy) = (q.scale[0] as f64, q.zero_point[0] as i64);
    let (qmin, qmax) = q.storage_range(dt);
    let wide = match ins.get(2) {
        None => false,
        Some(b) => {
            if b.len() != n {
                return Err(format!("bias has {} elements for {n} outputs", b.len()));
            }
            match b.dtype() {
                DType::I32 => false,
                DType::I64 => true,
                d => return Err(format!("bias must be i32 or i64, got {d}")),
            }
        }
    };
    let bias: Vec<i64> = ins.get(2).map_or(vec![0; n], |b| b.data.to_i64_vec());
    let xv: Vec<i64> = x.data.to_i64_vec().into_iter().map(|v| v - zx).collect();
    let wv = w.data.to_i64_vec();
    let scales: Vec<f64> = sw.iter().map(|&s| sx as f64 * s as f64 / sy).collect();
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        let row = &xv[i * k..(i + 1) * k];
        for j in 0..n {
            let col = &wv[j * k..(j + 1) * k];
            let acc: i64 = if wide {
                row.iter()
                    .zip(col)
                    .fold(0i64, |a, (&xi, &wi)| a.wrapping_add(xi * (wi - zw[j])))
                    .wrapping_add(bias[j])
            } else {
                row.iter()
                    .zip(col)
                    .fold(0i32, |a, (&xi, &wi)| {
                        a.wrapping_add((xi * (wi - zw[j])) as i32)
                    })
                    .wrapping_add(bias[j] as i32) as i64
            };
            // static_cast<int32_t>(round(double)): `as` saturates where C++ is undefined.
            let r = (acc as f64 * scales[j]).round() as i32 as i64;
            out.push((r + zy).clamp(qmin, qmax));
        }
    }
    Ok(Tensor::new(vec![m, n], Data::from_i64(dt, &out)))
}

/// `qadd` in fixed-point modules: TFLite's integer ADD (`reference_integer_ops::Add`). Each
/// input, minus its zero point, is shifted left by 20 (15 for an int16 result) and scaled by
/// `s_i / (2 max(s_a, s_b))`; the sum is scaled by `2 max(s_a, s_b) / (2^shift s_y)`; every
/// scaling is `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m0), -shift)` with
/// QuantizeMultiplier's `(m0, shift)`, then `+ z_y`, saturated. Numpy broadcasting.
pub(crate) fn qadd_fixed(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    add_or_sub_fixed(ctx, ins, false)
}

/// `qsub` (see [`crate::Op::QSub`]): TFLite's integer SUB in fixed-point modules, the float
/// simulation `quantize(dequantize(a) - dequantize(b))` otherwise.
pub(crate) fn qsub(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    if ctx.module.requant == RequantMode::FixedPoint {
        return add_or_sub_fixed(ctx, ins, true);
    }
    arity(ins, 2, 2)?;
    let (sa, za) = tensor_params(ctx, 0)?;
    let (sb, zb) = tensor_params(ctx, 1)?;
    let q = ctx.out_q(0)?;
    if !q.is_per_tensor() || q.scale.is_empty() || q.zero_point.is_empty() {
        return Err("result must be quantized per tensor".into());
    }
    let (sy, zy) = (q.scale[0], q.zero_point[0] as i64);
    let dt = ctx.out_ty(0).dtype;
    let (qmin, qmax) = q.storage_range(dt);
    let (av, bv) = (ins[0].data.to_i64_vec(), ins[1].data.to_i64_vec());
    let (shape, vals) = super::broadcast::zip2(&av, &ins[0].shape, &bv, &ins[1].shape, |x, y| {
        let d = crate::quant::dequantize_f32(x, sa, za) - crate::quant::dequantize_f32(y, sb, zb);
        crate::quant::quantize_f32(d, sy, zy, qmin, qmax)
    })?;
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}

/// TFLite's integer ADD, or SUB (`subtract`): both operands shifted left, rescaled by their
/// fixed-point multipliers, added or subtracted, and requantized.
fn add_or_sub_fixed(ctx: &Ctx, ins: &[&Tensor], subtract: bool) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    let (sa, za) = tensor_params(ctx, 0)?;
    let (sb, zb) = tensor_params(ctx, 1)?;
    let q = ctx.out_q(0)?;
    if !q.is_per_tensor() || q.scale.is_empty() || q.zero_point.is_empty() {
        return Err("result must be quantized per tensor".into());
    }
    let (sy, zy) = (q.scale[0], q.zero_point[0] as i64);
    let dt = ctx.out_ty(0).dtype;
    let (qmin, qmax) = q.storage_range(dt);
    let left_shift: u32 = if dt == DType::I16 { 15 } else { 20 };
    let twice_max = 2.0 * sa.max(sb) as f64;
    let (m1, s1) = quantize_multiplier(sa as f64 / twice_max);
    let (m2, s2) = quantize_multiplier(sb as f64 / twice_max);
    let (mo, so) = quantize_multiplier(twice_max / ((1i64 << left_shift) as f64 * sy as f64));
    let scale = |x: i32, m: i32, s: i32| {
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, m), -s)
    };
    let av = a.data.to_i64_vec();
    let bv = b.data.to_i64_vec();
    let (shape, vals) = super::broadcast::zip2(&av, &a.shape, &bv, &b.shape, |x, y| {
        let x = ((x - za) as i32).wrapping_shl(left_shift);
        let y = ((y - zb) as i32).wrapping_shl(left_shift);
        let (sx, sy2) = (scale(x, m1, s1), scale(y, m2, s2));
        let sum = if subtract {
            sx.wrapping_sub(sy2)
        } else {
            sx.wrapping_add(sy2)
        };
        (scale(sum, mo, so) as i64 + zy).clamp(qmin, qmax)
    })?;
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}

/// `qmean {axes, keepdims}`: TFLite's reference quantized MEAN (`reference_ops::
/// QuantizedMeanOrSum` with `compute_sum = false`, see [`crate::Op::QMean`]).
pub(crate) fn qmean(ctx: &Ctx, ins: &[&Tensor], axes: &[i64], keepdims: bool) -> R<Tensor> {
    let x = single_int_operand(ins)?;
    if axes.is_empty() {
        return Err("qmean needs at least one axis".into());
    }
    let (sx, zx) = super::quant_ops::per_tensor_in(ctx, 0)?;
    let (sy, zy, dt, (qmin, qmax)) = super::quant_ops::per_tensor_out(ctx)?;
    let wide = Tensor::new(x.shape.clone(), Data::I64(x.data.to_i64_vec()));
    let sums = super::reduce::reduce(&[&wide], crate::ReduceOp::Sum, Some(axes), keepdims, false)?;
    let count = (x.len() / sums.len().max(1)) as i64;
    if count == 0 || x.is_empty() {
        return Ok(Tensor::new(
            sums.shape.clone(),
            Data::from_i64(dt, &vec![0; sums.len()]),
        ));
    }
    let (m0, shift) = quantize_multiplier(sx as f64 / sy as f64);
    // The reference folds 1 / count into the multiplier: `(m0 << k) / count`.
    let k = (63 - (count as u64).leading_zeros() as i32)
        .min(32)
        .min(31 + shift);
    let m = ((i64::from(m0) << k) / count) as i32;
    let s = shift - k;
    let out: Vec<i64> = sums
        .data
        .to_i64_vec()
        .iter()
        .map(|&sum| {
            let shifted = (sum as i32 as i64 - zx * count) as i32;
            (i64::from(multiply_by_quantized_multiplier(shifted, m, s)) + zy).clamp(qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(sums.shape, Data::from_i64(dt, &out)))
}
