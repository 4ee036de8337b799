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

use crate::quant::{multiply_by_quantized_multiplier, quantize_multiplier};

/// Entries of an int16 interpolation table.
const LUT_SIZE: usize = 513;

/// `TfLiteRound` (half away from zero).
fn round(x: f64) -> f64 {
    x.round()
}

/// `LUTPopulateInt16<double>`: the table of `f` over the int16 input grid `(i - zp_in) *
/// s_in`, output grid `(o - zp_out) * s_out`.
fn lut(s_in: f64, zp_in: i32, s_out: f64, zp_out: i32, f: impl Fn(f64) -> f64) -> Vec<i16> {
    let (min, max) = (i16::MIN as i32, i16::MAX as i32);
    let input_min = s_in * (min - zp_in) as f64;
    let input_max = s_in * (max - zp_in) as f64;
    let output_min = s_out * (min - zp_out) as f64;
    let output_max = s_out * (max - zp_out) as f64;
    let steps = LUT_SIZE - 1;
    let step = (input_max - input_min) / steps as f64;
    let half_step = step / 2.0;
    let inv = (max - min + 1) as f64 / (output_max - output_min);
    let clamp = |v: f64| v.clamp(min as f64, max as f64) as i16;
    let mut t = Vec::with_capacity(LUT_SIZE);
    for i in 0..steps {
        let x = input_min + i as f64 * step;
        let val = f(x);
        let mid = f(x + half_step);
        let next = f(input_min + (i + 1) as f64 * step);
        let sample = round(val * inv);
        let mid_interp = round((next * inv + round(val * inv)) / 2.0);
        let mid_val = round(mid * inv);
        let bias = round((mid_interp - mid_val) / 2.0);
        t.push(clamp(sample - bias));
    }
    t.push(clamp(round(f(input_max) * inv)));
    t
}

/// `LUTLookup` for int16: base entry `256 + (v >> 7)` plus the interpolated slope.
fn lookup(v: i16, t: &[i16]) -> i16 {
    let index = (256 + (v as i32 >> 7)) as usize;
    let offset = (v & 0x7f) as i32;
    let base = t[index] as i32;
    let slope = t[index + 1] as i32 - base;
    (base + ((slope * offset + 64) >> 7)) as i16
}

/// The kernel's two tables, which depend on no parameter: built once per process.
fn tables() -> &'static (Vec<i16>, Vec<i16>) {
    static TABLES: std::sync::OnceLock<(Vec<i16>, Vec<i16>)> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let range = 65535.0;
        (
            lut(10.0 / range, i16::MAX as i32, 2.0 / range, 0, f64::exp),
            lut(1.0 / range, i16::MIN as i32, 2.0 / range, 0, |v| {
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
