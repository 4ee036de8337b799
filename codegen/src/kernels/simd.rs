//! 128-bit vector building blocks (x86 SSE4.1 / AVX through Cranelift's x64 backend).
//!
//! The int8 dot product widens both operands to i16 (`uload8x8`/`sload8x8`, zero point
//! subtracted in i16, exact since `|x - z| <= 255`), then multiplies and adds pairs in i32:
//! `iadd_pairwise(imul(swiden_low a, swiden_low b), imul(swiden_high a, swiden_high b))`,
//! the pmaddwd shape, so no i16 product ever saturates.

use super::{flags, Addr, Fb};
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
/// and stores them as eight u8/i8 at `ya`. Float mode is vectorised with the scalar
/// semantics (f32 multiply, `nearest`, clamp to `[qmin - zp, qmax - zp]`, saturating
/// convert, `+ zp`; NaN becomes `zp` as in the interpreter); fixed point goes lane by lane.
pub fn requant_store8(
    fb: &mut Fb,
    req: &super::Requant,
    row: Value,
    lo: Value,
    hi: Value,
    y_dt: DType,
    ya: Value,
) {
    let super::requant::OutMode::Quant { qmin, qmax } = req.out else {
        unreachable!("vector epilogue only for quantized outputs")
    };
    if req.fixed {
        for (v, base) in [(lo, 0u8), (hi, 4u8)] {
            for lane in 0..4u8 {
                let a = fb.b.ins().extractlane(v, lane);
                let q = req.apply(fb, row, a);
                fb.store_int(y_dt, q, ya, (base + lane) as i32);
            }
        }
        return;
    }
    let f = super::const_flags();
    let m = fb.b.ins().load(types::F32, f, row, 8);
    let ms = fb.b.ins().splat(types::F32X4, m);
    let zp = fb.b.ins().load(types::I32, f, row, 4);
    let zpf = fb.b.ins().fcvt_from_sint(types::F32, zp);
    let qminf = fb.f32c(qmin as f32);
    let qmaxf = fb.f32c(qmax as f32);
    let lo_b = fb.b.ins().fsub(qminf, zpf);
    let hi_b = fb.b.ins().fsub(qmaxf, zpf);
    let lo_b = fb.b.ins().splat(types::F32X4, lo_b);
    let hi_b = fb.b.ins().splat(types::F32X4, hi_b);
    let zps = fb.b.ins().splat(types::I32X4, zp);
    let mut q = [lo; 2];
    for (i, v) in [lo, hi].into_iter().enumerate() {
        let x = fb.b.ins().fcvt_from_sint(types::F32X4, v);
        let p = fb.b.ins().fmul(x, ms);
        let r = fb.b.ins().nearest(p);
        let r = fb.b.ins().fmax(r, lo_b);
        let r = fb.b.ins().fmin(r, hi_b);
        let r = fb.b.ins().fcvt_to_sint_sat(types::I32X4, r);
        q[i] = fb.b.ins().iadd(r, zps);
    }
    let w16 = fb.b.ins().snarrow(q[0], q[1]);
    let w8 = if y_dt == DType::U8 {
        fb.b.ins().unarrow(w16, w16)
    } else {
        fb.b.ins().snarrow(w16, w16)
    };
    let le = super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
    let w64 = fb.b.ins().bitcast(types::I64X2, le, w8);
    let word = fb.b.ins().extractlane(w64, 0);
    fb.b.ins().store(f, word, ya, 0);
}

/// Interleaves the 16-bit lanes of `a` and `b`: (`[a0 b0 a1 b1 a2 b2 a3 b3]`,
/// `[a4 b4 .. a7 b7]`), i.e. punpcklwd / punpckhwd.
fn zip16(fb: &mut Fb, a: Value, b: Value) -> (Value, Value) {
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
