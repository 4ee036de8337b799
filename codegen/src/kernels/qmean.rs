//! `qmean` (TFLite's reference quantized MEAN) with the interpreter's arithmetic: per output,
//! the wrapping i32 sum of the stored values over the reduced axes, minus `z_x * count`,
//! then `MultiplyByQuantizedMultiplier` by the multiplier with `1 / count` folded in, `+ z_y`,
//! saturated. The multiplier and the correction are one requantization channel
//! ([`super::Requant`]), so the epilogue is the conv kernels' (vectorised when possible).
//!
//! Outputs are visited in order; each output's input base offset comes from a table and the
//! reduced positions from a loop nest over the reduced axes (adjacent ones merged). When the
//! last axis is kept (TFLite's NHWC means over H and W), four consecutive outputs are summed
//! as one i32x4 vector.

use super::requant::{Channel, OutMode, Requant};
use super::simd::ReqVec;
use super::{flags, small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::{quantize_multiplier, Multiplier};
use qcc_ir::DType;

struct QMean {
    /// Output rows: every kept axis but the last, as input base offsets (elements).
    rows: Addr,
    n_rows: usize,
    /// The last kept axis (`lanes` of it per row, input stride `lane_stride`), or 1.
    lanes: usize,
    lane_stride: usize,
    /// Reduced positions: a nest of (count, input stride) levels, outermost first.
    nest: Vec<(usize, usize)>,
    x: Addr,
    x_dt: DType,
    y: Addr,
    y_dt: DType,
    req: Requant,
    simd: bool,
}

/// Lowers `qmean` in fixed-point modules.
pub fn lower(l: &mut Lower, axes: &[i64]) -> Lowered {
    let xs = l.in_dims(0)?;
    let (x_dt, y_ty) = (l.in_ty(0)?.dtype, l.out_ty(0)?.clone());
    if l.module.requant != qcc_ir::RequantMode::FixedPoint
        || !small_int(x_dt)
        || x_dt == DType::I32
        || !small_int(y_ty.dtype)
        || axes.is_empty()
    {
        return Ok(None);
    }
    let rank = xs.len() as i64;
    let mut reduced = vec![false; xs.len()];
    for &a in axes {
        let a = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&a) {
            return Ok(None);
        }
        reduced[a as usize] = true;
    }
    let count: usize = xs
        .iter()
        .zip(&reduced)
        .filter(|r| *r.1)
        .map(|r| *r.0)
        .product();
    let numel: usize = xs.iter().product();
    if count == 0 || numel == 0 || numel > i32::MAX as usize {
        return Ok(None);
    }
    let (Some((sx, zx)), Some((sy, zy, (qmin, qmax)))) = (l.in_q_tensor(0), l.out_q_tensor())
    else {
        return Ok(None);
    };
    // The interpreter's multiplier: QuantizeMultiplier(s_x / s_y) with 1 / count folded in.
    let (m0, shift) = quantize_multiplier(sx as f64 / sy as f64);
    let k = (63 - (count as u64).leading_zeros() as i32)
        .min(32)
        .min(31 + shift);
    let m = ((i64::from(m0) << k) / count as i64) as i32;
    let chan = Channel {
        bias: (-(zx as i64 * count as i64)) as i32,
        zp: zy,
        mult: Multiplier::Fixed {
            m0: m,
            shift: shift - k,
        }
        .into(),
    };
    let req = Requant::new(l.pool, &[chan], OutMode::Quant { qmin, qmax });
    // Input strides (elements).
    let mut strides = vec![1usize; xs.len()];
    for d in (0..xs.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * xs[d + 1];
    }
    // Reduced axes as a nest, adjacent axes merged.
    let mut nest: Vec<(usize, usize)> = Vec::new();
    for d in (0..xs.len()).filter(|&d| reduced[d] && xs[d] > 1) {
        match nest.last_mut() {
            Some((n, s)) if *s == strides[d] * xs[d] => {
                *n *= xs[d];
                *s = strides[d];
            }
            _ => nest.push((xs[d], strides[d])),
        }
    }
    // Kept axes: the last one (if kept) gives the lanes, the others the row table.
    let kept: Vec<usize> = (0..xs.len()).filter(|&d| !reduced[d]).collect();
    let (lanes, lane_stride, row_axes) = match kept.split_last() {
        Some((&last, rest)) => (xs[last], strides[last], rest.to_vec()),
        None => (1, 1, vec![]),
    };
    let mut rows: Vec<i32> = vec![0];
    for &d in &row_axes {
        let (n, st) = (xs[d], strides[d]);
        rows = rows
            .iter()
            .flat_map(|&b| (0..n).map(move |i| b + (i * st) as i32))
            .collect();
    }
    Ok(Some(Box::new(QMean {
        n_rows: rows.len(),
        rows: l.pool.i32s(&rows),
        lanes,
        lane_stride,
        nest,
        x: l.in_addr(0)?,
        x_dt,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        req,
        simd: l.simd,
    })))
}

impl QMean {
    /// `body(fb, offset)` for every reduced position (element offset from the base, i64).
    fn reduced(&self, fb: &mut Fb, level: usize, off: Value, body: &mut dyn FnMut(&mut Fb, Value)) {
        let Some(&(n, s)) = self.nest.get(level) else {
            body(fb, off);
            return;
        };
        fb.for_n(n, |fb, i| {
            let o = fb.b.ins().imul_imm_s(i, s as i64);
            let o = fb.b.ins().iadd(off, o);
            self.reduced(fb, level + 1, o, body);
        });
    }

    /// Four consecutive lanes of the last kept axis (contiguous input) widened to i32x4.
    fn load4(&self, fb: &mut Fb, addr: Value) -> Value {
        match self.x_dt {
            DType::U8 | DType::I8 => {
                let v = if self.x_dt == DType::U8 {
                    fb.b.ins().uload8x8(flags(), addr, 0)
                } else {
                    fb.b.ins().sload8x8(flags(), addr, 0)
                };
                if self.x_dt == DType::U8 {
                    fb.b.ins().uwiden_low(v)
                } else {
                    fb.b.ins().swiden_low(v)
                }
            }
            DType::U16 => fb.b.ins().uload16x4(flags(), addr, 0),
            _ => fb.b.ins().sload16x4(flags(), addr, 0),
        }
    }
}

impl Kernel for QMean {
    fn emit(&self, fb: &mut Fb) {
        let (xsz, ysz) = (self.x_dt.size(), self.y_dt.size());
        let zero = fb.c64(0);
        let row = self.req.row(fb, zero);
        let bias = self.req.bias(fb, row);
        let rb = fb.base(self.rows);
        // 4 lanes at a time needs contiguous lanes and 8-byte reads that stay inside the
        // row: the vector path takes whole groups of 8 bytes' worth of lanes only.
        let vec_groups = if self.simd && self.lane_stride == 1 && xsz <= 2 {
            (self.lanes.saturating_sub(8 / xsz - 4)) / 4
        } else {
            0
        };
        fb.for_n(self.n_rows, |fb, r| {
            let ra = fb.index(rb, r, 4);
            let base = fb.b.ins().load(types::I32, super::const_flags(), ra, 0);
            let base = fb.b.ins().sextend(types::I64, base);
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, base, xsz);
            let yb = fb.base(self.y);
            let y0 = fb.index(yb, r, self.lanes * ysz);
            fb.for_n(vec_groups, |fb, g| {
                let xg = fb.index(x0, g, 4 * xsz);
                let init = fb.b.ins().splat(types::I32X4, bias);
                let acc = fb.var(types::I32X4, init);
                self.reduced(fb, 0, zero, &mut |fb, off| {
                    let a = fb.index(xg, off, xsz);
                    let v = self.load4(fb, a);
                    let s = fb.b.use_var(acc);
                    let s = fb.b.ins().iadd(s, v);
                    fb.b.def_var(acc, s);
                });
                let s = fb.b.use_var(acc);
                let rq = ReqVec::new(fb, &self.req, row);
                let q = rq.apply(fb, &self.req, s);
                let ya = fb.index(y0, g, 4 * ysz);
                for lane in 0..4u8 {
                    let e = fb.b.ins().extractlane(q, lane);
                    fb.store_int(self.y_dt, e, ya, (lane as usize * ysz) as i32);
                }
            });
            fb.for_span(vec_groups * 4, self.lanes, |fb, c| {
                let xc = fb.index(x0, c, self.lane_stride * xsz);
                let acc = fb.var(types::I32, bias);
                self.reduced(fb, 0, zero, &mut |fb, off| {
                    let a = fb.index(xc, off, xsz);
                    let v = fb.load_int(self.x_dt, a, 0);
                    let s = fb.b.use_var(acc);
                    let s = fb.b.ins().iadd(s, v);
                    fb.b.def_var(acc, s);
                });
                let s = fb.b.use_var(acc);
                let q = self.req.apply(fb, row, s);
                let ya = fb.index(y0, c, ysz);
                fb.store_int(self.y_dt, q, ya, 0);
            });
        });
    }
}
