//! `quantize` (f32 -> q), `dequantize` (q -> f32) and `requantize` (q -> q'), per-tensor or
//! per-axis, with the interpreter's arithmetic: f32 division (never a reciprocal multiply),
//! round half to even, saturating conversion, `+ zp`, clamp; in fixed-point modules
//! `quantize` rounds half away from zero (TFLite's AffineQuantize) and `requantize` is
//! TFLite's integer Requantize.

use super::requant::{add_zp_clamp, Channel, OutMode, Requant};
use super::{flags, small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{DType, QParams};

/// Element order split around the quantized axis: `outer x dim x inner`.
#[derive(Clone, Copy, Debug)]
struct Split {
    outer: usize,
    dim: usize,
    inner: usize,
}

/// The common split of one or two parameter sets over `shape` (`None` if incompatible).
fn split(shape: &[usize], qs: &[&QParams]) -> Option<Split> {
    let n: usize = shape.iter().product();
    let mut axis = None;
    for q in qs {
        if q.scale.is_empty() || q.zero_point.len() != q.scale.len() {
            return None;
        }
        if let Some(a) = q.axis {
            if a >= shape.len() || q.scale.len() != shape[a] || axis.is_some_and(|x| x != a) {
                return None;
            }
            axis = Some(a);
        }
    }
    Some(match axis {
        None => Split {
            outer: 1,
            dim: 1,
            inner: n,
        },
        Some(a) => Split {
            outer: shape[..a].iter().product(),
            dim: shape[a],
            inner: shape[a + 1..].iter().product(),
        },
    })
}

/// `(scale, zp)` of slice `i` for a split of `dim` slices.
fn param(q: &QParams, i: usize) -> (f32, i32) {
    q.get(if q.axis.is_some() { i } else { 0 })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Quantize,
    Dequantize,
    Requantize,
}

struct QuantOp {
    kind: Kind,
    split: Split,
    x: Addr,
    x_dt: DType,
    y: Addr,
    y_dt: DType,
    /// Per slice: `[s_in, z_in, s_out, z_out]` (f32 bits / i32).
    table: Addr,
    qmin: i64,
    qmax: i64,
    /// Vector kernels allowed.
    simd: bool,
    /// Round half away from zero (TFLite's quantize in fixed-point modules) instead of
    /// half to even.
    half_away: bool,
}

fn build(l: &mut Lower, kind: Kind) -> Lowered {
    if l.node.inputs.len() != 1 {
        return Ok(None);
    }
    let shape = l.in_dims(0)?;
    let (x_ty, y_ty) = (l.in_ty(0)?.clone(), l.out_ty(0)?.clone());
    let ok = match kind {
        Kind::Quantize => x_ty.dtype == DType::F32 && small_int(y_ty.dtype),
        Kind::Dequantize => small_int(x_ty.dtype) && y_ty.dtype == DType::F32,
        Kind::Requantize => small_int(x_ty.dtype) && small_int(y_ty.dtype),
    };
    if !ok {
        return Ok(None);
    }
    let one = QParams::per_tensor(1.0, 0);
    let qin = if kind == Kind::Quantize {
        one.clone()
    } else {
        match &x_ty.quant {
            Some(q) => q.clone(),
            None => return Ok(None),
        }
    };
    let qout = if kind == Kind::Dequantize {
        one
    } else {
        match &y_ty.quant {
            Some(q) => q.clone(),
            None => return Ok(None),
        }
    };
    let Some(sp) = split(&shape, &[&qin, &qout]) else {
        return Ok(None);
    };
    let mut t: Vec<i32> = Vec::with_capacity(sp.dim * 4);
    for i in 0..sp.dim {
        let (si, zi) = param(&qin, i);
        let (so, zo) = param(&qout, i);
        t.extend([si.to_bits() as i32, zi, so.to_bits() as i32, zo]);
    }
    let (qmin, qmax) = if kind == Kind::Dequantize {
        (0, 0)
    } else {
        qout.storage_range(y_ty.dtype)
    };
    Ok(Some(Box::new(QuantOp {
        kind,
        split: sp,
        x: l.in_addr(0)?,
        x_dt: x_ty.dtype,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        table: l.pool.i32s(&t),
        qmin,
        qmax,
        simd: l.simd,
        half_away: kind == Kind::Quantize && l.module.requant == qcc_ir::RequantMode::FixedPoint,
    })))
}

/// Lowers `quantize` (f32 input).
pub fn lower_quantize(l: &mut Lower) -> Lowered {
    build(l, Kind::Quantize)
}

/// Lowers `dequantize` (f32 result).
pub fn lower_dequantize(l: &mut Lower) -> Lowered {
    build(l, Kind::Dequantize)
}

/// Lowers `requantize`: in fixed-point modules with per-tensor parameters TFLite's integer
/// Requantize (`FixedRequant`; per-axis ones stay with the interpreter), else the f32 path.
pub fn lower_requantize(l: &mut Lower) -> Lowered {
    if l.module.requant != qcc_ir::RequantMode::FixedPoint {
        return build(l, Kind::Requantize);
    }
    let (x_ty, y_ty) = (l.in_ty(0)?.clone(), l.out_ty(0)?.clone());
    let (Some(qi), Some(qo)) = (&x_ty.quant, &y_ty.quant) else {
        return Ok(None);
    };
    if l.node.inputs.len() != 1
        || !qi.is_per_tensor()
        || !qo.is_per_tensor()
        || !small_int(x_ty.dtype)
        || !small_int(y_ty.dtype)
    {
        return Ok(None);
    }
    let (m0, shift) = qcc_ir::quant::quantize_multiplier(qi.scale[0] as f64 / qo.scale[0] as f64);
    let chan = Channel {
        bias: 0,
        zp: qo.zero_point[0],
        mult: qcc_ir::quant::Multiplier::Fixed { m0, shift }.into(),
    };
    let (qmin, qmax) = qo.storage_range(y_ty.dtype);
    Ok(Some(Box::new(FixedRequant {
        n: l.in_dims(0)?.iter().product(),
        x: l.in_addr(0)?,
        x_dt: x_ty.dtype,
        zi: qi.zero_point[0],
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        req: Requant::new(l.pool, &[chan], OutMode::Quant { qmin, qmax }),
    })))
}

/// TFLite's integer Requantize: `saturate(MultiplyByQuantizedMultiplier(x - z_x, m) + z_y)`.
struct FixedRequant {
    n: usize,
    x: Addr,
    x_dt: DType,
    zi: i32,
    y: Addr,
    y_dt: DType,
    req: Requant,
}

impl Kernel for FixedRequant {
    fn emit(&self, fb: &mut Fb) {
        let (xs, ys) = (self.x_dt.size(), self.y_dt.size());
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let zero = fb.c64(0);
        let row = self.req.row(fb, zero);
        fb.for_n(self.n, |fb, i| {
            let xa = fb.index(xb, i, xs);
            let q = fb.load_int(self.x_dt, xa, 0);
            let acc = fb.b.ins().iadd_imm_s(q, -(self.zi as i64));
            let v = self.req.apply(fb, row, acc);
            let ya = fb.index(yb, i, ys);
            fb.store_int(self.y_dt, v, ya, 0);
        });
    }
}

impl QuantOp {
    fn element(&self, fb: &mut Fb, row: Value, xa: Value, ya: Value) {
        let f = flags();
        let deq = |fb: &mut Fb| {
            let q = fb.load_int(self.x_dt, xa, 0);
            let zi = fb.b.ins().load(types::I32, f, row, 4);
            let q = fb.b.ins().sextend(types::I64, q);
            let zi = fb.b.ins().sextend(types::I64, zi);
            let d = fb.b.ins().isub(q, zi);
            let d = fb.b.ins().fcvt_from_sint(types::F32, d);
            let si = fb.b.ins().load(types::F32, f, row, 0);
            fb.b.ins().fmul(d, si)
        };
        let x = match self.kind {
            Kind::Quantize => fb.b.ins().load(types::F32, f, xa, 0),
            _ => deq(fb),
        };
        if self.kind == Kind::Dequantize {
            fb.b.ins().store(f, x, ya, 0);
            return;
        }
        let so = fb.b.ins().load(types::F32, f, row, 8);
        let v = fb.b.ins().fdiv(x, so);
        let r = if self.half_away {
            super::requant::round_half_away(fb, v)
        } else {
            fb.b.ins().nearest(v)
        };
        let r = fb.b.ins().fcvt_to_sint_sat(types::I32, r);
        let zo = fb.b.ins().load(types::I32, f, row, 12);
        let q = add_zp_clamp(fb, r, zo, self.qmin, self.qmax);
        fb.store_int(self.y_dt, q, ya, 0);
    }
}

impl QuantOp {
    /// True when 8 elements at a time go through [`QuantOp::vector8`]: f32 or 8-bit
    /// operand and result.
    fn vectorised(&self) -> bool {
        let ok = |dt: DType| matches!(dt, DType::F32 | DType::U8 | DType::I8);
        self.simd && ok(self.x_dt) && ok(self.y_dt)
    }

    /// Elements `xa[0..8]` to `ya[0..8]`, the scalar arithmetic on lanes: the dequantized
    /// value `(q - z_in) as f32 * s_in` (exact conversion of a small difference), `/ s_out`,
    /// half to even, a saturating convert, clamped to `[qmin - z_out, qmax - z_out]` (8-bit
    /// zero points: no overflow) and `+ z_out`.
    fn vector8(&self, fb: &mut Fb, row: Value, xa: Value, ya: Value) {
        let f = flags();
        let halves: Vec<Value> = match self.x_dt {
            DType::F32 => (0..2)
                .map(|h| fb.b.ins().load(types::F32X4, f, xa, 16 * h))
                .collect(),
            dt => {
                let w = if dt == DType::U8 {
                    fb.b.ins().uload8x8(f, xa, 0)
                } else {
                    fb.b.ins().sload8x8(f, xa, 0)
                };
                let (lo, hi) = if dt == DType::U8 {
                    (fb.b.ins().uwiden_low(w), fb.b.ins().uwiden_high(w))
                } else {
                    (fb.b.ins().swiden_low(w), fb.b.ins().swiden_high(w))
                };
                let zi = fb.b.ins().load(types::I32, f, row, 4);
                let zi = fb.b.ins().splat(types::I32X4, zi);
                let si = fb.b.ins().load(types::F32, f, row, 0);
                let si = fb.b.ins().splat(types::F32X4, si);
                [lo, hi]
                    .into_iter()
                    .map(|v| {
                        let d = fb.b.ins().isub(v, zi);
                        let d = fb.b.ins().fcvt_from_sint(types::F32X4, d);
                        fb.b.ins().fmul(d, si)
                    })
                    .collect()
            }
        };
        if self.kind == Kind::Dequantize {
            for (h, v) in halves.into_iter().enumerate() {
                fb.b.ins().store(f, v, ya, 16 * h as i32);
            }
            return;
        }
        let so = fb.b.ins().load(types::F32, f, row, 8);
        let so = fb.b.ins().splat(types::F32X4, so);
        let zo = fb.b.ins().load(types::I32, f, row, 12);
        let bound = |fb: &mut Fb, q: i64| {
            let q = fb.c32(q as i32);
            let b = fb.b.ins().isub(q, zo);
            fb.b.ins().splat(types::I32X4, b)
        };
        let (lo, hi) = (bound(fb, self.qmin), bound(fb, self.qmax));
        let zo = fb.b.ins().splat(types::I32X4, zo);
        let q: Vec<Value> = halves
            .into_iter()
            .map(|x| {
                let v = fb.b.ins().fdiv(x, so);
                let r = if self.half_away {
                    super::requant::round_half_away4(fb, v)
                } else {
                    fb.b.ins().nearest(v)
                };
                let r = fb.b.ins().fcvt_to_sint_sat(types::I32X4, r);
                let r = fb.b.ins().smax(r, lo);
                let r = fb.b.ins().smin(r, hi);
                fb.b.ins().iadd(r, zo)
            })
            .collect();
        super::simd::store_q(fb, &q, None, self.y_dt, ya);
    }
}

impl Kernel for QuantOp {
    fn emit(&self, fb: &mut Fb) {
        let Split { outer, dim, inner } = self.split;
        let (xs, ys) = (self.x_dt.size(), self.y_dt.size());
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let tb = fb.base(self.table);
        fb.for_n(outer, |fb, o| {
            fb.for_n(dim, |fb, d| {
                let row = fb.index(tb, d, 16);
                let od = fb.b.ins().imul_imm_s(o, dim as i64);
                let od = fb.b.ins().iadd(od, d);
                let x0 = fb.index(xb, od, inner * xs);
                let y0 = fb.index(yb, od, inner * ys);
                let vecs = if self.vectorised() { inner / 8 } else { 0 };
                fb.for_n(vecs, |fb, i| {
                    let xa = fb.index(x0, i, 8 * xs);
                    let ya = fb.index(y0, i, 8 * ys);
                    self.vector8(fb, row, xa, ya);
                });
                fb.for_span(vecs * 8, inner, |fb, i| {
                    let xa = fb.index(x0, i, xs);
                    let ya = fb.index(y0, i, ys);
                    self.element(fb, row, xa, ya);
                });
            });
        });
    }
}
