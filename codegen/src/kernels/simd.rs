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
/// and an i16 matrix packed `[N][k8]` (k8 = k rounded up to 8).
#[allow(clippy::too_many_arguments)]
pub fn dot_u8_i16(
    fb: &mut Fb,
    a_dt: DType,
    arow: Value,
    za: i32,
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
    let z16 = fb.b.ins().iconst(types::I16, za as i64);
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
        let av = fb.b.ins().iadd_imm_s(av, -(za as i64));
        let bv = fb.b.ins().sload16(types::I32, flags(), brow, (kk * 2) as i32);
        let p = fb.b.ins().imul(av, bv);
        let a = fb.b.use_var(acc);
        let a = fb.b.ins().iadd(a, p);
        fb.b.def_var(acc, a);
    }
    fb.b.use_var(acc)
}
