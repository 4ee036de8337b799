//! Softmax (f32) as ONNX Runtime's `MlasComputeSoftmax` computes it on an AVX512F machine,
//! bit for bit (onnxruntime/core/mlas/lib/compute.cpp, `MlasComputeSoftmaxThreaded`; ORT's
//! Softmax-13 transposes a non-last axis to the end first, so each row is one softmax axis).
//!
//! Per row of `D` elements:
//! 1. the maximum (`MlasReduceMaximumF32KernelAvx512F`; its order cannot change the value);
//! 2. `MlasComputeSumExpF32KernelAvx512F` (x86_64/TransKernelAvx512F.S, constants
//!    `MlasExpConstants` in compute.cpp): `e_i = exp(x_i + (-max))` with
//!    the clamp at `-103.972084`, `m = fma(x, 1/ln 2, bias) - bias`, a two-step `ln 2`
//!    reduction, a degree-6 polynomial and `vscalefps` (`p * 2^m`, one rounding, gradual
//!    underflow); the sum in 16 lane accumulators (lane `i % 16` adds `e_i` in order),
//!    folded as `s_j = acc_j + acc_{j+8}`, then `((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7))`;
//! 3. `MlasComputeSoftmaxOutputF32KernelAvx`: every `e_i` multiplied by `1.0f / sum`.

// The coefficients are written as in ONNX Runtime's sources; Rust rounds each literal to f32
// exactly as the C compiler does.
#![allow(clippy::excessive_precision)]

// `MlasExpConstants` (compute.cpp) as the AVX512F kernels use them.

/// Inputs below are clamped to this (the result underflows to 0 or a subnormal).
pub const LOWER_RANGE: f32 = -103.972_084_045_4;
/// Inputs above are clamped to this.
pub const UPPER_RANGE: f32 = 88.776_262_664_795_0;
/// `1.5 * 2^23`: adding and subtracting it rounds to an integer.
pub const ROUNDING_BIAS: f32 = 12_582_912.0; // MLAS_ROUNDING_BIAS_MAGIC
/// `1 / ln 2`.
pub const LOG2_RECIPROCAL: f32 = std::f32::consts::LOG2_E;
/// `-ln 2`, high part.
pub const LOG2_HIGH: f32 = -6.931_457_52e-1;
/// `-ln 2`, low part.
pub const LOG2_LOW: f32 = -1.428_606_77e-6;
/// The polynomial's coefficients as f32 bits, highest degree first:
/// `0x1.694000p-10, 0x1.125edcp-7, 0x1.555b5ap-5, 0x1.555450p-3, 0x1.fffff6p-2, 1.0`.
pub const POLY: [u32; 6] = [
    0x3ab4_a000,
    0x3c09_2f6e,
    0x3d2a_adad,
    0x3e2a_aa28,
    0x3eff_fffb,
    0x3f80_0000,
];

/// `exp(x)` as one lane of the AVX512F exp kernels (`x` already biased by `-max` in
/// softmax). Besides the lower clamp the input is clamped above at `88.776263` (so `+inf`
/// gives `+inf`, as ORT 1.32 does); a NaN passes through with its sign.
pub(crate) fn exp_avx512(x: f32) -> f32 {
    let x = if LOWER_RANGE > x { LOWER_RANGE } else { x };
    let x = if UPPER_RANGE < x { UPPER_RANGE } else { x };
    let biased = x.mul_add(LOG2_RECIPROCAL, ROUNDING_BIAS);
    let m = biased - ROUNDING_BIAS;
    let x = m.mul_add(LOG2_HIGH, x);
    let x = m.mul_add(LOG2_LOW, x);
    let c = |i: usize| f32::from_bits(POLY[i]);
    let mut p = c(0);
    for i in 1..5 {
        p = p.mul_add(x, c(i));
    }
    p = p.mul_add(x, c(5));
    p = p.mul_add(x, c(5));
    scalef(p, m)
}

/// `vscalefps p, m` for an integral `m`: `p * 2^m` rounded once to f32.
fn scalef(p: f32, m: f32) -> f32 {
    // A NaN operand is returned (quieted), the first one first.
    if p.is_nan() {
        return p;
    }
    if m.is_nan() {
        return m;
    }
    let e = m.clamp(-2000.0, 2000.0) as i32;
    // p * 2^e is exact in f64 while 2^e is a normal f64; split the scale to stay there.
    let half = e / 2;
    let v = p as f64 * 2f64.powi(half) * 2f64.powi(e - half);
    v as f32
}

/// Softmax of one contiguous row, in place.
pub(crate) fn softmax_row(row: &mut [f32]) {
    if row.is_empty() {
        return;
    }
    let max = row
        .iter()
        .copied()
        .fold(f32::MIN, |a, b| if b > a { b } else { a });
    let neg_max = -max;
    let mut acc = [0f32; 16];
    for (i, v) in row.iter_mut().enumerate() {
        let e = exp_avx512(neg_max + *v);
        *v = e;
        acc[i % 16] += e;
    }
    let s: Vec<f32> = (0..8).map(|j| acc[j + 8] + acc[j]).collect();
    let sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    let scale = 1.0f32 / sum;
    for v in row.iter_mut() {
        *v *= scale;
    }
}
