//! MEAN: `qmean` on quantized tensors (TFLite's reference integer mean, see
//! [`qcc_ir::Op::QMean`]), `reduce_mean` on float ones. REDUCE_MAX / REDUCE_MIN:
//! `reduce_max` / `reduce_min` on the stored values (the reference kernel compares raw
//! integers; input and output share their quantization). Axes come from a constant
//! operand; negative and repeated axes are normalised as the reference kernel's
//! `ResolveAxis` does. ARG_MAX / ARG_MIN: `arg_max` / `arg_min` (first index on ties, the
//! reference kernel's strict comparison) over the constant axis, then a cast to int32 when
//! the options ask for it.

use super::{expect_dtype, layout::const_ints, layout::same_params, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, LResult};
use qcc_ir::{ArgOp, DType, Op, ReduceOp};

/// The reduced axes of `op`'s constant axis operand (input 1), normalised and deduplicated
/// in order.
fn reduced_axes(b: &Builder<'_>, op: &OpRef<'_>, x: usize) -> LResult<Vec<i64>> {
    let rank = b.tensor(x).shape.len() as i64;
    let mut axes = Vec::new();
    for a in const_ints(b, op.input(1)?, "axis")? {
        let n = if a < 0 { a + rank } else { a };
        if n < 0 || n >= rank {
            bail!("axis {a} is out of range for rank {rank}");
        }
        if !axes.contains(&n) {
            axes.push(n);
        }
    }
    Ok(axes)
}

/// Whether the reducer keeps the reduced dims.
fn keep_dims(op: &OpRef<'_>) -> bool {
    op.fb
        .builtin_options_as_reducer_options()
        .is_some_and(|o| o.keep_dims())
}

/// REDUCE_MAX.
pub(crate) fn reduce_max(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    reduce_extremum(b, op, ReduceOp::Max)
}

/// REDUCE_MIN.
pub(crate) fn reduce_min(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    reduce_extremum(b, op, ReduceOp::Min)
}

/// REDUCE_MAX / REDUCE_MIN: the extremum of the stored values (float or quantized with the
/// input's parameters; over no axis, a copy).
fn reduce_extremum(b: &mut Builder<'_>, op: &OpRef<'_>, rop: ReduceOp) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the input",
    )?;
    same_params(b, x, y)?;
    let axes = reduced_axes(b, op, x)?;
    let xv = b.value(x)?;
    let v = if axes.is_empty() {
        b.emit_tensor(y, Op::Identity, vec![xv])?
    } else {
        let reduce = Op::Reduce {
            op: rop,
            axes: Some(axes),
            keepdims: keep_dims(op),
            noop_with_empty_axes: false,
        };
        b.emit_tensor(y, reduce, vec![xv])?
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// MEAN.
pub(crate) fn mean(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let keepdims = keep_dims(op);
    let dt = expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the input",
    )?;
    if b.tensor(y).dtype != dt {
        bail!(
            "output type {} differs from input type {dt}",
            b.tensor(y).dtype
        );
    }
    let axes = reduced_axes(b, op, x)?;
    let xv = b.value(x)?;
    let v = if axes.is_empty() {
        // No axis: the reference copies the input through (the mean over nothing).
        if dt != DType::F32 {
            let (sx, zx) = b.per_tensor(x, "the input")?;
            if (sx, zx) != b.per_tensor(y, "the output")? {
                bail!("MEAN over no axis with different input and output quantization");
            }
        }
        b.emit_tensor(y, Op::Identity, vec![xv])?
    } else if dt == DType::F32 {
        b.emit_tensor(
            y,
            Op::Reduce {
                op: ReduceOp::Mean,
                axes: Some(axes),
                keepdims,
                noop_with_empty_axes: false,
            },
            vec![xv],
        )?
    } else {
        b.per_tensor(x, "the input")?;
        b.per_tensor(y, "the output")?;
        b.emit_tensor(y, Op::QMean { axes, keepdims }, vec![xv])?
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// ARG_MAX.
pub(crate) fn arg_max(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    arg(b, op, ArgOp::Max)
}

/// ARG_MIN.
pub(crate) fn arg_min(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    arg(b, op, ArgOp::Min)
}

/// ARG_MAX / ARG_MIN over one constant axis (the axis is dropped from the result).
fn arg(b: &mut Builder<'_>, op: &OpRef<'_>, aop: ArgOp) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::I32, DType::F32],
        "the input",
    )?;
    let axes = reduced_axes(b, op, x)?;
    let [axis] = axes[..] else {
        bail!("ARG_{aop:?} needs exactly one axis, got {axes:?}");
    };
    let out = b.tensor(y).dtype;
    if !matches!(out, DType::I32 | DType::I64) {
        bail!("output type {out} (int32 or int64 expected)");
    }
    let xv = b.value(x)?;
    let arg = Op::Arg {
        op: aop,
        axis,
        keepdims: false,
        select_last_index: false,
    };
    let v = if out == DType::I64 {
        b.emit_tensor(y, arg, vec![xv])?
    } else {
        let name = b.tensor(y).name.clone();
        let i = b.emit(&name, arg, vec![xv], None, Some(None))?;
        b.emit_tensor(y, Op::Cast { to: DType::I32 }, vec![i])?
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}
