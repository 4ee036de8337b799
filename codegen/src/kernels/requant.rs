//! Per-channel requantization tables and the exact epilogue (int32 accumulator -> quantized).
//!
//! A table row is 8 x i32 (32 bytes) per output channel:
//! `[bias, zero_point, float multiplier bits, m0, 2^left (0 when left >= 32), right, mask,
//! MAGIC_BITS - zero_point]`, or `[bias, zero_point, 0, 0, f64 multiplier bits (2 slots), 0,
//! MAGIC_BITS - zero_point]` for [`Mult::HalfAwayF64`].
//! Float mode reproduces [`qcc_ir::quant::requantize_float`]: `acc as f32 * M` in f32,
//! round half to even (`nearest`), saturating conversion, `+ zp`, clamp. Fixed-point mode
//! reproduces [`qcc_ir::quant::multiply_by_quantized_multiplier`] in i32/i64 arithmetic.

use super::{Addr, Fb, Pool};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::Multiplier;

/// Bytes per channel row.
pub const ROW: usize = 32;

/// Products below this magnitude round exactly with [`MAGIC`]: `p + 1.5 * 2^23` lies in
/// `[2^23, 2^24)`, where f32 steps are 1, so the addition rounds `p` half to even.
pub const MAGIC_LIMIT: f64 = (1u32 << 22) as f64;

/// The rounding constant `1.5 * 2^23`; its bits minus `MAGIC_BITS` are the rounded value.
pub const MAGIC: f32 = 12_582_912.0;

/// `MAGIC.to_bits()`.
pub const MAGIC_BITS: i32 = 0x4B40_0000;

/// How accumulators leave a kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutMode {
    /// Quantized output in `[qmin, qmax]`.
    Quant {
        /// Smallest stored value.
        qmin: i64,
        /// Largest stored value.
        qmax: i64,
    },
    /// Plain f32 output `acc as f32 * scale` (scale in the multiplier slot).
    F32,
}

/// Requantization of one kernel: the table address and the output mode.
#[derive(Clone, Copy, Debug)]
pub struct Requant {
    /// Address of the per-channel table.
    pub table: Addr,
    /// Float or fixed-point multipliers.
    pub fixed: bool,
    /// Output mode.
    pub out: OutMode,
    /// Number of channels (rows).
    pub channels: usize,
    /// Every multiplier is a float with `|M| <= 0.5` and every zero point within `2^16`:
    /// then `|float(acc) * M| <= 2^30` for any i32 `acc`, never NaN, and adding the zero
    /// point cannot overflow i32, so the vector epilogue
    /// ([`super::simd::requant4`]) may round, convert and clamp with plain `roundps`,
    /// `cvttps2dq` and integer min/max and still equal [`Requant::apply`].
    pub small: bool,
    /// Fixed point with every `m0 >= 0` and every zero point within `2^16`: the vector
    /// epilogue ([`super::simd::ReqVec`]) runs `MultiplyByQuantizedMultiplier` on lanes
    /// and clamps to `[qmin - zp, qmax - zp]` before adding the zero point (no overflow).
    pub fixed_vec: bool,
    /// The channels use [`Mult::HalfAwayF64`] (every one: a kernel's channels share a
    /// mode), which only [`Requant::apply`] implements.
    pub half_away: bool,
    /// Float multipliers and accumulators proven (at compile time, from the weights) to
    /// keep `|(acc + bias) * M| < 2^22` on every channel: the vector epilogue may round
    /// with the magic number `1.5 * 2^23` (one `addps`, exact round half to even there)
    /// and leave the clamp to the 8-bit pack; see [`Requant::with_acc_ranges`].
    pub magic: bool,
}

/// A channel's multiplier.
#[derive(Clone, Copy, Debug)]
pub enum Mult {
    /// The IR's multiplier (float or fixed point, per the module's mode).
    Ir(Multiplier),
    /// TFLite FULLY_CONNECTED's: `acc as f64 * M` rounded half away from zero, then a
    /// saturating conversion to i32 (`static_cast<int32_t>(round(double))`).
    HalfAwayF64(f64),
}

impl From<Multiplier> for Mult {
    fn from(m: Multiplier) -> Mult {
        Mult::Ir(m)
    }
}

/// One channel's parameters.
#[derive(Clone, Copy, Debug)]
pub struct Channel {
    /// Added to the accumulator first (wrapping).
    pub bias: i32,
    /// Output zero point.
    pub zp: i32,
    /// Multiplier.
    pub mult: Mult,
}

impl Requant {
    /// Builds the table for `chans` in `pool`.
    pub fn new(pool: &mut Pool, chans: &[Channel], out: OutMode) -> Requant {
        let mut rows: Vec<i32> = Vec::with_capacity(chans.len() * 8);
        let mut fixed = false;
        let mut small = true;
        let mut fixed_vec = true;
        let mut half_away = false;
        for c in chans {
            fixed_vec &= c.zp.unsigned_abs() <= 1 << 16
                && matches!(c.mult, Mult::Ir(Multiplier::Fixed { m0, .. }) if m0 >= 0);
            small &= matches!(c.mult, Mult::Ir(Multiplier::Float(m)) if m.abs() <= 0.5)
                && c.zp.unsigned_abs() <= 1 << 16;
            let (mbits, m0, factor, right, mask) = match c.mult {
                Mult::HalfAwayF64(m) => {
                    half_away = true;
                    let b = m.to_bits();
                    (0, 0, b as u32 as i32, (b >> 32) as u32 as i32, 0)
                }
                Mult::Ir(Multiplier::Float(m)) => (m.to_bits() as i32, 0, 0, 0, 0),
                Mult::Ir(Multiplier::Fixed { m0, shift }) => {
                    fixed = true;
                    let left = shift.max(0);
                    let right = (-shift).max(0).clamp(0, 31);
                    let factor = if left >= 32 {
                        0
                    } else {
                        1i32.wrapping_shl(left as u32)
                    };
                    let mask = ((1i64 << right) - 1) as i32;
                    (0, m0, factor, right, mask)
                }
            };
            // The last slot: `MAGIC_BITS - zp`, the magic-number epilogue's integer offset.
            let off = MAGIC_BITS.wrapping_sub(c.zp);
            rows.extend([c.bias, c.zp, mbits, m0, factor, right, mask, off]);
        }
        Requant {
            table: pool.i32s(&rows),
            fixed,
            out,
            channels: chans.len(),
            small: small && !half_away,
            fixed_vec: fixed && fixed_vec && !half_away,
            half_away,
            magic: false,
        }
    }

    /// Marks the table for the magic-number epilogue ([`Requant::magic`]) when `ranges`
    /// (each channel's accumulator range before the bias, as the kernel computes it)
    /// prove `|(acc + bias) * M| < 2^22` for every channel of `chans` (the channels the
    /// table was built from) and the bias cannot wrap.
    pub fn with_acc_ranges(mut self, chans: &[Channel], ranges: &[(i64, i64)]) -> Requant {
        let quant = matches!(self.out, OutMode::Quant { .. });
        self.magic = quant
            && self.small
            && chans.len() == ranges.len()
            && chans.iter().zip(ranges).all(|(c, &(lo, hi))| {
                let (lo, hi) = (lo + c.bias as i64, hi + c.bias as i64);
                let fits = lo >= i32::MIN as i64 && hi <= i32::MAX as i64;
                let bound = lo.unsigned_abs().max(hi.unsigned_abs()) as f64;
                // f32 conversion and product each round by at most 2^-24 relative.
                matches!(c.mult, Mult::Ir(Multiplier::Float(m))
                    if fits && bound * (m.abs() as f64) * (1.0 + 1e-6) < MAGIC_LIMIT)
            });
        self
    }

    /// Address of channel `ch`'s row (`ch` an i64 value).
    pub fn row(&self, fb: &mut Fb, ch: Value) -> Value {
        let base = fb.base(self.table);
        fb.index(base, ch, ROW)
    }

    /// Loads the bias of a row.
    pub fn bias(&self, fb: &mut Fb, row: Value) -> Value {
        fb.b.ins().load(types::I32, super::const_flags(), row, 0)
    }

    /// The epilogue: `acc` (i32, bias already added) to the stored value (i32 for quantized
    /// outputs, f32 for [`OutMode::F32`]).
    pub fn apply(&self, fb: &mut Fb, row: Value, acc: Value) -> Value {
        let f = super::const_flags();
        if self.out == OutMode::F32 {
            let s = fb.b.ins().load(types::F32, f, row, 8);
            let a = fb.b.ins().fcvt_from_sint(types::F32, acc);
            return fb.b.ins().fmul(a, s);
        }
        let r = if self.half_away {
            let m = fb.b.ins().load(types::F64, f, row, 16);
            let a = fb.b.ins().fcvt_from_sint(types::F64, acc);
            let p = fb.b.ins().fmul(a, m);
            let r = round_half_away(fb, p);
            fb.b.ins().fcvt_to_sint_sat(types::I32, r)
        } else if self.fixed {
            let m0 = fb.b.ins().load(types::I32, f, row, 12);
            let factor = fb.b.ins().load(types::I32, f, row, 16);
            let right = fb.b.ins().load(types::I32, f, row, 20);
            let mask = fb.b.ins().load(types::I32, f, row, 24);
            fixed_point(fb, acc, m0, factor, right, mask)
        } else {
            let m = fb.b.ins().load(types::F32, f, row, 8);
            let a = fb.b.ins().fcvt_from_sint(types::F32, acc);
            let p = fb.b.ins().fmul(a, m);
            let r = fb.b.ins().nearest(p);
            fb.b.ins().fcvt_to_sint_sat(types::I32, r)
        };
        let zp = fb.b.ins().load(types::I32, f, row, 4);
        self.add_zp_clamp(fb, r, zp)
    }

    /// `clamp(r + zp, qmin, qmax)` without overflow (i64 arithmetic).
    pub fn add_zp_clamp(&self, fb: &mut Fb, r: Value, zp: Value) -> Value {
        let (qmin, qmax) = match self.out {
            OutMode::Quant { qmin, qmax } => (qmin, qmax),
            OutMode::F32 => (i32::MIN as i64, i32::MAX as i64),
        };
        add_zp_clamp(fb, r, zp, qmin, qmax)
    }
}

/// `x` rounded to the nearest integer, halfway cases away from zero (C's `round`), for
/// f32 or f64: `t = trunc(x)`, plus `copysign(1, x)` when `|x - t| >= 0.5` (exact).
pub fn round_half_away(fb: &mut Fb, x: Value) -> Value {
    use cranelift_codegen::ir::condcodes::FloatCC;
    let ty = fb.b.func.dfg.value_type(x);
    let (half, one) = if ty == types::F64 {
        (fb.b.ins().f64const(0.5), fb.b.ins().f64const(1.0))
    } else {
        (fb.b.ins().f32const(0.5), fb.b.ins().f32const(1.0))
    };
    let t = fb.b.ins().trunc(x);
    let d = fb.b.ins().fsub(x, t);
    let d = fb.b.ins().fabs(d);
    let up = fb.b.ins().fcmp(FloatCC::GreaterThanOrEqual, d, half);
    let s = fb.b.ins().fcopysign(one, x);
    let t1 = fb.b.ins().fadd(t, s);
    fb.b.ins().select(up, t1, t)
}

/// [`round_half_away`] on the four lanes of an f32x4 (bit operations for the sign).
pub fn round_half_away4(fb: &mut Fb, x: Value) -> Value {
    use cranelift_codegen::ir::condcodes::FloatCC;
    let le = super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    let splat_f = |fb: &mut Fb, v: f32| {
        let c = fb.b.ins().f32const(v);
        fb.b.ins().splat(types::F32X4, c)
    };
    let splat_i = |fb: &mut Fb, v: u32| {
        let c = fb.b.ins().iconst(types::I32, v as i32 as i64);
        fb.b.ins().splat(types::I32X4, c)
    };
    let t = fb.b.ins().trunc(x);
    let d = fb.b.ins().fsub(x, t);
    let d = fb.b.ins().fabs(d);
    let half = splat_f(fb, 0.5);
    let up = fb.b.ins().fcmp(FloatCC::GreaterThanOrEqual, d, half);
    let up = fb.b.ins().bitcast(types::F32X4, le, up);
    // copysign(1.0, x): x's sign bit on 1.0's bits.
    let xi = fb.b.ins().bitcast(types::I32X4, le, x);
    let sign_mask = splat_i(fb, 0x8000_0000);
    let sign = fb.b.ins().band(xi, sign_mask);
    let one = splat_i(fb, 1.0f32.to_bits());
    let s = fb.b.ins().bor(sign, one);
    let s = fb.b.ins().bitcast(types::F32X4, le, s);
    let t1 = fb.b.ins().fadd(t, s);
    fb.b.ins().bitselect(up, t1, t)
}

/// `clamp(r + zp, qmin, qmax)` for i32 `r` and `zp`, computed in i64.
pub fn add_zp_clamp(fb: &mut Fb, r: Value, zp: Value, qmin: i64, qmax: i64) -> Value {
    let r64 = fb.b.ins().sextend(types::I64, r);
    let z64 = fb.b.ins().sextend(types::I64, zp);
    let s = fb.b.ins().iadd(r64, z64);
    let lo = fb.c64(qmin);
    let hi = fb.c64(qmax);
    let s = fb.b.ins().smax(s, lo);
    let s = fb.b.ins().smin(s, hi);
    fb.b.ins().ireduce(types::I32, s)
}

/// Float requantization of a rounded f32 `r` already multiplied: saturating convert then
/// `clamp(r + zp)`.
pub fn round_to_q(fb: &mut Fb, v: Value, zp: i32, qmin: i64, qmax: i64) -> Value {
    let r = fb.b.ins().nearest(v);
    let r = fb.b.ins().fcvt_to_sint_sat(types::I32, r);
    let z = fb.c32(zp);
    add_zp_clamp(fb, r, z, qmin, qmax)
}

/// TFLite's `MultiplyByQuantizedMultiplier` on i32 values (see [`qcc_ir::quant`]):
/// `x * factor` (`factor = 2^left`, wrapping), `SaturatingRoundingDoublingHighMul` by
/// `m0`, `RoundingDivideByPOT` by `right` (`mask = 2^right - 1`).
pub fn fixed_point(
    fb: &mut Fb,
    x: Value,
    m0: Value,
    factor: Value,
    right: Value,
    mask: Value,
) -> Value {
    let a = fb.b.ins().imul(x, factor);
    // SaturatingRoundingDoublingHighMul(a, m0).
    let min = fb.c32(i32::MIN);
    let a_min = fb.b.ins().icmp(IntCC::Equal, a, min);
    let b_min = fb.b.ins().icmp(IntCC::Equal, m0, min);
    let ovf = fb.b.ins().band(a_min, b_min);
    let a64 = fb.b.ins().sextend(types::I64, a);
    let b64 = fb.b.ins().sextend(types::I64, m0);
    let ab = fb.b.ins().imul(a64, b64);
    let zero = fb.c64(0);
    let nonneg = fb.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, ab, zero);
    let pos = fb.c64(1 << 30);
    let neg = fb.c64(1 - (1 << 30));
    let nudge = fb.b.ins().select(nonneg, pos, neg);
    let s = fb.b.ins().iadd(ab, nudge);
    // Truncating division by 2^31.
    let sign = fb.b.ins().sshr_imm_s(s, 63);
    let bias = fb.b.ins().band_imm_s(sign, (1i64 << 31) - 1);
    let s = fb.b.ins().iadd(s, bias);
    let q = fb.b.ins().sshr_imm_s(s, 31);
    let q = fb.b.ins().ireduce(types::I32, q);
    let max = fb.c32(i32::MAX);
    let h = fb.b.ins().select(ovf, max, q);
    // RoundingDivideByPOT(h, right).
    let rem = fb.b.ins().band(h, mask);
    let half = fb.b.ins().sshr_imm_s(mask, 1);
    let z32 = fb.c32(0);
    let isneg = fb.b.ins().icmp(IntCC::SignedLessThan, h, z32);
    let isneg = fb.b.ins().uextend(types::I32, isneg);
    let threshold = fb.b.ins().iadd(half, isneg);
    let shifted = fb.b.ins().sshr(h, right);
    let up = fb.b.ins().icmp(IntCC::SignedGreaterThan, rem, threshold);
    let up = fb.b.ins().uextend(types::I32, up);
    fb.b.ins().iadd(shifted, up)
}

/// The channel parameters for `s_in * s_w[c] * alpha / s_out[c]` with bias and output zp.
pub fn channels(
    mode: qcc_ir::RequantMode,
    alpha: f32,
    s_in: f32,
    s_w: &[f32],
    out: &qcc_ir::QParams,
    bias: Option<&[i32]>,
) -> Result<Vec<Channel>, String> {
    let c = s_w.len();
    if out.axis.is_some() && out.scale.len() != c {
        return Err("result parameters do not match the channel count".into());
    }
    if out.scale.is_empty() || out.zero_point.len() != out.scale.len() {
        return Err("result parameters are empty or inconsistent".into());
    }
    Ok((0..c)
        .map(|i| {
            let (sy, zy) = out.get(i);
            Channel {
                bias: bias.map_or(0, |b| b[i]),
                zp: zy,
                mult: Multiplier::with_alpha(mode, alpha, s_in, s_w[i], sy).into(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{Channel, Mult, OutMode, Requant, MAGIC, MAGIC_BITS, MAGIC_LIMIT};
    use qcc_ir::quant::Multiplier;

    fn chan(bias: i32, m: f32) -> Channel {
        Channel {
            bias,
            zp: 3,
            mult: Mult::Ir(Multiplier::Float(m)),
        }
    }

    fn magic(chans: &[Channel], ranges: &[(i64, i64)]) -> bool {
        let mut pool = super::super::Pool::default();
        let out = OutMode::Quant { qmin: 0, qmax: 255 };
        Requant::new(&mut pool, chans, out)
            .with_acc_ranges(chans, ranges)
            .magic
    }

    #[test]
    fn magic_only_below_the_limit() {
        let lim = MAGIC_LIMIT as i64;
        assert!(magic(&[chan(0, 0.25)], &[(-4 * lim + 64, 4 * lim - 64)]));
        assert!(!magic(&[chan(0, 0.25)], &[(-4 * lim, 0)]));
        // The bias counts: it moves the range past the limit.
        assert!(!magic(&[chan(64, 0.25)], &[(0, 4 * lim - 64)]));
        // A bias that would wrap the i32 accumulator.
        assert!(!magic(&[chan(i32::MAX, 1e-9)], &[(0, 1)]));
        // Multipliers above 0.5 keep the general epilogue.
        assert!(!magic(&[chan(0, 0.75)], &[(0, 1)]));
        // Every channel must qualify.
        assert!(!magic(
            &[chan(0, 0.25), chan(0, 0.25)],
            &[(0, 8), (0, 4 * lim)]
        ));
    }

    #[test]
    fn magic_rounds_half_to_even_below_the_limit() {
        let lim = MAGIC_LIMIT as f32;
        for p in [
            0.5f32,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            0.49999997,
            lim - 0.5,
            -lim + 0.5,
            1234.5,
        ] {
            let q = (p + MAGIC).to_bits() as i32 - MAGIC_BITS;
            assert_eq!(q, p.round_ties_even() as i32, "{p}");
        }
    }
}
