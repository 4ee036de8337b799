//! Quantized binary ops with numpy broadcasting ([`super::bcast`]), element by element in
//! the interpreter's arithmetic:
//!
//! * `qmul`, float mode (ONNX Runtime's QLinearMul): the exact int32 product of the
//!   operands minus their zero points, `as f32 * ((s_a * s_b) / s_y)`, `+ z_y` (two
//!   roundings, in the uint8 domain for int8), `cvtps2dq` (out of range gives i32::MIN),
//!   clamp.
//! * `qmul`, fixed point (TFLite's MUL): `MultiplyByQuantizedMultiplier(product)` + `z_y`.
//! * `qadd` / `qsub`, fixed point (TFLite's ADD / SUB): operands minus zero points shifted
//!   left, each scaled by its multiplier (`SaturatingRoundingDoublingHighMul` then
//!   `RoundingDivideByPOT`), added or subtracted (wrapping), scaled to the result, `+ z_y`.
//! * `qadd`, float mode, when the shapes broadcast in a way the `qadd` kernel does not take:
//!   `fma(a, r_a, fma(b, r_b, k))` (in the uint8 domain for int8), rounded half to even.

use super::bcast::Bcast;
use super::requant::{add_zp_clamp, fixed_point};
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::{ort_domain_offset, quantize_multiplier, Multiplier};
use qcc_ir::{DType, Op, RequantMode};

/// `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m0), right)` as TFLite's
/// `MultiplyByQuantizedMultiplierSmallerThanOneExp` (no left shift).
#[derive(Clone, Copy)]
struct Scale {
    m0: i32,
    right: i32,
}

impl Scale {
    /// From `quantize_multiplier`'s `(m0, shift)`; the exponent `-shift` clamped to
    /// `[0, 31]` as the interpreter's `rounding_divide_by_pot` does.
    fn new((m0, shift): (i32, i32)) -> Scale {
        Scale {
            m0,
            right: (-shift).clamp(0, 31),
        }
    }

    fn emit(self, fb: &mut Fb, x: Value) -> Value {
        let m0 = fb.c32(self.m0);
        let one = fb.c32(1);
        let right = fb.c32(self.right);
        let mask = fb.c32(((1i64 << self.right) - 1) as i32);
        fixed_point(fb, x, m0, one, right, mask)
    }
}

/// The arithmetic of one element.
#[derive(Clone, Copy)]
enum Arith {
    /// ONNX Runtime's QLinearMul: `(a - za) (b - zb) as f32 * ratio + zc`.
    MulFloat { ratio: f32, zc: f32 },
    /// TFLite's MUL: `MultiplyByQuantizedMultiplier((a - za) (b - zb), m0, shift)`.
    MulFixed { m0: i32, shift: i32 },
    /// TFLite's ADD / SUB.
    AddFixed {
        left: i32,
        a: Scale,
        b: Scale,
        out: Scale,
        sub: bool,
    },
    /// ONNX Runtime's QLinearAdd: `fma(a, ra, fma(b, rb, k))`.
    AddFloat { ra: f32, rb: f32, k: f32 },
}

struct QBinary {
    bc: Bcast,
    a: Addr,
    b: Addr,
    y: Addr,
    dts: (DType, DType, DType),
    /// Zero points subtracted from the operands (float mul, fixed ops) or domain offsets
    /// added (float add).
    za: i64,
    zb: i64,
    arith: Arith,
    /// Result zero point added after the arithmetic, and the clamp (in the result's own
    /// domain: `oy` is subtracted at the end).
    zy: i64,
    oy: i64,
    range: (i64, i64),
    /// SIMD available: float-mode `qmul` takes 8 results per step along innermost runs
    /// whose operands are contiguous or one element ([`QBinary::mul_float_runs`]).
    simd: bool,
}

/// Lowers `qmul` (both modes), fixed-point `qadd` / `qsub`, and float `qadd` with general
/// broadcasting.
pub fn lower(l: &mut Lower) -> Lowered {
    if l.node.inputs.len() != 2 {
        return Ok(None);
    }
    let (a_dt, b_dt) = (l.in_ty(0)?.dtype, l.in_ty(1)?.dtype);
    let y_ty = l.out_ty(0)?.clone();
    if !small_int(a_dt) || !small_int(b_dt) || !small_int(y_ty.dtype) {
        return Ok(None);
    }
    let Some(bc) = Bcast::new(&l.in_dims(0)?, &l.in_dims(1)?, &l.out_dims(0)?) else {
        return Ok(None);
    };
    let (Some((sa, za)), Some((sb, zb))) = (l.in_q_tensor(0), l.in_q_tensor(1)) else {
        return Ok(None);
    };
    let Some((sy, zy, range)) = l.out_q_tensor() else {
        return Ok(None);
    };
    let fixed = l.module.requant == RequantMode::FixedPoint;
    let (za, zb, zy) = (za as i64, zb as i64, zy as i64);
    let oy = ort_domain_offset(y_ty.dtype);
    let (za, zb, zy, oy, arith) = match (&l.node.op, fixed) {
        (Op::QMul, false) => (
            za,
            zb,
            0,
            oy,
            Arith::MulFloat {
                ratio: sa * sb / sy,
                zc: (zy + oy) as f32,
            },
        ),
        (Op::QMul, true) => match Multiplier::tflite_mul(sa, sb, sy) {
            Multiplier::Fixed { m0, shift } => (za, zb, zy, 0, Arith::MulFixed { m0, shift }),
            Multiplier::Float(_) => return Ok(None),
        },
        (Op::QAdd | Op::QSub, true) => {
            let left: i32 = if y_ty.dtype == DType::I16 { 15 } else { 20 };
            let twice_max = 2.0 * sa.max(sb) as f64;
            let arith = Arith::AddFixed {
                left,
                a: Scale::new(quantize_multiplier(sa as f64 / twice_max)),
                b: Scale::new(quantize_multiplier(sb as f64 / twice_max)),
                out: Scale::new(quantize_multiplier(
                    twice_max / ((1i64 << left) as f64 * sy as f64),
                )),
                sub: matches!(l.node.op, Op::QSub),
            };
            (za, zb, zy, 0, arith)
        }
        (Op::QAdd, false) => {
            // A single-element operand takes another rounding order (the `qadd` kernel).
            if l.in_dims(0)?.iter().product::<usize>() == 1
                || l.in_dims(1)?.iter().product::<usize>() == 1
            {
                return Ok(None);
            }
            let (oa, ob) = (ort_domain_offset(a_dt), ort_domain_offset(b_dt));
            let (ra, rb) = (sa / sy, sb / sy);
            let k = qcc_ir::quant::qladd_constant(ra, za + oa, rb, zb + ob, zy + oy);
            // The operands get their domain offsets added (negated "zero points").
            (-oa, -ob, 0, oy, Arith::AddFloat { ra, rb, k })
        }
        _ => return Ok(None),
    };
    Ok(Some(Box::new(QBinary {
        bc,
        a: l.in_addr(0)?,
        b: l.in_addr(1)?,
        y: l.out_addr(0)?,
        dts: (a_dt, b_dt, y_ty.dtype),
        za,
        zb,
        arith,
        zy,
        oy,
        range,
        simd: l.simd,
    })))
}

impl QBinary {
    /// The stored result (i32) of operands `a`, `b` (i32, zero points already subtracted).
    fn element(&self, fb: &mut Fb, a: Value, b: Value) -> Value {
        let (qmin, qmax) = self.range;
        let (lo, hi) = (qmin + self.oy, qmax + self.oy);
        let r = match self.arith {
            Arith::MulFloat { ratio, zc } => {
                let p = fb.b.ins().imul(a, b);
                let p = fb.b.ins().fcvt_from_sint(types::F32, p);
                let ratio = fb.f32c(ratio);
                let zc = fb.f32c(zc);
                let r = fb.b.ins().fmul(p, ratio);
                let r = fb.b.ins().fadd(r, zc);
                // cvtps2dq: half to even, i32::MIN out of range or NaN.
                let r = fb.b.ins().splat(types::F32X4, r);
                let r = fb.b.ins().nearest(r);
                let r = fb.b.ins().x86_cvtt2dq(types::I32X4, r);
                let r = fb.b.ins().extractlane(r, 0);
                let zero = fb.c32(0);
                add_zp_clamp(fb, r, zero, lo, hi)
            }
            Arith::MulFixed { m0, shift } => {
                let p = fb.b.ins().imul(a, b);
                let left = shift.max(0);
                let factor = if left >= 32 {
                    0
                } else {
                    1i32.wrapping_shl(left as u32)
                };
                let right = (-shift).clamp(0, 31);
                let (m0, factor) = (fb.c32(m0), fb.c32(factor));
                let (rv, mask) = (fb.c32(right), fb.c32(((1i64 << right) - 1) as i32));
                let r = fixed_point(fb, p, m0, factor, rv, mask);
                let zy = fb.c32(self.zy as i32);
                add_zp_clamp(fb, r, zy, lo, hi)
            }
            Arith::AddFixed {
                left,
                a: sa,
                b: sb,
                out,
                sub,
            } => {
                let x = fb.b.ins().ishl_imm_s(a, left as i64);
                let y = fb.b.ins().ishl_imm_s(b, left as i64);
                let (x, y) = (sa.emit(fb, x), sb.emit(fb, y));
                let s = if sub {
                    fb.b.ins().isub(x, y)
                } else {
                    fb.b.ins().iadd(x, y)
                };
                let r = out.emit(fb, s);
                let zy = fb.c32(self.zy as i32);
                add_zp_clamp(fb, r, zy, lo, hi)
            }
            Arith::AddFloat { ra, rb, k } => {
                let af = fb.b.ins().fcvt_from_sint(types::F32, a);
                let bf = fb.b.ins().fcvt_from_sint(types::F32, b);
                let (ra, rb, k) = (fb.f32c(ra), fb.f32c(rb), fb.f32c(k));
                let inner = fb.b.ins().fma(bf, rb, k);
                let v = fb.b.ins().fma(af, ra, inner);
                let r = fb.b.ins().nearest(v);
                let r = fb.b.ins().fcvt_to_sint_sat(types::I32, r);
                let zero = fb.c32(0);
                add_zp_clamp(fb, r, zero, lo, hi)
            }
        };
        if self.oy == 0 {
            r
        } else {
            fb.b.ins().iadd_imm_s(r, -self.oy)
        }
    }
}

impl QBinary {
    /// One element at indices `(ia, ib, iy)`, the scalar way.
    fn scalar(
        &self,
        fb: &mut Fb,
        bases: (Value, Value, Value),
        (ia, ib, iy): (Value, Value, Value),
    ) {
        let (a_dt, b_dt, y_dt) = self.dts;
        let aa = fb.index(bases.0, ia, a_dt.size());
        let a = fb.load_int(a_dt, aa, 0);
        let a = fb.b.ins().iadd_imm_s(a, -self.za);
        let ba = fb.index(bases.1, ib, b_dt.size());
        let b = fb.load_int(b_dt, ba, 0);
        let b = fb.b.ins().iadd_imm_s(b, -self.zb);
        let q = self.element(fb, a, b);
        let ya = fb.index(bases.2, iy, y_dt.size());
        fb.store_int(y_dt, q, ya, 0);
    }

    /// Eight 8-bit operand elements at `addr` minus the zero point `z`, as two i32x4.
    fn load8(fb: &mut Fb, dt: DType, addr: Value, z: i64) -> [Value; 2] {
        let halves = super::simd::widen8_i32(fb, dt, addr);
        let z = fb.c32(z as i32);
        let z = fb.b.ins().splat(types::I32X4, z);
        halves.map(|h| fb.b.ins().isub(h, z))
    }

    /// Float-mode `qmul` run by run: 8 results per step with the scalar arithmetic on
    /// lanes (exact i32 product, `as f32 * ratio + zc` as two roundings, `cvtps2dq`, the
    /// clamp), an operand of one element per run splatted, then the run's tail element by
    /// element. Only for 8-bit operands and result whose runs are contiguous or one element.
    fn mul_float_runs(&self, fb: &mut Fb, bases: (Value, Value, Value), ratio: f32, zc: f32) {
        let (a_dt, b_dt, y_dt) = self.dts;
        let n = *self.bc.dims.last().unwrap_or(&1);
        let (sa, sb) = (
            *self.bc.sa.last().unwrap_or(&0),
            *self.bc.sb.last().unwrap_or(&0),
        );
        let (qmin, qmax) = self.range;
        let (lo, hi) = ((qmin + self.oy) as i32, (qmax + self.oy) as i32);
        self.bc.emit_runs(fb, &mut |fb, ia, ib, iy| {
            // A one-element operand: its value minus the zero point, splatted once per run.
            let one = |fb: &mut Fb, base: Value, i: Value, dt: DType, z: i64| {
                let at = fb.index(base, i, 1);
                let v = fb.load_int(dt, at, 0);
                let v = fb.b.ins().iadd_imm_s(v, -z);
                let v = fb.b.ins().splat(types::I32X4, v);
                [v, v]
            };
            let a1 = (sa == 0).then(|| one(fb, bases.0, ia, a_dt, self.za));
            let b1 = (sb == 0).then(|| one(fb, bases.1, ib, b_dt, self.zb));
            let splat_f = |fb: &mut Fb, x: f32| {
                let x = fb.f32c(x);
                fb.b.ins().splat(types::F32X4, x)
            };
            let splat_i = |fb: &mut Fb, x: i32| {
                let x = fb.c32(x);
                fb.b.ins().splat(types::I32X4, x)
            };
            let (r, z) = (splat_f(fb, ratio), splat_f(fb, zc));
            let (l, h, o) = (
                splat_i(fb, lo),
                splat_i(fb, hi),
                splat_i(fb, self.oy as i32),
            );
            fb.for_n(n / 8, |fb, v| {
                let off = fb.b.ins().imul_imm_s(v, 8);
                let operand = |fb: &mut Fb, fixed: Option<[Value; 2]>, base, i, dt, z| {
                    fixed.unwrap_or_else(|| {
                        let i = fb.b.ins().iadd(i, off);
                        let at = fb.index(base, i, 1);
                        Self::load8(fb, dt, at, z)
                    })
                };
                let a = operand(fb, a1, bases.0, ia, a_dt, self.za);
                let b = operand(fb, b1, bases.1, ib, b_dt, self.zb);
                let q: Vec<Value> = (0..2)
                    .map(|k| {
                        let p = fb.b.ins().imul(a[k], b[k]);
                        let p = fb.b.ins().fcvt_from_sint(types::F32X4, p);
                        let p = fb.b.ins().fmul(p, r);
                        let p = fb.b.ins().fadd(p, z);
                        let p = fb.b.ins().nearest(p);
                        let p = fb.b.ins().x86_cvtt2dq(types::I32X4, p);
                        let p = fb.b.ins().smax(p, l);
                        let p = fb.b.ins().smin(p, h);
                        fb.b.ins().isub(p, o)
                    })
                    .collect();
                let i = fb.b.ins().iadd(iy, off);
                let ya = fb.index(bases.2, i, 1);
                super::simd::store_q(fb, &q, None, y_dt, ya);
            });
            fb.for_span(n / 8 * 8, n, |fb, j| {
                let step = |fb: &mut Fb, base: Value, s: usize| {
                    let o = fb.b.ins().imul_imm_s(j, s as i64);
                    fb.b.ins().iadd(base, o)
                };
                let at = (step(fb, ia, sa), step(fb, ib, sb), step(fb, iy, 1));
                self.scalar(fb, bases, at);
            });
        });
    }
}

impl Kernel for QBinary {
    fn emit(&self, fb: &mut Fb) {
        let bases = (fb.base(self.a), fb.base(self.b), fb.base(self.y));
        let byte = |dt: DType| matches!(dt, DType::U8 | DType::I8);
        let (a_dt, b_dt, y_dt) = self.dts;
        let runs = self.bc.sa.last().is_some_and(|&s| s <= 1)
            && self.bc.sb.last().is_some_and(|&s| s <= 1)
            && byte(a_dt)
            && byte(b_dt)
            && byte(y_dt);
        if let (Arith::MulFloat { ratio, zc }, true, true) = (self.arith, self.simd, runs) {
            self.mul_float_runs(fb, bases, ratio, zc);
            return;
        }
        self.bc.emit(fb, &mut |fb, ia, ib, iy| {
            self.scalar(fb, bases, (ia, ib, iy))
        });
    }
}
