//! gemmlowp's fixed-point arithmetic as TFLite's reference kernels use it (int32 raw values,
//! `FixedPoint<int32, k>` = `k` integer bits and `31 - k` fractional bits), bit-exact with
//! `fixedpoint/fixedpoint.h` and `tensorflow/lite/kernels/internal/common.h`.
//!
//! Additions and subtractions of raw values wrap (two's complement), as in the C++.

use crate::quant::{
    quantize_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};

/// `SaturatingRoundingMultiplyByPOT<e>`: a saturating left shift for `e > 0`, a rounding
/// right shift for `e < 0`.
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, e: i32) -> i32 {
    if e > 0 {
        let threshold = (1i64 << (31 - e)) - 1;
        if x as i64 > threshold {
            i32::MAX
        } else if (x as i64) < -threshold {
            i32::MIN
        } else {
            x.wrapping_shl(e as u32)
        }
    } else if e < 0 {
        rounding_divide_by_pot(x, -e)
    } else {
        x
    }
}

/// `Rescale<dst_bits>` of a raw value with `src_bits` integer bits.
#[inline]
pub fn rescale(x: i32, src_bits: i32, dst_bits: i32) -> i32 {
    saturating_rounding_multiply_by_pot(x, src_bits - dst_bits)
}

/// Fixed-point product (any integer bits): `SaturatingRoundingDoublingHighMul` of the raws.
#[inline]
pub fn mul(a: i32, b: i32) -> i32 {
    saturating_rounding_doubling_high_mul(a, b)
}

/// gemmlowp's `RoundingHalfSum` for int32.
#[inline]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp_on_interval_between_negative_one_quarter_and_0_excl` on a Q0.31 raw value.
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1895147668; // exp(-1/8)
    const ONE_OVER_3: i32 = 715827883;
    let x = a.wrapping_add(1 << 28); // a + 1/8
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let inner = mul(x4_over_4.wrapping_add(x3), ONE_OVER_3).wrapping_add(x2);
    let poly = saturating_rounding_multiply_by_pot(inner, -1);
    CONSTANT_TERM.wrapping_add(mul(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// `exp_on_negative_values` of a raw value with `int_bits` integer bits (`a <= 0`); the
/// result is Q0.31.
pub fn exp_on_negative_values(a: i32, int_bits: i32) -> i32 {
    let frac_bits = 31 - int_bits;
    let one_quarter = 1i32 << (frac_bits - 2);
    let mask = one_quarter.wrapping_sub(1);
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(
        a_mod_quarter_minus_one_quarter,
        int_bits,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        if int_bits > exponent {
            let shift = frac_bits + exponent;
            if (0..32).contains(&shift) && remainder & (1i32.wrapping_shl(shift as u32)) != 0 {
                result = mul(result, multiplier);
            }
        }
    }
    if int_bits > 5 {
        let clamp = -(1i64 << (36 - int_bits).clamp(0, 31)) as i32;
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i32::MAX;
    }
    result
}

/// `one_over_one_plus_x_for_x_in_0_1` on a Q0.31 raw value: Newton-Raphson division.
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, i32::MAX);
    const C48_OVER_17: i32 = 1515870810;
    const CNEG32_OVER_17: i32 = -1010580540;
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let hdx = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(hdx);
        x = x.wrapping_add(rescale(mul(x, one_minus), 4, 2));
    }
    // ExactMulByPot<-1> (Q2 -> Q1: same raw, the binary point moves) then Rescale<0>.
    rescale(x, 1, 0)
}

/// TFLite's `GetReciprocal(x, x_integer_digits)`: `(Q0.31 reciprocal, num_bits_over_unit)`.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    let shifted_sum_minus_one =
        ((x as u32).wrapping_shl(headroom_plus_one as u32)).wrapping_sub(1u32 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// TFLite's `MultiplyByQuantizedMultiplierGreaterThanOne`.
#[inline]
pub fn multiply_by_quantized_multiplier_greater_than_one(x: i32, m: i32, left_shift: i32) -> i32 {
    mul(
        x.wrapping_mul(1i32.wrapping_shl(left_shift.clamp(0, 31) as u32)),
        m,
    )
}

/// Parameters of TFLite's quantized reference softmax for one input scale and beta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// `input_multiplier` (Q31).
    pub multiplier: i32,
    /// `input_left_shift`.
    pub left_shift: i32,
    /// `diff_min`: differences below it contribute 0.
    pub diff_min: i32,
}

/// Integer bits of the scaled differences (Q5.26).
pub const SOFTMAX_SCALED_DIFF_INT_BITS: i32 = 5;
/// Integer bits of the sum of exponentials (Q12.19).
pub const SOFTMAX_ACCUM_INT_BITS: i32 = 12;

impl SoftmaxParams {
    /// `PreprocessSoftmaxScaling(beta, input_scale, 5)` and `CalculateInputRadius(5, shift)`.
    pub fn new(beta: f64, input_scale: f64) -> Self {
        let ib = SOFTMAX_SCALED_DIFF_INT_BITS;
        let real = (beta * input_scale * (1i64 << (31 - ib)) as f64).min((1i64 << 31) as f64 - 1.0);
        let (multiplier, left_shift) = quantize_multiplier(real);
        let max_input_rescaled =
            ((1i64 << ib) - 1) as f64 * (1i64 << (31 - ib)) as f64 / 2f64.powi(left_shift.max(0));
        let radius = max_input_rescaled.floor() as i32;
        SoftmaxParams {
            multiplier,
            left_shift,
            diff_min: -radius,
        }
    }
}

/// TFLite's reference quantized softmax of one row (`reference_ops::Softmax` for int8 /
/// uint8 input), writing `out_bits`-bit results offset by `out_min`, saturated to
/// `[out_min, out_max]`.
pub fn softmax_row(
    p: &SoftmaxParams,
    row: &[i64],
    out_bits: i32,
    out_min: i64,
    out_max: i64,
    out: &mut Vec<i64>,
) {
    let Some(&max_in_row) = row.iter().max() else {
        return;
    };
    let exps: Vec<Option<i32>> = row
        .iter()
        .map(|&v| {
            let diff = (v - max_in_row) as i32;
            (diff >= p.diff_min).then(|| {
                let scaled = multiply_by_quantized_multiplier_greater_than_one(
                    diff,
                    p.multiplier,
                    p.left_shift,
                );
                exp_on_negative_values(scaled, SOFTMAX_SCALED_DIFF_INT_BITS)
            })
        })
        .collect();
    let mut sum: i32 = 0;
    for e in exps.iter().flatten() {
        sum = sum.wrapping_add(rescale(*e, 0, SOFTMAX_ACCUM_INT_BITS));
    }
    let (shifted_scale, num_bits_over_unit) = get_reciprocal(sum, SOFTMAX_ACCUM_INT_BITS);
    let exponent = (num_bits_over_unit + 31 - out_bits).clamp(0, 31);
    for e in exps {
        out.push(match e {
            Some(e) => {
                let unsat = rounding_divide_by_pot(mul(shifted_scale, e), exponent) as i64;
                (unsat + out_min).clamp(out_min, out_max)
            }
            None => out_min,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_values() {
        // exp(0) = 1 (saturated Q0.31 one).
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
        // exp(-1) in Q5.26 input: -1 = -(1 << 26).
        let e = exp_on_negative_values(-(1 << 26), 5) as f64 / 2f64.powi(31);
        assert!((e - (-1f64).exp()).abs() < 1e-6, "{e}");
        let e = exp_on_negative_values(-(5 << 26) - (1 << 24), 5) as f64 / 2f64.powi(31);
        assert!((e - (-5.25f64).exp()).abs() < 1e-6, "{e}");
    }

    #[test]
    fn reciprocal_values() {
        // 1 / (1 + 0.5) = 2/3.
        let r = one_over_one_plus_x_for_x_in_0_1(1 << 30) as f64 / 2f64.powi(31);
        assert!((r - 2.0 / 3.0).abs() < 1e-6, "{r}");
        // sum = 3.0 in Q12.19: 1/3 = (2/3) * 2^-1, i.e. 2/3 with one bit over unit.
        let (r, bits) = get_reciprocal(3 << 19, 12);
        assert_eq!(bits, 1);
        assert!((r as f64 / 2f64.powi(31) - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn softmax_uniform_row() {
        // Four equal inputs: each output is 1/4, i.e. 64 steps of 1/256 above -128.
        let p = SoftmaxParams::new(1.0, 0.1);
        let mut out = Vec::new();
        softmax_row(&p, &[5, 5, 5, 5], 8, -128, 127, &mut out);
        assert_eq!(out, vec![-64, -64, -64, -64]);
    }
}
