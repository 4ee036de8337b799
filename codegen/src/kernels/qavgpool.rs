//! `qavgpool` (ONNX Runtime's QLinearAveragePool) with the interpreter's arithmetic: per
//! output, the f32 sum of `s_x * (x - z_x)` over the window's taps inside the input (in
//! tap order), `/ count / s_y + z_y` in f32 (in the uint8 domain for int8), half to even,
//! clamped. The window geometry comes from the interpreter ([`qcc_ir::interp::pool_taps`]):
//! a table of input offsets per tap and output, padding taps reading `z_x` (which adds
//! `+0.0`, leaving the sum unchanged: it is never `-0.0`). A global window takes the
//! `qglobal_avgpool` kernel.

use super::requant::add_zp_clamp;
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder};
use qcc_ir::quant::ort_domain_offset;
use qcc_ir::{DType, PoolAttrs};

struct QAvgPool {
    planes: usize,
    in_n: usize,
    out_n: usize,
    taps: usize,
    /// `[taps][out_n]` input offsets, -1 in the padding.
    table: Addr,
    /// Per output: the divisor as f32 (0.0 for an empty window).
    counts: Addr,
    x: Addr,
    x_dt: DType,
    y: Addr,
    y_dt: DType,
    sx: f32,
    zx: i32,
    sy: f32,
    zy: f32,
    /// Clamp range in the result's domain and the domain offset.
    lo: i64,
    hi: i64,
    off: i64,
}

/// Lowers `qavgpool` with per-tensor parameters and float requantization.
pub fn lower(l: &mut Lower, a: &PoolAttrs) -> Lowered {
    if l.module.requant != qcc_ir::RequantMode::Float {
        return Ok(None);
    }
    let xs = l.in_dims(0)?;
    let (x_dt, y_ty) = (l.in_ty(0)?.dtype, l.out_ty(0)?.clone());
    if !small_int(x_dt) || !small_int(y_ty.dtype) {
        return Ok(None);
    }
    let Ok(geo) = qcc_ir::interp::pool_taps(&xs, a) else {
        return Ok(None);
    };
    if geo.global {
        return super::pool::lower_qglobal_avgpool(l);
    }
    let Some((sx, zx)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some((sy, zy, (qmin, qmax))) = l.out_q_tensor() else {
        return Ok(None);
    };
    let off = ort_domain_offset(y_ty.dtype);
    let Ok(table) = geo
        .table
        .iter()
        .map(|t| t.map_or(Ok(-1), i32::try_from))
        .collect::<Result<Vec<i32>, _>>()
    else {
        return Ok(None);
    };
    let counts: Vec<i32> = (0..geo.out_n)
        .map(|o| {
            let c = if a.count_include_pad {
                geo.taps
            } else {
                geo.inside[o]
            };
            (c as f32).to_bits() as i32
        })
        .collect();
    Ok(Some(Box::new(QAvgPool {
        planes: xs[..2].iter().product(),
        in_n: geo.in_n,
        out_n: geo.out_n,
        taps: geo.taps,
        table: l.pool.i32s(&table),
        counts: l.pool.i32s(&counts),
        x: l.in_addr(0)?,
        x_dt,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        sx,
        zx,
        sy,
        zy: (zy as i64 + off) as f32,
        lo: qmin + off,
        hi: qmax + off,
        off,
    })))
}

impl Kernel for QAvgPool {
    fn emit(&self, fb: &mut Fb) {
        use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
        let f = super::const_flags();
        let (xsz, ysz) = (self.x_dt.size(), self.y_dt.size());
        let tb = fb.base(self.table);
        let cb = fb.base(self.counts);
        fb.for_n(self.planes, |fb, p| {
            let xb = fb.base(self.x);
            let xp = fb.index(xb, p, self.in_n * xsz);
            let yb = fb.base(self.y);
            let yp = fb.index(yb, p, self.out_n * ysz);
            fb.for_n(self.out_n, |fb, o| {
                let sx = fb.f32c(self.sx);
                let zx = fb.c32(self.zx);
                let mut acc = fb.f32c(0.0);
                for k in 0..self.taps {
                    let ta = fb.index(tb, o, 4);
                    let idx =
                        fb.b.ins()
                            .load(types::I32, f, ta, (k * self.out_n * 4) as i32);
                    let pad = fb.b.ins().icmp_imm_s(IntCC::SignedLessThan, idx, 0);
                    let zero = fb.c32(0);
                    let safe = fb.b.ins().select(pad, zero, idx);
                    let safe = fb.b.ins().sextend(types::I64, safe);
                    let xa = fb.index(xp, safe, xsz);
                    let v = fb.load_int(self.x_dt, xa, 0);
                    let v = fb.b.ins().select(pad, zx, v);
                    let d = fb.b.ins().isub(v, zx);
                    let d = fb.b.ins().fcvt_from_sint(types::F32, d);
                    let t = fb.b.ins().fmul(sx, d);
                    acc = fb.b.ins().fadd(acc, t);
                }
                let ca = fb.index(cb, o, 4);
                let c = fb.b.ins().load(types::F32, f, ca, 0);
                let sy = fb.f32c(self.sy);
                let zy = fb.f32c(self.zy);
                let r = fb.b.ins().fdiv(acc, c);
                let r = fb.b.ins().fdiv(r, sy);
                let r = fb.b.ins().fadd(r, zy);
                let r = fb.b.ins().nearest(r);
                let r = fb.b.ins().fcvt_to_sint_sat(types::I32, r);
                // An empty window (count 0) gives the minimum, as ONNX Runtime's NaN does.
                let zc = fb.f32c(0.0);
                let empty = fb.b.ins().fcmp(FloatCC::Equal, c, zc);
                let min = fb.c32(self.lo as i32);
                let r = fb.b.ins().select(empty, min, r);
                let z = fb.c32(0);
                let q = add_zp_clamp(fb, r, z, self.lo, self.hi);
                let q = fb.b.ins().iadd_imm_s(q, -self.off);
                let ya = fb.index(yp, o, ysz);
                fb.store_int(self.y_dt, q, ya, 0);
            });
        });
    }
}
