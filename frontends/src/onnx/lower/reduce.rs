//! ReduceMean / ReduceSum / ReduceMax / ReduceMin: `axes` is an attribute up to opset 17
//! (12 for ReduceSum) and an optional input after; run-time axes give the dynamic form.
//! ArgMax / ArgMin: `arg_max` / `arg_min` with the `axis`, `keepdims` and
//! `select_last_index` attributes.

use crate::onnx::error::{bail, LResult};
use crate::onnx::node::NodeCtx;
use qcc_ir::{ArgOp, Op, ReduceOp};

fn reduce(ctx: &mut NodeCtx, op: ReduceOp, input_since: i64) -> LResult<()> {
    let a = ctx.attrs();
    let keepdims = a.flag("keepdims", true)?;
    let noop_with_empty_axes = a.flag("noop_with_empty_axes", false)?;
    if ctx.opset < input_since {
        ctx.expect_inputs(1, 1)?;
        let axes = a.ints("axes")?;
        let x = ctx.input(0)?;
        ctx.emit1(
            Op::Reduce {
                op,
                axes,
                keepdims,
                noop_with_empty_axes: false,
            },
            vec![x],
        )?;
        return Ok(());
    }
    ctx.expect_inputs(1, 2)?;
    if a.has("axes") {
        bail!("'axes' is an input from opset {input_since}, not an attribute");
    }
    let x = ctx.input(0)?;
    if ctx.input_is_static(1)? {
        let axes = ctx.const_ints(1, "axes")?.filter(|v| !v.is_empty());
        ctx.emit1(
            Op::Reduce {
                op,
                axes,
                keepdims,
                noop_with_empty_axes,
            },
            vec![x],
        )?;
    } else {
        let ax = ctx.input(1)?;
        ctx.emit1(
            Op::Reduce {
                op,
                axes: None,
                keepdims,
                noop_with_empty_axes,
            },
            vec![x, ax],
        )?;
    }
    Ok(())
}

/// ONNX ReduceMean.
pub(crate) fn reduce_mean(ctx: &mut NodeCtx) -> LResult<()> {
    reduce(ctx, ReduceOp::Mean, 18)
}

/// ONNX ReduceSum.
pub(crate) fn reduce_sum(ctx: &mut NodeCtx) -> LResult<()> {
    reduce(ctx, ReduceOp::Sum, 13)
}

/// ONNX ReduceMax.
pub(crate) fn reduce_max(ctx: &mut NodeCtx) -> LResult<()> {
    reduce(ctx, ReduceOp::Max, 18)
}

/// ONNX ReduceMin.
pub(crate) fn reduce_min(ctx: &mut NodeCtx) -> LResult<()> {
    reduce(ctx, ReduceOp::Min, 18)
}

/// ONNX ArgMax / ArgMin.
fn arg(ctx: &mut NodeCtx, op: ArgOp) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let a = ctx.attrs();
    let axis = a.int("axis")?.unwrap_or(0);
    let keepdims = a.flag("keepdims", true)?;
    let select_last_index = a.flag("select_last_index", false)?;
    let x = ctx.input(0)?;
    ctx.emit1(
        Op::Arg {
            op,
            axis,
            keepdims,
            select_last_index,
        },
        vec![x],
    )?;
    Ok(())
}

/// ONNX ArgMax.
pub(crate) fn arg_max(ctx: &mut NodeCtx) -> LResult<()> {
    arg(ctx, ArgOp::Max)
}

/// ONNX ArgMin.
pub(crate) fn arg_min(ctx: &mut NodeCtx) -> LResult<()> {
    arg(ctx, ArgOp::Min)
}
