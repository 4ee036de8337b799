//! `qconv`: quantized 1-d/2-d convolution (strided, padded with the input zero point,
//! dilated, grouped, depthwise), weights pre-packed with their zero points subtracted,
//! per-channel requantization baked into a table.
//!
//! Padding costs nothing: for every output row and column a table gives the range of kernel
//! taps that fall inside the input, so padded taps (which contribute `(z_x - z_x) * w = 0`
//! in the interpreter) are skipped without a branch per tap.

use super::pointwise::{self, Pointwise};
use super::requant::{self, OutMode, Requant};
use super::taps::{self, Taps};
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{ConvAttrs, DType};

/// Geometry along one spatial dim.
#[derive(Clone, Debug)]
pub struct Axis {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub output: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Dilation.
    pub dil: usize,
    /// Padding before.
    pub pad: usize,
}

impl Axis {
    /// For each output position, the `[lo, hi)` range of taps inside the input.
    pub fn tap_ranges(&self) -> Vec<(i32, i32)> {
        (0..self.output)
            .map(|o| {
                let valid: Vec<usize> = (0..self.kernel)
                    .filter(|&k| {
                        let c = (o * self.stride + k * self.dil) as i64 - self.pad as i64;
                        c >= 0 && c < self.input as i64
                    })
                    .collect();
                match (valid.first(), valid.last()) {
                    (Some(&a), Some(&b)) => (a as i32, b as i32 + 1),
                    _ => (0, 0),
                }
            })
            .collect()
    }

    /// The output size this geometry produces (floor mode), if the window fits.
    pub fn out_size(&self, end_pad: usize) -> Option<usize> {
        let keff = self.dil * (self.kernel.checked_sub(1)?) + 1;
        let total = self.input + self.pad + end_pad;
        (total >= keff).then(|| (total - keff) / self.stride + 1)
    }
}

/// Normalises 1-d/2-d geometry to two axes (H, W); `None` for other ranks.
pub fn axes(
    in_sp: &[usize],
    out_sp: &[usize],
    kernel: &[usize],
    strides: &[usize],
    pads: &[usize],
    dil: &[usize],
) -> Option<(Axis, Axis, [usize; 2])> {
    let n = in_sp.len();
    if !(1..=2).contains(&n) || out_sp.len() != n || kernel.len() != n {
        return None;
    }
    let get = |v: &[usize], i: usize, d: usize| {
        if v.is_empty() {
            Some(d)
        } else {
            v.get(i).copied()
        }
    };
    let mut ax = Vec::new();
    let mut ends = Vec::new();
    for d in 0..n {
        let pb = if pads.is_empty() { 0 } else { *pads.get(d)? };
        let pe = if pads.is_empty() {
            0
        } else {
            *pads.get(n + d)?
        };
        let a = Axis {
            input: in_sp[d],
            output: out_sp[d],
            kernel: kernel[d],
            stride: get(strides, d, 1)?,
            dil: get(dil, d, 1)?,
            pad: pb,
        };
        if a.stride == 0 || a.dil == 0 || a.kernel == 0 {
            return None;
        }
        ax.push(a);
        ends.push(pe);
    }
    if n == 1 {
        ax.insert(
            0,
            Axis {
                input: 1,
                output: 1,
                kernel: 1,
                stride: 1,
                dil: 1,
                pad: 0,
            },
        );
        ends.insert(0, 0);
    }
    let w = ax.pop()?;
    let h = ax.pop()?;
    Some((h, w, [ends[0], ends[1]]))
}

struct QConv {
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    h: Axis,
    w: Axis,
    x: Addr,
    x_dt: DType,
    zx: i32,
    wp: Addr,
    y: Addr,
    y_dt: DType,
    rows: Addr,
    cols: Addr,
    req: Requant,
    /// Vector blocks along W: (first output column, number of 8-wide blocks) where every
    /// tap is inside the input (u8/i8 output; strided columns are gathered).
    vec: Option<(usize, usize)>,
    /// Weights of channel pairs for the vector kernel: `[M][cg/2][KH][KW]` i32 holding
    /// `w[c]` in the low and `w[c+1]` in the high 16 bits.
    wpairs: Addr,
    /// For an odd last input channel (depthwise convs): tap pairs along W,
    /// `[M][KH][KW/2]` i32 holding `w[kw=2p]` low and `w[kw=2p+1]` high.
    tpairs: Addr,
    /// Output channels computed together by the vector kernels (sharing input loads).
    mb: usize,
    /// The interior kernel for few input channels per group (depthwise, stem).
    taps: Option<Taps>,
    /// The kernel of pointwise convolutions (planes flattened to one row).
    pw: Option<Pointwise>,
}

/// The (H, W) geometry of a convolution from its operand, weight and result dims and
/// attributes (see [`axes`]).
pub fn conv_axes(
    xs: &[usize],
    ws: &[usize],
    ys: &[usize],
    a: &ConvAttrs,
) -> Option<(Axis, Axis, [usize; 2])> {
    axes(
        &xs[2..],
        &ys[2..],
        &ws[2..],
        &a.strides,
        &a.pads,
        &a.dilations,
    )
}

/// A 1x1, stride-1, unpadded convolution reads each plane as one contiguous row: returns
/// whether it is one, and the axes (`H = 1`, `W = H * W` when it is).
pub fn flatten_pointwise(h: Axis, w: Axis, ends: [usize; 2]) -> (bool, Axis, Axis) {
    let pointwise = |a: &Axis, e: usize| a.kernel == 1 && a.stride == 1 && a.pad == 0 && e == 0;
    if !(pointwise(&h, ends[0]) && pointwise(&w, ends[1])) {
        return (false, h, w);
    }
    let hw = h.input * w.input;
    let one = Axis {
        input: 1,
        output: 1,
        kernel: 1,
        stride: 1,
        dil: 1,
        pad: 0,
    };
    let row = Axis {
        input: hw,
        output: hw,
        ..one.clone()
    };
    (true, one, row)
}

/// A conv's quantization: the input's scale and zero point, per-output-channel weight
/// scales and zero points, and the result's parameters.
pub struct ConvQuant {
    /// Input scale.
    pub sx: f32,
    /// Input zero point.
    pub zx: i32,
    /// Weight scale per output channel.
    pub sw: Vec<f32>,
    /// Weight zero point per output channel.
    pub zw: Vec<i32>,
    /// Result parameters (per tensor, or per channel along dim 1).
    pub yq: qcc_ir::QParams,
}

/// The [`ConvQuant`] of the node with `m` output channels, `None` for parameter layouts the
/// kernels do not handle (per-tensor input, weights per tensor or along dim 0).
pub fn conv_quant(
    l: &Lower,
    m: usize,
    y_ty: &qcc_ir::TensorType,
) -> Result<Option<ConvQuant>, String> {
    let Some((sx, zx)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(wq) = l.in_ty(1)?.quant.clone() else {
        return Ok(None);
    };
    let (sw, zw): (Vec<f32>, Vec<i32>) = match wq.axis {
        None => (vec![wq.scale[0]; m], vec![wq.zero_point[0]; m]),
        Some(0) if wq.scale.len() == m => (wq.scale.clone(), wq.zero_point.clone()),
        _ => return Ok(None),
    };
    let Some(yq) = y_ty.quant.clone() else {
        return Ok(None);
    };
    if yq.axis.is_some() && (yq.axis != Some(1) || yq.scale.len() != m) {
        return Ok(None);
    }
    Ok(Some(ConvQuant { sx, zx, sw, zw, yq }))
}

/// Lowers a `qconv` node (rank 3 or 4, constant weights and bias); `clamp` is a fused
/// output clamp `[lo, hi]` on the stored values.
pub fn lower(l: &mut Lower, a: &ConvAttrs, clamp: Option<(i64, i64)>) -> Lowered {
    let xs = l.in_dims(0)?;
    let ws = l.in_dims(1)?;
    let ys = l.out_dims(0)?;
    let x_dt = l.in_ty(0)?.dtype;
    let y_ty = l.out_ty(0)?.clone();
    if !matches!(x_dt, DType::U8 | DType::I8)
        || !small_int(y_ty.dtype)
        || xs.len() < 3
        || ws.len() != xs.len()
        || ys.len() != xs.len()
    {
        return Ok(None);
    }
    let Some(wt) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let bias: Option<Vec<i32>> = match l.node.inputs.len() {
        2 => None,
        3 => match l.const_operand(2) {
            Some(t) => match t.as_slice::<i32>() {
                Some(b) => Some(b.to_vec()),
                None => return Ok(None),
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    let group = a.group;
    if group == 0
        || c % group != 0
        || m % group != 0
        || ws[1] * group != c
        || ys[1] != m
        || ys[0] != n
    {
        return Err(format!(
            "inconsistent shapes {xs:?} * {ws:?} -> {ys:?} (group {group})"
        ));
    }
    let Some((h, w, ends)) = conv_axes(&xs, &ws, &ys, a) else {
        return Ok(None);
    };
    if h.out_size(ends[0]) != Some(h.output) || w.out_size(ends[1]) != Some(w.output) {
        return Err(format!(
            "result shape {ys:?} does not match the convolution geometry"
        ));
    }
    let (is_pw, h, w) = flatten_pointwise(h, w, ends);
    let Some(ConvQuant { sx, zx, sw, zw, yq }) = conv_quant(l, m, &y_ty)? else {
        return Ok(None);
    };
    if let Some(b) = &bias {
        if b.len() != m {
            return Err(format!(
                "bias has {} elements for {m} output channels",
                b.len()
            ));
        }
    }
    let wv = wt.data.to_i64_vec();
    let per_m = wv.len() / m.max(1);
    let packed: Vec<i32> = wv
        .iter()
        .enumerate()
        .map(|(i, &v)| (v - zw[i / per_m.max(1)] as i64) as i32)
        .collect();
    let chans = requant::channels(l.module.requant, 1.0, sx, &sw, &yq, bias.as_deref())?;
    let (qmin, qmax) = super::out_bounds(yq.storage_range(y_ty.dtype), clamp)?;
    let req = Requant::new(l.pool, &chans, OutMode::Quant { qmin, qmax });
    let flat =
        |v: Vec<(i32, i32)>| -> Vec<i32> { v.into_iter().flat_map(|(a, b)| [a, b]).collect() };
    let rows = l.pool.i32s(&flat(h.tap_ranges()));
    let cols = l.pool.i32s(&flat(w.tap_ranges()));
    let wp = l.pool.i32s(&packed);
    let vec = if l.simd && matches!(y_ty.dtype, DType::U8 | DType::I8) {
        let full = (0, w.kernel as i32);
        let r = w.tap_ranges();
        let a = r.iter().position(|&t| t == full);
        a.map(|a| {
            let b = a + r[a..].iter().take_while(|&&t| t == full).count();
            (a, (b - a) / 8)
        })
        .filter(|&(_, nb)| nb > 0)
    } else {
        None
    };
    let (cg, taps) = (c / group, h.kernel * w.kernel);
    let mut pairs = Vec::with_capacity(m * (cg / 2) * taps);
    for mi in 0..m {
        for cp in 0..cg / 2 {
            for t in 0..taps {
                let w0 = packed[(mi * cg + 2 * cp) * taps + t] as i16 as u16 as u32;
                let w1 = packed[(mi * cg + 2 * cp + 1) * taps + t] as i16 as u16 as u32;
                pairs.push((w0 | (w1 << 16)) as i32);
            }
        }
    }
    let wpairs = l.pool.i32s(&pairs);
    let (kh_n, kw_n) = (h.kernel, w.kernel);
    let mut tp = Vec::new();
    if cg % 2 == 1 {
        for mi in 0..m {
            for kh in 0..kh_n {
                for p in 0..kw_n / 2 {
                    let at = |kw: usize| (mi * cg + cg - 1) * taps + kh * kw_n + kw;
                    let w0 = packed[at(2 * p)] as i16 as u16 as u32;
                    let w1 = packed[at(2 * p + 1)] as i16 as u16 as u32;
                    tp.push((w0 | (w1 << 16)) as i32);
                }
            }
        }
    }
    let tpairs = l.pool.i32s(&tp);
    let mg = m / group;
    let pw = if l.simd && is_pw {
        pointwise::plan(
            l.pool,
            w.input,
            (m, cg, mg),
            &packed,
            bias.as_deref(),
            zx,
            x_dt,
            y_ty.dtype,
        )
    } else {
        None
    };
    let mb = if let Some(p) = &pw {
        p.mb()
    } else if vec.is_some() {
        [4, 2, 1]
            .into_iter()
            .find(|b| mg.is_multiple_of(*b))
            .unwrap_or(1)
    } else {
        1
    };
    let taps = if l.simd {
        taps::plan(
            l.pool,
            (&h, &w, ends),
            (m, cg, mg, mb),
            &packed,
            bias.as_deref(),
            zx,
            x_dt,
            y_ty.dtype,
        )
    } else {
        None
    };
    Ok(Some(Box::new(QConv {
        mb,
        taps,
        pw,
        tpairs,
        vec,
        wpairs,
        n,
        c,
        m,
        group,
        x: l.in_addr(0)?,
        x_dt,
        zx,
        wp,
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        rows,
        cols,
        req,
        h,
        w,
    })))
}

/// Loads a `[lo, hi)` pair (i32) at `table[i]` as two i64 values.
fn range(fb: &mut Fb, table: Addr, i: Value) -> (Value, Value) {
    let base = fb.base(table);
    let p = fb.index(base, i, 8);
    let lo = fb.b.ins().sload32(super::const_flags(), p, 0);
    let hi = fb.b.ins().sload32(super::const_flags(), p, 4);
    (lo, hi)
}

/// Per-output-channel values of one block member: (m, table row, bias, weight base, y base).
type Chan = (Value, Value, Value, Value, Value);

impl Kernel for QConv {
    fn emit(&self, fb: &mut Fb) {
        let (cg, mg) = (self.c / self.group, self.m / self.group);
        let mb = self.mb;
        let (kh_n, kw_n) = (self.h.kernel, self.w.kernel);
        let (ih_n, iw_n) = (self.h.input, self.w.input);
        let (oh_n, ow_n) = (self.h.output, self.w.output);
        let xsz = self.x_dt.size();
        let buf = match &self.taps {
            Some(t) if t.is_padded() => Some(t.padded_buffer(fb)),
            _ => None,
        };
        fb.for_n(self.n, |fb, b| {
            fb.for_n(self.group, |fb, g| {
                fb.for_n(mg / mb, |fb, mob| {
                    let bc = fb.b.ins().imul_imm_s(b, self.c as i64);
                    let gc = fb.b.ins().imul_imm_s(g, cg as i64);
                    let ch0 = fb.b.ins().iadd(bc, gc);
                    let xbase = fb.base(self.x);
                    let x0 = fb.index(xbase, ch0, ih_n * iw_n * xsz);
                    let mut chans: Vec<Chan> = Vec::with_capacity(mb);
                    for j in 0..mb {
                        let gm = fb.b.ins().imul_imm_s(g, mg as i64);
                        let mo = fb.b.ins().imul_imm_s(mob, mb as i64);
                        let mo = fb.b.ins().iadd_imm_s(mo, j as i64);
                        let m = fb.b.ins().iadd(gm, mo);
                        let row = self.req.row(fb, m);
                        let bias = self.req.bias(fb, row);
                        let wbase = fb.base(self.wp);
                        let w0 = fb.index(wbase, m, cg * kh_n * kw_n * 4);
                        let bm = fb.b.ins().imul_imm_s(b, self.m as i64);
                        let bm = fb.b.ins().iadd(bm, m);
                        let ybase = fb.base(self.y);
                        let y0 = fb.index(ybase, bm, oh_n * ow_n * self.y_dt.size());
                        chans.push((m, row, bias, w0, y0));
                    }
                    if let Some(p) = &self.pw {
                        let outs: Vec<pointwise::Out> =
                            chans.iter().map(|c| (c.0, c.1, c.4)).collect();
                        p.emit(fb, &self.req, &outs, x0);
                        return;
                    }
                    let Some(t) = &self.taps else {
                        fb.for_n(oh_n, |fb, oh| self.emit_row(fb, &chans, x0, oh));
                        return;
                    };
                    // Padded border rows as before; interior rows: scalar border columns
                    // and the tap-pair kernel in between.
                    let outs: Vec<taps::Out> = chans.iter().map(|c| (c.0, c.1, c.4)).collect();
                    let pass = t.pass(fb, &self.req, &outs);
                    if let Some(buf) = buf {
                        let xb = t.copy_plane(fb, buf, x0);
                        fb.for_n(oh_n, |fb, oh| {
                            t.emit_row(fb, &self.req, &pass, &outs, xb, oh);
                        });
                        return;
                    }
                    let (r0, r1) = t.rows;
                    let (c0, c1) = t.cols;
                    fb.for_span(0, r0, |fb, oh| self.emit_row(fb, &chans, x0, oh));
                    fb.for_span(r0, r1, |fb, oh| {
                        let rows = self.row_taps(fb, oh);
                        for ch in &chans {
                            self.emit_scalar(fb, *ch, x0, rows, 0, c0);
                        }
                        t.emit_row(fb, &self.req, &pass, &outs, x0, oh);
                        for ch in &chans {
                            self.emit_scalar(fb, *ch, x0, rows, c1, ow_n);
                        }
                    });
                    fb.for_span(r1, oh_n, |fb, oh| self.emit_row(fb, &chans, x0, oh));
                });
            });
        });
    }
}

impl QConv {
    /// Row `oh`'s kernel-row range and first input row: `(oh, khlo, khhi, ih0)`.
    fn row_taps(&self, fb: &mut Fb, oh: Value) -> (Value, Value, Value, Value) {
        let (khlo, khhi) = range(fb, self.rows, oh);
        let ih0 = fb.b.ins().imul_imm_s(oh, self.h.stride as i64);
        let ih0 = fb.b.ins().iadd_imm_s(ih0, -(self.h.pad as i64));
        (oh, khlo, khhi, ih0)
    }

    /// Output row `oh` of every channel in `chans`: scalar border columns and the
    /// channel-pair vector kernel on the interior.
    fn emit_row(&self, fb: &mut Fb, chans: &[Chan], x0: Value, oh: Value) {
        let ow_n = self.w.output;
        let rows = self.row_taps(fb, oh);
        match self.vec {
            None => {
                for ch in chans {
                    self.emit_scalar(fb, *ch, x0, rows, 0, ow_n);
                }
            }
            Some((a, nb)) => {
                for ch in chans {
                    self.emit_scalar(fb, *ch, x0, rows, 0, a);
                }
                self.emit_vector(fb, chans, x0, rows, a, nb);
                for ch in chans {
                    self.emit_scalar(fb, *ch, x0, rows, a + 8 * nb, ow_n);
                }
            }
        }
    }

    /// Output columns `lo..hi` of row `oh` for one channel, one at a time, with the
    /// per-column tap ranges (the borders of padded convolutions).
    fn emit_scalar(
        &self,
        fb: &mut Fb,
        (_, row, bias, w0, y0): Chan,
        x0: Value,
        (oh, khlo, khhi, ih0): (Value, Value, Value, Value),
        lo: usize,
        hi: usize,
    ) {
        if lo >= hi {
            return;
        }
        let cg = self.c / self.group;
        let (kh_n, kw_n) = (self.h.kernel, self.w.kernel);
        let (ih_n, iw_n, ow_n) = (self.h.input, self.w.input, self.w.output);
        let xsz = self.x_dt.size();
        let lo = fb.c64(lo as i64);
        let hi = fb.c64(hi as i64);
        fb.for_range(lo, hi, |fb, ow| {
            let (kwlo, kwhi) = range(fb, self.cols, ow);
            let iw0 = fb.b.ins().imul_imm_s(ow, self.w.stride as i64);
            let iw0 = fb.b.ins().iadd_imm_s(iw0, -(self.w.pad as i64));
            let acc = fb.var(types::I32, bias);
            fb.for_n(cg, |fb, ci| {
                let xc = fb.index(x0, ci, ih_n * iw_n * xsz);
                let wc = fb.index(w0, ci, kh_n * kw_n * 4);
                fb.for_range(khlo, khhi, |fb, kh| {
                    let ih = fb.b.ins().imul_imm_s(kh, self.h.dil as i64);
                    let ih = fb.b.ins().iadd(ih, ih0);
                    let xr = fb.index(xc, ih, iw_n * xsz);
                    let wr = fb.index(wc, kh, kw_n * 4);
                    fb.for_range(kwlo, kwhi, |fb, kw| {
                        let iw = fb.b.ins().imul_imm_s(kw, self.w.dil as i64);
                        let iw = fb.b.ins().iadd(iw, iw0);
                        let xa = fb.index(xr, iw, xsz);
                        let xv = fb.load_int(self.x_dt, xa, 0);
                        let xv = fb.b.ins().iadd_imm_s(xv, -(self.zx as i64));
                        let wa = fb.index(wr, kw, 4);
                        let wv = fb.b.ins().load(types::I32, super::const_flags(), wa, 0);
                        let p = fb.b.ins().imul(xv, wv);
                        let a = fb.b.use_var(acc);
                        let a = fb.b.ins().iadd(a, p);
                        fb.b.def_var(acc, a);
                    });
                });
            });
            let a = fb.b.use_var(acc);
            let q = self.req.apply(fb, row, a);
            let oh_ow = fb.b.ins().imul_imm_s(oh, ow_n as i64);
            let o = fb.b.ins().iadd(oh_ow, ow);
            let ya = fb.index(y0, o, self.y_dt.size());
            fb.store_int(self.y_dt, q, ya, 0);
        });
    }

    /// Eight output columns of every channel in `chans` at a time: `nb` blocks from column
    /// `a` of row `oh`, all taps inside the input. Input channel pairs are loaded, widened
    /// and interleaved once and multiplied-added (pmaddwd) against each output channel's
    /// packed weight pair; an odd last input channel uses broadcast i32 multiplies.
    fn emit_vector(
        &self,
        fb: &mut Fb,
        chans: &[Chan],
        x0: Value,
        (oh, khlo, khhi, ih0): (Value, Value, Value, Value),
        a: usize,
        nb: usize,
    ) {
        use super::simd;
        let cg = self.c / self.group;
        let (kh_n, kw_n) = (self.h.kernel, self.w.kernel);
        let (ih_n, iw_n, ow_n) = (self.h.input, self.w.input, self.w.output);
        let xsz = self.x_dt.size();
        let plane = ih_n * iw_n * xsz;
        let z16 = fb.b.ins().iconst(types::I16, self.zx as i64);
        let zx16 = fb.b.ins().splat(types::I16X8, z16);
        let wpb = fb.base(self.wpairs);
        let wp0: Vec<Value> = chans
            .iter()
            .map(|ch| fb.index(wpb, ch.0, (cg / 2) * kh_n * kw_n * 4))
            .collect();
        fb.for_n(nb, |fb, blk| {
            let ow0 = fb.b.ins().imul_imm_s(blk, 8);
            let ow0 = fb.b.ins().iadd_imm_s(ow0, a as i64);
            let iw0 = fb.b.ins().imul_imm_s(ow0, self.w.stride as i64);
            let iw0 = fb.b.ins().iadd_imm_s(iw0, -(self.w.pad as i64));
            let accs: Vec<_> = chans
                .iter()
                .map(|ch| {
                    let bv = fb.b.ins().splat(types::I32X4, ch.2);
                    (fb.var(types::I32X4, bv), fb.var(types::I32X4, bv))
                })
                .collect();
            fb.for_n(cg / 2, |fb, cp| {
                let xc0 = fb.index(x0, cp, 2 * plane);
                let xc1 = fb.b.ins().iadd_imm_s(xc0, plane as i64);
                let wcs: Vec<Value> = wp0
                    .iter()
                    .map(|&w| fb.index(w, cp, kh_n * kw_n * 4))
                    .collect();
                fb.for_range(khlo, khhi, |fb, kh| {
                    let ih = fb.b.ins().imul_imm_s(kh, self.h.dil as i64);
                    let ih = fb.b.ins().iadd(ih, ih0);
                    let rowoff = fb.b.ins().imul_imm_s(ih, (iw_n * xsz) as i64);
                    let colo = fb.b.ins().imul_imm_s(iw0, xsz as i64);
                    let o = fb.b.ins().iadd(rowoff, colo);
                    let xr0 = fb.b.ins().iadd(xc0, o);
                    let xr1 = fb.b.ins().iadd(xc1, o);
                    let khoff = fb.b.ins().imul_imm_s(kh, (kw_n * 4) as i64);
                    for kw in 0..kw_n {
                        let off = (kw * self.w.dil * xsz) as i32;
                        let x =
                            simd::load_pair(fb, self.x_dt, (xr0, xr1), off, self.w.stride, zx16);
                        for (wc, acc) in wcs.iter().zip(&accs) {
                            let wr = fb.b.ins().iadd(*wc, khoff);
                            let w = fb.b.ins().load(
                                types::I32,
                                super::const_flags(),
                                wr,
                                (kw * 4) as i32,
                            );
                            simd::madd_pair(fb, x, w, *acc);
                        }
                    }
                });
            });
            // An odd last input channel (all of a depthwise conv): pairs of taps.
            for ci in (cg / 2 * 2)..cg {
                let xc = fb.b.ins().iadd_imm_s(x0, (ci * plane) as i64);
                fb.for_range(khlo, khhi, |fb, kh| {
                    let ih = fb.b.ins().imul_imm_s(kh, self.h.dil as i64);
                    let ih = fb.b.ins().iadd(ih, ih0);
                    let xr = fb.index(xc, ih, iw_n * xsz);
                    let xr = fb.index(xr, iw0, xsz);
                    // Tap pairs along W: pmaddwd against packed (w[2p], w[2p+1]).
                    let khp = fb.b.ins().imul_imm_s(kh, ((kw_n / 2) * 4) as i64);
                    for p in 0..kw_n / 2 {
                        let off = |kw: usize| (kw * self.w.dil * xsz) as i32;
                        let x = simd::load_pair_at(
                            fb,
                            self.x_dt,
                            (xr, off(2 * p)),
                            (xr, off(2 * p + 1)),
                            self.w.stride,
                            zx16,
                        );
                        for (ch, acc) in chans.iter().zip(&accs) {
                            let tb = fb.base(self.tpairs);
                            let tr = fb.index(tb, ch.0, kh_n * (kw_n / 2) * 4);
                            let tr = fb.b.ins().iadd(tr, khp);
                            let w = fb.b.ins().load(
                                types::I32,
                                super::const_flags(),
                                tr,
                                (p * 4) as i32,
                            );
                            simd::madd_pair(fb, x, w, *acc);
                        }
                    }
                    for kw in (kw_n / 2 * 2)..kw_n {
                        let off = (kw * self.w.dil * xsz) as i32;
                        let x = simd::load_wide(fb, self.x_dt, xr, off, self.w.stride, zx16);
                        for (ch, acc) in chans.iter().zip(&accs) {
                            let wc = fb.b.ins().iadd_imm_s(ch.3, (ci * kh_n * kw_n * 4) as i64);
                            let wr = fb.index(wc, kh, kw_n * 4);
                            let w = fb.b.ins().load(
                                types::I32,
                                super::const_flags(),
                                wr,
                                (kw * 4) as i32,
                            );
                            simd::mul_acc(fb, x, w, *acc);
                        }
                    }
                });
            }
            for (ch, acc) in chans.iter().zip(&accs) {
                let lo = fb.b.use_var(acc.0);
                let hi = fb.b.use_var(acc.1);
                let o = fb.b.ins().imul_imm_s(oh, ow_n as i64);
                let o = fb.b.ins().iadd(o, ow0);
                let ya = fb.index(ch.4, o, self.y_dt.size());
                simd::requant_store8(fb, &self.req, ch.1, lo, hi, self.y_dt, ya);
            }
        });
    }
}
