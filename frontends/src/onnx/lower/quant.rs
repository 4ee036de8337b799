//! QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the shared helpers that
//! turn constant scale / zero-point inputs into static [`QParams`].
//!
//! Static form (scale and zero point are constants, per-tensor or per-axis): `quantize`
//! (result type carries the params) and `dequantize` (operand type carries them; a value
//! without them is first re-typed, see `Builder::quantized_name`). Otherwise (run-time
//! parameters, blocked quantization, non-positive scales) the dynamic `quantize_linear` /
//! `dequantize_linear` ops take `[x, scale, zero_point]` as operands.

use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult};
use crate::onnx::node::{norm_axis, NodeCtx};
use crate::onnx::proto::{dtype_of, elem_type_name};
use qcc_ir::{DType, Data, Dim, Op, QParams, Tensor, TensorType, ValueId};

/// Parameters read from constant scale / zero-point tensors.
#[derive(Clone, Debug)]
pub(crate) struct StaticQ {
    /// The parameters.
    pub q: QParams,
}

/// Builds static params from constant `scale` / `zp` tensors for a tensor of type `x`
/// quantized along `axis` (ONNX attribute, may be negative). `Ok(None)` when the params
/// cannot be static: non-f32 scales, blocked quantization, or a multi-dimensional scale.
/// A constant scale that is zero, negative or not finite is an error.
pub(crate) fn static_qparams(
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block_size: i64,
    x: Option<&TensorType>,
    what: &str,
) -> LResult<Option<StaticQ>> {
    if let Some(z) = zp {
        if z.shape != scale.shape && !(z.len() == 1 && scale.len() == 1) {
            bail!(
                "{what}: zero point shape {:?} does not match scale shape {:?}",
                z.shape,
                scale.shape
            );
        }
        if !z.dtype().is_int() {
            bail!(
                "{what}: zero point has dtype {}, expected an integer type",
                z.dtype()
            );
        }
    }
    if block_size > 0 {
        return Ok(None);
    }
    let Some(s) = scale.as_slice::<f32>() else {
        return Ok(None);
    };
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(bad) = s.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        bail!("{what}: scale {bad} is not a positive finite number");
    }
    let zps: Vec<i32> = match zp {
        Some(z) => z
            .data
            .to_i64_vec()
            .into_iter()
            .map(|v| i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX }))
            .collect(),
        None => vec![0; s.len()],
    };
    if s.len() == 1 {
        return Ok(Some(StaticQ {
            q: QParams::per_tensor(s[0], zps[0]),
        }));
    }
    if scale.shape.len() != 1 {
        // Blocked parameters (opset >= 21) have the input's rank.
        return Ok(None);
    }
    let Some(x) = x else {
        return Ok(None);
    };
    let a = norm_axis(axis, x.rank()).map_err(|e| match e {
        crate::onnx::error::LowerError::Msg(m) => {
            crate::onnx::error::LowerError::Msg(format!("{what}: {m}"))
        }
        other => other,
    })?;
    if let Dim::Fixed(n) = x.shape[a] {
        if n != s.len() {
            bail!(
                "{what}: {} per-axis scales for axis {a} of size {n}",
                s.len()
            );
        }
    }
    Ok(Some(StaticQ {
        q: QParams::per_axis(s.to_vec(), zps, a),
    }))
}

/// Reads static params from constant inputs `s_idx` (scale) and `z_idx` (zero point) of
/// the node. `Ok(None)` when either is a run-time value or the params cannot be static.
pub(crate) fn input_qparams(
    ctx: &NodeCtx,
    s_idx: usize,
    z_idx: Option<usize>,
    axis: i64,
    x: Option<&TensorType>,
) -> LResult<Option<StaticQ>> {
    let what = ctx.input_name(s_idx)?.to_string();
    let Some(scale) = ctx.const_input(s_idx)? else {
        return Ok(None);
    };
    let zp = match z_idx {
        Some(i) if ctx.has_input(i) => match ctx.const_input(i)? {
            Some(z) => Some(z),
            None => return Ok(None),
        },
        _ => None,
    };
    static_qparams(
        &scale,
        zp.as_deref(),
        axis,
        0,
        x,
        &format!("scale '{what}'"),
    )
}

/// A zero-point constant of `dtype` shaped like the scale input `s_idx` (scalar when the
/// scale's shape is not fixed).
fn zero_point_like(ctx: &mut NodeCtx, s_idx: usize, dtype: DType) -> LResult<ValueId> {
    let sty = ctx.peek_type(s_idx)?;
    let shape = sty.fixed_dims().unwrap_or_default();
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 1 << 24)
        .ok_or_else(|| {
            format!(
                "scale '{}' has too many elements",
                ctx.input_name(s_idx).unwrap_or("")
            )
        })?;
    Ok(ctx.new_const("zero_point", Tensor::new(shape, Data::zeros(dtype, n))))
}

/// Dequantizes input `x_idx` with scale `s_idx` and zero point `z_idx` (absent = 0 of the
/// input's type): static `dequantize` when the params are constants, else
/// `dequantize_linear`. Returns the f32 value (not bound to an output).
pub(crate) fn dequantize_input(
    ctx: &mut NodeCtx,
    x_idx: usize,
    s_idx: usize,
    z_idx: Option<usize>,
    axis: i64,
    suffix: &str,
) -> LResult<ValueId> {
    let xty = ctx.peek_type(x_idx)?;
    check_zp_dtype(ctx, xty.dtype, z_idx)?;
    match input_qparams(ctx, s_idx, z_idx, axis, Some(&xty))? {
        Some(sq) => {
            let xq = ctx.quantized_input(x_idx, &sq.q)?;
            ctx.tmp_with(
                suffix,
                Op::Dequantize,
                vec![xq],
                ResultOverride::plain(DType::F32),
            )
        }
        None => {
            let (x, s, z) = dynamic_operands(ctx, x_idx, s_idx, z_idx, xty.dtype)?;
            ctx.tmp_with(
                suffix,
                Op::DequantizeLinear {
                    axis,
                    block_size: 0,
                },
                vec![x, s, z],
                ResultOverride::plain(DType::F32),
            )
        }
    }
}

/// Quantizes the f32 value `y` with scale `s_idx` / zero point `z_idx` of the node
/// (absent zero point: 0 of `default_dtype`), binding the result to output 0.
pub(crate) fn quantize_output(
    ctx: &mut NodeCtx,
    y: ValueId,
    s_idx: usize,
    z_idx: Option<usize>,
    default_dtype: DType,
) -> LResult<ValueId> {
    let out_dtype = match z_idx {
        Some(i) if ctx.has_input(i) => ctx.peek_type(i)?.dtype,
        _ => default_dtype,
    };
    check_storage(out_dtype, "output zero point")?;
    let yty = ctx.ty(y).clone();
    match input_qparams(ctx, s_idx, z_idx, 1, Some(&yty))? {
        Some(sq) if sq.q.is_per_tensor() => ctx.emit1_with(
            Op::Quantize,
            vec![y],
            ResultOverride::quantized(out_dtype, sq.q),
        ),
        _ => {
            let s = ctx.input(s_idx)?;
            let z = match z_idx {
                Some(i) if ctx.has_input(i) => ctx.input(i)?,
                _ => zero_point_like(ctx, s_idx, out_dtype)?,
            };
            ctx.emit1_with(
                Op::QuantizeLinear {
                    axis: 1,
                    block_size: 0,
                },
                vec![y, s, z],
                ResultOverride::plain(out_dtype),
            )
        }
    }
}

fn dynamic_operands(
    ctx: &mut NodeCtx,
    x_idx: usize,
    s_idx: usize,
    z_idx: Option<usize>,
    zp_dtype: DType,
) -> LResult<(ValueId, ValueId, ValueId)> {
    let x = ctx.input(x_idx)?;
    let s = ctx.input(s_idx)?;
    let z = match z_idx {
        Some(i) if ctx.has_input(i) => ctx.input(i)?,
        _ => zero_point_like(ctx, s_idx, zp_dtype)?,
    };
    Ok((x, s, z))
}

fn check_zp_dtype(ctx: &NodeCtx, x: DType, z_idx: Option<usize>) -> LResult<()> {
    if let Some(i) = z_idx.filter(|&i| ctx.has_input(i)) {
        let z = ctx.peek_type(i)?.dtype;
        if z != x {
            bail!(
                "zero point '{}' has dtype {z}, the quantized input has dtype {x}",
                ctx.input_name(i)?
            );
        }
    }
    Ok(())
}

fn check_storage(d: DType, what: &str) -> LResult<()> {
    if !d.is_quantizable() {
        bail!("{what} has dtype {d}, expected i8, u8, i16, u16 or i32");
    }
    Ok(())
}

/// The `axis` attribute of Q/DQ (opset >= 13; default 1) and `block_size` (opset >= 21).
fn axis_and_block(ctx: &NodeCtx) -> LResult<(i64, i64)> {
    let a = ctx.attrs();
    let axis = a.int_or("axis", 1)?;
    let block = a.int_or("block_size", 0)?;
    if block < 0 {
        bail!("block_size must be >= 0, got {block}");
    }
    Ok((axis, block))
}

/// ONNX QuantizeLinear.
pub(crate) fn quantize_linear(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 3)?;
    let (axis, block) = axis_and_block(ctx)?;
    let xty = ctx.peek_type(0)?;
    let attr_dtype = match ctx.attrs().int("output_dtype")? {
        None | Some(0) => None,
        Some(t) => Some(
            dtype_of(t as i32)
                .ok_or_else(|| format!("unsupported output_dtype {}", elem_type_name(t as i32)))?,
        ),
    };
    let out_dtype = if ctx.has_input(2) {
        let z = ctx.peek_type(2)?.dtype;
        if let Some(a) = attr_dtype {
            if a != z {
                bail!("output_dtype {a} does not match the zero point's dtype {z}");
            }
        }
        z
    } else {
        attr_dtype.unwrap_or(DType::U8)
    };
    check_storage(out_dtype, "QuantizeLinear output")?;
    let sq = match (ctx.const_input(1)?, ctx.const_input(2)?) {
        (Some(s), z) if !ctx.has_input(2) || z.is_some() => static_qparams(
            &s,
            z.as_deref(),
            axis,
            block,
            Some(&xty),
            &format!("scale '{}'", ctx.input_name(1)?),
        )?,
        _ => None,
    };
    match sq {
        Some(sq) if xty.dtype == DType::F32 => {
            let x = ctx.input(0)?;
            ctx.emit1_with(
                Op::Quantize,
                vec![x],
                ResultOverride::quantized(out_dtype, sq.q),
            )?;
        }
        _ => {
            let (x, s, z) = dynamic_operands(ctx, 0, 1, Some(2), out_dtype)?;
            ctx.emit1_with(
                Op::QuantizeLinear {
                    axis,
                    block_size: block as usize,
                },
                vec![x, s, z],
                ResultOverride::plain(out_dtype),
            )?;
        }
    }
    Ok(())
}

/// ONNX DequantizeLinear.
pub(crate) fn dequantize_linear(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 3)?;
    let (axis, block) = axis_and_block(ctx)?;
    let xty = ctx.peek_type(0)?;
    if !xty.dtype.is_quantizable() {
        bail!(
            "input '{}' has dtype {}, expected i8, u8, i16, u16 or i32",
            ctx.input_name(0)?,
            xty.dtype
        );
    }
    check_zp_dtype(ctx, xty.dtype, Some(2))?;
    let sq = match (ctx.const_input(1)?, ctx.const_input(2)?) {
        (Some(s), z) if !ctx.has_input(2) || z.is_some() => static_qparams(
            &s,
            z.as_deref(),
            axis,
            block,
            Some(&xty),
            &format!("scale '{}'", ctx.input_name(1)?),
        )?,
        _ => None,
    };
    let out_dtype = ctx.peek_type(1)?.dtype;
    match sq {
        Some(sq) if xty.dtype.is_quantizable() && out_dtype == DType::F32 => {
            let xq = ctx.quantized_input(0, &sq.q)?;
            ctx.emit1_with(Op::Dequantize, vec![xq], ResultOverride::plain(DType::F32))?;
        }
        _ => {
            let (x, s, z) = dynamic_operands(ctx, 0, 1, Some(2), xty.dtype)?;
            ctx.emit1_with(
                Op::DequantizeLinear {
                    axis,
                    block_size: block as usize,
                },
                vec![x, s, z],
                ResultOverride::plain(out_dtype),
            )?;
        }
    }
    Ok(())
}

/// ONNX DynamicQuantizeLinear: three results (y: u8, scale: f32, zero_point: u8).
pub(crate) fn dynamic_quantize_linear(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    if ctx.num_outputs() > 3 {
        bail!("expected at most 3 outputs, got {}", ctx.num_outputs());
    }
    let x = ctx.input(0)?;
    ctx.emit_outputs(
        Op::DynamicQuantizeLinear,
        vec![x],
        3,
        &[
            ResultOverride::plain(DType::U8),
            ResultOverride::plain(DType::F32),
            ResultOverride::plain(DType::U8),
        ],
    )?;
    Ok(())
}
