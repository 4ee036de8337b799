//! QOperator ops: QLinearConv, QLinearMatMul (ai.onnx) and the com.microsoft contrib ops
//! QGemm, QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool,
//! QLinearGlobalAveragePool, QLinearSigmoid, QLinearSoftmax, QLinearLeakyRelu.
//!
//! * QLinearConv / QLinearMatMul / QGemm with constant parameters become the static integer
//!   ops `qconv` / `qmatmul` / `qgemm`, their operands re-typed with the parameters.
//! * QLinearConv / QLinearMatMul with run-time parameters (the ONNX node tests feed them
//!   as graph inputs) are decomposed exactly as onnx's reference implementation computes
//!   them: `acc = conv_integer / matmul_integer` (int32, zero points subtracted),
//!   `m = x_scale * w_scale / y_scale` in f32, then in f64 `acc * m + y_zero_point`,
//!   clipped to the output type's range and rounded half to even.
//! * The other contrib ops dequantize each input, run the float op and quantize the result.
//!   ORT computes QLinearAdd / QLinearMul / the pools in float as well, and QLinearSigmoid
//!   / QLinearSoftmax / QLinearLeakyRelu through lookup tables built in float from the same
//!   formula, so this agrees with ORT to within one quantization step.

use super::conv::{conv_attrs, gemm_attrs};
use super::pool::pool_attrs;
use super::quant::{dequantize_input, input_qparams, quantize_output};
use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::{norm_axis, NodeCtx};
use qcc_ir::{BinaryOp, Clamp, DType, Op, UnaryOp, ValueId};

/// The dtype of optional zero-point input `i`, or `default`.
fn zp_dtype(ctx: &NodeCtx, i: usize, default: DType) -> LResult<DType> {
    if ctx.has_input(i) {
        Ok(ctx.peek_type(i)?.dtype)
    } else {
        Ok(default)
    }
}

/// ONNX QLinearConv: `x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?`.
pub(crate) fn qlinear_conv(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs_with(8, 9, &[0, 1, 3, 4, 6])?;
    let xt = ctx.peek_type(0)?;
    let wt = ctx.peek_type(3)?;
    let y_dtype = zp_dtype(ctx, 7, xt.dtype)?;
    let xq = input_qparams(ctx, 1, Some(2), 1, Some(&xt))?;
    let wq = input_qparams(ctx, 4, Some(5), 0, Some(&wt))?;
    let yq = input_qparams(ctx, 6, Some(7), 1, None)?;
    if let (Some(xq), Some(wq), Some(yq)) = (xq, wq, yq) {
        if xq.q.is_per_tensor() && yq.q.is_per_tensor() && matches!(wq.q.axis, None | Some(0)) {
            let attrs = conv_attrs(ctx, &xt, &wt)?;
            let x = ctx.quantized_input(0, &xq.q)?;
            let w = ctx.quantized_input(3, &wq.q)?;
            let mut ins = vec![x, w];
            if let Some(b) = ctx.opt_input(8)? {
                ins.push(b);
            }
            ctx.emit1_with(
                Op::QConv(attrs, Clamp::default()),
                ins,
                ResultOverride::quantized(y_dtype, yq.q),
            )?;
            return Ok(());
        }
    }
    // Exact decomposition with run-time parameters.
    let attrs = conv_attrs(ctx, &xt, &wt)?;
    let x = ctx.input(0)?;
    let w = ctx.input(3)?;
    let xz = zero_point_or_zero(ctx, 2, xt.dtype)?;
    let wz = zero_point_or_zero(ctx, 5, wt.dtype)?;
    let mut acc = ctx.tmp("acc", Op::ConvInteger(attrs), vec![x, w, xz, wz])?;
    let rank = xt.rank();
    if let Some(b) = ctx.opt_input(8)? {
        let bc = channel_vector(ctx, b, rank, "bias")?;
        acc = ctx.tmp("acc_bias", Op::Binary(BinaryOp::Add), vec![acc, bc])?;
    }
    let xs = ctx.input(1)?;
    let ws = ctx.input(4)?;
    let ws = channel_vector(ctx, ws, rank, "w_scale_c")?;
    let ys = ctx.input(6)?;
    requantize_decomposed(ctx, acc, xs, ws, ys, 7, y_dtype)
}

/// Reshapes a 1-d per-channel vector with more than one element to `[1, C, 1, ...]` so it
/// broadcasts over dim 1 of a rank-`rank` tensor; scalars are returned as they are.
fn channel_vector(ctx: &mut NodeCtx, v: ValueId, rank: usize, suffix: &str) -> LResult<ValueId> {
    let t = ctx.ty(v).clone();
    let is_scalar_like = t.rank() == 0 || t.shape.iter().all(|d| d.fixed() == Some(1));
    if is_scalar_like || rank < 2 {
        return Ok(v);
    }
    if t.rank() != 1 {
        bail!("per-channel operand must be 1-d, got rank {}", t.rank());
    }
    let mut shape = vec![1i64; rank];
    shape[1] = -1;
    ctx.tmp(
        suffix,
        Op::Reshape {
            shape,
            allowzero: false,
        },
        vec![v],
    )
}

/// Input `i`, or a scalar zero of `dtype` when absent.
fn zero_point_or_zero(ctx: &mut NodeCtx, i: usize, dtype: DType) -> LResult<ValueId> {
    match ctx.opt_input(i)? {
        Some(v) => Ok(v),
        None => Ok(ctx.scalar_const("zero_point", dtype, 0.0)),
    }
}

/// `y = cast(round(clip(f64(acc) * f64(xs * ws / ys) + f64(y_zp), qmin, qmax)))`, bound to
/// output 0: onnx's reference QLinearConv / QLinearMatMul arithmetic.
fn requantize_decomposed(
    ctx: &mut NodeCtx,
    acc: ValueId,
    xs: ValueId,
    ws: ValueId,
    ys: ValueId,
    yz_idx: usize,
    y_dtype: DType,
) -> LResult<()> {
    let Some((qmin, qmax)) = y_dtype.int_range() else {
        bail!("output type {y_dtype} is not an integer type");
    };
    let p = ctx.tmp("scale_prod", Op::Binary(BinaryOp::Mul), vec![xs, ws])?;
    let m = ctx.tmp("multiplier", Op::Binary(BinaryOp::Div), vec![p, ys])?;
    let f64_ = |d| ResultOverride::plain(d);
    let acc64 = ctx.tmp_with(
        "acc_f64",
        Op::Cast { to: DType::F64 },
        vec![acc],
        f64_(DType::F64),
    )?;
    let m64 = ctx.tmp_with(
        "multiplier_f64",
        Op::Cast { to: DType::F64 },
        vec![m],
        f64_(DType::F64),
    )?;
    let mut r = ctx.tmp("scaled", Op::Binary(BinaryOp::Mul), vec![acc64, m64])?;
    if let Some(yz) = ctx.opt_input(yz_idx)? {
        let yz64 = ctx.tmp_with(
            "y_zero_point_f64",
            Op::Cast { to: DType::F64 },
            vec![yz],
            f64_(DType::F64),
        )?;
        r = ctx.tmp("shifted", Op::Binary(BinaryOp::Add), vec![r, yz64])?;
    }
    let c = ctx.tmp(
        "clipped",
        Op::Clip {
            min: Some(qmin as f64),
            max: Some(qmax as f64),
        },
        vec![r],
    )?;
    let rounded = ctx.tmp("rounded", Op::Unary(UnaryOp::Round), vec![c])?;
    ctx.emit1_with(
        Op::Cast { to: y_dtype },
        vec![rounded],
        ResultOverride::plain(y_dtype),
    )?;
    Ok(())
}

/// ONNX QLinearMatMul: `a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp`.
pub(crate) fn qlinear_matmul(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs_with(8, 8, &[0, 1, 3, 4, 6])?;
    let at = ctx.peek_type(0)?;
    let bt = ctx.peek_type(3)?;
    let y_dtype = zp_dtype(ctx, 7, at.dtype)?;
    let aq = input_qparams(ctx, 1, Some(2), -1, Some(&at))?;
    let bq = input_qparams(ctx, 4, Some(5), -1, Some(&bt))?;
    let yq = input_qparams(ctx, 6, Some(7), -1, None)?;
    if let (Some(aq), Some(bq), Some(yq)) = (aq, bq, yq) {
        let b_last = bt.rank().checked_sub(1);
        if aq.q.is_per_tensor()
            && yq.q.is_per_tensor()
            && (bq.q.is_per_tensor() || bq.q.axis == b_last)
        {
            let a = ctx.quantized_input(0, &aq.q)?;
            let b = ctx.quantized_input(3, &bq.q)?;
            ctx.emit1_with(
                Op::QMatMul,
                vec![a, b],
                ResultOverride::quantized(y_dtype, yq.q),
            )?;
            return Ok(());
        }
    }
    let a = ctx.input(0)?;
    let b = ctx.input(3)?;
    let az = zero_point_or_zero(ctx, 2, at.dtype)?;
    let bz = zero_point_or_zero(ctx, 5, bt.dtype)?;
    let acc = ctx.tmp("acc", Op::MatMulInteger, vec![a, b, az, bz])?;
    let xs = ctx.input(1)?;
    let ws = ctx.input(4)?;
    let ys = ctx.input(6)?;
    requantize_decomposed(ctx, acc, xs, ws, ys, 7, y_dtype)
}

/// com.microsoft QGemm: `A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?`; attrs
/// alpha, transA, transB. Without y_scale the output is f32 (`alpha * sa * sb * acc`).
pub(crate) fn qgemm(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs_with(6, 9, &[0, 1, 3, 4])?;
    let attrs = gemm_attrs(ctx)?;
    let at = ctx.peek_type(0)?;
    let bt = ctx.peek_type(3)?;
    let b_axis = if attrs.trans_b { 0 } else { 1 };
    let unsupported = |what: &str| Err(LowerError::Unsupported(format!("QGemm with {what}")));
    let Some(aq) = input_qparams(ctx, 1, Some(2), 0, Some(&at))? else {
        return unsupported("run-time or non-static a quantization parameters");
    };
    let Some(bq) = input_qparams(ctx, 4, Some(5), b_axis, Some(&bt))? else {
        return unsupported("run-time or non-static b quantization parameters");
    };
    if !aq.q.is_per_tensor() {
        return unsupported("per-row a parameters");
    }
    let y = if ctx.has_input(7) {
        if !ctx.has_input(8) {
            return unsupported("y_scale but no y_zero_point");
        }
        let y_dtype = ctx.peek_type(8)?.dtype;
        match input_qparams(ctx, 7, Some(8), 0, None)? {
            Some(yq) if yq.q.is_per_tensor() => ResultOverride::quantized(y_dtype, yq.q),
            _ => return unsupported("run-time or per-axis y quantization parameters"),
        }
    } else {
        ResultOverride::plain(DType::F32)
    };
    let a = ctx.quantized_input(0, &aq.q)?;
    let b = ctx.quantized_input(3, &bq.q)?;
    let mut ins = vec![a, b];
    if let Some(c) = ctx.opt_input(6)? {
        ins.push(c);
    }
    ctx.emit1_with(Op::QGemm(attrs, Clamp::default()), ins, y)?;
    Ok(())
}

/// com.microsoft QLinearAdd / QLinearMul:
/// `A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?`.
fn qlinear_binary(ctx: &mut NodeCtx, op: BinaryOp) -> LResult<()> {
    ctx.expect_inputs_with(7, 8, &[0, 1, 3, 4, 6])?;
    let out_default = ctx.peek_type(0)?.dtype;
    let a = dequantize_input(ctx, 0, 1, Some(2), 1, "a_dq")?;
    let b = dequantize_input(ctx, 3, 4, Some(5), 1, "b_dq")?;
    let y = ctx.tmp(Op::Binary(op).name(), Op::Binary(op), vec![a, b])?;
    quantize_output(ctx, y, 6, Some(7), out_default)?;
    Ok(())
}

/// com.microsoft QLinearAdd.
pub(crate) fn qlinear_add(ctx: &mut NodeCtx) -> LResult<()> {
    qlinear_binary(ctx, BinaryOp::Add)
}

/// com.microsoft QLinearMul.
pub(crate) fn qlinear_mul(ctx: &mut NodeCtx) -> LResult<()> {
    qlinear_binary(ctx, BinaryOp::Mul)
}

/// com.microsoft QLinearConcat: `Y_scale, Y_zp, (X, X_scale, X_zp)...`; attr axis.
pub(crate) fn qlinear_concat(ctx: &mut NodeCtx) -> LResult<()> {
    let n = ctx.num_inputs();
    if n < 5 || 2 + 3 * ((n - 2) / 3) != n {
        bail!("expected 2 + 3k inputs (k >= 1), got {n}");
    }
    let Some(axis) = ctx.attrs().int("axis")? else {
        bail!("missing required attribute 'axis'");
    };
    ctx.input_name(0)?;
    let out_default = ctx.peek_type(2)?.dtype;
    let mut ins = Vec::with_capacity((n - 2) / 3);
    for k in 0..(n - 2) / 3 {
        let i = 2 + 3 * k;
        ins.push(dequantize_input(
            ctx,
            i,
            i + 1,
            Some(i + 2),
            1,
            &format!("x{k}_dq"),
        )?);
    }
    let y = ctx.tmp("concat", Op::Concat { axis }, ins)?;
    quantize_output(ctx, y, 0, Some(1), out_default)?;
    Ok(())
}

fn check_channels_first(ctx: &NodeCtx) -> LResult<()> {
    if ctx.attrs().int_or("channels_last", 0)? != 0 {
        return Err(LowerError::Unsupported(format!(
            "{} with channels_last=1",
            ctx.node.op_type
        )));
    }
    Ok(())
}

/// com.microsoft QLinearAveragePool: `X, x_scale, x_zp?, y_scale, y_zp?` + AveragePool attrs.
pub(crate) fn qlinear_avg_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs_with(4, 5, &[0, 1, 3])?;
    check_channels_first(ctx)?;
    let xt = ctx.peek_type(0)?;
    let attrs = pool_attrs(ctx, &xt)?;
    let x = dequantize_input(ctx, 0, 1, Some(2), 1, "x_dq")?;
    let y = ctx.tmp("avgpool", Op::AvgPool(attrs), vec![x])?;
    quantize_output(ctx, y, 3, Some(4), xt.dtype)?;
    Ok(())
}

/// com.microsoft QLinearGlobalAveragePool: `X, x_scale, x_zp?, y_scale, y_zp?`.
pub(crate) fn qlinear_global_avg_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs_with(4, 5, &[0, 1, 3])?;
    check_channels_first(ctx)?;
    let dt = ctx.peek_type(0)?.dtype;
    let x = dequantize_input(ctx, 0, 1, Some(2), 1, "x_dq")?;
    let y = ctx.tmp("global_avgpool", Op::GlobalAvgPool, vec![x])?;
    quantize_output(ctx, y, 3, Some(4), dt)?;
    Ok(())
}

/// A unary float op between dequantize and quantize: `X, X_scale, X_zp?, Y_scale, Y_zp?`.
fn qlinear_unary(ctx: &mut NodeCtx, op: Op) -> LResult<()> {
    ctx.expect_inputs_with(4, 5, &[0, 1, 3])?;
    let dt = ctx.peek_type(0)?.dtype;
    let x = dequantize_input(ctx, 0, 1, Some(2), 1, "x_dq")?;
    let y = ctx.tmp(op.name(), op, vec![x])?;
    quantize_output(ctx, y, 3, Some(4), dt)?;
    Ok(())
}

/// com.microsoft QLinearSigmoid.
pub(crate) fn qlinear_sigmoid(ctx: &mut NodeCtx) -> LResult<()> {
    qlinear_unary(ctx, Op::Unary(UnaryOp::Sigmoid))
}

/// com.microsoft QLinearLeakyRelu (attr alpha, default 0.01).
pub(crate) fn qlinear_leaky_relu(ctx: &mut NodeCtx) -> LResult<()> {
    let alpha = ctx.attrs().float_or("alpha", 0.01)?;
    qlinear_unary(ctx, Op::LeakyRelu { alpha })
}

/// com.microsoft QLinearSoftmax (attrs axis, opset: the ai.onnx Softmax semantics). With
/// opset < 13 semantics at a dim other than the last, the input is coerced to 2-d at `axis`:
/// flatten -> softmax(-1) -> reshape back, between the dequantize and the quantize.
pub(crate) fn qlinear_softmax(ctx: &mut NodeCtx) -> LResult<()> {
    let a = ctx.attrs();
    let sem = a.int_or("opset", 13)?;
    let axis = a.int_or("axis", if sem >= 13 { -1 } else { 1 })?;
    let xt = ctx.peek_type(0)?;
    let rank = xt.rank();
    if sem >= 13 {
        return qlinear_unary(ctx, Op::Softmax { axis });
    }
    let n = norm_axis(axis, rank)?;
    if n + 1 == rank {
        return qlinear_unary(ctx, Op::Softmax { axis: -1 });
    }
    if xt.shape.iter().filter(|d| d.fixed().is_none()).count() > 1 {
        return Err(LowerError::Unsupported(format!(
            "QLinearSoftmax with opset={sem} semantics at axis {axis} on more than one run-time dim"
        )));
    }
    let spec: Vec<i64> = xt
        .shape
        .iter()
        .map(|d| d.fixed().map_or(-1, |v| v as i64))
        .collect();
    ctx.expect_inputs_with(4, 5, &[0, 1, 3])?;
    let dt = xt.dtype;
    let x = dequantize_input(ctx, 0, 1, Some(2), 1, "x_dq")?;
    let flat = ctx.tmp("flatten", Op::Flatten { axis: n as i64 }, vec![x])?;
    let sm = ctx.tmp("softmax", Op::Softmax { axis: -1 }, vec![flat])?;
    let back = ctx.tmp(
        "reshape",
        Op::Reshape {
            shape: spec,
            allowzero: false,
        },
        vec![sm],
    )?;
    quantize_output(ctx, back, 3, Some(4), dt)?;
    Ok(())
}
