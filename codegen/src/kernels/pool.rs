//! Integer max pooling (1-d/2-d, padded, strided, dilated, ceil mode) and
//! `qglobal_avgpool`.

use super::conv::{axes, Axis};
use super::maxpool8;
use super::requant::{Channel, OutMode, Requant};
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::{quantize_multiplier, Multiplier};
use qcc_ir::{DType, PoolAttrs, RequantMode};

struct MaxPool {
    planes: usize,
    h: Axis,
    w: Axis,
    dt: DType,
    x: Addr,
    y: Addr,
    rows: Addr,
    cols: Addr,
}

/// Lowers an integer `global_maxpool` as a max pool whose window is the whole plane (the
/// maximum of integers has one answer; f32 stays with the interpreter's NaN rules).
pub fn lower_global_maxpool(l: &mut Lower) -> Lowered {
    let xs = l.in_dims(0)?;
    if xs.len() < 3 || xs.len() > 4 || !small_int(l.in_ty(0)?.dtype) {
        return Ok(None);
    }
    let sp = xs[2..].to_vec();
    let a = PoolAttrs {
        strides: vec![1; sp.len()],
        pads: vec![0; 2 * sp.len()],
        dilations: vec![1; sp.len()],
        kernel: sp,
        ceil_mode: false,
        count_include_pad: false,
        row_major_sum: false,
    };
    lower_maxpool(l, &a)
}

/// Lowers an integer `maxpool` with one result.
pub fn lower_maxpool(l: &mut Lower, a: &PoolAttrs) -> Lowered {
    let xs = l.in_dims(0)?;
    let ys = l.out_dims(0)?;
    let dt = l.in_ty(0)?.dtype;
    if l.node.outputs.len() != 1
        || !matches!(
            dt,
            DType::U8 | DType::I8 | DType::I16 | DType::U16 | DType::I32 | DType::F32
        )
        || l.out_ty(0)?.dtype != dt
        || xs.len() < 3
        || ys.len() != xs.len()
        || ys[..2] != xs[..2]
    {
        return Ok(None);
    }
    let Some((h, w, _)) = axes(
        &xs[2..],
        &ys[2..],
        &a.kernel,
        &a.strides,
        &a.pads,
        &a.dilations,
    ) else {
        return Ok(None);
    };
    let unpadded_2x2 = a.kernel == [2, 2]
        && a.strides == [2, 2]
        && a.pads.iter().all(|&p| p == 0)
        && a.dilations.iter().all(|&d| d == 1)
        && xs.len() == 4
        && 2 * ys[2] <= xs[2]
        && 2 * ys[3] <= xs[3];
    if l.simd && dt == DType::F32 && unpadded_2x2 {
        return Ok(Some(Box::new(MaxPool2x2F32 {
            planes: xs[0] * xs[1],
            in_hw: (xs[2], xs[3]),
            out_hw: (ys[2], ys[3]),
            x: l.in_addr(0)?,
            y: l.out_addr(0)?,
        })));
    }
    if l.simd && matches!(dt, DType::U8 | DType::I8 | DType::U16 | DType::I16) && unpadded_2x2 {
        return Ok(Some(Box::new(MaxPool2x2 {
            planes: xs[0] * xs[1],
            in_hw: (xs[2], xs[3]),
            out_hw: (ys[2], ys[3]),
            dt,
            x: l.in_addr(0)?,
            y: l.out_addr(0)?,
        })));
    }
    if l.simd {
        let (x, y) = (l.in_addr(0)?, l.out_addr(0)?);
        let planes = xs[0] * xs[1];
        if let Some(k) = maxpool8::new(planes, (h.clone(), w.clone()), dt, (x, y), |n| l.scratch(n))
        {
            return Ok(Some(Box::new(k)));
        }
    }
    let flat =
        |v: Vec<(i32, i32)>| -> Vec<i32> { v.into_iter().flat_map(|(a, b)| [a, b]).collect() };
    let rows = l.pool.i32s(&flat(h.tap_ranges()));
    let cols = l.pool.i32s(&flat(w.tap_ranges()));
    Ok(Some(Box::new(MaxPool {
        planes: xs[0] * xs[1],
        h,
        w,
        dt,
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        rows,
        cols,
    })))
}

impl MaxPool {
    /// The running maximum for f32, the interpreter's way: the first tap inside the input,
    /// then any tap greater than it (so a NaN first tap stays, later NaNs never win).
    fn f32_step(
        fb: &mut Fb,
        (best, have): (cranelift_frontend::Variable, cranelift_frontend::Variable),
        v: Value,
    ) {
        use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
        let b = fb.b.use_var(best);
        let h = fb.b.use_var(have);
        let gt = fb.b.ins().fcmp(FloatCC::GreaterThan, v, b);
        let first = fb.b.ins().icmp_imm_s(IntCC::Equal, h, 0);
        let take = fb.b.ins().bor(gt, first);
        let m = fb.b.ins().select(take, v, b);
        fb.b.def_var(best, m);
        let one = fb.c32(1);
        fb.b.def_var(have, one);
    }
}

impl Kernel for MaxPool {
    fn emit(&self, fb: &mut Fb) {
        let sz = self.dt.size();
        let (ih_n, iw_n, oh_n, ow_n) = (self.h.input, self.w.input, self.h.output, self.w.output);
        let signed = matches!(self.dt, DType::I8 | DType::I16 | DType::I32);
        fb.for_n(self.planes, |fb, p| {
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, p, ih_n * iw_n * sz);
            let yb = fb.base(self.y);
            let y0 = fb.index(yb, p, oh_n * ow_n * sz);
            fb.for_n(oh_n, |fb, oh| {
                let rb = fb.base(self.rows);
                let ra = fb.index(rb, oh, 8);
                let khlo = fb.b.ins().sload32(super::const_flags(), ra, 0);
                let khhi = fb.b.ins().sload32(super::const_flags(), ra, 4);
                let ih0 = fb.b.ins().imul_imm_s(oh, self.h.stride as i64);
                let ih0 = fb.b.ins().iadd_imm_s(ih0, -(self.h.pad as i64));
                fb.for_n(ow_n, |fb, ow| {
                    let cb = fb.base(self.cols);
                    let ca = fb.index(cb, ow, 8);
                    let kwlo = fb.b.ins().sload32(super::const_flags(), ca, 0);
                    let kwhi = fb.b.ins().sload32(super::const_flags(), ca, 4);
                    let iw0 = fb.b.ins().imul_imm_s(ow, self.w.stride as i64);
                    let iw0 = fb.b.ins().iadd_imm_s(iw0, -(self.w.pad as i64));
                    let float = self.dt == DType::F32;
                    let lowest = if float {
                        fb.f32c(0.0)
                    } else {
                        fb.c32(if signed { i32::MIN } else { 0 })
                    };
                    let best = fb.var(if float { types::F32 } else { types::I32 }, lowest);
                    let zero = fb.c32(0);
                    let have = fb.var(types::I32, zero);
                    fb.for_range(khlo, khhi, |fb, kh| {
                        let ih = fb.b.ins().imul_imm_s(kh, self.h.dil as i64);
                        let ih = fb.b.ins().iadd(ih, ih0);
                        let xr = fb.index(x0, ih, iw_n * sz);
                        fb.for_range(kwlo, kwhi, |fb, kw| {
                            let iw = fb.b.ins().imul_imm_s(kw, self.w.dil as i64);
                            let iw = fb.b.ins().iadd(iw, iw0);
                            let xa = fb.index(xr, iw, sz);
                            if float {
                                let v = fb.b.ins().load(types::F32, super::flags(), xa, 0);
                                Self::f32_step(fb, (best, have), v);
                                return;
                            }
                            let v = fb.load_int(self.dt, xa, 0);
                            let b = fb.b.use_var(best);
                            let m = if signed {
                                fb.b.ins().smax(b, v)
                            } else {
                                fb.b.ins().umax(b, v)
                            };
                            fb.b.def_var(best, m);
                        });
                    });
                    // No tap inside the input: the interpreter writes 0.
                    let b = fb.b.use_var(best);
                    let hempty = fb.b.ins().icmp(
                        cranelift_codegen::ir::condcodes::IntCC::SignedGreaterThanOrEqual,
                        khlo,
                        khhi,
                    );
                    let wempty = fb.b.ins().icmp(
                        cranelift_codegen::ir::condcodes::IntCC::SignedGreaterThanOrEqual,
                        kwlo,
                        kwhi,
                    );
                    let empty = fb.b.ins().bor(hempty, wempty);
                    let z = if float { fb.f32c(0.0) } else { fb.c32(0) };
                    let out = fb.b.ins().select(empty, z, b);
                    let o = fb.b.ins().imul_imm_s(oh, ow_n as i64);
                    let o = fb.b.ins().iadd(o, ow);
                    let ya = fb.index(y0, o, sz);
                    if float {
                        fb.b.ins().store(super::flags(), out, ya, 0);
                    } else {
                        fb.store_int(self.dt, out, ya, 0);
                    }
                });
            });
        });
    }
}

/// The common 2x2, stride-2, unpadded 8- or 16-bit max pool: per output row, 16 bytes of
/// input columns of both input rows are loaded as one vector each, `pmaxub`/`pmaxsb` (or
/// `pmaxuw`/`pmaxsw`) combines the rows, a shuffle separates even and odd columns and a
/// second max leaves 8 (16-bit: 4) outputs, stored as one 8-byte word; narrow rows use
/// half blocks of 8-byte loads, the last block of a row overlaps the previous one, and rows
/// narrower than a half block are scalar.
struct MaxPool2x2 {
    planes: usize,
    in_hw: (usize, usize),
    out_hw: (usize, usize),
    dt: DType,
    x: Addr,
    y: Addr,
}

impl MaxPool2x2 {
    /// Element size in bytes.
    fn es(&self) -> usize {
        self.dt.size()
    }

    /// Lane-wise maximum in the element type (`a`, `b` as I8X16 bytes).
    fn max(&self, fb: &mut Fb, a: Value, b: Value) -> Value {
        use cranelift_codegen::ir::Endianness;
        let le = super::flags().with_endianness(Endianness::Little);
        let ty = if self.es() == 2 {
            types::I16X8
        } else {
            types::I8X16
        };
        let (a, b) = if self.es() == 2 {
            (fb.b.ins().bitcast(ty, le, a), fb.b.ins().bitcast(ty, le, b))
        } else {
            (a, b)
        };
        let m = if matches!(self.dt, DType::I8 | DType::I16) {
            fb.b.ins().smax(a, b)
        } else {
            fb.b.ins().umax(a, b)
        };
        if self.es() == 2 {
            fb.b.ins().bitcast(types::I8X16, le, m)
        } else {
            m
        }
    }

    /// `n` outputs of one row (`n * es` is 8 or 4 bytes) from input columns
    /// `2 c .. 2 c + 2 n` of both rows (`r0` the top row, `iw` elements above the bottom
    /// one): the rows' maximum, then the maximum of even and odd columns.
    fn block(&self, fb: &mut Fb, (r0, iw): (Value, usize), yr: Value, c: Value, n: usize) {
        use cranelift_codegen::ir::{ConstantData, Endianness};
        let le = super::flags().with_endianness(Endianness::Little);
        let es = self.es();
        let xa = fb.index(r0, c, 2 * es);
        let full = n * es == 8;
        let load = |fb: &mut Fb, off: i32| {
            if full {
                fb.b.ins().load(types::I8X16, super::flags(), xa, off)
            } else {
                let w = fb.b.ins().load(types::I64, super::flags(), xa, off);
                let v = fb.b.ins().scalar_to_vector(types::I64X2, w);
                fb.b.ins().bitcast(types::I8X16, le, v)
            }
        };
        let (a, b) = (load(fb, 0), load(fb, (iw * es) as i32));
        let m = self.max(fb, a, b);
        // Element i of the result: input element 2i (even) or 2i + 1 (odd), byte by byte.
        let pick = |parity: usize| -> Vec<u8> {
            (0..16usize)
                .map(|byte| {
                    let (i, k) = (byte / es, byte % es);
                    (((2 * i + parity) * es + k) % 16) as u8
                })
                .collect()
        };
        let ie = fb.b.func.dfg.immediates.push(ConstantData::from(pick(0)));
        let io = fb.b.func.dfg.immediates.push(ConstantData::from(pick(1)));
        let e = fb.b.ins().shuffle(m, m, ie);
        let o = fb.b.ins().shuffle(m, m, io);
        let r = self.max(fb, e, o);
        let ya = fb.index(yr, c, es);
        if full {
            let r64 = fb.b.ins().bitcast(types::I64X2, le, r);
            let lo = fb.b.ins().extractlane(r64, 0);
            fb.b.ins().store(super::flags(), lo, ya, 0);
        } else {
            let r32 = fb.b.ins().bitcast(types::I32X4, le, r);
            let lo = fb.b.ins().extractlane(r32, 0);
            fb.b.ins().store(super::flags(), lo, ya, 0);
        }
    }
}

impl Kernel for MaxPool2x2 {
    fn emit(&self, fb: &mut Fb) {
        let ((ih_n, iw_n), (oh_n, ow_n)) = (self.in_hw, self.out_hw);
        let (dt, es) = (self.dt, self.es());
        // Vector blocks of 8 bytes of outputs (or 4 on narrow rows); the last block of a row
        // overlaps the previous one. Every block reads input columns below 2 * ow <= iw.
        let (full, half) = (8 / es, 4 / es);
        let n = if ow_n >= full {
            full
        } else if ow_n >= half {
            half
        } else {
            0
        };
        fb.for_n(self.planes, |fb, p| {
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, p, ih_n * iw_n * es);
            let yb = fb.base(self.y);
            let y0 = fb.index(yb, p, oh_n * ow_n * es);
            fb.for_n(oh_n, |fb, oh| {
                let r0 = fb.index(x0, oh, 2 * iw_n * es);
                let yr = fb.index(y0, oh, ow_n * es);
                if let Some(blocks) = ow_n.checked_div(n) {
                    fb.for_n(blocks, |fb, k| {
                        let c = fb.b.ins().imul_imm_s(k, n as i64);
                        self.block(fb, (r0, iw_n), yr, c, n);
                    });
                    if ow_n % n != 0 {
                        let c = fb.c64((ow_n - n) as i64);
                        self.block(fb, (r0, iw_n), yr, c, n);
                    }
                    return;
                }
                let signed = matches!(dt, DType::I8 | DType::I16);
                let max = |fb: &mut Fb, a, b| {
                    if signed {
                        fb.b.ins().smax(a, b)
                    } else {
                        fb.b.ins().umax(a, b)
                    }
                };
                fb.for_n(ow_n, |fb, ow| {
                    let xa = fb.index(r0, ow, 2 * es);
                    let esi = es as i32;
                    let v00 = fb.load_int(dt, xa, 0);
                    let v01 = fb.load_int(dt, xa, esi);
                    let v10 = fb.load_int(dt, xa, iw_n as i32 * esi);
                    let v11 = fb.load_int(dt, xa, (iw_n as i32 + 1) * esi);
                    let m0 = max(fb, v00, v01);
                    let m1 = max(fb, v10, v11);
                    let m = max(fb, m0, m1);
                    let ya = fb.index(yr, ow, es);
                    fb.store_int(dt, m, ya, 0);
                });
            });
        });
    }
}

struct GlobalAvg {
    rows: usize,
    n: usize,
    dt: DType,
    zx: i32,
    x: Addr,
    y: Addr,
    y_dt: DType,
    req: Requant,
}

/// Lowers `qglobal_avgpool` (per-tensor parameters).
pub fn lower_qglobal_avgpool(l: &mut Lower) -> Lowered {
    let xs = l.in_dims(0)?;
    let dt = l.in_ty(0)?.dtype;
    let y_ty = l.out_ty(0)?.clone();
    if xs.len() < 3 || !small_int(dt) || !small_int(y_ty.dtype) {
        return Ok(None);
    }
    let Some((sx, zx)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(q) = y_ty.quant.as_ref() else {
        return Ok(None);
    };
    let Some((sy, zy)) = super::per_tensor(q) else {
        return Ok(None);
    };
    let n: usize = xs[2..].iter().product();
    let mult = match l.module.requant {
        RequantMode::Float => Multiplier::Float(sx / (sy * n as f32)),
        RequantMode::FixedPoint => {
            let (m0, shift) = quantize_multiplier(sx as f64 / (sy as f64 * n as f64));
            Multiplier::Fixed { m0, shift }
        }
    };
    let (qmin, qmax) = q.storage_range(y_ty.dtype);
    let req = Requant::new(
        l.pool,
        &[Channel {
            bias: 0,
            zp: zy,
            mult: mult.into(),
        }],
        OutMode::Quant { qmin, qmax },
    );
    Ok(Some(Box::new(GlobalAvg {
        rows: xs[0] * xs[1],
        n,
        dt,
        zx,
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        req,
    })))
}

impl Kernel for GlobalAvg {
    fn emit(&self, fb: &mut Fb) {
        let zero = fb.c64(0);
        let row = self.req.row(fb, zero);
        let sz = self.dt.size();
        // 8-bit rows: 16 bytes at a time (widened and summed into i32 lanes), the sum
        // corrected by `-16 z_x` per vector; the rest, and 16-bit rows, element by element.
        let chunks = if sz == 1 { self.n / 16 } else { 0 };
        fb.for_n(self.rows, |fb, r| {
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, r, self.n * sz);
            let z = fb.c32(0);
            let acc = fb.var(types::I32, z);
            if chunks > 0 {
                let zv = fb.b.ins().splat(types::I32X4, z);
                let vacc = fb.var(types::I32X4, zv);
                fb.for_n(chunks, |fb, k| {
                    let xa = fb.index(x0, k, 16);
                    let v = fb.b.ins().load(types::I8X16, super::flags(), xa, 0);
                    let (lo, hi) = if self.dt == DType::U8 {
                        (fb.b.ins().uwiden_low(v), fb.b.ins().uwiden_high(v))
                    } else {
                        (fb.b.ins().swiden_low(v), fb.b.ins().swiden_high(v))
                    };
                    let s16 = fb.b.ins().iadd(lo, hi);
                    let (a, b) = (fb.b.ins().swiden_low(s16), fb.b.ins().swiden_high(s16));
                    let s32 = fb.b.ins().iadd(a, b);
                    let va = fb.b.use_var(vacc);
                    let va = fb.b.ins().iadd(va, s32);
                    fb.b.def_var(vacc, va);
                });
                let va = fb.b.use_var(vacc);
                let mut total = fb.b.ins().iconst(
                    types::I32,
                    -((16 * chunks) as i64 * self.zx as i64) as i32 as i64,
                );
                for lane in 0..4u8 {
                    let e = fb.b.ins().extractlane(va, lane);
                    total = fb.b.ins().iadd(total, e);
                }
                fb.b.def_var(acc, total);
            }
            fb.for_span(16 * chunks, self.n, |fb, i| {
                let xa = fb.index(x0, i, sz);
                let v = fb.load_int(self.dt, xa, 0);
                let v = fb.b.ins().iadd_imm_s(v, -(self.zx as i64));
                let a = fb.b.use_var(acc);
                let a = fb.b.ins().iadd(a, v);
                fb.b.def_var(acc, a);
            });
            let a = fb.b.use_var(acc);
            let q = self.req.apply(fb, row, a);
            let yb = fb.base(self.y);
            let ya = fb.index(yb, r, self.y_dt.size());
            fb.store_int(self.y_dt, q, ya, 0);
        });
    }
}

/// The 2x2, stride-2, unpadded f32 max pool, four outputs per step: even and odd columns of
/// both rows are separated with shuffles and combined in the interpreter's tap order (top
/// left, top right, bottom left, bottom right), a tap replacing the running value only when
/// greater (so a NaN top-left stays, later NaNs never win). The last columns are one
/// overlapping block, or scalar when the row is narrower than 4 outputs.
struct MaxPool2x2F32 {
    planes: usize,
    in_hw: (usize, usize),
    out_hw: (usize, usize),
    x: Addr,
    y: Addr,
}

impl MaxPool2x2F32 {
    /// `best` replaced by `v` where `v > best` (vectors or scalars).
    fn step(fb: &mut Fb, best: Value, v: Value, vector: bool) -> Value {
        use cranelift_codegen::ir::condcodes::FloatCC;
        let gt = fb.b.ins().fcmp(FloatCC::GreaterThan, v, best);
        if vector {
            fb.b.ins().bitselect(gt, v, best)
        } else {
            fb.b.ins().select(gt, v, best)
        }
    }
}

impl Kernel for MaxPool2x2F32 {
    fn emit(&self, fb: &mut Fb) {
        use cranelift_codegen::ir::{ConstantData, Endianness};
        let ((ih_n, iw_n), (oh_n, ow_n)) = (self.in_hw, self.out_hw);
        // Full blocks: 4 outputs read input columns 8k .. 8k + 7.
        let blocks = (ow_n / 4).min(iw_n / 8);
        let le = super::flags().with_endianness(Endianness::Little);
        let lanes = |fb: &mut Fb, a: Value, b: Value, odd: u8| {
            let mask: Vec<u8> = [0u8, 2, 4, 6]
                .iter()
                .flat_map(|&l| (0..4u8).map(move |j| 4 * (l + odd) + j))
                .collect();
            let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
            let a8 = fb.b.ins().bitcast(types::I8X16, le, a);
            let b8 = fb.b.ins().bitcast(types::I8X16, le, b);
            let s = fb.b.ins().shuffle(a8, b8, imm);
            fb.b.ins().bitcast(types::F32X4, le, s)
        };
        fb.for_n(self.planes, |fb, p| {
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, p, ih_n * iw_n * 4);
            let yb = fb.base(self.y);
            let y0 = fb.index(yb, p, oh_n * ow_n * 4);
            fb.for_n(oh_n, |fb, oh| {
                let r0 = fb.index(x0, oh, 2 * iw_n * 4);
                let yr = fb.index(y0, oh, ow_n * 4);
                // Four outputs from input columns `a0 ..`, stored at `ya`.
                let block = |fb: &mut Fb, a0: Value, ya: Value| {
                    let ld = |fb: &mut Fb, off: usize| {
                        fb.b.ins()
                            .load(types::F32X4, super::flags(), a0, off as i32)
                    };
                    let (t0, t1) = (ld(fb, 0), ld(fb, 16));
                    let (b0, b1) = (ld(fb, iw_n * 4), ld(fb, iw_n * 4 + 16));
                    let mut best = lanes(fb, t0, t1, 0);
                    let top_odd = lanes(fb, t0, t1, 1);
                    best = Self::step(fb, best, top_odd, true);
                    let bottom_even = lanes(fb, b0, b1, 0);
                    best = Self::step(fb, best, bottom_even, true);
                    let bottom_odd = lanes(fb, b0, b1, 1);
                    best = Self::step(fb, best, bottom_odd, true);
                    fb.b.ins().store(super::flags(), best, ya, 0);
                };
                fb.for_n(blocks, |fb, k| {
                    let a0 = fb.index(r0, k, 32);
                    let ya = fb.index(yr, k, 16);
                    block(fb, a0, ya);
                });
                // A row whose width is not a multiple of 4 ends with one block that
                // overlaps the previous one (recomputing equal values), when it fits.
                if ow_n % 4 != 0 && blocks >= 1 && 2 * ow_n <= iw_n {
                    let a0 = fb.b.ins().iadd_imm_s(r0, ((ow_n - 4) * 8) as i64);
                    let ya = fb.b.ins().iadd_imm_s(yr, ((ow_n - 4) * 4) as i64);
                    block(fb, a0, ya);
                    return;
                }
                let first = fb.c64((blocks * 4) as i64);
                let end = fb.c64(ow_n as i64);
                fb.for_range(first, end, |fb, ow| {
                    let xa = fb.index(r0, ow, 8);
                    let ld = |fb: &mut Fb, off: usize| {
                        fb.b.ins().load(types::F32, super::flags(), xa, off as i32)
                    };
                    let mut best = ld(fb, 0);
                    for off in [4, iw_n * 4, iw_n * 4 + 4] {
                        let v = ld(fb, off);
                        best = Self::step(fb, best, v, false);
                    }
                    let ya = fb.index(yr, ow, 4);
                    fb.b.ins().store(super::flags(), best, ya, 0);
                });
            });
        });
    }
}
