//! MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.

use super::conv::{resolve_pads, spatial_ints};
use crate::onnx::builder::ResultOverride;
use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use qcc_ir::{BinaryOp, DType, Dim, Op, PoolAttrs, TensorType};

/// Pooling attributes for input `x`.
pub(crate) fn pool_attrs(ctx: &NodeCtx, x: &TensorType) -> LResult<PoolAttrs> {
    let a = ctx.attrs();
    let Some(kernel) = a.usizes("kernel_shape")? else {
        bail!("missing required attribute 'kernel_shape'");
    };
    let n = kernel.len();
    if n == 0 || kernel.contains(&0) {
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
        row_major_sum: false,
    })
}

/// ONNX MaxPool (optional second output: i64 indices).
///
/// The IR's indices are row-major (`storage_order=0`). For `storage_order=1` (column-major
/// spatial index, 2-d pooling with fixed `H x W`) the row-major index `r` is converted with
/// integer ops: `c = r / HW`, `h = (r - c*HW) / W`, `w = r - c*HW - h*W`,
/// `index = c*HW + w*H + h` (what onnx's reference implementation computes).
pub(crate) fn max_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let storage_order = ctx.attrs().int_or("storage_order", 0)?;
    if storage_order != 0 && storage_order != 1 {
        bail!("attribute 'storage_order' must be 0 or 1, got {storage_order}");
    }
    if ctx.num_outputs() > 2 {
        bail!("expected at most 2 outputs, got {}", ctx.num_outputs());
    }
    let x = ctx.input(0)?;
    let xt = ctx.ty(x).clone();
    let attrs = pool_attrs(ctx, &xt)?;
    let Some(indices_name) = ctx.output_name(1) else {
        ctx.emit_outputs(Op::MaxPool(attrs), vec![x], 1, &[])?;
        return Ok(());
    };
    if storage_order == 0 {
        ctx.emit_outputs(
            Op::MaxPool(attrs),
            vec![x],
            2,
            &[ResultOverride::default(), ResultOverride::plain(DType::I64)],
        )?;
        return Ok(());
    }
    let (h, w) = match xt.shape.as_slice() {
        [_, _, Dim::Fixed(h), Dim::Fixed(w)] => (*h as f64, *w as f64),
        _ => {
            return Err(LowerError::Unsupported(
                "MaxPool with storage_order=1 other than 2-d pooling of a fixed H x W".to_string(),
            ))
        }
    };
    let y_name = ctx.output_name(0).map(str::to_string);
    let y_name = match y_name {
        Some(n) => n,
        None => ctx.tmp_name("values"),
    };
    let rm_name = ctx.tmp_name("row_major_indices");
    let node = ctx.name.clone();
    let res = ctx.b.emit(
        &node,
        Op::MaxPool(attrs),
        vec![x],
        vec![y_name.clone(), rm_name],
        &[ResultOverride::default(), ResultOverride::plain(DType::I64)],
    )?;
    let (y, r) = (res[0], res[1]);
    let hw = ctx.scalar_const("hw", DType::I64, h * w);
    let wc = ctx.scalar_const("w", DType::I64, w);
    let hc = ctx.scalar_const("h", DType::I64, h);
    let bin = |o| Op::Binary(o);
    let c = ctx.tmp("channel", bin(BinaryOp::Div), vec![r, hw])?;
    let base = ctx.tmp("channel_base", bin(BinaryOp::Mul), vec![c, hw])?;
    let rem = ctx.tmp("spatial", bin(BinaryOp::Sub), vec![r, base])?;
    let hi = ctx.tmp("row", bin(BinaryOp::Div), vec![rem, wc])?;
    let hw_off = ctx.tmp("row_base", bin(BinaryOp::Mul), vec![hi, wc])?;
    let wi = ctx.tmp("col", bin(BinaryOp::Sub), vec![rem, hw_off])?;
    let w_off = ctx.tmp("col_base", bin(BinaryOp::Mul), vec![wi, hc])?;
    let t = ctx.tmp("col_major", bin(BinaryOp::Add), vec![base, w_off])?;
    let idx = ctx.b.emit(
        &node,
        bin(BinaryOp::Add),
        vec![t, hi],
        vec![indices_name.to_string()],
        &[],
    )?[0];
    ctx.bind_outputs(&[y, idx])
}

/// ONNX AveragePool. From opset 19 ONNX Runtime's kernel sums each window in row-major
/// order (`row_major_sum`), before that in MLAS's order.
pub(crate) fn avg_pool(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    let mut attrs = pool_attrs(ctx, &ctx.ty(x).clone())?;
    attrs.row_major_sum = ctx.opset >= 19;
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
