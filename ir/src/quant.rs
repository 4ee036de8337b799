//! Quantization arithmetic shared by the reference interpreter and the JIT.
//!
//! Two requantization flavours exist (see [`crate::RequantMode`]):
//!
//! * **Float** (ONNX Runtime): `saturate(round_half_even(acc as f32 * M) + zp)` with the
//!   multiplier `M = s_in * s_w / s_out` computed in f32 in exactly that order.
//! * **Fixed point** (TFLite reference kernels): `M` is turned into a 31-bit significand and a
//!   power-of-two shift by [`quantize_multiplier`], and applied with
//!   [`multiply_by_quantized_multiplier`] (gemmlowp's `SaturatingRoundingDoublingHighMul`
//!   followed by `RoundingDivideByPOT`), bit-exact with
//!   `tensorflow/lite/kernels/internal/common.h` (the default, non single-rounding build).
//!
//! Quantizing a float (`QuantizeLinear`) always divides in the float type and rounds half to
//! even, like ONNX Runtime's `MlasQuantizeLinear` and ONNX's reference implementation.

use crate::RequantMode;

/// Rounds half to even (C `nearbyint` in the default rounding mode).
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    x.round_ties_even()
}

/// Rounds half to even, f64 version.
#[inline]
pub fn round_half_even_f64(x: f64) -> f64 {
    x.round_ties_even()
}

/// Clamps an integer into `[qmin, qmax]`.
#[inline]
pub fn saturate(v: i64, qmin: i64, qmax: i64) -> i64 {
    v.clamp(qmin, qmax)
}

/// `saturate(r + zero_point)` where `r` is an already rounded float. NaN maps to the zero
/// point (Rust `as` semantics: NaN -> 0), infinities saturate.
#[inline]
fn add_zp_saturate(r: f64, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
    // `as i64` saturates (and maps NaN to 0); the saturating add cannot wrap.
    saturate((r as i64).saturating_add(zero_point), qmin, qmax)
}

/// Quantizes one f32 value: `saturate(round_half_even(x / scale) + zero_point, qmin, qmax)`,
/// with the division and the rounding done in f32 exactly like ONNX Runtime.
#[inline]
pub fn quantize_f32(x: f32, scale: f32, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
    add_zp_saturate(round_half_even(x / scale) as f64, zero_point, qmin, qmax)
}

/// Quantizes one f32 value as TFLite's reference `AffineQuantize` does (fixed-point
/// modules): `saturate(round_half_away_from_zero(x / scale) + zero_point)`, the division
/// in f32.
#[inline]
pub fn quantize_f32_tflite(x: f32, scale: f32, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
    add_zp_saturate((x / scale).round() as f64, zero_point, qmin, qmax)
}

/// `quantize` of one f32 value in a module's arithmetic: round half to even (ONNX, float
/// modules) or half away from zero (TFLite, fixed-point modules).
#[inline]
pub fn quantize_f32_mode(
    mode: RequantMode,
    x: f32,
    scale: f32,
    zero_point: i64,
    qmin: i64,
    qmax: i64,
) -> i64 {
    match mode {
        RequantMode::Float => quantize_f32(x, scale, zero_point, qmin, qmax),
        RequantMode::FixedPoint => quantize_f32_tflite(x, scale, zero_point, qmin, qmax),
    }
}

/// Entries of a `lut` table for an operand of element type `dt`: one per stored value
/// (256 for 8-bit, 65536 for 16-bit integers), `None` for other types.
pub fn lut_entries(dt: crate::DType) -> Option<usize> {
    match dt.int_range() {
        Some(_) if matches!(dt.size(), 1 | 2) => Some(1 << (8 * dt.size())),
        _ => None,
    }
}

/// The shift ONNX Runtime's x86 kernels apply before computing: int8 tensors between Q/DQ
/// pairs are rewritten to uint8 with zero point + 128 (QDQS8ToU8Transformer), so the
/// QLinearAdd / QLinearMul / QLinearAveragePool / QLinearSoftmax float arithmetic runs on
/// `v + 128`. The interpreter and the JIT both read it here.
pub fn ort_domain_offset(dt: crate::DType) -> i64 {
    if dt == crate::DType::I8 {
        128
    } else {
        0
    }
}

/// The constant of ONNX Runtime's QLinearAdd (MLAS's AVX2 kernel):
/// `(float)z_y - (r_a * z_a + r_b * z_b)`, which the compiler that built MLAS contracts to
/// `z_y - fma(r_a, z_a, r_b * z_b)`; probed against ONNX Runtime 1.32 on every pair of
/// stored values (the plain sum differs in the last bit for some parameters, which moves
/// a few outputs by one step).
pub fn qladd_constant(ra: f32, za: i64, rb: f32, zb: i64, zy: i64) -> f32 {
    zy as f32 - ra.mul_add(za as f32, rb * zb as f32)
}

/// TFLite's `MultiplyByQuantizedMultiplier(int64 x, int32 m0, int shift)` (the int16x8
/// kernels' int64 accumulators): the multiplier is first reduced to 16 bits,
/// `(m0 + 2^15) >> 16` (`0x7FFF` at the top), then
/// `(x * reduced + 2^(14 - shift)) >> (15 - shift)`, truncated to int32.
#[inline]
pub fn multiply_by_quantized_multiplier_i64(x: i64, m0: i32, shift: i32) -> i32 {
    let reduced: i64 = if m0 < 0x7FFF_0000 {
        ((m0 as i64) + (1 << 15)) >> 16
    } else {
        0x7FFF
    };
    let total_shift = (15 - shift).clamp(1, 63);
    let v = x
        .wrapping_mul(reduced)
        .wrapping_add(1i64 << (total_shift - 1));
    (v >> total_shift) as i32
}

/// Quantizes one f64 value (division and rounding in f64).
#[inline]
pub fn quantize_f64(x: f64, scale: f64, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
    add_zp_saturate(round_half_even_f64(x / scale), zero_point, qmin, qmax)
}

/// Dequantizes one value: `(q - zero_point) as f32 * scale` (integer subtraction first, like
/// ONNX Runtime's DequantizeLinear).
#[inline]
pub fn dequantize_f32(q: i64, scale: f32, zero_point: i64) -> f32 {
    (q.wrapping_sub(zero_point)) as f32 * scale
}

/// The float requantization multiplier `s_in * s_w / s_out`, in f32, in that order.
#[inline]
pub fn float_multiplier(s_in: f32, s_w: f32, s_out: f32) -> f32 {
    s_in * s_w / s_out
}

/// Float requantization: `saturate(round_half_even(acc as f32 * multiplier) + zero_point)`.
#[inline]
pub fn requantize_float(acc: i32, multiplier: f32, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
    add_zp_saturate(
        round_half_even(acc as f32 * multiplier) as f64,
        zero_point,
        qmin,
        qmax,
    )
}

/// `frexp`: `x = fraction * 2^exp` with `|fraction|` in `[0.5, 1)`; `(0, 0)` for zero, and
/// `(x, 0)` for infinities and NaN (like C's frexp).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(x * 2f64.powi(64));
        return (f, e - 64);
    }
    let exp = biased - 1022;
    // Replace the exponent field by 1022 (i.e. 2^-1) to get a fraction in [0.5, 1).
    let frac = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (frac, exp)
}

/// TFLite's `QuantizeMultiplier`: splits a real multiplier into a Q31 significand `m0` and a
/// power-of-two exponent `shift` (positive = left shift) with `multiplier ~= m0 * 2^(shift - 31)`.
///
/// The significand is `round(frac * 2^31)` with rounding half away from zero (`std::round`);
/// a significand of exactly `2^31` is halved; multipliers below about `2^-31` (shift < -31)
/// flush to `(0, 0)`. Non-finite or absurdly large multipliers (which TFLite rejects with a
/// check failure) return `(0, 0)` too.
pub fn quantize_multiplier(multiplier: f64) -> (i32, i32) {
    if multiplier == 0.0 || !multiplier.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(multiplier);
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64;
    if q_fixed == (1i64 << 31) {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    if q_fixed > i32::MAX as i64 || q_fixed < i32::MIN as i64 || shift > 62 {
        return (0, 0);
    }
    (q_fixed as i32, shift)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2 * a * b`, rounded
/// to nearest (ties away from zero), saturating the single overflow case
/// `a == b == i32::MIN`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Rust's `/` truncates toward zero like C++.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
/// `exponent` is clamped into `[0, 31]` (TFLite asserts that range).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier(int32 x, int32 m0, int shift)`:
/// `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^left, m0), right)` with
/// `left = max(shift, 0)`, `right = max(-shift, 0)`. The left shift wraps on overflow
/// (undefined behaviour in C++, two's complement wrap in practice).
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, m0: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0);
    let shifted = if left >= 32 {
        0
    } else {
        x.wrapping_mul(1i32.wrapping_shl(left as u32))
    };
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m0), right)
}

/// Fixed-point requantization: `saturate(multiply_by_quantized_multiplier(acc, m0, shift) + zp)`.
#[inline]
pub fn requantize_fixed(
    acc: i32,
    m0: i32,
    shift: i32,
    zero_point: i64,
    qmin: i64,
    qmax: i64,
) -> i64 {
    saturate(
        multiply_by_quantized_multiplier(acc, m0, shift) as i64 + zero_point,
        qmin,
        qmax,
    )
}

/// One output channel's requantization multiplier, in the module's [`RequantMode`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Multiplier {
    /// Float multiplier `M` (ONNX Runtime).
    Float(f32),
    /// TFLite significand and shift.
    Fixed {
        /// Q31 significand.
        m0: i32,
        /// Power-of-two exponent (positive = left shift).
        shift: i32,
    },
}

impl Multiplier {
    /// The multiplier for `s_in * s_w / s_out`: f32 arithmetic in that order for
    /// [`RequantMode::Float`]; f64 arithmetic then [`quantize_multiplier`] for
    /// [`RequantMode::FixedPoint`] (as TFLite computes its effective output scale).
    pub fn new(mode: RequantMode, s_in: f32, s_w: f32, s_out: f32) -> Self {
        match mode {
            RequantMode::Float => Multiplier::Float(float_multiplier(s_in, s_w, s_out)),
            RequantMode::FixedPoint => {
                let (m0, shift) = quantize_multiplier(s_in as f64 * s_w as f64 / s_out as f64);
                Multiplier::Fixed { m0, shift }
            }
        }
    }

    /// TFLite MUL's multiplier: `s_a * s_b / s_out` evaluated in f32 (the scales are f32
    /// and `Prepare` multiplies them before widening to double), then
    /// [`quantize_multiplier`]. Checked against LiteRT on int16 operands, where the f64
    /// product gives a multiplier that moves some outputs by one step.
    pub fn tflite_mul(s_a: f32, s_b: f32, s_out: f32) -> Self {
        let (m0, shift) = quantize_multiplier(f64::from(s_a * s_b / s_out));
        Multiplier::Fixed { m0, shift }
    }

    /// The multiplier for `alpha * s_a * s_b / s_out` (QGemm): `((alpha * s_a) * s_b) / s_out`,
    /// in f32 or f64 according to the mode. With `alpha == 1` this equals [`Multiplier::new`].
    pub fn with_alpha(mode: RequantMode, alpha: f32, s_a: f32, s_b: f32, s_out: f32) -> Self {
        match mode {
            RequantMode::Float => Multiplier::Float(alpha * s_a * s_b / s_out),
            RequantMode::FixedPoint => {
                let (m0, shift) =
                    quantize_multiplier(alpha as f64 * s_a as f64 * s_b as f64 / s_out as f64);
                Multiplier::Fixed { m0, shift }
            }
        }
    }

    /// Requantizes an int64 accumulator (int16x8 kernels with int64 bias): TFLite's int64
    /// `MultiplyByQuantizedMultiplier` in fixed-point mode; the float mode rounds
    /// `acc as f64 * M` half to even.
    #[inline]
    pub fn apply_i64(self, acc: i64, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
        match self {
            Multiplier::Float(m) => saturate(
                ((acc as f64 * m as f64).round_ties_even() as i64).saturating_add(zero_point),
                qmin,
                qmax,
            ),
            Multiplier::Fixed { m0, shift } => saturate(
                multiply_by_quantized_multiplier_i64(acc, m0, shift) as i64 + zero_point,
                qmin,
                qmax,
            ),
        }
    }

    /// Requantizes an int32 accumulator to `[qmin, qmax]` around `zero_point`.
    #[inline]
    pub fn apply(self, acc: i32, zero_point: i64, qmin: i64, qmax: i64) -> i64 {
        match self {
            Multiplier::Float(m) => requantize_float(acc, m, zero_point, qmin, qmax),
            Multiplier::Fixed { m0, shift } => {
                requantize_fixed(acc, m0, shift, zero_point, qmin, qmax)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_even_ties() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-0.5), -0.0);
        assert_eq!(round_half_even(-1.5), -2.0);
        assert_eq!(round_half_even(-2.5), -2.0);
        assert_eq!(round_half_even(2.4999998), 2.0);
        assert_eq!(round_half_even_f64(3.5), 4.0);
    }

    #[test]
    fn quantize_values() {
        // ONNX QuantizeLinear doc example: x / 2 + 128 on uint8.
        let x = [0.0f32, 2.0, 3.0, 1000.0, -254.0, -1000.0];
        let q: Vec<i64> = x
            .iter()
            .map(|&v| quantize_f32(v, 2.0, 128, 0, 255))
            .collect();
        assert_eq!(q, vec![128, 129, 130, 255, 1, 0]);
        // 3/2 = 1.5 -> 2 (even); 5/2 = 2.5 -> 2 (even); -5/2 -> -2.
        assert_eq!(quantize_f32(5.0, 2.0, 0, -128, 127), 2);
        assert_eq!(quantize_f32(-5.0, 2.0, 0, -128, 127), -2);
        // Narrow int8.
        assert_eq!(quantize_f32(-1000.0, 1.0, 0, -127, 127), -127);
        // NaN -> zero point; infinities saturate.
        assert_eq!(quantize_f32(f32::NAN, 1.0, 7, 0, 255), 7);
        assert_eq!(quantize_f32(f32::INFINITY, 1.0, 7, 0, 255), 255);
        assert_eq!(quantize_f32(f32::NEG_INFINITY, 1.0, 7, 0, 255), 0);
        // The quotient is rounded to f32 before rounding to an integer: 0.15 / 0.1 is 1.5 in
        // f32 -> 2 (even); 0.25 / 0.1 is 2.5 in f32 -> 2 (even).
        assert_eq!(quantize_f32(0.15, 0.1, 0, -128, 127), 2);
        assert_eq!(quantize_f32(0.25, 0.1, 0, -128, 127), 2);
        assert_eq!(quantize_f64(2.5, 1.0, 0, -128, 127), 2);
        assert_eq!(dequantize_f32(130, 2.0, 128), 4.0);
        assert_eq!(dequantize_f32(-128, 0.5, 1), -64.5);
    }

    #[test]
    fn float_requant() {
        // M = 0.5 * 0.25 / 0.125 = 1.0
        assert_eq!(float_multiplier(0.5, 0.25, 0.125), 1.0);
        assert_eq!(requantize_float(5, 0.5, 0, -128, 127), 2); // 2.5 -> 2
        assert_eq!(requantize_float(7, 0.5, 0, -128, 127), 4); // 3.5 -> 4
        assert_eq!(requantize_float(-5, 0.5, 10, -128, 127), 8); // -2.5 -> -2, +10
        assert_eq!(requantize_float(1000, 1.0, 0, -128, 127), 127);
        assert_eq!(requantize_float(-1000, 1.0, 3, 0, 255), 0);
    }

    #[test]
    fn frexp_values() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(0.1), (0.8, -3));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(0.0), (0.0, 0));
        let tiny = f64::from_bits(1); // 2^-1074
        assert_eq!(frexp(tiny), (0.5, -1073));
    }

    #[test]
    fn quantize_multiplier_values() {
        // 0.5 = 0.5 * 2^0 -> m0 = 2^30, shift 0.
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        // 1.0 = 0.5 * 2^1.
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        // 0.75 -> 0.75 * 2^31 = 1610612736.
        assert_eq!(quantize_multiplier(0.75), (1610612736, 0));
        // 0.1 = 0.8 * 2^-3 -> round(0.8 * 2^31) = 1717986918 (1717986918.4).
        assert_eq!(quantize_multiplier(0.1), (1717986918, -3));
        // Rounds up to 2^31 -> halved, shift + 1: 1 - 2^-40 = (1 - 2^-40) * 2^0.
        assert_eq!(quantize_multiplier(1.0 - 2f64.powi(-40)), (1 << 30, 1));
        // Tiny multipliers flush to zero.
        assert_eq!(quantize_multiplier(1e-12), (0, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
    }

    #[test]
    fn srdhm_values() {
        // (2^30 * 2^30 * 2) >> 32 = 2^29.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // 100 * 2^30 * 2 / 2^32 = 50.
        assert_eq!(saturating_rounding_doubling_high_mul(100, 1 << 30), 50);
        // Ties: 3 * 2^30 * 2 / 2^32 = 1.5 -> 2, but -1.5 -> -1: the negative nudge is
        // 1 - 2^30 (not -2^30), so gemmlowp rounds ties toward +infinity.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1); // 0.5 -> 1
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0); // -0.5 -> 0
                                                                           // Non-ties round to nearest: -7 * 0.5 * ... = -1.75 -> -2.
        assert_eq!(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn rdbpot_values() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 -> 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25 -> 1
        assert_eq!(rounding_divide_by_pot(-5, 2), -1);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    }

    #[test]
    fn mbqm_values() {
        // multiplier 0.5: (1<<30, 0).
        // No right shift: the tie is rounded by SRDHM (toward +inf).
        assert_eq!(multiply_by_quantized_multiplier(5, 1 << 30, 0), 3); // 2.5 -> 3
        assert_eq!(multiply_by_quantized_multiplier(-5, 1 << 30, 0), -2); // -2.5 -> -2
                                                                          // multiplier 0.1 = (1717986918, -3): 1000 * 0.1 = 100.
        let (m0, sh) = quantize_multiplier(0.1);
        assert_eq!(multiply_by_quantized_multiplier(1000, m0, sh), 100);
        assert_eq!(multiply_by_quantized_multiplier(-1000, m0, sh), -100);
        assert_eq!(multiply_by_quantized_multiplier(15, m0, sh), 2); // 1.5 -> 2
        assert_eq!(multiply_by_quantized_multiplier(25, m0, sh), 3); // 2.5 -> 3
        assert_eq!(multiply_by_quantized_multiplier(-25, m0, sh), -3);
        // multiplier 3.0 = 0.75 * 2^2: left shift path.
        let (m0, sh) = quantize_multiplier(3.0);
        assert_eq!((m0, sh), (1610612736, 2));
        assert_eq!(multiply_by_quantized_multiplier(7, m0, sh), 21);
        assert_eq!(multiply_by_quantized_multiplier(-7, m0, sh), -21);
        // Hand-checked: m = 0.0072474 (typical conv scale ratio).
        let (m0, sh) = quantize_multiplier(0.0072474);
        // frexp(0.0072474) = 0.9276672 * 2^-7; m0 = round(0.9276672 * 2^31).
        assert_eq!(sh, -7);
        assert_eq!(m0, (0.0072474f64 * 2f64.powi(38)).round() as i32);
        // 12345 * 0.0072474 = 89.469 -> 89.
        assert_eq!(multiply_by_quantized_multiplier(12345, m0, sh), 89);
        assert_eq!(requantize_fixed(12345, m0, sh, -128, -128, 127), -39);
        assert_eq!(requantize_fixed(100000, m0, sh, 0, -128, 127), 127);
    }

    #[test]
    fn multiplier_modes() {
        // Power-of-two scales: M = 0.5 * 0.25 / 4 = 1/32 exactly (frexp: 0.5 * 2^-4).
        let f = Multiplier::new(RequantMode::Float, 0.5, 0.25, 4.0);
        assert_eq!(f, Multiplier::Float(1.0 / 32.0));
        let x = Multiplier::new(RequantMode::FixedPoint, 0.5, 0.25, 4.0);
        assert_eq!(
            x,
            Multiplier::Fixed {
                m0: 1 << 30,
                shift: -4
            }
        );
        // acc 32 -> 1.0 exactly, + zp 3.
        assert_eq!(f.apply(32, 3, 0, 255), 4);
        assert_eq!(x.apply(32, 3, 0, 255), 4);
        // Ties: 48/32 = 1.5, 80/32 = 2.5, -80/32 = -2.5. Float rounds half to even;
        // TFLite (SRDHM then RoundingDivideByPOT) rounds these away from zero.
        assert_eq!(f.apply(48, 0, -128, 127), 2);
        assert_eq!(x.apply(48, 0, -128, 127), 2);
        assert_eq!(f.apply(80, 0, -128, 127), 2);
        assert_eq!(x.apply(80, 0, -128, 127), 3);
        assert_eq!(f.apply(-80, 0, -128, 127), -2);
        assert_eq!(x.apply(-80, 0, -128, 127), -3);
        // Saturation.
        assert_eq!(f.apply(32 * 1000, 0, -128, 127), 127);
        assert_eq!(x.apply(-32 * 1000, 10, 0, 255), 0);
        // The float multiplier is computed in f32 in the order s_in * s_w / s_out:
        // 0.02 * 0.005 / 0.1 is slightly below 0.001 in f32, so 1500 * M rounds to 1.
        let g = Multiplier::new(RequantMode::Float, 0.02, 0.005, 0.1);
        assert_eq!(g, Multiplier::Float(0.02f32 * 0.005f32 / 0.1f32));
        assert_eq!(g.apply(1500, 0, -128, 127), 1);
        assert_eq!(g.apply(1501, 0, -128, 127), 2);
        // alpha = 1 reproduces `new`; alpha scales the multiplier.
        assert_eq!(
            Multiplier::with_alpha(RequantMode::Float, 1.0, 0.02, 0.005, 0.1),
            g
        );
        assert_eq!(
            Multiplier::with_alpha(RequantMode::Float, 2.0, 0.5, 0.5, 1.0),
            Multiplier::Float(0.5)
        );
        assert_eq!(
            Multiplier::with_alpha(RequantMode::FixedPoint, 2.0, 0.5, 0.5, 1.0),
            Multiplier::Fixed {
                m0: 1 << 30,
                shift: 0
            }
        );
    }
}
