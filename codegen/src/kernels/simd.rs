//! 128-bit vector building blocks (x86 SSE4.1 / AVX through Cranelift's x64 backend).
//!
//! The int8 dot product widens both operands to i16 (`uload8x8`/`sload8x8`, zero point
//! subtracted in i16, exact since `|x - z| <= 255`), then multiplies and adds pairs in i32:
//! `iadd_pairwise(imul(swiden_low a, swiden_low b), imul(swiden_high a, swiden_high b))`,
//! the pmaddwd shape, so no i16 product ever saturates.

use super::{flags, Addr, Fb};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

/// `init + sum_{kk < k} (a[kk] - za) * b16[j * k8 + kk]` for a contiguous u8/i8 row `arow`
/// and an i16 matrix packed `[N][k8]` (k8 = k rounded up to 8); `za` is an i32 value.
#[allow(clippy::too_many_arguments)]
pub fn dot_u8_i16(
    fb: &mut Fb,
    a_dt: DType,
    arow: Value,
    za: Value,
    b16: Addr,
    j: Value,
    k: usize,
    init: Value,
) -> Value {
    let k8 = k.div_ceil(8) * 8;
    let full = k / 8;
    let zero = fb.c32(0);
    let zv = fb.b.ins().splat(types::I32X4, zero);
    let accv = fb.var(types::I32X4, zv);
    let bbase = fb.base(b16);
    let brow = fb.index(bbase, j, k8 * 2);
    let z16 = fb.b.ins().ireduce(types::I16, za);
    let zsplat = fb.b.ins().splat(types::I16X8, z16);
    fb.for_n(full, |fb, c| {
        let aa = fb.index(arow, c, 8);
        let a16 = match a_dt {
            DType::I8 => fb.b.ins().sload8x8(flags(), aa, 0),
            _ => fb.b.ins().uload8x8(flags(), aa, 0),
        };
        let a16 = fb.b.ins().isub(a16, zsplat);
        let ba = fb.index(brow, c, 16);
        let b16v = fb.b.ins().load(types::I16X8, flags(), ba, 0);
        let al = fb.b.ins().swiden_low(a16);
        let bl = fb.b.ins().swiden_low(b16v);
        let ah = fb.b.ins().swiden_high(a16);
        let bh = fb.b.ins().swiden_high(b16v);
        let lo = fb.b.ins().imul(al, bl);
        let hi = fb.b.ins().imul(ah, bh);
        let p = fb.b.ins().iadd_pairwise(lo, hi);
        let acc = fb.b.use_var(accv);
        let acc = fb.b.ins().iadd(acc, p);
        fb.b.def_var(accv, acc);
    });
    let v = fb.b.use_var(accv);
    let mut s = init;
    for lane in 0..4u8 {
        let e = fb.b.ins().extractlane(v, lane);
        s = fb.b.ins().iadd(s, e);
    }
    let acc = fb.var(types::I32, s);
    for kk in full * 8..k {
        let av = fb.load_int(a_dt, arow, kk as i32);
        let av = fb.b.ins().isub(av, za);
        let bv =
            fb.b.ins()
                .sload16(types::I32, flags(), brow, (kk * 2) as i32);
        let p = fb.b.ins().imul(av, bv);
        let a = fb.b.use_var(acc);
        let a = fb.b.ins().iadd(a, p);
        fb.b.def_var(acc, a);
    }
    fb.b.use_var(acc)
}

/// Requantizes eight i32 accumulators (`lo`, `hi`: i32x4, bias added) of one channel `row`
/// and stores them as eight u8/i8 at `ya` (see [`requant4`]).
pub fn requant_store8(
    fb: &mut Fb,
    req: &super::Requant,
    row: Value,
    lo: Value,
    hi: Value,
    y_dt: DType,
    ya: Value,
) {
    let q = [requant4(fb, req, row, lo), requant4(fb, req, row, hi)];
    store_q(fb, &q, None, y_dt, ya);
}

/// Requantizes four i32 accumulators (bias added) of channel `row` to their stored values
/// (i32x4 in `[qmin, qmax]`); see [`ReqVec`].
pub fn requant4(fb: &mut Fb, req: &super::Requant, row: Value, v: Value) -> Value {
    let r = ReqVec::new(fb, req, row);
    r.apply(fb, req, v)
}

/// One channel's vector requantization constants, loaded and broadcast once (before a
/// kernel's column loop) and applied to many i32x4 accumulators.
///
/// Float mode is vectorised with the scalar semantics: with [`super::Requant::small`]
/// multipliers, `cvtdq2ps`, `mulps`, `roundps` (half to even), `cvttps2dq`, `+ zp` and an
/// integer clamp (exact, see there); otherwise the f32 clamp to `[qmin - zp, qmax - zp]`
/// and a saturating convert (NaN becomes `zp` as in the interpreter). Fixed point with
/// [`super::Requant::fixed_vec`] parameters runs TFLite's `MultiplyByQuantizedMultiplier`
/// on vectors (`fixed_point4`); other fixed-point tables go lane by lane through
/// [`super::Requant::apply`].
#[derive(Clone, Copy)]
pub struct ReqVec {
    row: Value,
    consts: Consts,
}

#[derive(Clone, Copy)]
enum Consts {
    /// Lane by lane (scalar epilogue).
    Lanes,
    /// Float: multiplier (f32x4), zero point (i32x4) and the clamp bounds: `[qmin, qmax]`
    /// (i32x4) with small multipliers, else `[qmin - zp, qmax - zp]` (f32x4).
    Float(Value, Value, Value, Value),
    /// Fixed point: see [`FixedVec`].
    Fixed(FixedVec),
    /// Float with [`super::Requant::magic`]: multiplier (f32x4), `1.5 * 2^23` (f32x4) and
    /// `MAGIC_BITS - zp` (i32x4), plus `[qmin, qmax]` (i32x4) for unpacked use.
    Magic(Value, Value, Value, Value, Value),
}

/// A channel's fixed-point constants as vectors.
#[derive(Clone, Copy)]
pub struct FixedVec {
    /// `2^left` (0 when `left >= 32`), i32x4.
    factor: Value,
    /// `m0`, i32x4.
    m0: Value,
    /// `2^right - 1` and its half, i32x4.
    mask: Value,
    half: Value,
    /// `right`, an i32 scalar (the shift count).
    right: Value,
    /// `[qmin - zp, qmax - zp]` and `zp`, i32x4.
    lo: Value,
    hi: Value,
    zp: Value,
}

impl ReqVec {
    /// Loads the constants of channel `row`.
    pub fn new(fb: &mut Fb, req: &super::Requant, row: Value) -> ReqVec {
        let super::requant::OutMode::Quant { qmin, qmax } = req.out else {
            unreachable!("vector epilogue only for quantized outputs")
        };
        // Not movable: the loads stay where they are emitted (a kernel decides whether
        // the constants live across its loops or are reloaded per block).
        let f = super::flags().with_readonly();
        if req.half_away {
            return ReqVec {
                row,
                consts: Consts::Lanes,
            };
        }
        if req.fixed {
            if !req.fixed_vec || qmin < -(1 << 30) || qmax > 1 << 30 {
                return ReqVec {
                    row,
                    consts: Consts::Lanes,
                };
            }
            let ld = |fb: &mut Fb, off: i32| {
                let v = fb.b.ins().load(types::I32, f, row, off);
                (v, fb.b.ins().splat(types::I32X4, v))
            };
            let (zp, zps) = ld(fb, 4);
            let (_, m0) = ld(fb, 12);
            let (_, factor) = ld(fb, 16);
            let (right, _) = ld(fb, 20);
            let (mask_s, mask) = ld(fb, 24);
            let half = fb.b.ins().sshr_imm_s(mask_s, 1);
            let half = fb.b.ins().splat(types::I32X4, half);
            let bound = |fb: &mut Fb, q: i64| {
                let q = fb.c32(q as i32);
                let v = fb.b.ins().isub(q, zp);
                fb.b.ins().splat(types::I32X4, v)
            };
            let (lo, hi) = (bound(fb, qmin), bound(fb, qmax));
            return ReqVec {
                row,
                consts: Consts::Fixed(FixedVec {
                    factor,
                    m0,
                    mask,
                    half,
                    right,
                    lo,
                    hi,
                    zp: zps,
                }),
            };
        }
        let m = fb.b.ins().load(types::F32, f, row, 8);
        let ms = fb.b.ins().splat(types::F32X4, m);
        let zp = fb.b.ins().load(types::I32, f, row, 4);
        let zps = fb.b.ins().splat(types::I32X4, zp);
        let (lo, hi) = if req.small {
            let lo = fb.c32(qmin as i32);
            let hi = fb.c32(qmax as i32);
            (lo, hi)
        } else {
            let zpf = fb.b.ins().fcvt_from_sint(types::F32, zp);
            let qminf = fb.f32c(qmin as f32);
            let qmaxf = fb.f32c(qmax as f32);
            let lo = fb.b.ins().fsub(qminf, zpf);
            let hi = fb.b.ins().fsub(qmaxf, zpf);
            (lo, hi)
        };
        let ty = if req.small {
            types::I32X4
        } else {
            types::F32X4
        };
        let lo = fb.b.ins().splat(ty, lo);
        let hi = fb.b.ins().splat(ty, hi);
        ReqVec {
            row,
            consts: Consts::Float(ms, zps, lo, hi),
        }
    }

    /// Like [`ReqVec::new`] for an epilogue whose values go through [`store_q_clamped`]
    /// with [`ReqVec::byte_clamp`]: takes the magic-number rounding when the table allows
    /// it ([`super::Requant::magic`]).
    pub fn new_packed(fb: &mut Fb, req: &super::Requant, row: Value) -> ReqVec {
        let super::requant::OutMode::Quant { qmin, qmax } = req.out else {
            unreachable!("vector epilogue only for quantized outputs")
        };
        if !req.magic {
            return ReqVec::new(fb, req, row);
        }
        let f = super::flags().with_readonly();
        let m = fb.b.ins().load(types::F32, f, row, 8);
        let ms = fb.b.ins().splat(types::F32X4, m);
        let magic = fb.f32c(super::requant::MAGIC);
        let magic = fb.b.ins().splat(types::F32X4, magic);
        // `MAGIC_BITS - zp`, precomputed in the row.
        let off = fb.b.ins().load(types::I32, f, row, 28);
        let off = fb.b.ins().splat(types::I32X4, off);
        let lo = fb.c32(qmin as i32);
        let lo = fb.b.ins().splat(types::I32X4, lo);
        let hi = fb.c32(qmax as i32);
        let hi = fb.b.ins().splat(types::I32X4, hi);
        ReqVec {
            row,
            consts: Consts::Magic(ms, magic, off, lo, hi),
        }
    }

    /// The byte clamp [`store_q_clamped`] must apply to values from
    /// [`ReqVec::apply_packed`] stored as `y_dt`: `[qmin, qmax]` when this epilogue left
    /// it to the pack and it is narrower than the dtype's range.
    pub fn byte_clamp(&self, req: &super::Requant, y_dt: DType) -> Option<(i64, i64)> {
        let super::requant::OutMode::Quant { qmin, qmax } = req.out else {
            return None;
        };
        let full = y_dt.int_range() == Some((qmin, qmax));
        (matches!(self.consts, Consts::Magic(..)) && !full).then_some((qmin, qmax))
    }

    /// The stored values (i32x4) of four accumulators.
    pub fn apply(&self, fb: &mut Fb, req: &super::Requant, v: Value) -> Value {
        self.apply_to(fb, req, v, None)
    }

    /// Like [`ReqVec::apply`] for values that [`store_q`] / [`store_q_n`] pack to `y_dt`
    /// (8-bit): a clamp bound equal to the dtype's limit is left to the pack's saturation
    /// (`packssdw` then `packuswb` / `packsswb` saturate exactly like that clamp), so the
    /// lanes may lie outside `[qmin, qmax]` but the stored bytes are the same.
    pub fn apply_packed(&self, fb: &mut Fb, req: &super::Requant, v: Value, y_dt: DType) -> Value {
        self.apply_to(fb, req, v, Some(y_dt))
    }

    fn apply_to(
        &self,
        fb: &mut Fb,
        req: &super::Requant,
        v: Value,
        packed: Option<DType>,
    ) -> Value {
        let (ms, zps, lo, hi) = match self.consts {
            Consts::Lanes => {
                let mut out = v;
                for lane in 0..4u8 {
                    let a = fb.b.ins().extractlane(v, lane);
                    let q = req.apply(fb, self.row, a);
                    out = fb.b.ins().insertlane(out, q, lane);
                }
                return out;
            }
            Consts::Fixed(c) => {
                let r = fixed_point4(fb, &c, v);
                let r = fb.b.ins().smax(r, c.lo);
                let r = fb.b.ins().smin(r, c.hi);
                return fb.b.ins().iadd(r, c.zp);
            }
            Consts::Magic(ms, magic, off, lo, hi) => {
                // |x * M| < 2^22: the sum rounds half to even onto the integers of
                // [2^23, 2^24), whose bits minus MAGIC_BITS are the rounded value.
                let x = fb.b.ins().fcvt_from_sint(types::F32X4, v);
                let p = fb.b.ins().fmul(x, ms);
                let p = fb.b.ins().fadd(p, magic);
                let le = super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
                let bits = fb.b.ins().bitcast(types::I32X4, le, p);
                let q = fb.b.ins().isub(bits, off);
                if packed.is_some() {
                    return q;
                }
                let q = fb.b.ins().smax(q, lo);
                return fb.b.ins().smin(q, hi);
            }
            Consts::Float(ms, zps, lo, hi) => (ms, zps, lo, hi),
        };
        let x = fb.b.ins().fcvt_from_sint(types::F32X4, v);
        let p = fb.b.ins().fmul(x, ms);
        let r = fb.b.ins().nearest(p);
        if req.small {
            let r = fb.b.ins().x86_cvtt2dq(types::I32X4, r);
            let q = fb.b.ins().iadd(r, zps);
            let (skip_lo, skip_hi) = match (packed, req.out) {
                (Some(dt), super::requant::OutMode::Quant { qmin, qmax }) => {
                    let (dmin, dmax) = dt.int_range().unwrap_or((i64::MIN, i64::MAX));
                    (qmin == dmin, qmax == dmax)
                }
                _ => (false, false),
            };
            let q = if skip_lo { q } else { fb.b.ins().smax(q, lo) };
            return if skip_hi { q } else { fb.b.ins().smin(q, hi) };
        }
        let r = fb.b.ins().fmax(r, lo);
        let r = fb.b.ins().fmin(r, hi);
        let r = fb.b.ins().fcvt_to_sint_sat(types::I32X4, r);
        fb.b.ins().iadd(r, zps)
    }
}

/// TFLite's `MultiplyByQuantizedMultiplier` on four i32 lanes, for `m0 >= 0`:
/// `a = x * 2^left` (wrapping), then `SaturatingRoundingDoublingHighMul(a, m0)`, which for
/// `m0 >= 0` is `floor((a * m0 + 2^30) / 2^31)` (the nudge `1 - 2^30` and the truncating
/// division of a negative product make the same floor; the saturating case `a == m0 ==
/// i32::MIN` cannot occur), computed as 64-bit products of the lanes (`pmuldq`) whose bits
/// 31..62 are the result; then `RoundingDivideByPOT` by `right`.
fn fixed_point4(fb: &mut Fb, c: &FixedVec, x: Value) -> Value {
    use cranelift_codegen::ir::{ConstantData, Endianness};
    let a = fb.b.ins().imul(x, c.factor);
    let nudge = fb.b.ins().iconst(types::I64, 1 << 30);
    let nudge = fb.b.ins().splat(types::I64X2, nudge);
    let high = |fb: &mut Fb, lo_half: bool| {
        let (aw, mw) = if lo_half {
            (fb.b.ins().swiden_low(a), fb.b.ins().swiden_low(c.m0))
        } else {
            (fb.b.ins().swiden_high(a), fb.b.ins().swiden_high(c.m0))
        };
        let p = fb.b.ins().imul(aw, mw);
        let p = fb.b.ins().iadd(p, nudge);
        fb.b.ins().ushr_imm_u(p, 31)
    };
    let (p0, p1) = (high(fb, true), high(fb, false));
    // The low 32 bits of each 64-bit lane, in order.
    let le = super::flags().with_endianness(Endianness::Little);
    let mask: Vec<u8> = [0u8, 2, 4, 6]
        .iter()
        .flat_map(|&l| (0..4u8).map(move |j| 4 * l + j))
        .collect();
    let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
    let b0 = fb.b.ins().bitcast(types::I8X16, le, p0);
    let b1 = fb.b.ins().bitcast(types::I8X16, le, p1);
    let h = fb.b.ins().shuffle(b0, b1, imm);
    let h = fb.b.ins().bitcast(types::I32X4, le, h);
    // RoundingDivideByPOT(h, right): + 1 where the remainder exceeds the threshold
    // `half + (h < 0)`.
    let rem = fb.b.ins().band(h, c.mask);
    let zero = fb.c32(0);
    let zero = fb.b.ins().splat(types::I32X4, zero);
    let neg = fb.b.ins().icmp(IntCC::SignedLessThan, h, zero);
    let threshold = fb.b.ins().isub(c.half, neg);
    let shifted = fb.b.ins().sshr(h, c.right);
    let up = fb.b.ins().icmp(IntCC::SignedGreaterThan, rem, threshold);
    fb.b.ins().isub(shifted, up)
}

/// Packs one to four i32x4 of stored values (already in the u8/i8 range) to bytes, puts
/// byte `i` of the result at `perm[i]` of the packed order when given, and stores the 8 or
/// 16 bytes at `ya`.
pub fn store_q(fb: &mut Fb, q: &[Value], perm: Option<&[u8]>, y_dt: DType, ya: Value) {
    store_q_n(fb, q, perm, y_dt, ya, 4 * q.len());
}

/// [`store_q`] storing only the first `n` bytes (`n <= 4 * q.len()`).
pub fn store_q_n(fb: &mut Fb, q: &[Value], perm: Option<&[u8]>, y_dt: DType, ya: Value, n: usize) {
    store_q_clamped(fb, q, perm, y_dt, ya, n, None);
}

/// [`store_q_n`] clamping the packed bytes to `clamp` (`pmaxub`/`pminub` or
/// `pmaxsb`/`pminsb` on 16 values at once); see [`ReqVec::byte_clamp`].
pub fn store_q_clamped(
    fb: &mut Fb,
    q: &[Value],
    perm: Option<&[u8]>,
    y_dt: DType,
    ya: Value,
    n: usize,
    clamp: Option<(i64, i64)>,
) {
    use cranelift_codegen::ir::ConstantData;
    let w0 = fb.b.ins().snarrow(q[0], *q.get(1).unwrap_or(&q[0]));
    let w1 = match q.len() {
        4 => fb.b.ins().snarrow(q[2], q[3]),
        3 => fb.b.ins().snarrow(q[2], q[2]),
        _ => w0,
    };
    let mut w8 = if y_dt == DType::U8 {
        fb.b.ins().unarrow(w0, w1)
    } else {
        fb.b.ins().snarrow(w0, w1)
    };
    let le = super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    if let Some((lo, hi)) = clamp {
        let b8 = fb.b.ins().bitcast(types::I8X16, le, w8);
        let (lo, hi) = (fb.c32(lo as u8 as i32), fb.c32(hi as u8 as i32));
        let lo = fb.b.ins().ireduce(types::I8, lo);
        let hi = fb.b.ins().ireduce(types::I8, hi);
        let lo = fb.b.ins().splat(types::I8X16, lo);
        let hi = fb.b.ins().splat(types::I8X16, hi);
        w8 = if y_dt == DType::U8 {
            let v = fb.b.ins().umax(b8, lo);
            fb.b.ins().umin(v, hi)
        } else {
            let v = fb.b.ins().smax(b8, lo);
            fb.b.ins().smin(v, hi)
        };
    }
    if let Some(perm) = perm {
        let mut mask: Vec<u8> = perm.to_vec();
        mask.resize(16, 0);
        let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
        let b8 = fb.b.ins().bitcast(types::I8X16, le, w8);
        w8 = fb.b.ins().shuffle(b8, b8, imm);
    }
    let b8 = fb.b.ins().bitcast(types::I8X16, le, w8);
    store_bytes(fb, b8, ya, n);
}

/// Stores the first `n` bytes (`n <= 16`) of the byte vector `v` at `ya`: one 16-byte
/// store, or 8-byte words and then pieces of 4, 2 and 1 bytes. Writes exactly `n` bytes.
pub fn store_bytes(fb: &mut Fb, v: Value, ya: Value, n: usize) {
    let f = super::flags();
    if n == 16 {
        fb.b.ins().store(f, v, ya, 0);
        return;
    }
    let le = f.with_endianness(cranelift_codegen::ir::Endianness::Little);
    let w64 = fb.b.ins().bitcast(types::I64X2, le, v);
    let mut at = 0;
    for lane in 0..2u8 {
        let mut word = fb.b.ins().extractlane(w64, lane);
        let mut left = n.saturating_sub(8 * lane as usize).min(8);
        if left == 8 {
            fb.b.ins().store(f, word, ya, at);
            at += 8;
            continue;
        }
        // The first `left` bytes of the word in pieces of 4, 2 and 1.
        for size in [4, 2, 1] {
            if left >= size {
                match size {
                    4 => fb.b.ins().istore32(f, word, ya, at),
                    2 => fb.b.ins().istore16(f, word, ya, at),
                    _ => fb.b.ins().istore8(f, word, ya, at),
                };
                word = fb.b.ins().ushr_imm_s(word, (8 * size) as i64);
                at += size as i32;
                left -= size;
            }
        }
    }
}

/// Sets the `n` bytes at `dst` to `byte`: 16-byte stores in a loop, then single bytes.
pub fn fill_bytes(fb: &mut Fb, dst: Value, n: usize, byte: u8) {
    let b = fb.b.ins().iconst(types::I8, byte as i64);
    let v = fb.b.ins().splat(types::I8X16, b);
    fb.for_n(n / 16, |fb, i| {
        let a = fb.index(dst, i, 16);
        fb.b.ins().store(super::flags(), v, a, 0);
    });
    for t in n / 16 * 16..n {
        fb.b.ins().store(super::flags(), b, dst, t as i32);
    }
}

/// Eight u8/i8 at `addr` widened to two i32x4 (elements 0-3 and 4-7).
pub fn widen8_i32(fb: &mut Fb, dt: DType, addr: Value) -> [Value; 2] {
    let f = super::flags();
    let w = if dt == DType::U8 {
        fb.b.ins().uload8x8(f, addr, 0)
    } else {
        fb.b.ins().sload8x8(f, addr, 0)
    };
    if dt == DType::U8 {
        [fb.b.ins().uwiden_low(w), fb.b.ins().uwiden_high(w)]
    } else {
        [fb.b.ins().swiden_low(w), fb.b.ins().swiden_high(w)]
    }
}

/// Eight u8/i8 at `xa + off` widened to i16 (no zero point subtracted).
pub fn load8_raw(fb: &mut Fb, x_dt: DType, xa: Value, off: i32) -> Value {
    match x_dt {
        DType::I8 => fb.b.ins().sload8x8(flags(), xa, off),
        _ => fb.b.ins().uload8x8(flags(), xa, off),
    }
}

/// Like [`load8_raw`] as a pure load (`movq` + `pmovzxbw`/`pmovsxbw`): for buffers the
/// kernel never writes while it reads them (its input, or a scratch copy filled before),
/// so the load is scheduled next to its use instead of with every other load of the loop
/// body at its top (which would keep them all live and spill).
pub fn load8_pure(fb: &mut Fb, x_dt: DType, xa: Value, off: i32) -> Value {
    let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    // An i64 load sunk into `movq` (straight to an xmm register, upper bits zeroed).
    let v = fb.b.ins().load(types::I64, super::const_flags(), xa, off);
    let v = fb.b.ins().scalar_to_vector(types::I64X2, v);
    let v = fb.b.ins().bitcast(types::I8X16, le, v);
    match x_dt {
        DType::I8 => fb.b.ins().swiden_low(v),
        _ => fb.b.ins().uwiden_low(v),
    }
}

/// An i32 weight pair (`w0` low, `w1` high 16 bits) broadcast as i16x8 `[w0 w1 w0 w1 ..]`.
pub fn splat_pair(fb: &mut Fb, wpair: Value) -> Value {
    let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    let w32 = fb.b.ins().splat(types::I32X4, wpair);
    fb.b.ins().bitcast(types::I16X8, le, w32)
}

/// `acc + pmaddwd(x, w)`: i32 lane `i` gains `x[2i] * w[2i] + x[2i+1] * w[2i+1]`, exact.
pub fn madd(fb: &mut Fb, x: Value, w: Value, acc: Value) -> Value {
    let xl = fb.b.ins().swiden_low(x);
    let wl = fb.b.ins().swiden_low(w);
    let xh = fb.b.ins().swiden_high(x);
    let wh = fb.b.ins().swiden_high(w);
    let pl = fb.b.ins().imul(xl, wl);
    let ph = fb.b.ins().imul(xh, wh);
    let p = fb.b.ins().iadd_pairwise(pl, ph);
    fb.b.ins().iadd(acc, p)
}

/// Interleaves the 16-bit lanes of `a` and `b`: (`[a0 b0 a1 b1 a2 b2 a3 b3]`,
/// `[a4 b4 .. a7 b7]`), i.e. punpcklwd / punpckhwd.
pub fn zip16(fb: &mut Fb, a: Value, b: Value) -> (Value, Value) {
    use cranelift_codegen::ir::ConstantData;
    let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    let a8 = fb.b.ins().bitcast(types::I8X16, le, a);
    let b8 = fb.b.ins().bitcast(types::I8X16, le, b);
    let mut out = [a; 2];
    for (h, o) in out.iter_mut().enumerate() {
        let mask: Vec<u8> = (0..4u8)
            .flat_map(|j| {
                let k = 2 * (j + 4 * h as u8);
                [k, k + 1, 16 + k, 17 + k]
            })
            .collect();
        let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
        let s = fb.b.ins().shuffle(a8, b8, imm);
        *o = fb.b.ins().bitcast(types::I16X8, le, s);
    }
    (out[0], out[1])
}

/// Loads eight u8/i8 inputs (`xa + off + j * stride`) widened to i16 with `zx` subtracted.
fn load8(fb: &mut Fb, x_dt: DType, xa: Value, off: i32, stride: usize, zx16: Value) -> Value {
    let load = |fb: &mut Fb, off: i32| match x_dt {
        DType::I8 => fb.b.ins().sload8x8(flags(), xa, off),
        _ => fb.b.ins().uload8x8(flags(), xa, off),
    };
    let v = if stride == 1 {
        load(fb, off)
    } else if stride == 2 {
        // Bytes off, off+2, .., off+14 from two overlapping loads (off..off+7 and
        // off+7..off+14, never past the last element read), even / odd lanes picked.
        use cranelift_codegen::ir::ConstantData;
        let a = load(fb, off);
        let b = load(fb, off + 7);
        let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
        let a8 = fb.b.ins().bitcast(types::I8X16, le, a);
        let b8 = fb.b.ins().bitcast(types::I8X16, le, b);
        let mask: Vec<u8> = vec![0, 1, 4, 5, 8, 9, 12, 13, 18, 19, 22, 23, 26, 27, 30, 31];
        let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
        let s = fb.b.ins().shuffle(a8, b8, imm);
        fb.b.ins().bitcast(types::I16X8, le, s)
    } else {
        let z = fb.b.ins().iconst(types::I16, 0);
        let mut v = fb.b.ins().splat(types::I16X8, z);
        for j in 0..8u8 {
            let e = fb.load_int(x_dt, xa, off + (j as usize * stride) as i32);
            let e = fb.b.ins().ireduce(types::I16, e);
            v = fb.b.ins().insertlane(v, e, j);
        }
        v
    };
    fb.b.ins().isub(v, zx16)
}

/// Eight positions of input channel `c` (at `xa0`) and `c + 1` (at `xa1`), widened, zero
/// point subtracted and interleaved: `([x0c x0c' .. x3c x3c'], [x4c x4c' .. x7c x7c'])`.
pub fn load_pair(
    fb: &mut Fb,
    x_dt: DType,
    (xa0, xa1): (Value, Value),
    off: i32,
    stride: usize,
    zx16: Value,
) -> (Value, Value) {
    load_pair_at(fb, x_dt, (xa0, off), (xa1, off), stride, zx16)
}

/// Like [`load_pair`] with a separate offset per operand (two taps of one channel).
pub fn load_pair_at(
    fb: &mut Fb,
    x_dt: DType,
    (xa0, off0): (Value, i32),
    (xa1, off1): (Value, i32),
    stride: usize,
    zx16: Value,
) -> (Value, Value) {
    let v0 = load8(fb, x_dt, xa0, off0, stride, zx16);
    let v1 = load8(fb, x_dt, xa1, off1, stride, zx16);
    zip16(fb, v0, v1)
}

/// `acc += pmaddwd(x, splat(wpair))` on both halves: 16 MACs (`wpair` holds `w_c` in the
/// low and `w_{c+1}` in the high i16).
pub fn madd_pair(
    fb: &mut Fb,
    (lo, hi): (Value, Value),
    wpair: Value,
    acc: (cranelift_frontend::Variable, cranelift_frontend::Variable),
) {
    let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    let w32 = fb.b.ins().splat(types::I32X4, wpair);
    let w = fb.b.ins().bitcast(types::I16X8, le, w32);
    let wl = fb.b.ins().swiden_low(w);
    let wh = fb.b.ins().swiden_high(w);
    for (v, var) in [(lo, acc.0), (hi, acc.1)] {
        let l = fb.b.ins().swiden_low(v);
        let h = fb.b.ins().swiden_high(v);
        let pl = fb.b.ins().imul(l, wl);
        let ph = fb.b.ins().imul(h, wh);
        let p = fb.b.ins().iadd_pairwise(pl, ph);
        let a = fb.b.use_var(var);
        let a = fb.b.ins().iadd(a, p);
        fb.b.def_var(var, a);
    }
}

/// Eight positions of one input channel as two i32x4 (zero point subtracted).
pub fn load_wide(
    fb: &mut Fb,
    x_dt: DType,
    xa: Value,
    off: i32,
    stride: usize,
    zx16: Value,
) -> (Value, Value) {
    let v = load8(fb, x_dt, xa, off, stride, zx16);
    let l = fb.b.ins().swiden_low(v);
    let h = fb.b.ins().swiden_high(v);
    (l, h)
}

/// `acc += x * splat(w)` on both halves (i32 multiplies).
pub fn mul_acc(
    fb: &mut Fb,
    (l, h): (Value, Value),
    w: Value,
    acc: (cranelift_frontend::Variable, cranelift_frontend::Variable),
) {
    let w = fb.b.ins().splat(types::I32X4, w);
    for (v, var) in [(l, acc.0), (h, acc.1)] {
        let p = fb.b.ins().imul(v, w);
        let a = fb.b.use_var(var);
        let a = fb.b.ins().iadd(a, p);
        fb.b.def_var(var, a);
    }
}

/// `acc + dot(w, x)` in the `vpdpbusd` shape: `w` is 16 signed bytes, `x` 16 unsigned
/// bytes, each i32 lane gains the sum of 4 adjacent products. Cranelift folds exactly this
/// tree into one `vpdpbusd` when the target has AVX-VNNI or AVX512-VNNI (elsewhere it is the
/// same value computed by widening; no i16 product can overflow: `|w * x| <= 128 * 255`).
pub fn dot_i8_u8_acc(fb: &mut Fb, w: Value, x: Value, acc: Value) -> Value {
    let b = &mut fb.b;
    let (wl, xl) = (b.ins().swiden_low(w), b.ins().uwiden_low(x));
    let lo = b.ins().imul(wl, xl);
    let (wh, xh) = (b.ins().swiden_high(w), b.ins().uwiden_high(x));
    let hi = b.ins().imul(wh, xh);
    let (lo_l, lo_h) = (b.ins().swiden_low(lo), b.ins().swiden_high(lo));
    let (hi_l, hi_h) = (b.ins().swiden_low(hi), b.ins().swiden_high(hi));
    let l = b.ins().iadd_pairwise(lo_l, lo_h);
    let h = b.ins().iadd_pairwise(hi_l, hi_h);
    let t = b.ins().iadd_pairwise(l, h);
    b.ins().iadd(t, acc)
}

/// For `cols` consecutive columns `j0 + t` of an i8 matrix packed `[N][k16]` (k16 = k
/// rounded up to 16): `sum_{kk < k} u(a[kk]) * b8[(j0 + t) * k16 + kk]`, where `u(a)` is the
/// stored u8, or the stored i8 plus 128. Whole 16-byte chunks use [`dot_i8_u8_acc`] (one
/// `vpdpbusd` each with VNNI), the `k % 16` tail is scalar; `a` is never read past `k`.
pub fn dot_vnni_cols(
    fb: &mut Fb,
    a_dt: DType,
    arow: Value,
    b8: Addr,
    j0: Value,
    cols: usize,
    k: usize,
) -> Vec<Value> {
    let k16 = k.div_ceil(16) * 16;
    let zero = fb.c32(0);
    let zv = fb.b.ins().splat(types::I32X4, zero);
    let accs: Vec<_> = (0..cols).map(|_| fb.var(types::I32X4, zv)).collect();
    let bbase = fb.base(b8);
    let brow0 = fb.index(bbase, j0, k16);
    let flip = fb.b.ins().iconst(types::I8, 0x80u8 as i8 as i64);
    let flip = fb.b.ins().splat(types::I8X16, flip);
    fb.for_n(k / 16, |fb, c| {
        let aa = fb.index(arow, c, 16);
        let mut x = fb.b.ins().load(types::I8X16, flags(), aa, 0);
        if a_dt == DType::I8 {
            x = fb.b.ins().bxor(x, flip);
        }
        let ba = fb.index(brow0, c, 16);
        for (t, acc) in accs.iter().enumerate() {
            let w =
                fb.b.ins()
                    .load(types::I8X16, super::const_flags(), ba, (t * k16) as i32);
            let a = fb.b.use_var(*acc);
            let a = dot_i8_u8_acc(fb, w, x, a);
            fb.b.def_var(*acc, a);
        }
    });
    let mut sums: Vec<Value> = accs
        .iter()
        .map(|acc| {
            let v = fb.b.use_var(*acc);
            let mut s = fb.b.ins().extractlane(v, 0);
            for lane in 1..4u8 {
                let e = fb.b.ins().extractlane(v, lane);
                s = fb.b.ins().iadd(s, e);
            }
            s
        })
        .collect();
    for kk in (k / 16) * 16..k {
        let av = fb.load_int(a_dt, arow, kk as i32);
        let av = if a_dt == DType::I8 {
            fb.b.ins().iadd_imm_s(av, 128)
        } else {
            av
        };
        for (t, s) in sums.iter_mut().enumerate() {
            let bv = fb.b.ins().sload8(
                types::I32,
                super::const_flags(),
                brow0,
                (t * k16 + kk) as i32,
            );
            let p = fb.b.ins().imul(av, bv);
            *s = fb.b.ins().iadd(*s, p);
        }
    }
    sums
}

/// Copies `n` bytes from `src` to `dst` (non-overlapping buffers): 16-byte vectors, the
/// last one overlapping the previous when `n >= 16`, else pieces of 8, 4, 2 and 1 bytes.
/// Reads and writes exactly the `n` bytes.
pub fn copy_bytes(fb: &mut Fb, src: Value, dst: Value, n: usize) {
    let f = flags();
    if n >= 16 {
        let mv = |fb: &mut Fb, off: Value| {
            let s = fb.b.ins().iadd(src, off);
            let d = fb.b.ins().iadd(dst, off);
            let v = fb.b.ins().load(types::I8X16, f, s, 0);
            fb.b.ins().store(f, v, d, 0);
        };
        fb.for_n(n / 16, |fb, i| {
            let off = fb.b.ins().imul_imm_s(i, 16);
            mv(fb, off);
        });
        if !n.is_multiple_of(16) {
            let off = fb.c64((n - 16) as i64);
            mv(fb, off);
        }
        return;
    }
    let mut at = 0i32;
    for (size, ty) in [
        (8, types::I64),
        (4, types::I32),
        (2, types::I16),
        (1, types::I8),
    ] {
        if n & size != 0 {
            let v = fb.b.ins().load(ty, f, src, at);
            fb.b.ins().store(f, v, dst, at);
            at += size as i32;
        }
    }
}

/// Scalar `init + sum_{kk < k} (a[kk] - za) * bp[j * k + kk]` for u8/i8 elements of `a`
/// `a_step` bytes apart and an i32 matrix packed `[N][K]` (wrapping i32, like the
/// interpreter); `za` is an i32 value.
#[allow(clippy::too_many_arguments)]
pub fn dot_scalar(
    fb: &mut Fb,
    a_dt: DType,
    (arow, a_step): (Value, usize),
    za: Value,
    bp: Addr,
    j: Value,
    k: usize,
    init: Value,
) -> Value {
    let acc = fb.var(types::I32, init);
    let bbase = fb.base(bp);
    let brow = fb.index(bbase, j, k * 4);
    fb.for_n(k, |fb, kk| {
        let aa = fb.index(arow, kk, a_step);
        let av = fb.load_int(a_dt, aa, 0);
        let av = fb.b.ins().isub(av, za);
        let ba = fb.index(brow, kk, 4);
        let bv = fb.b.ins().load(types::I32, super::const_flags(), ba, 0);
        let p = fb.b.ins().imul(av, bv);
        let a = fb.b.use_var(acc);
        let a = fb.b.ins().iadd(a, p);
        fb.b.def_var(acc, a);
    });
    fb.b.use_var(acc)
}
