//! `qsoftmax` along the last axis with ONNX Runtime's QLinearSoftmax arithmetic (the
//! interpreter's `qsoftmax`, float modules, `beta == 1`, 8-bit): per row, the maximum
//! stored value; the sum, in f32 and in order, of `table[x - max + 255]` (the 256-entry
//! exp table computed at compile time); then `round_half_even(t * floor(1 / s_y) / sum)
//! + z_y`, saturated. Every table index lies in `[0, 255]` for any 8-bit input.

use super::{Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder};
use qcc_ir::{DType, RequantMode};

struct QSoftmax {
    rows: usize,
    d: usize,
    x: Addr,
    x_dt: DType,
    y: Addr,
    y_dt: DType,
    table: Addr,
    /// `floor(1 / s_y)`.
    ys: f32,
    zy: i32,
    qmin: i32,
    qmax: i32,
}

/// Lowers `qsoftmax { axis: last, beta: 1 }` on 8-bit operands in a float module.
pub fn lower(l: &mut Lower, axis: i64, beta: f32) -> Lowered {
    let dims = l.in_dims(0)?;
    let (x_dt, y_dt) = (l.in_ty(0)?.dtype, l.out_ty(0)?.dtype);
    let int8 = |d: DType| matches!(d, DType::U8 | DType::I8);
    let rank = dims.len() as i64;
    if l.module.requant != RequantMode::Float
        || beta != 1.0
        || !int8(x_dt)
        || !int8(y_dt)
        || rank == 0
        || !(axis == -1 || axis == rank - 1)
    {
        return Ok(None);
    }
    let d = dims[dims.len() - 1];
    if d == 0 {
        return Ok(None);
    }
    let rows = dims.iter().product::<usize>() / d;
    let (Some((sx, _)), Some((sy, zy, (qmin, qmax)))) = (l.in_q_tensor(0), l.out_q_tensor()) else {
        return Ok(None);
    };
    let table = qcc_ir::interp::qsoftmax_exp_table(sx, d);
    Ok(Some(Box::new(QSoftmax {
        rows,
        d,
        x: l.in_addr(0)?,
        x_dt,
        y: l.out_addr(0)?,
        y_dt,
        table: l.pool.f32s(&table),
        ys: (1.0f32 / sy).floor(),
        zy,
        qmin: qmin as i32,
        qmax: qmax as i32,
    })))
}

impl Kernel for QSoftmax {
    fn emit(&self, fb: &mut Fb) {
        let d = self.d;
        let (xsz, ysz) = (self.x_dt.size(), self.y_dt.size());
        fb.for_n(self.rows, |fb, r| {
            let x0 = fb.base(self.x);
            let xrow = fb.index(x0, r, d * xsz);
            let y0 = fb.base(self.y);
            let yrow = fb.index(y0, r, d * ysz);
            let first = fb.load_int(self.x_dt, xrow, 0);
            let mx = fb.var(types::I32, first);
            fb.for_ptrs(d, &[xrow], &[xsz as i64], |fb, p| {
                let v = fb.load_int(self.x_dt, p[0], 0);
                let m = fb.b.use_var(mx);
                let m = fb.b.ins().smax(m, v);
                fb.b.def_var(mx, m);
            });
            let xmax = fb.b.use_var(mx);
            let c255 = fb.c32(255);
            let bias = fb.b.ins().isub(c255, xmax);
            let tbase = fb.base(self.table);
            let lookup = |fb: &mut Fb, xp| {
                let v = fb.load_int(self.x_dt, xp, 0);
                let i = fb.b.ins().iadd(v, bias);
                let i = fb.b.ins().uextend(types::I64, i);
                let ta = fb.index(tbase, i, 4);
                fb.b.ins().load(types::F32, super::const_flags(), ta, 0)
            };
            let zero = fb.f32c(0.0);
            let sum = fb.var(types::F32, zero);
            fb.for_ptrs(d, &[xrow], &[xsz as i64], |fb, p| {
                let t = lookup(fb, p[0]);
                let s = fb.b.use_var(sum);
                let s = fb.b.ins().fadd(s, t);
                fb.b.def_var(sum, s);
            });
            let sum = fb.b.use_var(sum);
            let ys = fb.f32c(self.ys);
            let (zy, lo, hi) = (fb.c32(self.zy), fb.c32(self.qmin), fb.c32(self.qmax));
            fb.for_ptrs(d, &[xrow, yrow], &[xsz as i64, ysz as i64], |fb, p| {
                let t = lookup(fb, p[0]);
                let q = fb.b.ins().fmul(t, ys);
                let q = fb.b.ins().fdiv(q, sum);
                let q = fb.b.ins().nearest(q);
                let n = fb.b.ins().fcvt_to_sint_sat(types::I32, q);
                let n = fb.b.ins().iadd(n, zy);
                let n = fb.b.ins().smax(n, lo);
                let n = fb.b.ins().smin(n, hi);
                fb.store_int(self.y_dt, n, p[1], 0);
            });
        });
    }
}
