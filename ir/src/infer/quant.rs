//! Quantization parameters that results inherit from their operands.

use super::dims::{norm_axis, Size};
use super::shapes;
use crate::{BinaryOp, Dim, Module, Op, QParams, ReduceOp, TensorType, UnaryOp};

/// Keeps per-tensor parameters; moves a per-axis axis with `f` (`None` drops them).
fn remap(q: Option<QParams>, f: impl FnOnce(usize) -> Option<usize>) -> Option<QParams> {
    let q = q?;
    match q.axis {
        None => Some(q),
        Some(a) => {
            let b = f(a)?;
            Some(QParams { axis: Some(b), ..q })
        }
    }
}

/// Where input dim `a` lands after a reshape from `x` to `out`: the output dim with the same
/// size and the same element count before it.
fn reshape_axis(x: &[Dim], out: &[Dim], a: usize) -> Option<usize> {
    let xa = x.get(a)?;
    if *xa == Dim::Any {
        return None;
    }
    let pre = Size::of(&x[..a]);
    if !pre.exact() {
        return None;
    }
    (0..out.len()).find(|&b| out[b] == *xa && Size::of(&out[..b]) == pre)
}

/// Squeeze: the axis moves down past removed dims; a removed quantized dim (size 1, so one
/// scale) leaves per-tensor parameters.
fn squeeze_quant(q: Option<QParams>, axes: &[i64], ins: &[&TensorType]) -> Option<QParams> {
    let p = q?;
    let Some(a) = p.axis else {
        return Some(p);
    };
    if ins.len() != 1 {
        return None;
    }
    let removed = shapes::squeezed_axes(axes, &ins.first()?.shape).ok()?;
    if removed.contains(&a) {
        return (p.scale.len() == 1 && p.zero_point.len() == 1)
            .then_some(QParams { axis: None, ..p });
    }
    Some(QParams {
        axis: Some(a - removed.iter().filter(|&&i| i < a).count()),
        ..p
    })
}

pub(super) fn inherited(
    op: &Op,
    ins: &[&TensorType],
    n: usize,
    module: &Module,
) -> Vec<Option<QParams>> {
    let mut out = vec![None; n];
    if n == 0 {
        return out;
    }
    let x = ins.first();
    let q0 = || x.and_then(|t| t.quant.clone());
    let rank = x.map_or(0, |t| t.rank());
    let first = match op {
        Op::Const(c) => module
            .consts
            .get(c.0 as usize)
            .and_then(|k| k.ty.quant.clone()),
        Op::Identity | Op::Clip { .. } => q0(),
        // Nearest-neighbour resizing copies elements.
        Op::ResizeNearest { .. } => remap(q0(), Some),
        // Bilinear resizing interpolates stored values on the operand's grid.
        Op::ResizeBilinear { .. } => remap(q0(), |_| None),
        Op::Unary(UnaryOp::Relu) => x.filter(|t| t.dtype.is_int()).and_then(|t| t.quant.clone()),
        // Pooling mixes values along the spatial dims only; an integer average pool (TFLite's
        // AVERAGE_POOL_2D) averages stored values on its operand's grid.
        Op::MaxPool(_) | Op::GlobalMaxPool | Op::AvgPool(_) | Op::GlobalAvgPool => {
            remap(q0(), |a| (a < 2).then_some(a))
        }
        // The extremum of stored values on an integer grid is a stored value of the same
        // grid (per-tensor parameters only).
        Op::Reduce {
            op: ReduceOp::Max | ReduceOp::Min,
            ..
        } => x
            .filter(|t| t.dtype.is_int())
            .and_then(|t| remap(t.quant.clone(), |_| None)),
        // The larger / smaller of two stored values on one grid.
        Op::Binary(BinaryOp::Max | BinaryOp::Min) => {
            let q = x.filter(|t| t.dtype.is_int()).and_then(|t| t.quant.clone());
            let same = ins.iter().all(|t| match (&t.quant, &q) {
                (Some(a), Some(b)) => a.same_as(b) && a.is_per_tensor(),
                _ => false,
            });
            q.filter(|_| same)
        }
        Op::Transpose { perm } => remap(q0(), |a| {
            shapes::perm_of(perm, rank)
                .ok()?
                .iter()
                .position(|&p| p == a)
        }),
        Op::Reshape { .. } | Op::Flatten { .. } => remap(q0(), |a| {
            let o = shapes::infer(op, ins, 1, module).ok()?;
            reshape_axis(&x?.shape, o.first()?, a)
        }),
        Op::Squeeze { axes } => squeeze_quant(q0(), axes, ins),
        Op::Unsqueeze { axes } => remap(q0(), |a| {
            if ins.len() != 1 {
                return None;
            }
            let pos = shapes::unsqueeze_positions(axes, rank).ok()?;
            (0..rank + axes.len()).filter(|i| !pos.contains(i)).nth(a)
        }),
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => remap(q0(), |a| {
            if ins.len() != 1 {
                return None;
            }
            let spec = shapes::slice_spec(starts, ends, axes, steps, rank).ok()?;
            match spec.iter().find(|s| s.0 == a) {
                None => Some(a),
                Some(&(_, s, e, st)) => {
                    shapes::slice_is_identity(&x?.shape[a], s, e, st).then_some(a)
                }
            }
        }),
        Op::Pad { pads, .. } => remap(q0(), |a| {
            (ins.len() == 1 && pads.len() == 2 * rank && pads[a] == 0 && pads[rank + a] == 0)
                .then_some(a)
        }),
        // Expand copies elements; new leading dims move a per-axis axis, and a broadcast
        // quantized dim (size 1, one scale) cannot stay per-axis.
        Op::Expand { shape } => remap(q0(), |a| {
            if ins.len() != 1 {
                return None;
            }
            let lead = shape.len().saturating_sub(rank);
            (x?.shape[a] != Dim::Fixed(1)).then_some(a + lead)
        }),
        // Gather selects whole slices: an axis before `axis` stays, one after it moves by
        // the indices' rank; the gathered axis itself loses its per-axis parameters.
        Op::Gather { axis } => remap(q0(), |a| {
            let g = norm_axis(*axis, rank, "axis").ok()?;
            let ir = ins.get(1)?.rank();
            match a.cmp(&g) {
                std::cmp::Ordering::Less => Some(a),
                std::cmp::Ordering::Greater => Some(a + ir - 1),
                std::cmp::Ordering::Equal => None,
            }
        }),
        Op::Concat { axis } => {
            let q = q0();
            let all_same = ins.iter().all(|t| match (&t.quant, &q) {
                (Some(a), Some(b)) => a.same_as(b),
                _ => false,
            });
            if all_same {
                let ca = norm_axis(*axis, rank, "axis").ok();
                remap(q, |a| (ca.is_some() && ca != Some(a)).then_some(a))
            } else {
                None
            }
        }
        Op::Split { axis, .. } => {
            let sa = norm_axis(*axis, rank, "axis").ok();
            let q = remap(q0(), |a| (sa.is_some() && sa != Some(a)).then_some(a));
            return vec![q; n];
        }
        _ => None,
    };
    out[0] = first;
    out
}
