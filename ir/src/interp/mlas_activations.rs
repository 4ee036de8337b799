//! Sigmoid, Tanh and Erf (f32) as ONNX Runtime's MLAS kernels compute them on x86-64 with
//! AVX2/FMA3 (also chosen on AVX512F machines: MLAS has no AVX512 variant of these), bit for
//! bit. Every `mul_add` below is one `vfmadd` of the assembly kernel, every other operation
//! one rounded f32 instruction, in the kernel's order.
//!
//! * Sigmoid: `MlasComputeLogisticF32KernelFma3` (onnxruntime/core/mlas/lib/x86_64/
//!   LogisticKernelFma3.S, constants `MlasLogisticConstants` in logistic.cpp): `x` clamped to
//!   `[-18, 18]`, `p = x * P(x²)` (degree 4 in `x²`), `q = Q(x²)` (degree 5),
//!   `max(p / q + 0.5, 0)` — no upper clamp.
//! * Tanh: `MlasComputeTanhF32KernelFma3` (x86_64/TanhKernelFma3.S, constants
//!   `MlasTanhConstants` in tanh.cpp): Eigen's rational approximation, `x` clamped to
//!   `[-9, 9]`, `x * P(x²) / Q(x²)` (degree 6 and 3 in `x²`). Some ORT sources carry a
//!   degree-2 rational variant on `|x|` with saturation at 5 (`_nc2 .. _dc0` constants); the
//!   1.32 wheel measured here computes the Eigen form.
//! * Erf: `MlasErfKernelFma3` (x86_64/ErfKernelFma3.S, constants `MlasErfConstants` in
//!   erf.cpp): on `a = min(|x|, 3.925)`, `a + a * S(a²)` below `0.921875`, else
//!   `1 - exp(-(a + a * B(a)))` with the kernel's own expf (round-to-int by a magic bias,
//!   two-step ln 2 reduction, degree-6 polynomial, `2^i` built from the exponent bits); the
//!   two branches merged by bitwise or, then the sign or-ed in.

// The coefficients are written as in ONNX Runtime's sources; Rust rounds each literal to f32
// exactly as the C compiler does.
#![allow(clippy::excessive_precision)]

/// `MlasLogisticConstants`: lower / upper clamp, numerator and denominator coefficients.
const LOGISTIC_RANGE: f32 = 18.0;
const LOGISTIC_ALPHA: [f32; 5] = [
    4.370_310_125_798_01e-11,
    1.156_273_244_599_42e-07,
    6.085_748_646_001_43e-05,
    8.513_771_333_047_01e-03,
    2.482_879_470_615_29e-01,
];
const LOGISTIC_BETA: [f32; 6] = [
    6.102_473_897_556_81e-13,
    5.761_021_369_934_27e-09,
    6.291_067_850_170_40e-06,
    1.701_988_173_740_94e-03,
    1.168_176_569_044_53e-01,
    9.931_519_210_231_80e-01,
];

/// Sigmoid of one f32, as `MlasComputeLogisticF32KernelFma3` computes it.
pub(crate) fn logistic(x: f32) -> f32 {
    // vmaxps(lower, x) then vminps(upper, x): a NaN input stays NaN.
    let v = max_ps(-LOGISTIC_RANGE, x);
    let v = min_ps(LOGISTIC_RANGE, v);
    let x2 = v * v;
    let mut p = x2.mul_add(LOGISTIC_ALPHA[0], LOGISTIC_ALPHA[1]);
    for &a in &LOGISTIC_ALPHA[2..] {
        p = x2.mul_add(p, a);
    }
    let mut q = x2.mul_add(LOGISTIC_BETA[0], LOGISTIC_BETA[1]);
    for &b in &LOGISTIC_BETA[2..] {
        q = x2.mul_add(q, b);
    }
    let p = v * p;
    max_ps(0.0, p / q + 0.5)
}

/// `MlasTanhConstants` (tanh.cpp): clamp, numerator (`alpha_13 .. alpha_1`) and denominator
/// (`beta_6 .. beta_0`) coefficients.
const TANH_RANGE: f32 = 9.0;
const TANH_ALPHA: [f32; 7] = [
    -2.760_768_477_423_55e-16,
    2.000_187_904_824_77e-13,
    -8.604_671_522_137_35e-11,
    5.122_297_090_371_14e-08,
    1.485_722_357_179_79e-05,
    6.372_619_288_754_36e-04,
    4.893_524_558_917_86e-03,
];
const TANH_BETA: [f32; 4] = [
    1.198_258_394_667_02e-06,
    1.185_347_056_866_54e-04,
    2.268_434_632_439_00e-03,
    4.893_525_185_543_85e-03,
];

/// Tanh of one f32, as `MlasComputeTanhF32KernelFma3` computes it.
pub(crate) fn tanh(x: f32) -> f32 {
    let v = max_ps(-TANH_RANGE, x);
    let v = min_ps(TANH_RANGE, v);
    let x2 = v * v;
    let mut p = x2.mul_add(TANH_ALPHA[0], TANH_ALPHA[1]);
    for &a in &TANH_ALPHA[2..] {
        p = x2.mul_add(p, a);
    }
    let mut q = x2.mul_add(TANH_BETA[0], TANH_BETA[1]);
    for &b in &TANH_BETA[2..] {
        q = x2.mul_add(q, b);
    }
    (v * p) / q
}

// `MlasErfConstants` (erf.cpp).
/// Inputs are clamped to this magnitude.
pub const ERF_UPPER_ABS: f32 = 3.925;
/// Magnitudes from here on take the big branch `1 - exp(-(a + a B(a)))`.
pub const ERF_SPLIT: f32 = 0.921_875;
/// The small branch polynomial `S` (in `a^2`), highest power first.
pub const ERF_SMALL: [f32; 6] = [
    -5.991_049_69e-4,
    4.993_395_88e-3,
    -2.676_673_42e-2,
    1.128_180_25e-1,
    -3.761_248_59e-1,
    1.283_791_51e-1,
];
/// The big branch polynomial `B`, highest power first.
pub const ERF_BIG: [f32; 7] = [
    1.729_489_30e-5,
    -3.832_086_80e-4,
    3.883_934_35e-3,
    -2.425_456_05e-2,
    1.067_778_47e-1,
    6.348_466_87e-1,
    1.287_175_12e-1,
];
/// Lower bound of the exponential's argument.
pub const ERF_EXP_LOWER: f32 = -88.376_262_664_794_9;
/// `1 / ln 2`.
pub const ERF_EXP_LOG2_RECIPROCAL: f32 = std::f32::consts::LOG2_E;
/// `-ln 2`, high part.
pub const ERF_EXP_LOG2_HI: f32 = -6.931_457_52e-1;
/// `-ln 2`, low part.
pub const ERF_EXP_LOG2_LO: f32 = -1.428_606_77e-6;
/// The exponential's polynomial, highest power first.
pub const ERF_EXP_P: [f32; 7] = [
    1.383_198_08e-3,
    8.375_500_33e-3,
    4.166_895_15e-2,
    1.666_644_66e-1,
    4.999_998_51e-1,
    1.0,
    1.0,
];
/// `1.5 * 2^23`: adding and subtracting it rounds to an integer.
pub const ERF_EXP_C: f32 = 1.258_291_20e+7;

/// Erf of one f32, as `MlasErfKernelFma3` computes it.
pub(crate) fn erf(x: f32) -> f32 {
    let sign = x.to_bits() & 0x8000_0000;
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    // Clamp to the upper bound; a NaN stays NaN (measured: ORT 1.32 returns NaN, sign kept).
    let a = min_ps(ERF_UPPER_ABS, a);
    // Small branch: a + a * S(a²).
    let s = a * a;
    let mut p = ERF_SMALL[0].mul_add(s, ERF_SMALL[1]);
    for &c in &ERF_SMALL[2..] {
        p = p.mul_add(s, c);
    }
    let p = p.mul_add(a, a);
    let big = ERF_SPLIT <= a;
    let small_bits = if big { 0 } else { p.to_bits() };
    // Big branch on `a` (0 in the small lanes): 1 - exp(-(a + a * B(a))).
    let b = if big { a } else { 0.0 };
    let mut q = ERF_BIG[0].mul_add(b, ERF_BIG[1]);
    for &c in &ERF_BIG[2..] {
        q = q.mul_add(b, c);
    }
    let q = -q.mul_add(b, b);
    let e = max_ps(q, ERF_EXP_LOWER);
    let r = ERF_EXP_LOG2_RECIPROCAL.mul_add(e, ERF_EXP_C) - ERF_EXP_C;
    let f = ERF_EXP_LOG2_HI.mul_add(r, e);
    let f = r.mul_add(ERF_EXP_LOG2_LO, f);
    let mut y = ERF_EXP_P[0];
    for &c in &ERF_EXP_P[1..] {
        y = y.mul_add(f, c);
    }
    // vcvttps2dq, +127, << 23: 2^r from the exponent bits.
    let scale = f32::from_bits(((r as i32).wrapping_add(127) as u32) << 23);
    let big_val = 1.0 - y * scale;
    f32::from_bits(big_val.to_bits() | small_bits | sign)
}

/// `vmaxps a, b` (`a > b ? a : b`): the second operand when either is NaN or both are zero.
#[inline]
pub(crate) fn max_ps(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// `vminps a, b` (`a < b ? a : b`): the second operand when either is NaN or both are zero.
#[inline]
pub(crate) fn min_ps(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// Gelu (approximate = "none") as ONNX Runtime 1.32 computes it (`MlasComputeGeluErf`, the
/// AVX512F kernel on this class of host): `t = x * 0.70710677`, `(0.5 * x) * (erf(t) + 1)`
/// with MLAS's erf; a NaN input comes out unchanged (payload and sign kept).
pub(crate) fn gelu_erf(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let e = erf(x * f32::from_bits(0x3F35_04F3));
    (0.5 * x) * (e + 1.0)
}

/// Gelu (approximate = "tanh") as ONNX Runtime 1.32 computes it (gelu.cc, no FMA):
/// `inner = x * ((C * x) * x + B)` with `C = 0.0356774081`, `B = sqrt(2 / pi)`, then
/// `(0.5 * x) * (tanh(inner) + 1)` with MLAS's tanh.
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    // 0.035677408136300125f and 0.7978845608028654f as the C++ source rounds them.
    let (c, b) = (f32::from_bits(0x3D12_2279), f32::from_bits(0x3F4C_422A));
    let inner = x * ((c * x) * x + b);
    (0.5 * x) * (tanh(inner) + 1.0)
}
