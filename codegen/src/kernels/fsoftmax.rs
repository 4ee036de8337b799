//! f32 `softmax` along the last axis as ONNX Runtime's `MlasComputeSoftmax` computes it on
//! AVX512F hosts (the interpreter's `mlas_softmax::softmax_row`), bit for bit, on 128-bit
//! lanes (hardware FMA required). Per row:
//!
//! 1. the maximum, element by element (`v > max ? v : max`, NaN ignored);
//! 2. `e = exp(-max + x)` with MLAS's clamp, two-step `ln 2` reduction, degree-6 polynomial
//!    and `vscalefps`, which is `p * 2^m` rounded once: here `(p * 2^a) * 2^b` with
//!    `a = clamp(m, -125, 127)`, exact first product, both powers normal f32; stored in `y`;
//! 3. the sum as MLAS's 16 lane accumulators (element `i` into lane `i % 16`, in order; a
//!    row's last partial chunk adds zeros to the other lanes), folded
//!    `s_j = acc_{j+8} + acc_j`, then `((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7))`;
//! 4. `y *= 1 / sum`.

use super::ferf::Lanes;
use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::interp::mlas_exp::*;
use qcc_ir::DType;

struct FSoftmax {
    rows: usize,
    d: usize,
    x: Addr,
    y: Addr,
}

/// Lowers an f32 `softmax` along the last axis on targets with FMA.
pub fn lower(l: &mut Lower, axis: i64) -> Lowered {
    let dims = l.in_dims(0)?;
    let rank = dims.len() as i64;
    if !l.fma
        || !l.simd
        || rank == 0
        || !(axis == -1 || axis == rank - 1)
        || l.in_ty(0)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
    {
        return Ok(None);
    }
    let d = dims[dims.len() - 1];
    if d == 0 {
        return Ok(None);
    }
    Ok(Some(Box::new(FSoftmax {
        rows: dims.iter().product::<usize>() / d,
        d,
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
    })))
}

impl Lanes {
    /// `exp(x)` of every lane as MLAS's AVX512F exp (see the module doc).
    fn mlas_exp(&self, fb: &mut Fb, x: Value) -> Value {
        let lo = self.fc(fb, LOWER_RANGE);
        let x = self.pick(fb, FloatCC::GreaterThan, lo, x);
        let hi = self.fc(fb, UPPER_RANGE);
        let x = self.pick(fb, FloatCC::LessThan, hi, x);
        let (l2r, bias) = (self.fc(fb, LOG2_RECIPROCAL), self.fc(fb, ROUNDING_BIAS));
        let biased = fb.b.ins().fma(x, l2r, bias);
        let m = fb.b.ins().fsub(biased, bias);
        let (l2h, l2l) = (self.fc(fb, LOG2_HIGH), self.fc(fb, LOG2_LOW));
        let x = fb.b.ins().fma(m, l2h, x);
        let x = fb.b.ins().fma(m, l2l, x);
        let c = POLY.map(f32::from_bits);
        let p = self.poly(fb, &c[..5], x);
        let c5 = self.fc(fb, c[5]);
        let p = fb.b.ins().fma(p, x, c5);
        let p = fb.b.ins().fma(p, x, c5);
        // vscalefps: m is an integer in [-150, 128] (the clamped range).
        let mi = if self.vector() {
            fb.b.ins().x86_cvtt2dq(self.i, m)
        } else {
            fb.b.ins().fcvt_to_sint_sat(self.i, m)
        };
        let (amin, amax) = (self.ic(fb, -125i32 as u32), self.ic(fb, 127));
        let a = fb.b.ins().smax(mi, amin);
        let a = fb.b.ins().smin(a, amax);
        let b = fb.b.ins().isub(mi, a);
        let pow2 = |fb: &mut Fb, k: Value| {
            let e = self.ic(fb, 127);
            let k = fb.b.ins().iadd(k, e);
            let k = fb.b.ins().ishl_imm_s(k, 23);
            self.float(fb, k)
        };
        let (pa, pb) = (pow2(fb, a), pow2(fb, b));
        let v = fb.b.ins().fmul(p, pa);
        fb.b.ins().fmul(v, pb)
    }
}

impl FSoftmax {
    /// The row's maximum, `v > max ? v : max` from `f32::MIN` in order.
    fn max(&self, fb: &mut Fb, xrow: Value) -> Value {
        let start = fb.f32c(f32::MIN);
        let mx = fb.var(types::F32, start);
        fb.for_ptrs(self.d, &[xrow], &[4], |fb, p| {
            let v = fb.b.ins().load(types::F32, flags(), p[0], 0);
            let m = fb.b.use_var(mx);
            let c = fb.b.ins().fcmp(FloatCC::GreaterThan, v, m);
            let m = fb.b.ins().select(c, v, m);
            fb.b.def_var(mx, m);
        });
        fb.b.use_var(mx)
    }

    /// `y = exp(-max + x)` over the row.
    fn exps(&self, fb: &mut Fb, (xrow, yrow): (Value, Value), neg_max: Value) {
        let d = self.d;
        let nv = fb.b.ins().splat(types::F32X4, neg_max);
        fb.for_ptrs(d / 4, &[xrow, yrow], &[16, 16], |fb, p| {
            let x = fb.b.ins().load(types::F32X4, flags(), p[0], 0);
            let x = fb.b.ins().fadd(nv, x);
            let e = Lanes::VECTOR.mlas_exp(fb, x);
            fb.b.ins().store(flags(), e, p[1], 0);
        });
        for t in d / 4 * 4..d {
            let off = (t * 4) as i32;
            let x = fb.b.ins().load(types::F32, flags(), xrow, off);
            let x = fb.b.ins().fadd(neg_max, x);
            let e = Lanes::SCALAR.mlas_exp(fb, x);
            fb.b.ins().store(flags(), e, yrow, off);
        }
    }

    /// MLAS's 16-lane sum of the row's `e` values (in `y`).
    fn sum(&self, fb: &mut Fb, yrow: Value) -> Value {
        let d = self.d;
        let z = fb.f32c(0.0);
        let zv = fb.b.ins().splat(types::F32X4, z);
        let acc: Vec<_> = (0..4).map(|_| fb.var(types::F32X4, zv)).collect();
        fb.for_ptrs(d / 16, &[yrow], &[64], |fb, p| {
            for (q, &a) in acc.iter().enumerate() {
                let v =
                    fb.b.ins()
                        .load(types::F32X4, flags(), p[0], (q * 16) as i32);
                let s = fb.b.use_var(a);
                let s = fb.b.ins().fadd(s, v);
                fb.b.def_var(a, s);
            }
        });
        // The last partial chunk: element t into lane t % 16, zeros elsewhere.
        let base = d / 16 * 16;
        for (q, &a) in acc.iter().enumerate() {
            let lanes: Vec<usize> = (base + q * 4..(base + q * 4 + 4).min(d)).collect();
            if lanes.is_empty() {
                continue;
            }
            let mut v = zv;
            for &t in &lanes {
                let e = fb.b.ins().load(types::F32, flags(), yrow, (t * 4) as i32);
                v = fb.b.ins().insertlane(v, e, (t % 4) as u8);
            }
            let s = fb.b.use_var(a);
            let s = fb.b.ins().fadd(s, v);
            fb.b.def_var(a, s);
        }
        let a: Vec<Value> = acc.iter().map(|&a| fb.b.use_var(a)).collect();
        let lo = fb.b.ins().fadd(a[2], a[0]);
        let hi = fb.b.ins().fadd(a[3], a[1]);
        let mut s = Vec::with_capacity(8);
        for v in [lo, hi] {
            for lane in 0..4u8 {
                s.push(fb.b.ins().extractlane(v, lane));
            }
        }
        let pair = |fb: &mut Fb, i: usize| fb.b.ins().fadd(s[i], s[i + 1]);
        let (p0, p1, p2, p3) = (pair(fb, 0), pair(fb, 2), pair(fb, 4), pair(fb, 6));
        let left = fb.b.ins().fadd(p0, p1);
        let right = fb.b.ins().fadd(p2, p3);
        fb.b.ins().fadd(left, right)
    }

    /// `y *= scale` over the row.
    fn scale(&self, fb: &mut Fb, yrow: Value, scale: Value) {
        let d = self.d;
        let sv = fb.b.ins().splat(types::F32X4, scale);
        fb.for_ptrs(d / 4, &[yrow], &[16], |fb, p| {
            let v = fb.b.ins().load(types::F32X4, flags(), p[0], 0);
            let v = fb.b.ins().fmul(v, sv);
            fb.b.ins().store(flags(), v, p[0], 0);
        });
        for t in d / 4 * 4..d {
            let off = (t * 4) as i32;
            let v = fb.b.ins().load(types::F32, flags(), yrow, off);
            let v = fb.b.ins().fmul(v, scale);
            fb.b.ins().store(flags(), v, yrow, off);
        }
    }
}

impl Kernel for FSoftmax {
    fn emit(&self, fb: &mut Fb) {
        let d = self.d;
        fb.for_n(self.rows, |fb, r| {
            let x0 = fb.base(self.x);
            let xrow = fb.index(x0, r, d * 4);
            let y0 = fb.base(self.y);
            let yrow = fb.index(y0, r, d * 4);
            let max = self.max(fb, xrow);
            let neg_max = fb.b.ins().fneg(max);
            self.exps(fb, (xrow, yrow), neg_max);
            let sum = self.sum(fb, yrow);
            let one = fb.f32c(1.0);
            let scale = fb.b.ins().fdiv(one, sum);
            self.scale(fb, yrow, scale);
        });
    }
}
