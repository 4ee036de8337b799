//! Quantization ops: static (`quantize`, `dequantize`, `requantize`: parameters in the types)
//! and dynamic ONNX forms (`quantize_linear`, `dequantize_linear`: parameters as operands;
//! `dynamic_quantize_linear`).

use super::{arity, norm_axis, typed, Ctx, R};
use crate::quant::{dequantize_f32, quantize_f32, quantize_f64, round_half_even};
use crate::{DType, Data, QParams, Tensor};

/// Maps a flat element index to its parameter index (per-tensor, per-axis or blocked).
#[derive(Clone, Copy, Debug)]
enum Layout {
    Tensor,
    Axis {
        inner: usize,
        dim: usize,
    },
    Block {
        inner: usize,
        dim: usize,
        bdim: usize,
        bs: usize,
    },
}

impl Layout {
    #[inline]
    fn idx(self, flat: usize) -> usize {
        match self {
            Layout::Tensor => 0,
            Layout::Axis { inner, dim } => (flat / inner) % dim,
            Layout::Block {
                inner,
                dim,
                bdim,
                bs,
            } => {
                let o = flat / (inner * dim);
                let i = (flat / inner) % dim;
                let r = flat % inner;
                (o * bdim + i / bs) * inner + r
            }
        }
    }

    /// Per-axis layout along `axis` of `shape` for `n` parameters.
    fn axis(shape: &[usize], axis: usize, n: usize, what: &str) -> R<Layout> {
        if axis >= shape.len() {
            return Err(format!(
                "{what}: quantization axis {axis} is out of range for shape {shape:?}"
            ));
        }
        if n != shape[axis] {
            return Err(format!(
                "{what}: {n} per-axis parameters but dim {axis} of {shape:?} is {}",
                shape[axis]
            ));
        }
        let inner = super::prod(&shape[axis + 1..]);
        Ok(Layout::Axis {
            inner: inner.max(1),
            dim: shape[axis].max(1),
        })
    }
}

/// Validated static parameters of one tensor: per-element (scale, zero point) lookup.
struct Static<'q> {
    q: &'q QParams,
    layout: Layout,
}

impl<'q> Static<'q> {
    fn new(q: &'q QParams, shape: &[usize], what: &str) -> R<Self> {
        if q.scale.len() != q.zero_point.len() || q.scale.is_empty() {
            return Err(format!(
                "{what}: {} scales and {} zero points",
                q.scale.len(),
                q.zero_point.len()
            ));
        }
        let layout = match q.axis {
            None => Layout::Tensor,
            Some(a) => Layout::axis(shape, a, q.scale.len(), what)?,
        };
        Ok(Static { q, layout })
    }

    #[inline]
    fn at(&self, flat: usize) -> (f32, i64) {
        let i = self.layout.idx(flat);
        (self.q.scale[i], self.q.zero_point[i] as i64)
    }
}

fn quantized_dtype(dt: DType, what: &str) -> R<(i64, i64)> {
    if !dt.is_int() {
        return Err(format!("{what} must have an integer dtype, got {dt}"));
    }
    Ok(dt.int_range().unwrap_or((i64::MIN, i64::MAX)))
}

/// Float values of a float tensor as f32 (f64 inputs are rounded).
fn floats_f32(t: &Tensor, what: &str) -> R<Vec<f32>> {
    match &t.data {
        Data::F32(v) => Ok(v.clone()),
        Data::F64(v) => Ok(v.iter().map(|&x| x as f32).collect()),
        _ => Err(format!("{what} must be a float tensor, got {}", t.dtype())),
    }
}

/// `[x: f32] -> q`: quantize with the result type's parameters.
pub(crate) fn quantize(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let q = ctx.out_q(0)?;
    let dt = ctx.out_ty(0).dtype;
    quantized_dtype(dt, "the result")?;
    let (qmin, qmax) = q.storage_range(dt);
    let p = Static::new(q, &x.shape, "result parameters")?;
    let vals: Vec<i64> = match &x.data {
        Data::F32(v) => v
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let (s, z) = p.at(i);
                crate::quant::quantize_f32_mode(ctx.module.requant, r, s, z, qmin, qmax)
            })
            .collect(),
        Data::F64(v) => v
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let (s, z) = p.at(i);
                quantize_f64(r, s as f64, z, qmin, qmax)
            })
            .collect(),
        _ => return Err(format!("operand must be a float tensor, got {}", x.dtype())),
    };
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)))
}

/// `[x: q] -> f32`: `(x - z) * s` with the operand type's parameters.
pub(crate) fn dequantize(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    quantized_dtype(x.dtype(), "the operand")?;
    let p = Static::new(ctx.in_q(0)?, &x.shape, "operand parameters")?;
    let vals: Vec<f32> = x
        .data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, q)| {
            let (s, z) = p.at(i);
            dequantize_f32(q, s, z)
        })
        .collect();
    float_result(ctx.out_ty(0).dtype, x.shape.clone(), vals)
}

fn float_result(dt: DType, shape: Vec<usize>, v: Vec<f32>) -> R<Tensor> {
    match dt {
        DType::F32 => Ok(Tensor::new(shape, Data::F32(v))),
        DType::F64 => Ok(Tensor::new(
            shape,
            Data::F64(v.into_iter().map(f64::from).collect()),
        )),
        _ => Err(format!("the result must be a float type, got {dt}")),
    }
}

/// `[x: q] -> q'`: `quantize(dequantize(x))` in f32 with the operand's and result's parameters.
pub(crate) fn requantize(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    quantized_dtype(x.dtype(), "the operand")?;
    let pin = Static::new(ctx.in_q(0)?, &x.shape, "operand parameters")?;
    let qout = ctx.out_q(0)?;
    let dt = ctx.out_ty(0).dtype;
    quantized_dtype(dt, "the result")?;
    let (qmin, qmax) = qout.storage_range(dt);
    let qin = ctx.in_q(0)?;
    if ctx.module.requant == crate::RequantMode::FixedPoint
        && qin.is_per_tensor()
        && qout.is_per_tensor()
    {
        // TFLite's reference Requantize.
        let (zi, zo) = (qin.zero_point[0] as i64, qout.zero_point[0] as i64);
        let (m0, shift) =
            crate::quant::quantize_multiplier(qin.scale[0] as f64 / qout.scale[0] as f64);
        let vals: Vec<i64> = x
            .data
            .to_i64_vec()
            .into_iter()
            .map(|q| {
                let v = crate::quant::multiply_by_quantized_multiplier((q - zi) as i32, m0, shift);
                (v as i64 + zo).clamp(qmin, qmax)
            })
            .collect();
        return Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)));
    }
    let pout = Static::new(qout, &x.shape, "result parameters")?;
    let vals: Vec<i64> = x
        .data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, q)| {
            let (si, zi) = pin.at(i);
            let (so, zo) = pout.at(i);
            let real = dequantize_f32(q, si, zi);
            crate::quant::quantize_f32_mode(ctx.module.requant, real, so, zo, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)))
}

/// Layout of run-time (ONNX) scale / zero-point tensors for `x_shape`.
fn dynamic_layout(x_shape: &[usize], scale: &Tensor, axis: i64, block_size: usize) -> R<Layout> {
    // Any one-element scale is per-tensor (ONNX's reference does the same).
    if scale.len() == 1 {
        return Ok(Layout::Tensor);
    }
    let ax = norm_axis(axis, x_shape.len())?;
    if block_size == 0 {
        if scale.shape.len() != 1 {
            return Err(format!(
                "per-axis scale must be 1-d, got shape {:?}",
                scale.shape
            ));
        }
        return Layout::axis(x_shape, ax, scale.len(), "scale");
    }
    // Blocked: the scale has x's shape except dim[axis] = ceil(dim / block_size).
    let dim = x_shape[ax];
    let bdim = dim.div_ceil(block_size);
    let mut want = x_shape.to_vec();
    want[ax] = bdim;
    if scale.shape != want {
        return Err(format!(
            "blocked scale must have shape {want:?} (block size {block_size} on axis {ax}), got {:?}",
            scale.shape
        ));
    }
    Ok(Layout::Block {
        inner: super::prod(&x_shape[ax + 1..]).max(1),
        dim: dim.max(1),
        bdim: bdim.max(1),
        bs: block_size,
    })
}

/// Zero points of a dynamic-form node (operand 2), or zeros.
fn dynamic_zero_points(ins: &[&Tensor], scale: &Tensor, int_dtype: DType) -> R<Vec<i64>> {
    match ins.get(2) {
        None => Ok(vec![0; scale.len()]),
        Some(z) if z.is_empty() && !scale.is_empty() => Ok(vec![0; scale.len()]),
        Some(z) => {
            if z.dtype() != int_dtype {
                return Err(format!(
                    "zero point dtype {} does not match the quantized dtype {int_dtype}",
                    z.dtype()
                ));
            }
            if z.shape != scale.shape && !(z.len() == 1 && scale.len() == 1) {
                return Err(format!(
                    "zero point shape {:?} differs from scale shape {:?}",
                    z.shape, scale.shape
                ));
            }
            Ok(z.data.to_i64_vec())
        }
    }
}

/// ONNX QuantizeLinear with run-time parameters: `[x, scale, zero_point?]`; the output dtype
/// is the result type's (which is the zero point's); saturates to that dtype's full range.
pub(crate) fn quantize_linear(
    ctx: &Ctx,
    ins: &[&Tensor],
    axis: i64,
    block_size: usize,
) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (x, scale) = (ins[0], ins[1]);
    let dt = ctx.out_ty(0).dtype;
    let (qmin, qmax) = quantized_dtype(dt, "the result")?;
    let layout = dynamic_layout(&x.shape, scale, axis, block_size)?;
    let zps = dynamic_zero_points(ins, scale, dt)?;
    let vals: Vec<i64> = match &x.data {
        Data::F32(v) => {
            let s = floats_f32(scale, "scale")?;
            v.iter()
                .enumerate()
                .map(|(i, &r)| {
                    let k = layout.idx(i);
                    quantize_f32(r, s[k], zps[k], qmin, qmax)
                })
                .collect()
        }
        Data::F64(v) => {
            let s = scale.data.to_f64_vec();
            if !scale.dtype().is_float() {
                return Err(format!(
                    "scale must be a float tensor, got {}",
                    scale.dtype()
                ));
            }
            v.iter()
                .enumerate()
                .map(|(i, &r)| {
                    let k = layout.idx(i);
                    quantize_f64(r, s[k], zps[k], qmin, qmax)
                })
                .collect()
        }
        _ => return Err(format!("x must be a float tensor, got {}", x.dtype())),
    };
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)))
}

/// ONNX DequantizeLinear with run-time parameters: `[x, scale, zero_point?]`:
/// `(x - zero_point) * scale` (integer subtraction, then the product in the result's float
/// type).
pub(crate) fn dequantize_linear(
    ctx: &Ctx,
    ins: &[&Tensor],
    axis: i64,
    block_size: usize,
) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (x, scale) = (ins[0], ins[1]);
    quantized_dtype(x.dtype(), "x")?;
    let layout = dynamic_layout(&x.shape, scale, axis, block_size)?;
    let zps = dynamic_zero_points(ins, scale, x.dtype())?;
    let q = x.data.to_i64_vec();
    let dt = ctx.out_ty(0).dtype;
    let data = match dt {
        DType::F32 => {
            let s = floats_f32(scale, "scale")?;
            Data::F32(
                q.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let k = layout.idx(i);
                        dequantize_f32(v, s[k], zps[k])
                    })
                    .collect(),
            )
        }
        DType::F64 => {
            if !scale.dtype().is_float() {
                return Err(format!(
                    "scale must be a float tensor, got {}",
                    scale.dtype()
                ));
            }
            let s = scale.data.to_f64_vec();
            Data::F64(
                q.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let k = layout.idx(i);
                        v.wrapping_sub(zps[k]) as f64 * s[k]
                    })
                    .collect(),
            )
        }
        _ => return Err(format!("the result must be a float type, got {dt}")),
    };
    Ok(Tensor::new(x.shape.clone(), data))
}

/// ONNX DynamicQuantizeLinear: `[x: f32] -> (y: u8, scale: f32 [], zero_point: u8 [])` with
/// `scale = (max(0, max x) - min(0, min x)) / 255` (1 when the range is empty),
/// `zp = round(clamp(0 - min / scale, 0, 255))`, `y = saturate(round(x / scale) + zp)`.
pub(crate) fn dynamic_quantize_linear(ctx: &Ctx, ins: &[&Tensor]) -> R<Vec<Tensor>> {
    arity(ins, 1, 1)?;
    if ctx.n_out() != 3 {
        return Err(format!("expects 3 results, the node has {}", ctx.n_out()));
    }
    let x = typed::<f32>(ins[0], "x")?;
    let maxx = x.iter().fold(0f32, |m, &v| m.max(v));
    let minx = x.iter().fold(0f32, |m, &v| m.min(v));
    let scale = if maxx == minx {
        1.0f32
    } else {
        (maxx - minx) / 255.0f32
    };
    let initial_zp = 0.0f32 - minx / scale;
    let zp = round_half_even(initial_zp.clamp(0.0, 255.0));
    let zp_i = zp as i64;
    let y: Vec<u8> = x
        .iter()
        .map(|&v| quantize_f32(v, scale, zp_i, 0, 255) as u8)
        .collect();
    Ok(vec![
        Tensor::new(ins[0].shape.clone(), Data::U8(y)),
        Tensor::new(vec![], Data::F32(vec![scale])),
        Tensor::new(vec![], Data::U8(vec![zp_i as u8])),
    ])
}

pub(crate) use crate::quant::ort_domain_offset;

/// Scale and zero point of per-tensor operand `i`.
pub(crate) fn per_tensor_in(ctx: &Ctx, i: usize) -> R<(f32, i64)> {
    let q = ctx.in_q(i)?;
    if !q.is_per_tensor() {
        return Err(format!("operand {i} must be quantized per tensor"));
    }
    Ok((q.scale[0], q.zero_point[0] as i64))
}

/// Scale, zero point, element type and storage range of the per-tensor result.
pub(crate) fn per_tensor_out(ctx: &Ctx) -> R<(f32, i64, DType, (i64, i64))> {
    let q = ctx.out_q(0)?;
    if !q.is_per_tensor() {
        return Err("result must be quantized per tensor".into());
    }
    let dt = ctx.out_ty(0).dtype;
    Ok((q.scale[0], q.zero_point[0] as i64, dt, q.storage_range(dt)))
}

/// `qadd`: ONNX Runtime's QLinearAdd arithmetic (see [`crate::Op::QAdd`]), in the uint8
/// domain for int8 tensors; TFLite's ADD in fixed-point modules.
pub(crate) fn qadd(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    if ctx.module.requant == crate::RequantMode::FixedPoint {
        return super::tflite_ops::qadd_fixed(ctx, ins);
    }
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    let (sa, za) = per_tensor_in(ctx, 0)?;
    let (sb, zb) = per_tensor_in(ctx, 1)?;
    let (sy, zy, dt, (qmin, qmax)) = per_tensor_out(ctx)?;
    let (oa, ob, oy) = (
        ort_domain_offset(a.dtype()),
        ort_domain_offset(b.dtype()),
        ort_domain_offset(dt),
    );
    let (za, zb, zy) = (za + oa, zb + ob, zy + oy);
    let ra = sa / sy;
    let rb = sb / sy;
    let mut k = crate::quant::qladd_constant(ra, za, rb, zb, zy);
    let av: Vec<i64> = a.data.to_i64_vec().iter().map(|v| v + oa).collect();
    let bv: Vec<i64> = b.data.to_i64_vec().iter().map(|v| v + ob).collect();
    let round = |v: f32| (round_half_even(v) as i64).clamp(qmin + oy, qmax + oy) - oy;
    let (shape, vals) = if av.len() == 1 && bv.len() != 1 {
        k += av[0] as f32 * ra;
        let vals = bv
            .iter()
            .map(|&y| round((y as f32).mul_add(rb, k)))
            .collect();
        (
            super::broadcast::broadcast_shapes(&[&a.shape, &b.shape])?,
            vals,
        )
    } else if bv.len() == 1 && av.len() != 1 {
        k += bv[0] as f32 * rb;
        let vals = av
            .iter()
            .map(|&x| round((x as f32).mul_add(ra, k)))
            .collect();
        (
            super::broadcast::broadcast_shapes(&[&a.shape, &b.shape])?,
            vals,
        )
    } else {
        super::broadcast::zip2(&av, &a.shape, &bv, &b.shape, |x, y| {
            round((x as f32).mul_add(ra, (y as f32).mul_add(rb, k)))
        })?
    };
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}

/// `qmul` (see [`crate::Op::QMul`]): ONNX Runtime's QLinearMul (SSE2 kernel: exact int32
/// product, one f32 multiply by `(s_a * s_b) / s_y`, one f32 add of the zero point, then
/// `cvtps2dq`) or, in fixed-point mode, TFLite's MUL.
pub(crate) fn qmul(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    let (sa, za) = per_tensor_in(ctx, 0)?;
    let (sb, zb) = per_tensor_in(ctx, 1)?;
    let (sy, zy, dt, (qmin, qmax)) = per_tensor_out(ctx)?;
    let av = a.data.to_i64_vec();
    let bv = b.data.to_i64_vec();
    let product = |x: i64, y: i64| ((x - za) * (y - zb)) as i32;
    let (shape, vals) = match ctx.module.requant {
        crate::RequantMode::Float => {
            let ratio = sa * sb / sy;
            let oy = ort_domain_offset(dt);
            let zc = (zy + oy) as f32;
            super::broadcast::zip2(&av, &a.shape, &bv, &b.shape, |x, y| {
                let r = product(x, y) as f32 * ratio + zc;
                // cvtps2dq: round half to even; out of range (or NaN) gives i32::MIN.
                let rounded = round_half_even(r);
                let i = if rounded.is_nan() || rounded.abs() >= 2147483648.0 {
                    i32::MIN as i64
                } else {
                    rounded as i64
                };
                i.clamp(qmin + oy, qmax + oy) - oy
            })?
        }
        crate::RequantMode::FixedPoint => {
            let m = crate::quant::Multiplier::tflite_mul(sa, sb, sy);
            super::broadcast::zip2(&av, &a.shape, &bv, &b.shape, |x, y| {
                m.apply(product(x, y), zy, qmin, qmax)
            })?
        }
    };
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}

/// `qglobal_avgpool`: int32 sums of `(x - z_x)` over the spatial dims, requantized with
/// `s_x / (s_y * n)` (see [`crate::Op::QGlobalAvgPool`]).
pub(crate) fn qglobal_avgpool(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    if x.shape.len() < 3 {
        return Err(format!(
            "input must have rank >= 3, got shape {:?}",
            x.shape
        ));
    }
    let (sx, zx) = per_tensor_in(ctx, 0)?;
    let (sy, zy, dt, range) = per_tensor_out(ctx)?;
    let n: usize = x.shape[2..].iter().product();
    let planes = x.shape[0] * x.shape[1];
    let vals = global_means(
        ctx,
        &x.data.to_i64_vec(),
        (planes, n),
        (sx, zx),
        (sy, zy),
        range,
    );
    let mut shape = x.shape[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, x.shape.len() - 2));
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}

/// The requantized mean of each of the `planes` runs of `n` stored values in `xv`: the int32 sum of
/// `(x - z_x)` requantized with `s_x / (s_y * n)` (QLinearGlobalAveragePool's arithmetic,
/// also `qavgpool`'s global case).
pub(crate) fn global_means(
    ctx: &Ctx,
    xv: &[i64],
    (planes, n): (usize, usize),
    (sx, zx): (f32, i64),
    (sy, zy): (f32, i64),
    (qmin, qmax): (i64, i64),
) -> Vec<i64> {
    let mult = match ctx.module.requant {
        crate::RequantMode::Float => crate::quant::Multiplier::Float(sx / (sy * n as f32)),
        crate::RequantMode::FixedPoint => {
            let (m0, shift) = crate::quant::quantize_multiplier(sx as f64 / (sy as f64 * n as f64));
            crate::quant::Multiplier::Fixed { m0, shift }
        }
    };
    (0..planes)
        .map(|p| {
            let acc: i64 = xv[p * n..(p + 1) * n].iter().map(|&v| v - zx).sum();
            mult.apply(acc as i32, zy, qmin, qmax)
        })
        .collect()
}

/// `lut`: `y = table[c][x - storage_min(x)]` (see [`crate::Op::Lut`]).
pub(crate) fn lut(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (x, table) = (ins[0], ins[1]);
    let (Some(e), Some((xmin, _))) = (crate::quant::lut_entries(x.dtype()), x.dtype().int_range())
    else {
        return Err(format!(
            "lut needs an 8- or 16-bit operand, found {}",
            x.dtype()
        ));
    };
    let dt = ctx.out_ty(0).dtype;
    if table.dtype() != dt {
        return Err(format!(
            "table has element type {}, the result {}",
            table.dtype(),
            dt
        ));
    }
    // One table per channel along dim 1 (`[C, E]`) or one for all (`[E]`).
    let (channels, inner) = match table.shape.as_slice() {
        [n] if *n == e => (1, 1),
        [c, n] if *n == e && x.shape.get(1) == Some(c) => {
            (*c, x.shape[2..].iter().product::<usize>())
        }
        s => {
            return Err(format!(
                "table shape {s:?} is neither [{e}] nor [C, {e}] with C = {:?}",
                x.shape.get(1)
            ))
        }
    };
    let tv = table.data.to_i64_vec();
    let xv = x.data.to_i64_vec();
    let vals: Vec<i64> = xv
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = if channels == 1 {
                0
            } else {
                (i / inner) % channels
            };
            tv[c * e + (v - xmin) as usize]
        })
        .collect();
    Ok(Tensor::new(x.shape.clone(), Data::from_i64(dt, &vals)))
}
