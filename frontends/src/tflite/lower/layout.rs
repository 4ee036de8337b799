//! Layout and elementwise ops whose quantized arithmetic is exact when the input and output
//! quantization are equal: TRANSPOSE, SQUEEZE, CONCATENATION, PAD / PADV2 and the
//! standalone RELU / RELU6 / RELU_N1_TO_1. Different input / output parameters need a
//! fixed-point requantization that is not lowered yet: those are rejected as unsupported.

use super::{act, finish, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::{DType, Op, PadMode};
use tract_tflite::tflite::ActivationFunctionType as A;

/// Integer entries of a constant operand.
pub(crate) fn const_ints(b: &Builder<'_>, t: usize, what: &str) -> LResult<Vec<i64>> {
    let Some(d) = b.const_data(t) else {
        unsupported!("non-constant {what}");
    };
    if !matches!(d.dtype(), DType::I32 | DType::I64) {
        bail!("{what} has type {}, expected int32 or int64", d.dtype());
    }
    Ok(d.data.to_i64_vec())
}

/// Requires tensors `a` and `b` to share their type and quantization parameters.
pub(crate) fn same_params(b: &Builder<'_>, x: usize, y: usize) -> LResult<()> {
    let (tx, ty) = (b.tensor(x), b.tensor(y));
    if tx.dtype != ty.dtype {
        bail!(
            "input type {} differs from the output's {}",
            tx.dtype,
            ty.dtype
        );
    }
    let (qx, qy) = (b.qparams(x), b.qparams(y));
    let same = match (&qx, &qy) {
        (None, None) => true,
        (Some(p), Some(q)) => p.same_as(q),
        _ => false,
    };
    if !same {
        unsupported!("input and output quantization differ (requantization is not lowered yet)");
    }
    Ok(())
}

/// TRANSPOSE with a constant permutation.
pub(crate) fn transpose(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let perm = const_ints(b, op.input(1)?, "permutation")?;
    let rank = b.tensor(x).shape.len() as i64;
    let mut seen = vec![false; perm.len()];
    for &p in &perm {
        let p = if p < 0 { p + rank } else { p };
        if p < 0 || p >= rank || seen[p as usize] {
            bail!("invalid permutation {perm:?} for rank {rank}");
        }
        seen[p as usize] = true;
    }
    if perm.len() as i64 != rank {
        bail!("permutation {perm:?} does not match rank {rank}");
    }
    let perm = perm
        .iter()
        .map(|&p| if p < 0 { p + rank } else { p } as usize)
        .collect();
    let xv = b.value(x)?;
    let v = b.emit_tensor(y, Op::Transpose { perm }, vec![xv])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// SQUEEZE (squeeze_dims, or every size-1 dim when empty).
pub(crate) fn squeeze(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let axes: Vec<i64> = op
        .fb
        .builtin_options_as_squeeze_options()
        .and_then(|o| o.squeeze_dims())
        .map(|v| v.iter().map(i64::from).collect())
        .unwrap_or_default();
    let xv = b.value(x)?;
    let v = b.emit_tensor(y, Op::Squeeze { axes }, vec![xv])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// EXPAND_DIMS: `unsqueeze` at the constant axis (`axis < 0` counts from the end of the
/// result, as TFLite's `axis + rank + 1`).
pub(crate) fn expand_dims(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let axis = match const_ints(b, op.input(1)?, "axis")?.as_slice() {
        [a] => *a,
        v => bail!("axis must hold one value, found {v:?}"),
    };
    let rank = b.tensor(x).shape.len() as i64;
    let a = if axis < 0 { axis + rank + 1 } else { axis };
    if !(0..=rank).contains(&a) {
        bail!("axis {axis} is out of range for rank {rank}");
    }
    let xv = b.value(x)?;
    let v = b.emit_tensor(y, Op::Unsqueeze { axes: vec![a] }, vec![xv])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// The constant `[new_h, new_w]` of a resize and its coordinate mode (`tflite`,
/// `tflite_half_pixel`, `tflite_align_corners`) from the options' two flags.
fn resize_target(
    b: &Builder<'_>,
    op: &OpRef<'_>,
    x: usize,
    flags: Option<(bool, bool)>,
) -> LResult<(i64, i64, &'static str)> {
    let size = const_ints(b, op.input(1)?, "size")?;
    let [h, w] = size[..] else {
        bail!("size must hold [new_height, new_width], found {size:?}");
    };
    if h <= 0 || w <= 0 || h > 1 << 16 || w > 1 << 16 {
        bail!("size {size:?} must be positive and at most 65536");
    }
    if b.tensor(x).shape.len() != 4 {
        bail!("input must be 4-d (NHWC)");
    }
    let coord = match flags.unwrap_or((false, false)) {
        (false, false) => "tflite",
        (false, true) => "tflite_half_pixel",
        (true, false) => "tflite_align_corners",
        (true, true) => unsupported!("align_corners together with half_pixel_centers"),
    };
    Ok((h, w, coord))
}

/// RESIZE_NEAREST_NEIGHBOR (NHWC, constant `[new_h, new_w]`): `resize_nearest` with
/// TFLite's `GetNearestNeighbor` coordinates (`tflite`, `tflite_half_pixel`,
/// `tflite_align_corners`).
pub(crate) fn resize_nearest_neighbor(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let flags = op
        .fb
        .builtin_options_as_resize_nearest_neighbor_options()
        .map(|o| (o.align_corners(), o.half_pixel_centers()));
    let (h, w, coord) = resize_target(b, op, x, flags)?;
    let xv = b.value(x)?;
    let v = b.emit_tensor(
        y,
        Op::ResizeNearest {
            sizes: vec![-1, h, w, -1],
            scales: vec![1.0; 4],
            coord: coord.into(),
            nearest: "floor".into(),
        },
        vec![xv],
    )?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// RESIZE_BILINEAR (NHWC, constant `[new_h, new_w]`, int8 / int16 / f32 with the output
/// quantized like the input): `resize_bilinear` with the reference kernels' arithmetic.
pub(crate) fn resize_bilinear(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    super::expect_dtype(b, x, &[DType::I8, DType::I16, DType::F32], "the input")?;
    let flags = op
        .fb
        .builtin_options_as_resize_bilinear_options()
        .map(|o| (o.align_corners(), o.half_pixel_centers()));
    let (h, w, coord) = resize_target(b, op, x, flags)?;
    let xv = b.value(x)?;
    let resize = Op::ResizeBilinear {
        sizes: vec![h, w],
        coord: coord.into(),
    };
    let v = b.emit_tensor(y, resize, vec![xv])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// CONCATENATION of inputs that share the output's quantization.
pub(crate) fn concatenation(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, usize::MAX, 1)?;
    if super::shape::concat_shapes(b, op)? {
        return Ok(());
    }
    let y = op.output(0)?;
    let Some(o) = op.fb.builtin_options_as_concatenation_options() else {
        bail!("missing ConcatenationOptions");
    };
    let mut ins = Vec::new();
    for i in 0..op.info.inputs.len() {
        let t = op.input(i)?;
        same_params(b, t, y)?;
        ins.push(b.value(t)?);
    }
    let v = b.emit_tensor(
        y,
        Op::Concat {
            axis: o.axis() as i64,
        },
        ins,
    )?;
    finish(b, y, v, o.fused_activation_function())
}

/// PAD / PADV2 with constant paddings (`rank x 2`): quantized tensors pad with the zero
/// point (PAD) or the constant value operand (PADV2), as TFLite's reference kernel.
pub(crate) fn pad(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 3, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let p = const_ints(b, op.input(1)?, "paddings")?;
    let rank = b.tensor(x).shape.len();
    if p.len() != 2 * rank || p.iter().any(|&v| v < 0) {
        bail!("paddings {p:?} must be {rank} x 2 non-negative entries");
    }
    let mut pads: Vec<i64> = (0..rank).map(|i| p[2 * i]).collect();
    pads.extend((0..rank).map(|i| p[2 * i + 1]));
    let value = match op.opt_input(2) {
        Some(c) => {
            let Some(d) = b.const_data(c) else {
                unsupported!("non-constant pad value");
            };
            if d.len() != 1 || d.dtype() != b.tensor(x).dtype {
                bail!("pad value must be one element of the input's type");
            }
            d.data.to_f64_vec()[0]
        }
        None => match b.tensor(x).quant.as_ref() {
            Some(q) if b.tensor(x).dtype.is_int() => q.zero_point[0] as f64,
            _ => 0.0,
        },
    };
    let xv = b.value(x)?;
    let v = b.emit_tensor(
        y,
        Op::Pad {
            mode: PadMode::Constant,
            pads,
            value,
        },
        vec![xv],
    )?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// Standalone RELU / RELU6 / RELU_N1_TO_1 with equal input and output parameters: TFLite's
/// `QuantizedReluX` multiplies by 1.0 exactly (`MultiplyByQuantizedMultiplier` with
/// `(2^30, 1)`), so it is a `clip` with the activation's quantized bounds.
fn relu_like(b: &mut Builder<'_>, op: &OpRef<'_>, kind: A) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    if same_params(b, x, y).is_err() && b.tensor(x).dtype == b.tensor(y).dtype {
        return relu_requantized(b, x, y, kind);
    }
    same_params(b, x, y)?;
    let xv = b.value(x)?;
    let v = act::fused_activation(b, y, xv, kind)?;
    let v = if v == xv {
        b.emit_tensor(y, Op::Identity, vec![xv])?
    } else {
        v
    };
    b.check_shape(y, v)?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// A standalone RELU / RELU6 / RELU_N1_TO_1 whose output is quantized differently from its
/// input: the reference `ReluX` requantizes, `clamp(z_y + MultiplyByQuantizedMultiplier(x
/// - z_x, QuantizeMultiplier(s_x / s_y)), lo, hi)` with the activation's quantized range,
/// which is a `lut` of every stored value (8- or 16-bit).
fn relu_requantized(b: &mut Builder<'_>, x: usize, y: usize, kind: A) -> LResult<()> {
    let dt = super::expect_dtype(b, x, &[DType::I8, DType::U8, DType::I16], "the input")?;
    let (sx, zx) = b.per_tensor(x, "the input")?;
    let (sy, zy) = b.per_tensor(y, "the output")?;
    if dt == DType::I16 && (zx != 0 || zy != 0 || kind == A::RELU_N1_TO_1) {
        unsupported!("int16 {kind:?} with zero points {zx} / {zy} (TFLite's kernel has none)");
    }
    let (lo, hi) = act::quantized_range(kind, dt, sy, zy)?;
    // `ReluPrepare`: the f32 ratio of the scales, widened for `QuantizeMultiplier`.
    let (m, shift) = qcc_ir::quant::quantize_multiplier(f64::from(sx / sy));
    let (qmin, qmax) = dt.int_range().unwrap_or((0, 255));
    let entries: Vec<i64> = (qmin..=qmax)
        .map(|v| {
            let r = qcc_ir::quant::multiply_by_quantized_multiplier((v - zx) as i32, m, shift);
            (zy + i64::from(r)).clamp(lo, hi)
        })
        .collect();
    let table = super::lut::table_const(b, y, dt, vec![entries.len()], &entries);
    let xv = b.value(x)?;
    let v = b.emit_tensor(y, Op::Lut, vec![xv, table])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// RELU.
pub(crate) fn relu(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    relu_like(b, op, A::RELU)
}

/// RELU6.
pub(crate) fn relu6(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    relu_like(b, op, A::RELU6)
}

/// RELU_N1_TO_1.
pub(crate) fn relu_n1_to_1(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    relu_like(b, op, A::RELU_N1_TO_1)
}

/// MAXIMUM.
pub(crate) fn maximum(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    extremum(b, op, qcc_ir::BinaryOp::Max)
}

/// MINIMUM.
pub(crate) fn minimum(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    extremum(b, op, qcc_ir::BinaryOp::Min)
}

/// MAXIMUM / MINIMUM (broadcasting): the reference kernel compares the stored values, so
/// quantized operands and the result must share their parameters; `max` / `min`.
fn extremum(b: &mut Builder<'_>, op: &OpRef<'_>, bop: qcc_ir::BinaryOp) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x1, x2, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    super::expect_dtype(
        b,
        y,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the output",
    )?;
    same_params(b, x1, y)?;
    same_params(b, x2, y)?;
    let (v1, v2) = (b.value(x1)?, b.value(x2)?);
    let v = b.emit_tensor(y, Op::Binary(bop), vec![v1, v2])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// ADD (int8 / uint8: TFLite's fixed-point ADD as `qadd`; float: `add`).
pub(crate) fn add(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let act = op
        .fb
        .builtin_options_as_add_options()
        .map_or(A::NONE, |o| o.fused_activation_function());
    binary(b, op, act, qcc_ir::BinaryOp::Add, Op::QAdd)
}

/// SUB (int8 / uint8: TFLite's fixed-point SUB, ADD's arithmetic with the second term
/// subtracted, as `qsub`; float: `sub`).
pub(crate) fn sub(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let act = op
        .fb
        .builtin_options_as_sub_options()
        .map_or(A::NONE, |o| o.fused_activation_function());
    binary(b, op, act, qcc_ir::BinaryOp::Sub, Op::QSub)
}

/// MUL (int8 / uint8 / int16 with zero points 0, broadcasting): TFLite's reference integer
/// MUL is
/// `MultiplyByQuantizedMultiplier((x1 - z1) * (x2 - z2), QuantizeMultiplier(s1 * s2 / s_y))
/// + z_y` with the ratio computed in f32, which is `qmul` in a fixed-point module.
pub(crate) fn mul(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let act = op
        .fb
        .builtin_options_as_mul_options()
        .map_or(A::NONE, |o| o.fused_activation_function());
    binary(b, op, act, qcc_ir::BinaryOp::Mul, Op::QMul)
}

/// A broadcasting binary op: `float` on f32 tensors, `quantized` on int8 / uint8 ones with
/// per-tensor parameters; the fused activation becomes a clip.
fn binary(
    b: &mut Builder<'_>,
    op: &OpRef<'_>,
    act: A,
    float: qcc_ir::BinaryOp,
    quantized: Op,
) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x1, x2, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let dt = b.tensor(y).dtype;
    for t in [x1, x2] {
        if b.tensor(t).dtype != dt {
            bail!(
                "input type {} differs from the output's {dt}",
                b.tensor(t).dtype
            );
        }
    }
    let (v1, v2) = (b.value(x1)?, b.value(x2)?);
    let v = match dt {
        DType::F32 => b.emit_tensor(y, Op::Binary(float), vec![v1, v2])?,
        DType::I8 | DType::U8 => {
            b.per_tensor(x1, "input 1")?;
            b.per_tensor(x2, "input 2")?;
            b.per_tensor(y, "the output")?;
            b.emit_tensor(y, quantized, vec![v1, v2])?
        }
        DType::I16 if matches!(quantized, Op::QAdd | Op::QSub) => {
            // TFLite's general int16 path (left shift 15, symmetric zero points); the
            // power-of-two kernel (pot_scale_int16 with POT scales) is not implemented.
            let pot = match &quantized {
                Op::QAdd => op
                    .fb
                    .builtin_options_as_add_options()
                    .map(|o| o.pot_scale_int16()),
                _ => op
                    .fb
                    .builtin_options_as_sub_options()
                    .map(|o| o.pot_scale_int16()),
            }
            .unwrap_or(true);
            let scales = [x1, x2, y]
                .map(|t| b.per_tensor(t, "an int16 operand"))
                .into_iter()
                .collect::<LResult<Vec<_>>>()?;
            if scales.iter().any(|&(_, z)| z != 0) {
                bail!("int16 operands must have zero point 0");
            }
            if pot
                && scales
                    .iter()
                    .all(|&(s, _)| (s.log2().round() - s.log2()).abs() < 1e-6)
            {
                unsupported!(
                    "int16 {} with power-of-two scales (pot_scale_int16)",
                    op.info.name
                );
            }
            b.emit_tensor(y, quantized, vec![v1, v2])?
        }
        DType::I16 if matches!(quantized, Op::QMul) => {
            // TFLite's int16 MUL: the int8 arithmetic on symmetric operands (the product of
            // two int16 values fits int32).
            for (t, what) in [(x1, "input 1"), (x2, "input 2"), (y, "the output")] {
                if b.per_tensor(t, what)?.1 != 0 {
                    bail!("int16 MUL needs zero point 0 on {what}");
                }
            }
            b.emit_tensor(y, quantized, vec![v1, v2])?
        }
        d => unsupported!("{} on {d}", op.info.name),
    };
    finish(b, y, v, act)
}

/// UNPACK: `num` slices of size 1 along `axis`, each squeezed (input and outputs share
/// their quantization).
pub(crate) fn unpack(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let outs = op.info.outputs.clone();
    op.arity(1, 1, outs.len().max(1))?;
    let x = op.input(0)?;
    let o = op.fb.builtin_options_as_unpack_options();
    let (num, axis) = o.map_or((outs.len() as i32, 0), |o| (o.num(), o.axis()));
    let rank = b.tensor(x).shape.len() as i64;
    let a = if axis < 0 {
        i64::from(axis) + rank
    } else {
        i64::from(axis)
    };
    if !(0..rank).contains(&a) || num as usize != outs.len() {
        bail!(
            "UNPACK of {num} along axis {axis} does not fit rank {rank} / {} outputs",
            outs.len()
        );
    }
    if b.tensor(x).shape[a as usize] != outs.len() {
        bail!(
            "axis {axis} has {} entries, not {num}",
            b.tensor(x).shape[a as usize]
        );
    }
    let xv = b.value(x)?;
    for (k, &y) in outs.iter().enumerate() {
        same_params(b, x, y)?;
        let name = b.tensor(y).name.clone();
        let slice = Op::Slice {
            starts: vec![k as i64],
            ends: vec![k as i64 + 1],
            axes: vec![a],
            steps: vec![1],
        };
        let s = b.emit(&name, slice, vec![xv], None, None)?;
        let v = b.emit_tensor(y, Op::Squeeze { axes: vec![a] }, vec![s])?;
        b.bind(y, Slot::Value(v));
    }
    Ok(())
}

/// Splits `x` along constant `axis` into parts of `sizes` defining `outs` (equal params).
fn split_into(
    b: &mut Builder<'_>,
    x: usize,
    outs: &[usize],
    axis: i64,
    sizes: Vec<usize>,
) -> LResult<()> {
    for &y in outs {
        same_params(b, x, y)?;
    }
    let xv = b.value(x)?;
    b.emit_tensors(outs, Op::Split { axis, sizes }, vec![xv])
}

/// The single integer of a constant axis operand.
fn const_axis(b: &Builder<'_>, t: usize) -> LResult<i64> {
    let v = const_ints(b, t, "axis")?;
    if v.len() != 1 {
        bail!("axis must have one element, got {}", v.len());
    }
    Ok(v[0])
}

/// SPLIT: `[axis, x]` into num_splits equal parts.
pub(crate) fn split(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let outs = op.info.outputs.clone();
    op.arity(2, 2, outs.len().max(1))?;
    let (a, x) = (op.input(0)?, op.input(1)?);
    let axis = const_axis(b, a)?;
    let rank = b.tensor(x).shape.len() as i64;
    let ax = if axis < 0 { axis + rank } else { axis };
    if ax < 0 || ax >= rank {
        bail!("axis {axis} out of range for rank {rank}");
    }
    let d = b.tensor(x).shape[ax as usize];
    let n = outs.len();
    if n == 0 || !d.is_multiple_of(n) {
        bail!("dim {d} does not split into {n} equal parts");
    }
    split_into(b, x, &outs, axis, vec![d / n; n])
}

/// SPLIT_V: `[x, size_splits, axis]` (one size may be -1).
pub(crate) fn split_v(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let outs = op.info.outputs.clone();
    op.arity(3, 3, outs.len().max(1))?;
    let x = op.input(0)?;
    let sizes = const_ints(b, op.input(1)?, "size_splits")?;
    let axis = const_axis(b, op.input(2)?)?;
    let rank = b.tensor(x).shape.len() as i64;
    let ax = if axis < 0 { axis + rank } else { axis };
    if ax < 0 || ax >= rank {
        bail!("axis {axis} out of range for rank {rank}");
    }
    let d = b.tensor(x).shape[ax as usize] as i64;
    if sizes.len() != outs.len()
        || sizes.iter().filter(|&&v| v == -1).count() > 1
        || sizes.iter().any(|&v| v < -1)
    {
        bail!("invalid size_splits {sizes:?} for {} outputs", outs.len());
    }
    let known: i64 = sizes.iter().filter(|&&v| v >= 0).sum();
    let sizes: Vec<usize> = sizes
        .iter()
        .map(|&v| if v == -1 { d - known } else { v })
        .map(|v| v.max(0) as usize)
        .collect();
    if sizes.iter().sum::<usize>() as i64 != d {
        bail!("size_splits {sizes:?} do not add up to dim {d}");
    }
    split_into(b, x, &outs, axis, sizes)
}
