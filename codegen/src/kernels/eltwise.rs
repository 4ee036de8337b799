//! Elementwise kernels: `qadd` (ONNX Runtime's QLinearAdd arithmetic, with `fma`) and
//! `clip` on integers and f32.

use super::requant::round_to_q;
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{DType, Data};

/// Which operand (if any) has a single element folded into the constant term.
#[derive(Clone, Copy, PartialEq)]
enum Fold {
    None,
    A,
    B,
}

struct QAdd {
    /// Elements per row.
    n: usize,
    /// Rows; an operand in `rep` is one row read again for every row (a bias `[C]` added
    /// to `[.., C]`), the others advance by a row.
    rows: usize,
    rep: Option<Fold>,
    a: Addr,
    b: Addr,
    a_dt: DType,
    b_dt: DType,
    y: Addr,
    y_dt: DType,
    ra: f32,
    rb: f32,
    k: f32,
    /// `-offset` of the result's domain (added back after rounding).
    zy: i32,
    qmin: i64,
    qmax: i64,
    fold: Fold,
    /// Domain offsets of the operands (see [`qcc_ir::quant::ort_domain_offset`]).
    oa: i64,
    ob: i64,
    /// Vector FMA available: 8 elements at a time ([`QAdd::vector8`]).
    vector: bool,
}

/// Lowers `qadd` for equal shapes, one single-element operand, or one operand that is a
/// row of the other (its dims, leading 1s aside, are the result's trailing dims).
pub fn lower_qadd(l: &mut Lower) -> Lowered {
    if l.node.inputs.len() != 2 {
        return Ok(None);
    }
    let (a_s, b_s, y_s) = (l.in_dims(0)?, l.in_dims(1)?, l.out_dims(0)?);
    let (a_dt, b_dt) = (l.in_ty(0)?.dtype, l.in_ty(1)?.dtype);
    let y_ty = l.out_ty(0)?.clone();
    if !small_int(a_dt) || !small_int(b_dt) || !small_int(y_ty.dtype) {
        return Ok(None);
    }
    let (na, nb, ny): (usize, usize, usize) = (
        a_s.iter().product(),
        b_s.iter().product(),
        y_s.iter().product(),
    );
    // A row of y: leading 1s, then y's trailing dims.
    let is_row = |s: &[usize]| {
        let t: Vec<usize> = s.iter().copied().skip_while(|&d| d == 1).collect();
        !t.is_empty() && t.len() <= y_s.len() && y_s[y_s.len() - t.len()..] == t[..]
    };
    let (fold, rep) = if na == 1 && nb != 1 {
        (Fold::A, None)
    } else if nb == 1 && na != 1 {
        (Fold::B, None)
    } else if a_s == b_s && a_s == y_s || (na == 1 && nb == 1) {
        (Fold::None, None)
    } else if na == ny && nb < ny && is_row(&b_s) {
        (Fold::None, Some(Fold::B))
    } else if nb == ny && na < ny && is_row(&a_s) {
        (Fold::None, Some(Fold::A))
    } else {
        return Ok(None);
    };
    if (fold == Fold::A && nb != ny)
        || (fold == Fold::B && na != ny)
        || (fold == Fold::None && rep.is_none() && na != ny)
    {
        return Ok(None);
    }
    let row = match rep {
        Some(Fold::A) => na,
        Some(Fold::B) => nb,
        _ => ny,
    };
    let (Some((sa, za)), Some((sb, zb))) = (l.in_q_tensor(0), l.in_q_tensor(1)) else {
        return Ok(None);
    };
    let Some(q) = y_ty.quant.as_ref() else {
        return Ok(None);
    };
    let Some((sy, zy)) = super::per_tensor(q) else {
        return Ok(None);
    };
    let (qmin, qmax) = q.storage_range(y_ty.dtype);
    let (oa, ob, oy) = (
        qcc_ir::quant::ort_domain_offset(a_dt),
        qcc_ir::quant::ort_domain_offset(b_dt),
        qcc_ir::quant::ort_domain_offset(y_ty.dtype),
    );
    let (za, zb, zy) = (za as i64 + oa, zb as i64 + ob, zy as i64 + oy);
    let ra = sa / sy;
    let rb = sb / sy;
    let k = qcc_ir::quant::qladd_constant(ra, za, rb, zb, zy);
    Ok(Some(Box::new(QAdd {
        n: row,
        rows: ny / row.max(1),
        rep,
        a: l.in_addr(0)?,
        b: l.in_addr(1)?,
        a_dt,
        b_dt,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        ra,
        rb,
        k,
        zy: -oy as i32,
        qmin,
        qmax,
        fold,
        oa,
        ob,
        vector: l.simd
            && l.fma
            && matches!(a_dt, DType::U8 | DType::I8)
            && matches!(b_dt, DType::U8 | DType::I8)
            && matches!(y_ty.dtype, DType::U8 | DType::I8),
    })))
}

impl QAdd {
    /// Eight 8-bit elements at `addr` plus the domain offset, as two f32x4 (exact).
    fn load8(fb: &mut Fb, dt: DType, addr: Value, offset: i64) -> [Value; 2] {
        let halves = super::simd::widen8_i32(fb, dt, addr);
        let o = fb.c32(offset as i32);
        let o = fb.b.ins().splat(types::I32X4, o);
        halves.map(|h| {
            let h = fb.b.ins().iadd(h, o);
            fb.b.ins().fcvt_from_sint(types::F32X4, h)
        })
    }

    /// Elements `i .. i + 8` with the scalar arithmetic on lanes (`fma`, half to even, a
    /// saturating convert, the clamp in the result's domain, minus its offset).
    fn vector8(
        &self,
        fb: &mut Fb,
        (abase, bbase, ybase): (Value, Value, Value),
        i: Value,
        k: Value,
    ) {
        let splat = |fb: &mut Fb, x: f32| {
            let x = fb.f32c(x);
            fb.b.ins().splat(types::F32X4, x)
        };
        let (ra, rb) = (splat(fb, self.ra), splat(fb, self.rb));
        let k = fb.b.ins().splat(types::F32X4, k);
        let aa = fb.index(abase, i, 8);
        let ba = fb.index(bbase, i, 8);
        let vals: Vec<Value> = match self.fold {
            Fold::A => Self::load8(fb, self.b_dt, ba, self.ob)
                .into_iter()
                .map(|bf| fb.b.ins().fma(bf, rb, k))
                .collect(),
            Fold::B => Self::load8(fb, self.a_dt, aa, self.oa)
                .into_iter()
                .map(|af| fb.b.ins().fma(af, ra, k))
                .collect(),
            Fold::None => {
                let a = Self::load8(fb, self.a_dt, aa, self.oa);
                let b = Self::load8(fb, self.b_dt, ba, self.ob);
                a.into_iter()
                    .zip(b)
                    .map(|(af, bf)| {
                        let inner = fb.b.ins().fma(bf, rb, k);
                        fb.b.ins().fma(af, ra, inner)
                    })
                    .collect()
            }
        };
        // In the result's domain: [qmin, qmax] shifted by -zy (= its offset).
        let lo = fb.c32((self.qmin - self.zy as i64) as i32);
        let hi = fb.c32((self.qmax - self.zy as i64) as i32);
        let (lo, hi) = (
            fb.b.ins().splat(types::I32X4, lo),
            fb.b.ins().splat(types::I32X4, hi),
        );
        let zy = fb.c32(self.zy);
        let zy = fb.b.ins().splat(types::I32X4, zy);
        let q: Vec<Value> = vals
            .into_iter()
            .map(|v| {
                let r = fb.b.ins().nearest(v);
                let r = fb.b.ins().fcvt_to_sint_sat(types::I32X4, r);
                let r = fb.b.ins().smax(r, lo);
                let r = fb.b.ins().smin(r, hi);
                fb.b.ins().iadd(r, zy)
            })
            .collect();
        let ya = fb.index(ybase, i, 8);
        super::simd::store_q(fb, &q, None, self.y_dt, ya);
    }
}

impl Kernel for QAdd {
    fn emit(&self, fb: &mut Fb) {
        let ra = fb.f32c(self.ra);
        let rb = fb.f32c(self.rb);
        let mut k = fb.f32c(self.k);
        let a0 = fb.base(self.a);
        let b0 = fb.base(self.b);
        let y0 = fb.base(self.y);
        // `k += operand as f32 * r` (a separate multiply and add, as the interpreter does).
        match self.fold {
            Fold::A => {
                let v = fb.load_int(self.a_dt, a0, 0);
                let v = fb.b.ins().iadd_imm_s(v, self.oa);
                let v = fb.b.ins().fcvt_from_sint(types::F32, v);
                let p = fb.b.ins().fmul(v, ra);
                k = fb.b.ins().fadd(k, p);
            }
            Fold::B => {
                let v = fb.load_int(self.b_dt, b0, 0);
                let v = fb.b.ins().iadd_imm_s(v, self.ob);
                let v = fb.b.ins().fcvt_from_sint(types::F32, v);
                let p = fb.b.ins().fmul(v, rb);
                k = fb.b.ins().fadd(k, p);
            }
            Fold::None => {}
        }
        let (asz, bsz, ysz) = (self.a_dt.size(), self.b_dt.size(), self.y_dt.size());
        fb.for_n(self.rows, |fb, r| {
            let abase = match self.rep {
                Some(Fold::A) => a0,
                _ => fb.index(a0, r, self.n * asz),
            };
            let bbase = match self.rep {
                Some(Fold::B) => b0,
                _ => fb.index(b0, r, self.n * bsz),
            };
            let ybase = fb.index(y0, r, self.n * ysz);
            self.row(fb, (abase, bbase, ybase), (ra, rb, k));
        });
    }
}

impl QAdd {
    /// One row of `n` results.
    fn row(
        &self,
        fb: &mut Fb,
        (abase, bbase, ybase): (Value, Value, Value),
        (ra, rb, k): (Value, Value, Value),
    ) {
        let vecs = if self.vector { self.n / 8 } else { 0 };
        fb.for_n(vecs, |fb, i| self.vector8(fb, (abase, bbase, ybase), i, k));
        fb.for_span(vecs * 8, self.n, |fb, i| {
            let val = match self.fold {
                Fold::A => {
                    let ba = fb.index(bbase, i, self.b_dt.size());
                    let bv = fb.load_int(self.b_dt, ba, 0);
                    let bv = fb.b.ins().iadd_imm_s(bv, self.ob);
                    let bf = fb.b.ins().fcvt_from_sint(types::F32, bv);
                    fb.b.ins().fma(bf, rb, k)
                }
                Fold::B => {
                    let aa = fb.index(abase, i, self.a_dt.size());
                    let av = fb.load_int(self.a_dt, aa, 0);
                    let av = fb.b.ins().iadd_imm_s(av, self.oa);
                    let af = fb.b.ins().fcvt_from_sint(types::F32, av);
                    fb.b.ins().fma(af, ra, k)
                }
                Fold::None => {
                    let aa = fb.index(abase, i, self.a_dt.size());
                    let av = fb.load_int(self.a_dt, aa, 0);
                    let av = fb.b.ins().iadd_imm_s(av, self.oa);
                    let af = fb.b.ins().fcvt_from_sint(types::F32, av);
                    let ba = fb.index(bbase, i, self.b_dt.size());
                    let bv = fb.load_int(self.b_dt, ba, 0);
                    let bv = fb.b.ins().iadd_imm_s(bv, self.ob);
                    let bf = fb.b.ins().fcvt_from_sint(types::F32, bv);
                    let inner = fb.b.ins().fma(bf, rb, k);
                    fb.b.ins().fma(af, ra, inner)
                }
            };
            let q = round_to_q(fb, val, self.zy, self.qmin, self.qmax);
            let ya = fb.index(ybase, i, self.y_dt.size());
            fb.store_int(self.y_dt, q, ya, 0);
        });
    }
}

struct Clip {
    /// Vector kernels allowed.
    simd: bool,
    n: usize,
    dt: DType,
    x: Addr,
    y: Addr,
    lo: Option<f64>,
    hi: Option<f64>,
}

/// Lowers the static form of `clip` on small integers and f32.
pub fn lower_clip(l: &mut Lower, min: Option<f64>, max: Option<f64>) -> Lowered {
    if l.node.inputs.len() != 1 {
        return Ok(None);
    }
    let dt = l.in_ty(0)?.dtype;
    if (!small_int(dt) && dt != DType::F32) || l.out_ty(0)?.dtype != dt {
        return Ok(None);
    }
    let n: usize = l.in_dims(0)?.iter().product();
    // Bounds converted to the element type exactly like the interpreter (`as` casts).
    let conv = |v: Option<f64>| -> Option<f64> {
        v.map(|v| match Data::from_f64(dt, &[v]) {
            Data::F32(x) => x[0] as f64,
            d => d.to_i64_vec()[0] as f64,
        })
    };
    Ok(Some(Box::new(Clip {
        simd: l.simd,
        n,
        dt,
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        lo: conv(min),
        hi: conv(max),
    })))
}

impl Clip {
    /// f32 lanes `4 i .. 4 i + 4`: the scalar compare-and-select per lane, as vectors.
    fn f32_vectors(&self, fb: &mut Fb, xb: Value, yb: Value) {
        let lo = self.lo.map(|lo| {
            let l = fb.f32c(lo as f32);
            fb.b.ins().splat(types::F32X4, l)
        });
        let hi = self.hi.map(|hi| {
            let h = fb.f32c(hi as f32);
            fb.b.ins().splat(types::F32X4, h)
        });
        fb.for_n(self.n / 4, |fb, i| {
            let xa = fb.index(xb, i, 16);
            let mut v = fb.b.ins().load(types::F32X4, super::flags(), xa, 0);
            if let Some(l) = lo {
                let lt = fb.b.ins().fcmp(FloatCC::LessThan, v, l);
                v = fb.b.ins().bitselect(lt, l, v);
            }
            if let Some(h) = hi {
                let gt = fb.b.ins().fcmp(FloatCC::GreaterThan, v, h);
                v = fb.b.ins().bitselect(gt, h, v);
            }
            let ya = fb.index(yb, i, 16);
            fb.b.ins().store(super::flags(), v, ya, 0);
        });
    }
}

impl Kernel for Clip {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let sz = self.dt.size();
        let signed = matches!(self.dt, DType::I8 | DType::I16 | DType::I32);
        let start = if self.dt == DType::F32 && self.simd {
            self.f32_vectors(fb, xb, yb);
            self.n / 4 * 4
        } else {
            0
        };
        let lo_i = fb.c64(start as i64);
        let hi_i = fb.c64(self.n as i64);
        fb.for_range(lo_i, hi_i, |fb, i| {
            let xa = fb.index(xb, i, sz);
            let ya = fb.index(yb, i, sz);
            if self.dt == DType::F32 {
                let mut v = fb.b.ins().load(types::F32, super::flags(), xa, 0);
                if let Some(lo) = self.lo {
                    let l = fb.f32c(lo as f32);
                    let lt = fb.b.ins().fcmp(FloatCC::LessThan, v, l);
                    v = fb.b.ins().select(lt, l, v);
                }
                if let Some(hi) = self.hi {
                    let h = fb.f32c(hi as f32);
                    let gt = fb.b.ins().fcmp(FloatCC::GreaterThan, v, h);
                    v = fb.b.ins().select(gt, h, v);
                }
                fb.b.ins().store(super::flags(), v, ya, 0);
            } else {
                let mut v = fb.load_int(self.dt, xa, 0);
                if let Some(lo) = self.lo {
                    let l = fb.c32(lo as i64 as i32);
                    v = if signed {
                        fb.b.ins().smax(v, l)
                    } else {
                        fb.b.ins().umax(v, l)
                    };
                }
                if let Some(hi) = self.hi {
                    let h = fb.c32(hi as i64 as i32);
                    v = if signed {
                        fb.b.ins().smin(v, h)
                    } else {
                        fb.b.ins().umin(v, h)
                    };
                }
                fb.store_int(self.dt, v, ya, 0);
            }
        });
    }
}
