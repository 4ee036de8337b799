//! `tflite_lstm`: TFLite's integer UNIDIRECTIONAL_SEQUENCE_LSTM, the 8x8_16 kernel
//! (`lstm_eval.cc` `EvalInteger8x8_16` with `unidirectional_sequence_lstm.cc`'s
//! `PopulateQuantizedLstmParams8x8_16` and `PopulatePrecomputedZPTimesWeightsWithBias`),
//! without peephole, projection, layer norm or CIFG.
//!
//! Gates are int16 Q3.12: `MultiplyByQuantizedMultiplier` of int32 accumulations (zero points
//! folded into precomputed biases) with multipliers from f32 effective scales, then gemmlowp's
//! int16 fixed-point `logistic` / `tanh`. The cell state is int16 with a power-of-two scale.

use super::conv::tensor_params;
use super::{arity, Ctx, R};
use crate::quant::{multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot};
use crate::{DType, Data, Tensor};

/// Attributes of `tflite_lstm` (see [`crate::Op::TfliteLstm`]).
pub(crate) struct LstmAttrs {
    /// `T x B x ...` layout.
    pub time_major: bool,
    /// Cell clip in real units (0 = none).
    pub cell_clip: f32,
    /// Hidden-state scale.
    pub hidden_scale: f32,
    /// Hidden-state zero point.
    pub hidden_zp: i64,
}

// ---- gemmlowp fixed point on int16 raw values ----

/// C++ `static_cast<int16_t>` of an int: two's complement wrap.
fn w16(x: i32) -> i16 {
    x as i16
}

fn add16(a: i16, b: i16) -> i16 {
    w16(a as i32 + b as i32)
}

fn sub16(a: i16, b: i16) -> i16 {
    w16(a as i32 - b as i32)
}

fn neg16(a: i16) -> i16 {
    w16(-(a as i32))
}

fn sat_add16(a: i16, b: i16) -> i16 {
    (a as i32 + b as i32).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// gemmlowp's int16 `SaturatingRoundingDoublingHighMul`.
fn srdhm16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    w16((ab + nudge) / (1 << 15))
}

/// gemmlowp's `RoundingDivideByPOT` on int16.
fn rdpot16(x: i16, e: i32) -> i16 {
    let x = x as i32;
    let mask = (1i32 << e) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    w16((x >> e) + i32::from(remainder > threshold))
}

/// gemmlowp's `SaturatingRoundingMultiplyByPOT<e>` on int16.
fn srmpot16(x: i16, e: i32) -> i16 {
    match e {
        0 => x,
        e if e < 0 => rdpot16(x, -e),
        e => {
            let threshold = (1i32 << (15 - e)) - 1;
            let xi = x as i32;
            if xi > threshold {
                i16::MAX
            } else if xi < -threshold {
                i16::MIN
            } else {
                w16(xi << e)
            }
        }
    }
}

/// `GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT` for int16: the int32 raw constant rounded down
/// to 16 bits.
fn k16(raw32: i32) -> i16 {
    rounding_divide_by_pot(raw32, 16) as i16
}

/// `RoundingHalfSum` on int16.
fn rounding_half_sum16(a: i16, b: i16) -> i16 {
    let sum = a as i32 + b as i32;
    let sign = if sum >= 0 { 1 } else { -1 };
    w16((sum + sign) / 2)
}

/// `exp_on_interval_between_negative_one_quarter_and_0_excl` for Q0.15.
fn exp_quarter16(a: i16) -> i16 {
    let constant_term = k16(1895147668);
    let one_third = k16(715827883);
    let x = add16(a, 1 << 12);
    let x2 = srdhm16(x, x);
    let x3 = srdhm16(x2, x);
    let x4 = srdhm16(x2, x2);
    let x4_over_4 = srmpot16(x4, -2);
    let t = srmpot16(add16(srdhm16(add16(x4_over_4, x3), one_third), x2), -1);
    sat_add16(constant_term, srdhm16(constant_term, add16(x, t)))
}

/// `exp_on_negative_values` of a Q`int_bits` int16 value, Q0.15 result.
fn exp_on_negative_values16(a: i16, int_bits: i32) -> i16 {
    let frac = 15 - int_bits;
    let one_quarter: i16 = 1 << (frac - 2);
    let mask = one_quarter - 1;
    let a_mod = sub16(a & mask, one_quarter);
    let mut result = exp_quarter16(srmpot16(a_mod, int_bits));
    let remainder = sub16(a_mod, a);
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, mult) in BARREL {
        if int_bits > exponent {
            let shift = frac + exponent;
            if (remainder as i32) & (1i32 << shift) != 0 {
                result = srdhm16(result, k16(mult));
            }
        }
    }
    if int_bits > 5 {
        let clamp = k16(-(1i32 << (36 - int_bits)));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i16::MAX;
    }
    result
}

/// The Newton-Raphson iteration shared by `one_over_one_plus_x_for_x_in_0_1` and
/// `one_minus_x_over_one_plus_x_for_x_in_0_1`: returns Q2.13 `x ~ 1 / half_denominator`.
fn newton16(half_den: i16) -> i16 {
    let c48_17 = k16(1515870810);
    let cneg32_17 = k16(-1010580540);
    let mut x = add16(c48_17, srdhm16(half_den, cneg32_17));
    for _ in 0..3 {
        let hdx = srdhm16(half_den, x);
        let one_minus = sub16(1 << 13, hdx);
        x = add16(x, srmpot16(srdhm16(x, one_minus), 2));
    }
    x
}

/// gemmlowp `logistic` of a Q`int_bits` int16 value, Q0.15 result.
fn logistic16(a: i16, int_bits: i32) -> i16 {
    if a == 0 {
        return 1 << 14;
    }
    let abs = if a > 0 { a } else { neg16(a) };
    let e = exp_on_negative_values16(neg16(abs), int_bits);
    let half_den = rounding_half_sum16(e, i16::MAX);
    let pos = srmpot16(newton16(half_den), 1);
    if a > 0 {
        pos
    } else {
        sub16(i16::MAX, pos)
    }
}

/// gemmlowp `tanh` of a Q`int_bits` int16 value, Q0.15 result.
fn tanh16(a: i16, int_bits: i32) -> i16 {
    if a == 0 {
        return 0;
    }
    let neg = a < 0;
    let n = if neg { a } else { neg16(a) };
    let e = exp_on_negative_values16(n, int_bits + 1);
    let half_den = rounding_half_sum16(e, i16::MAX);
    let t = srmpot16(sub16(newton16(half_den), 1 << 13), 2);
    if neg {
        neg16(t)
    } else {
        t
    }
}

// ---- the kernel ----

/// One gate's constants: weights, folded biases and multipliers.
struct Gate {
    w_in: Vec<i32>,
    w_rec: Vec<i32>,
    bias_in: Vec<i32>,
    bias_rec: Vec<i32>,
    m_in: (i32, i32),
    m_rec: (i32, i32),
}

/// `bias[row] + row_sum(w[row]) * scalar`, int32 wrapping (`MatrixScalarMultiplyAccumulate`).
fn fold_bias(w: &[i32], cols: usize, bias: Option<&[i32]>, scalar: i32) -> Vec<i32> {
    w.chunks(cols.max(1))
        .enumerate()
        .map(|(r, row)| {
            let sum = row.iter().fold(0i32, |a, &v| a.wrapping_add(v));
            bias.map_or(0, |b| b[r])
                .wrapping_add(sum.wrapping_mul(scalar))
        })
        .collect()
}

/// `MatrixBatchVectorMultiplyAccumulate` (int8 x int8 -> int16 with multiplier) for one
/// batch row, accumulating into `out`.
fn mat_acc(x: &[i32], w: &[i32], bias: &[i32], m: (i32, i32), out: &mut [i16]) {
    let k = x.len();
    for (row, o) in out.iter_mut().enumerate() {
        let acc = w[row * k..(row + 1) * k]
            .iter()
            .zip(x)
            .fold(bias[row], |a, (&wv, &xv)| a.wrapping_add(wv * xv));
        let v = multiply_by_quantized_multiplier(acc, m.0, m.1) as i64 + *o as i64;
        *o = v.clamp(i16::MIN as i64, i16::MAX as i64) as i16;
    }
}

fn i32s(t: &Tensor) -> Vec<i32> {
    t.data.to_i64_vec().into_iter().map(|v| v as i32).collect()
}

/// Runs `tflite_lstm` (operand order in [`crate::Op::TfliteLstm`]).
pub(crate) fn tflite_lstm(ctx: &Ctx, ins: &[&Tensor], a: &LstmAttrs) -> R<Tensor> {
    arity(ins, 15, 15)?;
    let x = ins[0];
    if x.dtype() != DType::I8 {
        return Err(format!("input must be i8, got {}", x.dtype()));
    }
    if x.shape.len() != 3 {
        return Err(format!("input must be rank 3, got {:?}", x.shape));
    }
    let (t_len, n_batch, n_input) = if a.time_major {
        (x.shape[0], x.shape[1], x.shape[2])
    } else {
        (x.shape[1], x.shape[0], x.shape[2])
    };
    let n_cell = ins[1].shape.first().copied().unwrap_or(0);
    let n_output = ins[5].shape.get(1).copied().unwrap_or(0);
    if n_output != n_cell {
        return Err(format!(
            "without projection the output size ({n_output}) must equal the cell count ({n_cell})"
        ));
    }
    for (i, t) in ins.iter().enumerate().take(13).skip(1) {
        let (want_dtype, want_shape) = match i {
            1..=4 => (DType::I8, vec![n_cell, n_input]),
            5..=8 => (DType::I8, vec![n_cell, n_output]),
            _ => (DType::I32, vec![n_cell]),
        };
        if t.dtype() != want_dtype || t.shape != want_shape {
            return Err(format!(
                "operand {i} must be {want_dtype} of shape {want_shape:?}, got {} {:?}",
                t.dtype(),
                t.shape
            ));
        }
    }
    let (h0, c0) = (ins[13], ins[14]);
    if h0.dtype() != DType::I8 || h0.len() != n_batch * n_output {
        return Err(format!(
            "output state must be i8 with {} elements, got {} {:?}",
            n_batch * n_output,
            h0.dtype(),
            h0.shape
        ));
    }
    if c0.dtype() != DType::I16 || c0.len() != n_batch * n_cell {
        return Err(format!(
            "cell state must be i16 with {} elements, got {} {:?}",
            n_batch * n_cell,
            c0.dtype(),
            c0.shape
        ));
    }
    let (s_x, z_x) = tensor_params(ctx, 0)?;
    let (s_h, z_h) = tensor_params(ctx, 13)?;
    let (s_c, _) = tensor_params(ctx, 14)?;
    // CheckedLog2: the cell scale must be a power of two.
    let log2 = (s_c as f64).log2();
    let cell_scale = log2.round();
    if (log2 - cell_scale).abs() > 1e-3 || !(-30.0..=0.0).contains(&cell_scale) {
        return Err(format!(
            "cell state scale {s_c} is not a power of two in [2^-30, 1]"
        ));
    }
    let cell_scale = cell_scale as i32;
    let tanh_bits = 15 + cell_scale;
    if !(0..=6).contains(&tanh_bits) {
        return Err(format!(
            "cell state scale 2^{cell_scale} gives tanh integer bits {tanh_bits}, outside 0..=6"
        ));
    }
    let inter = 2f32.powi(-12);
    let mut gates = Vec::with_capacity(4);
    for g in 0..4 {
        let (s_wi, z_wi) = tensor_params(ctx, 1 + g)?;
        let (s_wr, z_wr) = tensor_params(ctx, 5 + g)?;
        if z_wi != 0 || z_wr != 0 {
            return Err("LSTM weights must be symmetric (zero point 0)".into());
        }
        let w_in = i32s(ins[1 + g]);
        let w_rec = i32s(ins[5 + g]);
        let bias = i32s(ins[9 + g]);
        let bias_in = fold_bias(&w_in, n_input, Some(&bias), -(z_x as i32));
        let bias_rec = fold_bias(&w_rec, n_output, None, -(z_h as i32));
        // f32 effective scales as TFLite computes them, widened for QuantizeMultiplier.
        let m_in = quantize_multiplier((s_wi * s_x / inter) as f64);
        let m_rec = quantize_multiplier((s_wr * s_h / inter) as f64);
        gates.push(Gate {
            w_in,
            w_rec,
            bias_in,
            bias_rec,
            m_in,
            m_rec,
        });
    }
    let hidden_scale = (2f64.powi(-15) / a.hidden_scale as f64 * 2f64.powi(-15)) as f32;
    let m_hidden = quantize_multiplier(hidden_scale as f64);
    let hidden_zp = a.hidden_zp as i32;
    let cell_clip: i16 = if a.cell_clip > 0.0 {
        (a.cell_clip / s_c).clamp(-32768.0, 32767.0) as i16
    } else {
        0
    };

    let xv = i32s(x);
    let mut h: Vec<i32> = i32s(h0);
    let mut c: Vec<i16> = c0.data.to_i64_vec().into_iter().map(|v| v as i16).collect();
    let mut out = vec![0i64; t_len * n_batch * n_output];
    let mut gate_out = vec![vec![0i16; n_cell]; 4];
    for t in 0..t_len {
        for b in 0..n_batch {
            let xo = if a.time_major {
                (t * n_batch + b) * n_input
            } else {
                (b * t_len + t) * n_input
            };
            let xrow = &xv[xo..xo + n_input];
            let hrow = h[b * n_output..(b + 1) * n_output].to_vec();
            for (g, gate) in gates.iter().enumerate() {
                let o = &mut gate_out[g];
                o.fill(0);
                mat_acc(xrow, &gate.w_in, &gate.bias_in, gate.m_in, o);
                mat_acc(&hrow, &gate.w_rec, &gate.bias_rec, gate.m_rec, o);
                // Gate order i, f, c, o: the cell gate uses the fused activation (TANH).
                for v in o.iter_mut() {
                    *v = if g == 2 {
                        tanh16(*v, 3)
                    } else {
                        logistic16(*v, 3)
                    };
                }
            }
            let crow = &mut c[b * n_cell..(b + 1) * n_cell];
            for j in 0..n_cell {
                let fc = rdpot16_i32(gate_out[1][j] as i32 * crow[j] as i32, 15);
                let ic = rdpot16_i32(
                    gate_out[0][j] as i32 * gate_out[2][j] as i32,
                    30 + cell_scale,
                );
                let mut s = sat_add16(fc, ic);
                if cell_clip > 0 {
                    s = s.clamp(-cell_clip, cell_clip);
                }
                crow[j] = s;
            }
            for j in 0..n_cell {
                let th = tanh16(crow[j], tanh_bits);
                let prod = gate_out[3][j] as i32 * th as i32;
                let v = multiply_by_quantized_multiplier(prod, m_hidden.0, m_hidden.1) + hidden_zp;
                h[b * n_output + j] = v.clamp(-128, 127);
            }
            let oo = if a.time_major {
                (t * n_batch + b) * n_output
            } else {
                (b * t_len + t) * n_output
            };
            for j in 0..n_output {
                out[oo + j] = h[b * n_output + j] as i64;
            }
        }
    }
    let shape = if a.time_major {
        vec![t_len, n_batch, n_output]
    } else {
        vec![n_batch, t_len, n_output]
    };
    Ok(Tensor::new(shape, Data::from_i64(DType::I8, &out)))
}

/// `CwiseMul(int16, int16, shift)`: `static_cast<int16_t>(RoundingDivideByPOT(a * b, shift))`.
fn rdpot16_i32(v: i32, shift: i32) -> i16 {
    w16(rounding_divide_by_pot(v, shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_and_tanh_endpoints() {
        assert_eq!(logistic16(0, 3), 1 << 14);
        assert!(logistic16(i16::MAX, 3) > 32700);
        assert!(logistic16(-i16::MAX, 3) < 16);
        assert_eq!(tanh16(0, 3), 0);
        assert!(tanh16(i16::MAX, 3) > 32700);
        assert!(tanh16(-i16::MAX, 3) < -32700);
        // tanh(1.0) ~ 0.7616 in Q0.15.
        let t = tanh16(1 << 12, 3) as f64 / 32768.0;
        assert!((t - 0.7616).abs() < 1e-3, "{t}");
        let s = logistic16(1 << 12, 3) as f64 / 32768.0;
        assert!((s - 0.7311).abs() < 1e-3, "{s}");
    }
}
