//! Convolutions (float, ConvInteger, quantized) and max / average pooling, N-d, NC... layout.
//!
//! All of them share one geometry helper: a table giving, for every kernel tap and output
//! position, the flat spatial input index it reads (or [`NONE`] when the tap falls into the
//! padding). Kernels then loop `for tap { for output { acc[o] += x[table] * w } }`, which keeps
//! the per-element summation order natural (input channel, then kernel taps in row-major
//! order) while running over contiguous memory.

use super::elementwise::{float_dispatch, num_dispatch};
use super::{arity, numel, prod, typed, Ctx, NONE, R};
use crate::quant::Multiplier;
use crate::{ConvAttrs, DType, Data, Element, PoolAttrs, Tensor};

/// Spatial geometry of a convolution or pooling.
pub(super) struct Spatial {
    in_sp: Vec<usize>,
    out_sp: Vec<usize>,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dil: Vec<usize>,
    pb: Vec<usize>,
    pe: Vec<usize>,
}

fn attr_vec(v: &[usize], n: usize, default: usize, what: &str) -> R<Vec<usize>> {
    if v.is_empty() {
        return Ok(vec![default; n]);
    }
    if v.len() != n {
        return Err(format!(
            "{what} has {} values for {n} spatial dims",
            v.len()
        ));
    }
    if v.contains(&0) {
        return Err(format!("{what} must be positive, got {v:?}"));
    }
    Ok(v.to_vec())
}

fn pads_vec(v: &[usize], n: usize) -> R<(Vec<usize>, Vec<usize>)> {
    if v.is_empty() {
        return Ok((vec![0; n], vec![0; n]));
    }
    if v.len() != 2 * n {
        return Err(format!(
            "pads has {} values, expected {} (begins then ends) for {n} spatial dims",
            v.len(),
            2 * n
        ));
    }
    Ok((v[..n].to_vec(), v[n..].to_vec()))
}

impl Spatial {
    #[allow(clippy::too_many_arguments)]
    fn new(
        in_sp: &[usize],
        kernel: &[usize],
        strides: &[usize],
        pads: &[usize],
        dilations: &[usize],
        ceil_mode: bool,
    ) -> R<Spatial> {
        let n = in_sp.len();
        if kernel.len() != n {
            return Err(format!(
                "kernel has {} dims but the input has {n} spatial dims",
                kernel.len()
            ));
        }
        if kernel.contains(&0) {
            return Err(format!("kernel dims must be positive, got {kernel:?}"));
        }
        let strides = attr_vec(strides, n, 1, "strides")?;
        let dil = attr_vec(dilations, n, 1, "dilations")?;
        let (pb, pe) = pads_vec(pads, n)?;
        let mut out_sp = Vec::with_capacity(n);
        for d in 0..n {
            let keff = dil[d]
                .checked_mul(kernel[d] - 1)
                .and_then(|v| v.checked_add(1))
                .ok_or("kernel extent overflows")?;
            let total = in_sp[d]
                .checked_add(pb[d])
                .and_then(|v| v.checked_add(pe[d]))
                .ok_or("padded size overflows")?;
            if total < keff {
                return Err(format!(
                    "spatial dim {d}: padded input size {total} is smaller than the kernel extent {keff}"
                ));
            }
            let span = total - keff;
            let mut o = if ceil_mode {
                span.div_ceil(strides[d])
            } else {
                span / strides[d]
            } + 1;
            // ONNX / PyTorch: the last window must start inside the input or the left padding.
            if ceil_mode && (o - 1).saturating_mul(strides[d]) >= in_sp[d] + pb[d] {
                o -= 1;
            }
            out_sp.push(o);
        }
        Ok(Spatial {
            in_sp: in_sp.to_vec(),
            out_sp,
            kernel: kernel.to_vec(),
            strides,
            dil,
            pb,
            pe,
        })
    }

    /// The window covers the whole input without padding (ONNX Runtime's global-pool case).
    pub(super) fn is_global(&self) -> bool {
        self.kernel == self.in_sp && self.pb.iter().chain(&self.pe).all(|&p| p == 0)
    }

    /// Output spatial sizes.
    pub(super) fn out_shape(&self) -> &[usize] {
        &self.out_sp
    }

    pub(super) fn out_n(&self) -> usize {
        prod(&self.out_sp)
    }

    pub(super) fn in_n(&self) -> usize {
        prod(&self.in_sp)
    }

    pub(super) fn taps(&self) -> usize {
        prod(&self.kernel)
    }

    /// Input coordinate of tap `k` for output `o` along dim `d` (may be out of range).
    fn coord(&self, d: usize, o: usize, k: usize) -> i128 {
        o as i128 * self.strides[d] as i128 - self.pb[d] as i128 + k as i128 * self.dil[d] as i128
    }

    /// Combines per-dim values over all output positions (row-major), `None` absorbing.
    fn combine<T: Copy>(
        &self,
        per_dim: &[Vec<Option<T>>],
        unit: T,
        join: impl Fn(T, T) -> T,
    ) -> Vec<Option<T>> {
        let mut cur = vec![Some(unit)];
        for vals in per_dim {
            let mut next = Vec::with_capacity(cur.len() * vals.len());
            for &p in &cur {
                for &v in vals {
                    next.push(match (p, v) {
                        (Some(a), Some(b)) => Some(join(a, b)),
                        _ => None,
                    });
                }
            }
            cur = next;
        }
        cur
    }

    /// `table[k * out_n + o]`: flat spatial input index read by tap `k` at output `o`.
    pub(super) fn table(&self) -> R<Vec<usize>> {
        let (o_n, k_n) = (self.out_n(), self.taps());
        numel(&[o_n, k_n])?;
        let n = self.in_sp.len();
        let in_strides = super::strides_of(&self.in_sp);
        let mut table = Vec::with_capacity(o_n * k_n);
        let mut kidx = vec![0usize; n];
        for _ in 0..k_n {
            let per_dim: Vec<Vec<Option<usize>>> = (0..n)
                .map(|d| {
                    (0..self.out_sp[d])
                        .map(|o| {
                            let c = self.coord(d, o, kidx[d]);
                            (c >= 0 && c < self.in_sp[d] as i128)
                                .then(|| c as usize * in_strides[d])
                        })
                        .collect()
                })
                .collect();
            table.extend(
                self.combine(&per_dim, 0usize, |a, b| a + b)
                    .into_iter()
                    .map(|v| v.unwrap_or(NONE)),
            );
            // Next tap (row-major over the kernel).
            for d in (0..n).rev() {
                kidx[d] += 1;
                if kidx[d] < self.kernel[d] {
                    break;
                }
                kidx[d] = 0;
            }
        }
        Ok(table)
    }

    /// Per output position: number of taps inside `[lo(d), hi(d))` along every dim.
    pub(super) fn counts(&self, include_pad: bool) -> Vec<usize> {
        let per_dim: Vec<Vec<Option<usize>>> = (0..self.in_sp.len())
            .map(|d| {
                let (lo, hi) = if include_pad {
                    (
                        -(self.pb[d] as i128),
                        self.in_sp[d] as i128 + self.pe[d] as i128,
                    )
                } else {
                    (0, self.in_sp[d] as i128)
                };
                (0..self.out_sp[d])
                    .map(|o| {
                        Some(
                            (0..self.kernel[d])
                                .filter(|&k| {
                                    let c = self.coord(d, o, k);
                                    c >= lo && c < hi
                                })
                                .count(),
                        )
                    })
                    .collect()
            })
            .collect();
        self.combine(&per_dim, 1usize, |a, b| a * b)
            .into_iter()
            .map(|v| v.unwrap_or(0))
            .collect()
    }
}

/// Multiply-accumulate in the accumulator type (floats IEEE, integers wrapping).
pub(crate) trait Mac: Copy {
    const ZERO: Self;
    fn mac(self, a: Self, b: Self) -> Self;
}

impl Mac for f32 {
    const ZERO: Self = 0.0;
    #[inline]
    fn mac(self, a: Self, b: Self) -> Self {
        self + a * b
    }
}

impl Mac for f64 {
    const ZERO: Self = 0.0;
    #[inline]
    fn mac(self, a: Self, b: Self) -> Self {
        self + a * b
    }
}

macro_rules! mac_int {
    ($($t:ty),*) => {$(
        impl Mac for $t {
            const ZERO: Self = 0;
            #[inline]
            fn mac(self, a: Self, b: Self) -> Self {
                self.wrapping_add(a.wrapping_mul(b))
            }
        }
    )*};
}
mac_int!(i32, i64, u32, u64);

/// Checked convolution shapes: (N, C, M, groups, geometry).
struct ConvShape {
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    sp: Spatial,
}

fn conv_shape(xs: &[usize], ws: &[usize], a: &ConvAttrs) -> R<ConvShape> {
    if xs.len() < 3 {
        return Err(format!(
            "input must have rank >= 3 (N, C, spatial...), got shape {xs:?}"
        ));
    }
    if ws.len() != xs.len() {
        return Err(format!(
            "weight rank {} differs from input rank {} (shapes {ws:?} and {xs:?})",
            ws.len(),
            xs.len()
        ));
    }
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    let group = a.group;
    if group == 0 {
        return Err("group must be positive".into());
    }
    if c % group != 0 || m % group != 0 {
        return Err(format!(
            "group {group} does not divide input channels {c} and output channels {m}"
        ));
    }
    if ws[1].checked_mul(group) != Some(c) {
        return Err(format!(
            "weight shape {ws:?} expects {} input channels ({} per group x {group} groups), input has {c}",
            ws[1].saturating_mul(group),
            ws[1]
        ));
    }
    let sp = Spatial::new(&xs[2..], &ws[2..], &a.strides, &a.pads, &a.dilations, false)?;
    Ok(ConvShape { n, c, m, group, sp })
}

/// Pure convolution (no bias): `y[n, m, o] = sum_{ci, k} x[n, g*cg + ci, tap] * w[m, ci, k]`,
/// summing input channels then taps in row-major order.
fn conv_core<T: Mac>(x: &[T], cs: &ConvShape, w: &[T]) -> R<Vec<T>> {
    let sp = &cs.sp;
    let (o_n, k_n, in_n) = (sp.out_n(), sp.taps(), sp.in_n());
    let table = sp.table()?;
    let cg = cs.c / cs.group;
    let mg = cs.m / cs.group;
    let mut y = vec![T::ZERO; numel(&[cs.n, cs.m, o_n])?];
    for b in 0..cs.n {
        for g in 0..cs.group {
            for mo in 0..mg {
                let m = g * mg + mo;
                let acc = &mut y[(b * cs.m + m) * o_n..(b * cs.m + m + 1) * o_n];
                for ci in 0..cg {
                    let c = g * cg + ci;
                    let xp = &x[(b * cs.c + c) * in_n..(b * cs.c + c + 1) * in_n];
                    let wr = &w[(m * cg + ci) * k_n..(m * cg + ci + 1) * k_n];
                    for (k, &wv) in wr.iter().enumerate() {
                        let row = &table[k * o_n..(k + 1) * o_n];
                        for (a, &i) in acc.iter_mut().zip(row) {
                            if i != NONE {
                                *a = a.mac(xp[i], wv);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(y)
}

fn out_shape(cs: &ConvShape) -> Vec<usize> {
    let mut s = vec![cs.n, cs.m];
    s.extend(&cs.sp.out_sp);
    s
}

/// Float convolution `[x, w, bias?]`: f32 (or f64) accumulation in natural order, bias added
/// last.
pub(crate) fn conv(ins: &[&Tensor], a: &ConvAttrs) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (x, w) = (ins[0], ins[1]);
    let cs = conv_shape(&x.shape, &w.shape, a)?;
    if let Some(b) = ins.get(2) {
        if b.len() != cs.m {
            return Err(format!(
                "bias has {} elements for {} output channels",
                b.len(),
                cs.m
            ));
        }
    }
    fn go<T: Mac + Element + std::ops::Add<Output = T>>(
        x: &Tensor,
        w: &Tensor,
        b: Option<&&Tensor>,
        cs: &ConvShape,
    ) -> R<Data> {
        let xv = typed::<T>(x, "x")?;
        let wv = typed::<T>(w, "weight")?;
        let mut y = conv_core(xv, cs, wv)?;
        if let Some(b) = b {
            let bv = typed::<T>(b, "bias")?;
            let o_n = cs.sp.out_n();
            for (i, v) in y.iter_mut().enumerate() {
                *v = *v + bv[(i / o_n.max(1)) % cs.m];
            }
        }
        Ok(T::wrap(y))
    }
    if x.dtype() == DType::F32 {
        return conv_f32_mlas(x, w, ins.get(2), &cs, a);
    }
    let data = float_dispatch!(x.dtype(), T => go::<T>(x, w, ins.get(2), &cs)?,
        return Err(format!("conv needs float operands, got {}", x.dtype())));
    Ok(Tensor::new(out_shape(&cs), data))
}

/// f32 convolution summed in ONNX Runtime's order (see [`super::mlas`]), bias added last.
fn conv_f32_mlas(
    x: &Tensor,
    w: &Tensor,
    b: Option<&&Tensor>,
    cs: &ConvShape,
    a: &ConvAttrs,
) -> R<Tensor> {
    let xv = typed::<f32>(x, "x")?;
    let wv = typed::<f32>(w, "weight")?;
    let bv = match b {
        Some(b) => Some(typed::<f32>(b, "bias")?),
        None => None,
    };
    let sp = &cs.sp;
    let (o_n, k_n, in_n) = (sp.out_n(), sp.taps(), sp.in_n());
    let table = sp.table()?;
    let (cg, mg) = (cs.c / cs.group, cs.m / cs.group);
    let pointwise = k_n == 1 && a.strides.iter().all(|&s| s == 1) && a.pads.iter().all(|&p| p == 0);
    let mut y = vec![0.0f32; numel(&[cs.n, cs.m, o_n])?];
    for bi in 0..cs.n {
        for g in 0..cs.group {
            let x0 = (bi * cs.c + g * cg) * in_n;
            let w0 = g * mg * cg * k_n;
            // im2col: `[cg * taps][o_n]`, 0.0 in the padding.
            let kk_n = cg * k_n;
            let mut colm = vec![0.0f32; kk_n * o_n];
            for (kk, dst) in colm.chunks_mut(o_n.max(1)).enumerate().take(kk_n) {
                let (ci, k) = (kk / k_n, kk % k_n);
                for (o, d) in dst.iter_mut().enumerate() {
                    let i = table[k * o_n + o];
                    if i != NONE {
                        *d = xv[x0 + ci * in_n + i];
                    }
                }
            }
            let wm = &wv[w0..w0 + mg * kk_n];
            let out = super::mlas::conv_group(mg, o_n, kk_n, pointwise, wm, &colm);
            for mo in 0..mg {
                let m = g * mg + mo;
                let dst = &mut y[(bi * cs.m + m) * o_n..(bi * cs.m + m + 1) * o_n];
                for (d, v) in dst.iter_mut().zip(&out[mo * o_n..(mo + 1) * o_n]) {
                    *d = match bv {
                        Some(bv) => *v + bv[m],
                        None => *v,
                    };
                }
            }
        }
    }
    Ok(Tensor::new(out_shape(cs), Data::F32(y)))
}

/// Stored integers as i32 minus a per-row zero point (`zp[row(i)]`).
fn minus_zp(t: &Tensor, zp: &[i64], row: impl Fn(usize) -> usize) -> Vec<i32> {
    t.data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v - zp[row(i)]) as i32)
        .collect()
}

/// Reads an optional zero-point operand: `n` values (a scalar is broadcast).
pub(crate) fn zero_points(
    t: Option<&&Tensor>,
    n: usize,
    int_dtype: DType,
    what: &str,
) -> R<Vec<i64>> {
    match t {
        None => Ok(vec![0; n]),
        Some(z) if z.is_empty() => Ok(vec![0; n]),
        Some(z) => {
            if z.dtype() != int_dtype {
                return Err(format!(
                    "{what} dtype {} differs from its tensor's {int_dtype}",
                    z.dtype()
                ));
            }
            let v = z.data.to_i64_vec();
            if v.len() == 1 {
                Ok(vec![v[0]; n])
            } else if v.len() == n {
                Ok(v)
            } else {
                Err(format!(
                    "{what} has {} elements, expected 1 or {n}",
                    v.len()
                ))
            }
        }
    }
}

fn int8_operand(t: &Tensor, what: &str) -> R<()> {
    match t.dtype() {
        DType::U8 | DType::I8 => Ok(()),
        d => Err(format!("{what} must be u8 or i8, got {d}")),
    }
}

/// ONNX ConvInteger `[x, w, x_zero_point?, w_zero_point?] -> i32`:
/// `sum (x - zx) * (w - zw[m])` with padding contributing 0.
pub(crate) fn conv_integer(ins: &[&Tensor], a: &ConvAttrs) -> R<Tensor> {
    arity(ins, 2, 4)?;
    let (x, w) = (ins[0], ins[1]);
    int8_operand(x, "x")?;
    int8_operand(w, "weight")?;
    let cs = conv_shape(&x.shape, &w.shape, a)?;
    let zx = zero_points(ins.get(2), 1, x.dtype(), "x_zero_point")?;
    let zw = zero_points(ins.get(3), cs.m, w.dtype(), "w_zero_point")?;
    let per_m = w.len() / cs.m.max(1);
    let xi = minus_zp(x, &zx, |_| 0);
    let wi = minus_zp(w, &zw, |i| i / per_m.max(1));
    let y = conv_core(&xi, &cs, &wi)?;
    Ok(Tensor::new(out_shape(&cs), Data::I32(y)))
}

/// Output requantization of one channel: multiplier, zero point.
pub(crate) struct ChannelRequant {
    pub mult: Multiplier,
    pub zp: i64,
}

/// Per-channel requantization for integer ops: input scale `s_in`, weight scales per channel,
/// output parameters per tensor or along `out_axis`.
pub(crate) fn channel_requants(
    ctx: &Ctx,
    alpha: f32,
    s_in: f32,
    w_scales: &[f32],
    out_axis: usize,
) -> R<(Vec<ChannelRequant>, (i64, i64), DType)> {
    let q = ctx.out_q(0)?;
    let dt = ctx.out_ty(0).dtype;
    if !dt.is_int() {
        return Err(format!(
            "the quantized result must have an integer dtype, got {dt}"
        ));
    }
    let c = w_scales.len();
    if q.axis.is_some() && (q.axis != Some(out_axis) || q.scale.len() != c) {
        return Err(format!(
            "result parameters must be per-tensor or per-axis along {out_axis} with {c} entries"
        ));
    }
    if q.scale.is_empty() || q.zero_point.len() != q.scale.len() {
        return Err("result parameters are empty or inconsistent".into());
    }
    let mode = ctx.module.requant;
    let v = (0..c)
        .map(|i| {
            let (sy, zy) = q.get(i);
            ChannelRequant {
                mult: Multiplier::with_alpha(mode, alpha, s_in, w_scales[i], sy),
                zp: zy as i64,
            }
        })
        .collect();
    let (qmin, qmax) = q.storage_range(dt);
    let clamp = match &ctx.node.op {
        crate::Op::QConv(_, c) | crate::Op::QGemm(_, c) => *c,
        _ => crate::Clamp::default(),
    };
    let (lo, hi) = clamp.bounds(qmin, qmax);
    if lo > hi {
        return Err(format!(
            "output clamp {:?} does not meet the storage range [{qmin}, {qmax}]",
            clamp.0
        ));
    }
    Ok((v, (lo, hi), dt))
}

/// Weight (or B) parameters: per-tensor or per-axis along `axis` with `c` entries, expanded
/// to `c` (scale, zero point) pairs.
pub(crate) fn weight_params(ctx: &Ctx, i: usize, axis: usize, c: usize) -> R<(Vec<f32>, Vec<i64>)> {
    let q = ctx.in_q(i)?;
    if q.scale.is_empty() || q.zero_point.len() != q.scale.len() {
        return Err(format!("operand {i} parameters are empty or inconsistent"));
    }
    match q.axis {
        None => Ok((vec![q.scale[0]; c], vec![q.zero_point[0] as i64; c])),
        Some(a) if a == axis && q.scale.len() == c => Ok((
            q.scale.clone(),
            q.zero_point.iter().map(|&z| z as i64).collect(),
        )),
        Some(a) => Err(format!(
            "operand {i} must be per-tensor or per-axis along {axis} with {c} entries, got axis {a} with {}",
            q.scale.len()
        )),
    }
}

/// Per-tensor parameters of an activation operand.
pub(crate) fn tensor_params(ctx: &Ctx, i: usize) -> R<(f32, i64)> {
    let q = ctx.in_q(i)?;
    if q.axis.is_some() || q.scale.is_empty() || q.zero_point.is_empty() {
        return Err(format!(
            "operand {i} must have per-tensor quantization parameters"
        ));
    }
    Ok((q.scale[0], q.zero_point[0] as i64))
}

/// Quantized convolution `[x: q, w: q, bias: i32?] -> q`: int32 accumulation of
/// `(x - zx) * (w - zw[m])` (padding contributes 0) plus bias, requantized per output channel.
pub(crate) fn qconv(ctx: &Ctx, ins: &[&Tensor], a: &ConvAttrs) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (x, w) = (ins[0], ins[1]);
    if !x.dtype().is_int() || !w.dtype().is_int() {
        return Err(format!(
            "operands must be quantized integers, got {} and {}",
            x.dtype(),
            w.dtype()
        ));
    }
    let cs = conv_shape(&x.shape, &w.shape, a)?;
    let (sx, zx) = tensor_params(ctx, 0)?;
    let (sw, zw) = weight_params(ctx, 1, 0, cs.m)?;
    if let Some(b) = ins.get(2).filter(|b| b.dtype() == DType::I64) {
        return qconv_i64(ctx, x, w, b, &cs, (sx, zx), (&sw, &zw));
    }
    let bias = match ins.get(2) {
        None => None,
        Some(b) => {
            let bv = typed::<i32>(b, "bias")?;
            if bv.len() != cs.m {
                return Err(format!(
                    "bias has {} elements for {} output channels",
                    bv.len(),
                    cs.m
                ));
            }
            Some(bv)
        }
    };
    let (req, (qmin, qmax), dt) = channel_requants(ctx, 1.0, sx, &sw, 1)?;
    let per_m = w.len() / cs.m.max(1);
    let xi = minus_zp(x, &[zx], |_| 0);
    let wi = minus_zp(w, &zw, |i| i / per_m.max(1));
    let acc = conv_core(&xi, &cs, &wi)?;
    let o_n = cs.sp.out_n().max(1);
    let vals: Vec<i64> = acc
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let m = (i / o_n) % cs.m;
            let v = bias.map_or(v, |b| v.wrapping_add(b[m]));
            req[m].mult.apply(v, req[m].zp, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(out_shape(&cs), Data::from_i64(dt, &vals)))
}

/// `qconv` with an int64 bias (TFLite's int16x8 kernels): int64 accumulation, bias added in
/// int64, requantized with [`Multiplier::apply_i64`].
fn qconv_i64(
    ctx: &Ctx,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    cs: &ConvShape,
    (sx, zx): (f32, i64),
    (sw, zw): (&[f32], &[i64]),
) -> R<Tensor> {
    let bv = typed::<i64>(b, "bias")?;
    if bv.len() != cs.m {
        return Err(format!(
            "bias has {} elements for {} output channels",
            bv.len(),
            cs.m
        ));
    }
    let (req, (qmin, qmax), dt) = channel_requants(ctx, 1.0, sx, sw, 1)?;
    let per_m = w.len() / cs.m.max(1);
    let xi: Vec<i64> = x.data.to_i64_vec().into_iter().map(|v| v - zx).collect();
    let wi: Vec<i64> = w
        .data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| v - zw[i / per_m.max(1)])
        .collect();
    let acc = conv_core(&xi, cs, &wi)?;
    let o_n = cs.sp.out_n().max(1);
    let vals: Vec<i64> = acc
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let m = (i / o_n) % cs.m;
            req[m]
                .mult
                .apply_i64(v.wrapping_add(bv[m]), req[m].zp, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(out_shape(cs), Data::from_i64(dt, &vals)))
}

pub(super) fn pool_geometry(x: &Tensor, a: &PoolAttrs) -> R<Spatial> {
    if x.shape.len() < 3 {
        return Err(format!(
            "input must have rank >= 3 (N, C, spatial...), got shape {:?}",
            x.shape
        ));
    }
    Spatial::new(
        &x.shape[2..],
        &a.kernel,
        &a.strides,
        &a.pads,
        &a.dilations,
        a.ceil_mode,
    )
}

/// Max pooling; with two results the second holds ONNX's flattened argmax indices
/// (`(n * C + c) * prod(spatial) + spatial_index`, row-major), first maximum wins.
pub(crate) fn maxpool(ctx: &Ctx, ins: &[&Tensor], a: &PoolAttrs) -> R<Vec<Tensor>> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let n_out = ctx.n_out();
    if n_out == 0 || n_out > 2 {
        return Err(format!("expects 1 or 2 results, the node has {n_out}"));
    }
    let sp = pool_geometry(x, a)?;
    let table = sp.table()?;
    let (o_n, k_n, in_n) = (sp.out_n(), sp.taps(), sp.in_n());
    let planes = prod(&x.shape[..2]);
    let mut shape = x.shape[..2].to_vec();
    shape.extend(&sp.out_sp);
    numel(&shape)?;
    let mut indices: Vec<i64> = Vec::with_capacity(planes * o_n);
    fn go<T: Element + PartialOrd>(
        xv: &[T],
        planes: usize,
        (o_n, k_n, in_n): (usize, usize, usize),
        table: &[usize],
        indices: &mut Vec<i64>,
    ) -> Data {
        let mut out = Vec::with_capacity(planes * o_n);
        for p in 0..planes {
            let xp = &xv[p * in_n..(p + 1) * in_n];
            let mut best = vec![T::from_i64(0); o_n];
            let mut at = vec![NONE; o_n];
            for k in 0..k_n {
                let row = &table[k * o_n..(k + 1) * o_n];
                for o in 0..o_n {
                    let i = row[o];
                    if i != NONE && (at[o] == NONE || xp[i] > best[o]) {
                        best[o] = xp[i];
                        at[o] = i;
                    }
                }
            }
            out.extend(best);
            indices.extend(
                at.iter()
                    .map(|&i| if i == NONE { -1 } else { (p * in_n + i) as i64 }),
            );
        }
        T::wrap(out)
    }
    let data = num_dispatch!(x.dtype(), T => go::<T>(typed::<T>(x, "x")?, planes, (o_n, k_n, in_n), &table, &mut indices),
        return Err("maxpool is not defined on bool".into()));
    let mut res = vec![Tensor::new(shape.clone(), data)];
    if n_out == 2 {
        res.push(Tensor::new(shape, Data::I64(indices)));
    }
    Ok(res)
}

/// Average pooling. The divisor is the number of taps inside the input
/// (`count_include_pad = false`) or inside the explicitly padded input (`true`; taps in the
/// ceil-mode overhang are never counted), as PyTorch does. f32 pooling (up to 3 spatial
/// dims) follows ONNX Runtime bit for bit instead ([`super::mlas_pool`]: MLAS's kernels, or
/// ORT's own loop for dilated or ceil-mode include-pad pooling); f64 sums in f64. Integer (quantized) inputs average the stored values with TFLite's
/// rounding (half away from zero).
pub(crate) fn avgpool(ins: &[&Tensor], a: &PoolAttrs) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let sp = pool_geometry(x, a)?;
    if x.dtype() == DType::F32 {
        let mut shape = x.shape[..2].to_vec();
        shape.extend(sp.out_shape());
        numel(&shape)?;
        let xv = typed::<f32>(x, "x")?;
        if let Some(v) = super::mlas_pool::average_pool(xv, &x.shape, sp.out_shape(), a) {
            return Ok(Tensor::new(shape, Data::F32(v)));
        }
    }
    let table = sp.table()?;
    let counts = sp.counts(a.count_include_pad);
    let (o_n, k_n, in_n) = (sp.out_n(), sp.taps(), sp.in_n());
    let planes = prod(&x.shape[..2]);
    let mut shape = x.shape[..2].to_vec();
    shape.extend(&sp.out_sp);
    numel(&shape)?;
    let sums = |xv: &[f64]| -> Vec<f64> {
        let mut out = Vec::with_capacity(planes * o_n);
        for p in 0..planes {
            let xp = &xv[p * in_n..(p + 1) * in_n];
            let mut acc = vec![0f64; o_n];
            for k in 0..k_n {
                let row = &table[k * o_n..(k + 1) * o_n];
                for (s, &i) in acc.iter_mut().zip(row) {
                    if i != NONE {
                        *s += xp[i];
                    }
                }
            }
            out.extend(acc);
        }
        out
    };
    let s = sums(&x.data.to_f64_vec());
    let data = match x.dtype() {
        DType::F32 | DType::F64 => {
            let v: Vec<f64> = s
                .iter()
                .enumerate()
                .map(|(i, &v)| v / counts[i % o_n.max(1)] as f64)
                .collect();
            Data::from_f64(x.dtype(), &v)
        }
        DType::Bool => return Err("avgpool is not defined on bool".into()),
        dt => {
            let v: Vec<i64> = s
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let c = counts[i % o_n.max(1)] as i64;
                    let sum = v as i64;
                    if c == 0 {
                        0
                    } else if sum > 0 {
                        (sum + c / 2) / c
                    } else {
                        (sum - c / 2) / c
                    }
                })
                .collect();
            Data::from_i64(dt, &v)
        }
    };
    Ok(Tensor::new(shape, data))
}

/// The window geometry of a pool over an input of `shape` (`[N, C, spatial...]`), for
/// compiled kernels that must read exactly the elements the interpreter reads.
#[derive(Clone, Debug)]
pub struct PoolTaps {
    /// Number of output positions per plane.
    pub out_n: usize,
    /// Number of input positions per plane.
    pub in_n: usize,
    /// Taps per window.
    pub taps: usize,
    /// `table[k * out_n + o]`: the flat spatial input index tap `k` reads at output `o`,
    /// None in the padding.
    pub table: Vec<Option<usize>>,
    /// Per output position: the taps inside the input (`count_include_pad = false`).
    pub inside: Vec<usize>,
    /// One window covering the whole plane.
    pub global: bool,
}

/// The [`PoolTaps`] of pool attributes `a` on an input of `shape`.
pub fn pool_taps(shape: &[usize], a: &PoolAttrs) -> crate::Result<PoolTaps> {
    let err = crate::Error::Exec;
    if shape.len() < 3 {
        return Err(err(format!(
            "pool input must have rank >= 3, got {shape:?}"
        )));
    }
    let sp = Spatial::new(
        &shape[2..],
        &a.kernel,
        &a.strides,
        &a.pads,
        &a.dilations,
        a.ceil_mode,
    )
    .map_err(err)?;
    let table = sp.table().map_err(err)?;
    Ok(PoolTaps {
        out_n: sp.out_n(),
        in_n: sp.in_n(),
        taps: sp.taps(),
        table: table
            .into_iter()
            .map(|i| (i != NONE).then_some(i))
            .collect(),
        inside: sp.counts(false),
        global: sp.is_global(),
    })
}
