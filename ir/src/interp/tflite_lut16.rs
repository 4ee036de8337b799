//! TFLite's int16 interpolation tables: `LUTPopulateInt16<FloatT>` (512 samples of a
//! function over the int16 input grid plus the end point, each sample corrected by half
//! its midpoint interpolation error) and `LUTLookup` (base entry `256 + (v >> 7)` plus the
//! slope times the low 7 bits, rounded). SOFTMAX builds its tables in f64, the generic
//! `LUTPopulate<int16_t>` (GELU) in f32; the arithmetic is the same in either type.

use std::ops::{Add, Div, Mul, Sub};

/// Entries of an int16 interpolation table.
pub(crate) const LUT_SIZE: usize = 513;

/// The float type a table is built in.
pub(crate) trait LutFloat:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// The value of an integer.
    fn of(v: i32) -> Self;
    /// `TfLiteRound` (half away from zero).
    fn round_away(self) -> Self;
    /// `static_cast<int16_t>` after clamping to the int16 range.
    fn to_i16_clamped(self) -> i16;
}

macro_rules! lut_float {
    ($t:ty) => {
        impl LutFloat for $t {
            fn of(v: i32) -> Self {
                v as $t
            }
            fn round_away(self) -> Self {
                self.round()
            }
            fn to_i16_clamped(self) -> i16 {
                self.clamp(i16::MIN as $t, i16::MAX as $t) as i16
            }
        }
    };
}
lut_float!(f32);
lut_float!(f64);

/// `LUTPopulateInt16<F>`: the table of `f` over the int16 input grid `(i - zp_in) * s_in`
/// onto the output grid `(o - zp_out) * s_out`.
pub(crate) fn populate<F: LutFloat>(
    s_in: F,
    zp_in: i32,
    s_out: F,
    zp_out: i32,
    f: impl Fn(F) -> F,
) -> Vec<i16> {
    let (min, max) = (i16::MIN as i32, i16::MAX as i32);
    let input_min = s_in * F::of(min - zp_in);
    let input_max = s_in * F::of(max - zp_in);
    let output_min = s_out * F::of(min - zp_out);
    let output_max = s_out * F::of(max - zp_out);
    let steps = (LUT_SIZE - 1) as i32;
    let step = (input_max - input_min) / F::of(steps);
    let half_step = step / F::of(2);
    let inv = F::of(max - min + 1) / (output_max - output_min);
    let mut t = Vec::with_capacity(LUT_SIZE);
    for i in 0..steps {
        let x = input_min + F::of(i) * step;
        let val = f(x);
        let mid = f(x + half_step);
        let next = f(input_min + F::of(i + 1) * step);
        let sample = (val * inv).round_away();
        let mid_interp = ((next * inv + (val * inv).round_away()) / F::of(2)).round_away();
        let mid_val = (mid * inv).round_away();
        let bias = ((mid_interp - mid_val) / F::of(2)).round_away();
        t.push((sample - bias).to_i16_clamped());
    }
    t.push((f(input_max) * inv).round_away().to_i16_clamped());
    t
}

/// `LUTLookup` for int16: base entry `256 + (v >> 7)` plus the interpolated slope.
pub(crate) fn lookup(v: i16, t: &[i16]) -> i16 {
    let index = (256 + (v as i32 >> 7)) as usize;
    let offset = (v & 0x7f) as i32;
    let base = t[index] as i32;
    let slope = t[index + 1] as i32 - base;
    (base + ((slope * offset + 64) >> 7)) as i16
}

/// The 65536 results (stored input `-32768` first) of TFLite's generic int16 lookup-table
/// activation (`LUTPopulate<int16_t>`, built in f32, then `LUTLookup`) of `f`.
pub fn int16_lut_f32(
    (s_in, zp_in): (f32, i32),
    (s_out, zp_out): (f32, i32),
    f: impl Fn(f32) -> f32,
) -> Vec<i64> {
    let t = populate(s_in, zp_in, s_out, zp_out, f);
    (i16::MIN..=i16::MAX)
        .map(|v| i64::from(lookup(v, &t)))
        .collect()
}
