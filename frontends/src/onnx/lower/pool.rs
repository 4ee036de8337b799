//! MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.

use super::conv::{resolve_pads, spatial_ints};
use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use qcc_ir::{DType, Op, PoolAttrs, TensorType};

/// Pooling attributes for input `x`.
pub(crate) fn pool_attrs(ctx: &NodeCtx, x: &TensorType) -> LResult<PoolAttrs> {
    let a = ctx.attrs();
    let Some(kernel) = a.usizes("kernel_shape")? else {
        bail!("missing required attribute 'kernel_shape'");
    };
    let n = kernel.len();
    if n == 0 || kernel.iter().any(|&k| k == 0) {
        bail!("attribute 'kernel_shape' must be non-empty and positive, got {kernel:?}");
    }
    if x.rank() != n + 2 {
        bail!(
            "input has rank {}, expected {} for a {n}-d kernel",
            x.rank(),
            n + 2
        );
    }
    let strides = spatial_ints(&a, "strides", n)?;
    let dilations = spatial_ints(&a, "dilations", n)?;
    let pads = resolve_pads(&a, x, &kernel, &strides, &dilations)?;
    Ok(PoolAttrs {
        kernel,
        strides,
        pads,
        dilations,
        ceil_mode: a.flag("ceil_mode", false)?,
        count_include_pad: a.flag("count_include_pad", false)?,
    })
}

/// ONNX MaxPool (optional second output: i64 indices; storage_order must be 0).
pub(crate) fn max_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    if ctx.attrs().int_or("storage_order", 0)? != 0 {
        return Err(LowerError::Unsupported(
            "MaxPool with storage_order=1".to_string(),
        ));
    }
    if ctx.num_outputs() > 2 {
        bail!("expected at most 2 outputs, got {}", ctx.num_outputs());
    }
    let x = ctx.input(0)?;
    let attrs = pool_attrs(ctx, &ctx.ty(x).clone())?;
    if ctx.output_name(1).is_some() {
        ctx.emit_outputs(
            Op::MaxPool(attrs),
            vec![x],
            2,
            &[ResultOverride::default(), ResultOverride::plain(DType::I64)],
        )?;
    } else {
        ctx.emit_outputs(Op::MaxPool(attrs), vec![x], 1, &[])?;
    }
    Ok(())
}

/// ONNX AveragePool.
pub(crate) fn avg_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    let attrs = pool_attrs(ctx, &ctx.ty(x).clone())?;
    ctx.emit1(Op::AvgPool(attrs), vec![x])?;
    Ok(())
}

/// ONNX GlobalAveragePool.
pub(crate) fn global_avg_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::GlobalAvgPool, vec![x])?;
    Ok(())
}

/// ONNX GlobalMaxPool.
pub(crate) fn global_max_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::GlobalMaxPool, vec![x])?;
    Ok(())
}
