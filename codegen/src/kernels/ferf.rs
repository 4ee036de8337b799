//! f32 `erf` as ONNX Runtime computes it (`MlasErfKernelFma3`, the interpreter's
//! `mlas_activations::erf`): the same fused multiply-adds, compares and bit operations, 4
//! lanes at a time and then element by element for the tail, so every result is the
//! interpreter's bit for bit (hardware FMA required).

use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use qcc_ir::interp::mlas_erf::*;
use qcc_ir::DType;

struct FErf {
    n: usize,
    x: Addr,
    y: Addr,
}

/// Lowers an f32 `erf` on targets with FMA.
pub fn lower(l: &mut Lower) -> Lowered {
    if !l.fma
        || l.node.inputs.len() != 1
        || l.in_ty(0)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
    {
        return Ok(None);
    }
    Ok(Some(Box::new(FErf {
        n: l.in_dims(0)?.iter().product(),
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
    })))
}

/// Float and integer types of one step (`F32X4` and `I32X4`, or `F32` and `I32`): the
/// same arithmetic on a vector or on one element.
pub(super) struct Lanes {
    pub f: Type,
    pub i: Type,
}

impl Lanes {
    /// Four lanes.
    pub(super) const VECTOR: Lanes = Lanes {
        f: types::F32X4,
        i: types::I32X4,
    };
    /// One element.
    pub(super) const SCALAR: Lanes = Lanes {
        f: types::F32,
        i: types::I32,
    };

    pub(super) fn vector(&self) -> bool {
        self.f.is_vector()
    }

    pub(super) fn fc(&self, fb: &mut Fb, x: f32) -> Value {
        let c = fb.f32c(x);
        if self.vector() {
            fb.b.ins().splat(self.f, c)
        } else {
            c
        }
    }

    pub(super) fn ic(&self, fb: &mut Fb, x: u32) -> Value {
        let c = fb.c32(x as i32);
        if self.vector() {
            fb.b.ins().splat(self.i, c)
        } else {
            c
        }
    }

    pub(super) fn bits(&self, fb: &mut Fb, v: Value) -> Value {
        fb.b.ins().bitcast(self.i, self.cast_flags(), v)
    }

    pub(super) fn float(&self, fb: &mut Fb, v: Value) -> Value {
        fb.b.ins().bitcast(self.f, self.cast_flags(), v)
    }

    fn cast_flags(&self) -> MemFlagsData {
        if self.vector() {
            flags().with_endianness(cranelift_codegen::ir::Endianness::Little)
        } else {
            MemFlagsData::new()
        }
    }

    /// `cond(a, b) ? a : b` lane by lane (`vminps` / `vmaxps` with `LessThan` /
    /// `GreaterThan`).
    pub(super) fn pick(&self, fb: &mut Fb, cc: FloatCC, a: Value, b: Value) -> Value {
        let c = fb.b.ins().fcmp(cc, a, b);
        if self.vector() {
            fb.b.ins().bitselect(c, a, b)
        } else {
            fb.b.ins().select(c, a, b)
        }
    }

    /// All ones where `lo <= a`, else zero (as integers).
    fn mask_ge(&self, fb: &mut Fb, lo: Value, a: Value) -> Value {
        let c = fb.b.ins().fcmp(FloatCC::LessThanOrEqual, lo, a);
        if self.vector() {
            self.bits(fb, c)
        } else {
            let ones = fb.c32(-1);
            let zero = fb.c32(0);
            fb.b.ins().select(c, ones, zero)
        }
    }

    /// Horner's scheme with fused multiply-adds: `((c0 x + c1) x + c2) ...`.
    pub(super) fn poly(&self, fb: &mut Fb, c: &[f32], x: Value) -> Value {
        let (c0, c1) = (self.fc(fb, c[0]), self.fc(fb, c[1]));
        let mut p = fb.b.ins().fma(c0, x, c1);
        for &k in &c[2..] {
            let k = self.fc(fb, k);
            p = fb.b.ins().fma(p, x, k);
        }
        p
    }

    /// The erf of every lane of `x`.
    fn erf(&self, fb: &mut Fb, x: Value) -> Value {
        let xb = self.bits(fb, x);
        let (sm, am) = (self.ic(fb, 0x8000_0000), self.ic(fb, 0x7fff_ffff));
        let sign = fb.b.ins().band(xb, sm);
        let a = fb.b.ins().band(xb, am);
        let a = self.float(fb, a);
        let upper = self.fc(fb, ERF_UPPER_ABS);
        let a = self.pick(fb, FloatCC::LessThan, upper, a);
        // Small branch: a + a * S(a^2).
        let s = fb.b.ins().fmul(a, a);
        let p = self.poly(fb, &ERF_SMALL, s);
        let p = fb.b.ins().fma(p, a, a);
        let split = self.fc(fb, ERF_SPLIT);
        let big = self.mask_ge(fb, split, a);
        let pb = self.bits(fb, p);
        let small_bits = fb.b.ins().band_not(pb, big);
        // Big branch on `a` (0 in the small lanes): 1 - exp(-(a + a * B(a))).
        let ab = self.bits(fb, a);
        let b = fb.b.ins().band(ab, big);
        let b = self.float(fb, b);
        let q = self.poly(fb, &ERF_BIG, b);
        let q = fb.b.ins().fma(q, b, b);
        let q = fb.b.ins().fneg(q);
        let lower = self.fc(fb, ERF_EXP_LOWER);
        let e = self.pick(fb, FloatCC::GreaterThan, q, lower);
        let (l2r, c) = (self.fc(fb, ERF_EXP_LOG2_RECIPROCAL), self.fc(fb, ERF_EXP_C));
        let r = fb.b.ins().fma(l2r, e, c);
        let r = fb.b.ins().fsub(r, c);
        let (hi, lo) = (self.fc(fb, ERF_EXP_LOG2_HI), self.fc(fb, ERF_EXP_LOG2_LO));
        let f = fb.b.ins().fma(hi, r, e);
        let f = fb.b.ins().fma(r, lo, f);
        let y = self.poly(fb, &ERF_EXP_P, f);
        // 2^r from the exponent bits: (trunc(r) + 127) << 23 (r is an integer in range).
        let ri = if self.vector() {
            fb.b.ins().x86_cvtt2dq(self.i, r)
        } else {
            fb.b.ins().fcvt_to_sint_sat(self.i, r)
        };
        let k = self.ic(fb, 127);
        let ri = fb.b.ins().iadd(ri, k);
        let ri = fb.b.ins().ishl_imm_s(ri, 23);
        let scale = self.float(fb, ri);
        let ys = fb.b.ins().fmul(y, scale);
        let one = self.fc(fb, 1.0);
        let big_val = fb.b.ins().fsub(one, ys);
        let bv = self.bits(fb, big_val);
        let out = fb.b.ins().bor(bv, small_bits);
        let out = fb.b.ins().bor(out, sign);
        self.float(fb, out)
    }
}

impl Kernel for FErf {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let vec = Lanes {
            f: types::F32X4,
            i: types::I32X4,
        };
        fb.for_n(self.n / 4, |fb, i| {
            let xa = fb.index(xb, i, 16);
            let x = fb.b.ins().load(types::F32X4, flags(), xa, 0);
            let y = vec.erf(fb, x);
            let ya = fb.index(yb, i, 16);
            fb.b.ins().store(flags(), y, ya, 0);
        });
        let one = Lanes {
            f: types::F32,
            i: types::I32,
        };
        fb.for_span(self.n / 4 * 4, self.n, |fb, i| {
            let xa = fb.index(xb, i, 4);
            let x = fb.b.ins().load(types::F32, flags(), xa, 0);
            let y = one.erf(fb, x);
            let ya = fb.index(yb, i, 4);
            fb.b.ins().store(flags(), y, ya, 0);
        });
    }
}
