//! TFLite's int16 SOFTMAX (`reference_ops::SoftmaxInt16`, tables from the kernel's Prepare):
//! the row's maximum is subtracted, the difference scaled so that `[-65535, 0]` covers
//! `[-10, 0]` (`MultiplyByQuantizedMultiplier` with `QuantizeMultiplier(s_x * beta /
//! (10 / 65535))`, the product `s_x * beta` in f32), recentred by `+32767` and looked up in a
//! 513-entry `exp` table with linear interpolation; the Q16.15 sum is normalised by its
//! leading zeros and looked up in a `1 / (1 + x)` table; each exp is scaled by that
//! reciprocal with a rounding shift and clamped to `[0, 32767]`. The tables are built as
//! `LUTPopulate<int16_t>` does for this kernel (512 samples with a midpoint-error bias, in
//! f64 "for backward compatibility"): `exp` over `[-10, 0]` and `1 / (1 + x)` over `[0, 1]`,
//! both onto `[-1, 1]`. Checked against LiteRT 2.3's reference kernel on every element.

use super::tflite_lut16::{lookup, populate};
use crate::quant::{multiply_by_quantized_multiplier, quantize_multiplier};

/// The kernel's two tables, which depend on no parameter: built once per process.
fn tables() -> &'static (Vec<i16>, Vec<i16>) {
    static TABLES: std::sync::OnceLock<(Vec<i16>, Vec<i16>)> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let range = 65535.0;
        (
            populate(10.0 / range, i16::MAX as i32, 2.0 / range, 0, f64::exp),
            populate(1.0 / range, i16::MIN as i32, 2.0 / range, 0, |v: f64| {
                1.0 / (1.0 + v)
            }),
        )
    })
}

/// The int16 softmax of each row of `depth` values of `x` (stored int16), input scale `s_x`.
pub(crate) fn softmax_int16(x: &[i64], depth: usize, s_x: f32, beta: f32) -> Vec<i64> {
    let (exp_lut, recip_lut) = tables();
    let (m0, shift) = quantize_multiplier((s_x * beta) as f64 / (10.0 / 65535.0));
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(depth) {
        let max = row.iter().copied().max().unwrap_or(0);
        let exps: Vec<i32> = row
            .iter()
            .map(|&v| {
                let scaled = multiply_by_quantized_multiplier((v - max) as i32, m0, shift);
                let sym = (scaled + 32767).clamp(-32768, 32767) as i16;
                lookup(sym, exp_lut) as i32
            })
            .collect();
        let sum: i32 = exps.iter().sum();
        let headroom_plus_one = (sum as u32).leading_zeros() as i32;
        let shifted = (((sum as i64) << (headroom_plus_one - 1)) + (1 << 13)) >> 14;
        let sym = (shifted - ((1 << 15) + (1 << 16))).clamp(-32768, 32767) as i16;
        let recip = lookup(sym, recip_lut) as i64;
        let right_shift = 31 - headroom_plus_one;
        let rnd = 1i64 << (right_shift - 1);
        out.extend(
            exps.iter().map(|&e| {
                (((e as i64 * recip + rnd) >> right_shift) as i32).clamp(0, 32767) as i64
            }),
        );
    }
    out
}
