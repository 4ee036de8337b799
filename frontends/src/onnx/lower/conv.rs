//! Conv, ConvInteger, Gemm, MatMul, MatMulInteger and BatchNormalization, plus the
//! convolution / pooling attribute helpers (auto_pad resolution).

use crate::onnx::attrs::Attrs;
use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use qcc_ir::{ConvAttrs, DType, Dim, GemmAttrs, Op, TensorType};

/// Resolves `pads` for `n` spatial dims from `auto_pad` / `pads`: begins then ends.
pub(crate) fn resolve_pads(
    a: &Attrs,
    x: &TensorType,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> LResult<Vec<usize>> {
    let n = kernel.len();
    let auto_pad = a
        .string("auto_pad")?
        .unwrap_or_else(|| "NOTSET".to_string());
    match auto_pad.as_str() {
        "NOTSET" | "" => {
            let pads = a.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n]);
            if pads.len() != 2 * n {
                bail!(
                    "attribute 'pads' has {} values, expected {} for {n} spatial dims",
                    pads.len(),
                    2 * n
                );
            }
            Ok(pads)
        }
        "VALID" => Ok(vec![0; 2 * n]),
        "SAME_UPPER" | "SAME_LOWER" => {
            if x.rank() != n + 2 {
                bail!("input has rank {}, expected {}", x.rank(), n + 2);
            }
            let mut begins = vec![0; n];
            let mut ends = vec![0; n];
            for i in 0..n {
                let Dim::Fixed(size) = x.shape[i + 2] else {
                    return Err(LowerError::Unsupported(format!(
                        "auto_pad {auto_pad} needs a fixed spatial size, dim {} is '{}'",
                        i + 2,
                        x.shape[i + 2]
                    )));
                };
                let s = strides[i].max(1);
                let out = size.div_ceil(s);
                let eff_k = (kernel[i].max(1) - 1)
                    .saturating_mul(dilations[i].max(1))
                    .saturating_add(1);
                let need = (out.max(1) - 1)
                    .saturating_mul(s)
                    .saturating_add(eff_k)
                    .saturating_sub(size);
                let (lo, hi) = if auto_pad == "SAME_UPPER" {
                    (need / 2, need - need / 2)
                } else {
                    (need - need / 2, need / 2)
                };
                begins[i] = lo;
                ends[i] = hi;
            }
            begins.extend(ends);
            Ok(begins)
        }
        other => bail!("unknown auto_pad '{other}'"),
    }
}

/// An INTS attribute of `n` positive values with default 1s.
pub(crate) fn spatial_ints(a: &Attrs, name: &str, n: usize) -> LResult<Vec<usize>> {
    let v = a.usizes(name)?.unwrap_or_else(|| vec![1; n]);
    if v.len() != n {
        bail!("attribute '{name}' has {} values, expected {n}", v.len());
    }
    if v.contains(&0) {
        bail!("attribute '{name}' must be positive, got {v:?}");
    }
    Ok(v)
}

/// Convolution attributes for input `x` and weight `w` (O x I/g x k...).
pub(crate) fn conv_attrs(ctx: &NodeCtx, x: &TensorType, w: &TensorType) -> LResult<ConvAttrs> {
    let a = ctx.attrs();
    if w.rank() < 3 {
        bail!("weight has rank {}, expected at least 3", w.rank());
    }
    if x.rank() != w.rank() {
        bail!(
            "input has rank {} but weight has rank {}",
            x.rank(),
            w.rank()
        );
    }
    let n = w.rank() - 2;
    let kernel = match a.usizes("kernel_shape")? {
        Some(k) => {
            if k.len() != n {
                bail!(
                    "attribute 'kernel_shape' has {} values, expected {n}",
                    k.len()
                );
            }
            for (i, &kk) in k.iter().enumerate() {
                if let Dim::Fixed(d) = w.shape[i + 2] {
                    if d != kk {
                        bail!("kernel_shape {k:?} does not match the weight shape");
                    }
                }
            }
            k
        }
        None => match w.shape[2..]
            .iter()
            .map(Dim::fixed)
            .collect::<Option<Vec<_>>>()
        {
            Some(k) => k,
            None => bail!("weight spatial dims must be fixed (or give kernel_shape)"),
        },
    };
    let strides = spatial_ints(&a, "strides", n)?;
    let dilations = spatial_ints(&a, "dilations", n)?;
    let pads = resolve_pads(&a, x, &kernel, &strides, &dilations)?;
    let group = a.int_or("group", 1)?;
    if group < 1 {
        bail!("attribute 'group' must be >= 1, got {group}");
    }
    Ok(ConvAttrs {
        strides,
        pads,
        dilations,
        group: group as usize,
    })
}

/// ONNX Conv: `[x, w, bias?]`.
pub(crate) fn conv(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 3)?;
    let x = ctx.input(0)?;
    let w = ctx.input(1)?;
    let attrs = conv_attrs(ctx, &ctx.ty(x).clone(), &ctx.ty(w).clone())?;
    let mut ins = vec![x, w];
    if let Some(b) = ctx.opt_input(2)? {
        ins.push(b);
    }
    ctx.emit1(Op::Conv(attrs), ins)?;
    Ok(())
}

/// ONNX ConvInteger: `[x, w, x_zero_point, w_zero_point] -> i32` (absent zero points are
/// materialised as scalar zeros of the operand's type).
pub(crate) fn conv_integer(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 4)?;
    let x = ctx.input(0)?;
    let w = ctx.input(1)?;
    let (xt, wt) = (ctx.ty(x).clone(), ctx.ty(w).clone());
    let attrs = conv_attrs(ctx, &xt, &wt)?;
    let xz = match ctx.opt_input(2)? {
        Some(v) => v,
        None => ctx.scalar_const("x_zero_point", xt.dtype, 0.0),
    };
    let wz = match ctx.opt_input(3)? {
        Some(v) => v,
        None => ctx.scalar_const("w_zero_point", wt.dtype, 0.0),
    };
    ctx.emit1_with(
        Op::ConvInteger(attrs),
        vec![x, w, xz, wz],
        ResultOverride::plain(DType::I32),
    )?;
    Ok(())
}

/// ONNX MatMul.
pub(crate) fn matmul(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 2)?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    ctx.emit1(Op::MatMul, vec![a, b])?;
    Ok(())
}

/// ONNX MatMulInteger: `[a, b, a_zero_point, b_zero_point] -> i32`.
pub(crate) fn matmul_integer(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 4)?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let (ad, bd) = (ctx.ty(a).dtype, ctx.ty(b).dtype);
    let az = match ctx.opt_input(2)? {
        Some(v) => v,
        None => ctx.scalar_const("a_zero_point", ad, 0.0),
    };
    let bz = match ctx.opt_input(3)? {
        Some(v) => v,
        None => ctx.scalar_const("b_zero_point", bd, 0.0),
    };
    ctx.emit1_with(
        Op::MatMulInteger,
        vec![a, b, az, bz],
        ResultOverride::plain(DType::I32),
    )?;
    Ok(())
}

/// Gemm attributes (alpha, beta, transA, transB).
pub(crate) fn gemm_attrs(ctx: &NodeCtx) -> LResult<GemmAttrs> {
    let a = ctx.attrs();
    Ok(GemmAttrs {
        alpha: a.float_or("alpha", 1.0)?,
        beta: a.float_or("beta", 1.0)?,
        trans_a: a.flag("transA", false)?,
        trans_b: a.flag("transB", false)?,
    })
}

/// ONNX Gemm: `[a, b, c?]`.
pub(crate) fn gemm(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 3)?;
    let attrs = gemm_attrs(ctx)?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let mut ins = vec![a, b];
    if let Some(c) = ctx.opt_input(2)? {
        ins.push(c);
    }
    ctx.emit1(Op::Gemm(attrs), ins)?;
    Ok(())
}

/// ONNX BatchNormalization (inference, or training_mode with 3 results).
pub(crate) fn batch_norm(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(5, 5)?;
    let a = ctx.attrs();
    if a.int("spatial")? == Some(0) {
        return Err(LowerError::Unsupported(
            "BatchNormalization with spatial=0".to_string(),
        ));
    }
    if a.int("is_test")? == Some(0) && ctx.num_outputs() > 1 {
        return Err(LowerError::Unsupported(
            "BatchNormalization in legacy training mode (is_test=0)".to_string(),
        ));
    }
    let epsilon = a.float_or("epsilon", 1e-5)?;
    let momentum = a.float_or("momentum", 0.9)?;
    let training = ctx.opset >= 14 && a.flag("training_mode", false)?;
    let n_out = ctx.node.output.iter().filter(|o| !o.is_empty()).count();
    if !training && ctx.num_outputs() > 1 && n_out > 1 {
        return Err(LowerError::Unsupported(
            "BatchNormalization training outputs (mean / var) without training_mode=1".to_string(),
        ));
    }
    if training && ctx.num_outputs() > 3 {
        bail!("expected at most 3 outputs, got {}", ctx.num_outputs());
    }
    let mut ins = Vec::with_capacity(5);
    for i in 0..5 {
        ins.push(ctx.input(i)?);
    }
    let op = Op::BatchNorm {
        epsilon,
        momentum,
        training,
    };
    if training {
        ctx.emit_outputs(op, ins, 3, &[])?;
    } else {
        ctx.emit_outputs(op, ins, 1, &[])?;
    }
    Ok(())
}
