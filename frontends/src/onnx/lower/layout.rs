//! Layout ops: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, Pad, Concat, Split,
//! Expand, Gather.
//!
//! Shape-like operands that are constants are folded into the op's attributes; run-time
//! ones give the op's dynamic form (extra operands in ONNX order, empty attributes).

use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::{norm_axis, NodeCtx};
use qcc_ir::{Data, Dim, Op, PadMode, Tensor, ValueId};

/// ONNX Reshape (`shape` attribute before opset 5, input after; `allowzero` from 14).
pub(crate) fn reshape(ctx: &mut NodeCtx) -> LResult<()> {
    let allowzero = ctx.attrs().flag("allowzero", false)?;
    if ctx.opset < 5 {
        ctx.expect_inputs(1, 1)?;
        let Some(shape) = ctx.attrs().ints("shape")? else {
            bail!("missing required attribute 'shape'");
        };
        let x = ctx.input(0)?;
        ctx.emit1(Op::Reshape { shape, allowzero }, vec![x])?;
        return Ok(());
    }
    ctx.expect_inputs(2, 2)?;
    let x = ctx.input(0)?;
    if let Some(s) = ctx.b.shape_vals.get(ctx.input_name(1)?) {
        let shape = super::shape::reshape_target(s, &ctx.ty(x).shape, allowzero)?;
        ctx.emit1(Op::Reshape { shape, allowzero }, vec![x])?;
        return Ok(());
    }
    match ctx.const_ints(1, "shape")? {
        Some(shape) => {
            ctx.emit1(Op::Reshape { shape, allowzero }, vec![x])?;
        }
        None => {
            let s = ctx.input(1)?;
            ctx.emit1(
                Op::Reshape {
                    shape: vec![],
                    allowzero,
                },
                vec![x, s],
            )?;
        }
    }
    Ok(())
}

/// ONNX Flatten.
pub(crate) fn flatten(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let axis = ctx.attrs().int_or("axis", 1)?;
    let x = ctx.input(0)?;
    ctx.emit1(Op::Flatten { axis }, vec![x])?;
    Ok(())
}

/// ONNX Transpose (default: reverse the dims).
pub(crate) fn transpose(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 1)?;
    let x = ctx.input(0)?;
    let rank = ctx.ty(x).rank();
    let perm = match ctx.attrs().ints("perm")? {
        Some(p) => {
            let mut seen = vec![false; rank];
            let mut out = Vec::with_capacity(p.len());
            for &v in &p {
                let a = norm_axis(v, rank)?;
                if seen[a] {
                    bail!("attribute 'perm' {p:?} is not a permutation of rank {rank}");
                }
                seen[a] = true;
                out.push(a);
            }
            if out.len() != rank {
                bail!("attribute 'perm' {p:?} is not a permutation of rank {rank}");
            }
            out
        }
        None => (0..rank).rev().collect(),
    };
    ctx.emit1(Op::Transpose { perm }, vec![x])?;
    Ok(())
}

/// Axes from the `axes` attribute (before `since`) or input 1 (from `since`): `Ok(Some)` for
/// constants (or absent: empty), `Ok(None)` when the input is a run-time value.
fn axes_operand(ctx: &NodeCtx, since: i64) -> LResult<Option<Vec<i64>>> {
    if ctx.opset < since {
        return Ok(Some(ctx.attrs().ints("axes")?.unwrap_or_default()));
    }
    if !ctx.has_input(1) {
        return Ok(Some(vec![]));
    }
    ctx.const_ints(1, "axes")
}

/// ONNX Squeeze (axes attribute before 13, optional input after).
pub(crate) fn squeeze(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, if ctx.opset < 13 { 1 } else { 2 })?;
    let x = ctx.input(0)?;
    match axes_operand(ctx, 13)? {
        Some(axes) => ctx.emit1(Op::Squeeze { axes }, vec![x])?,
        None => {
            let a = ctx.input(1)?;
            ctx.emit1(Op::Squeeze { axes: vec![] }, vec![x, a])?
        }
    };
    Ok(())
}

/// ONNX Unsqueeze (axes attribute before 13, required input after).
pub(crate) fn unsqueeze(ctx: &mut NodeCtx) -> LResult<()> {
    if ctx.opset < 13 {
        ctx.expect_inputs(1, 1)?;
        if !ctx.attrs().has("axes") {
            bail!("missing required attribute 'axes'");
        }
    } else {
        ctx.expect_inputs(2, 2)?;
    }
    let x = ctx.input(0)?;
    match axes_operand(ctx, 13)? {
        Some(axes) => ctx.emit1(Op::Unsqueeze { axes }, vec![x])?,
        None => {
            let a = ctx.input(1)?;
            ctx.emit1(Op::Unsqueeze { axes: vec![] }, vec![x, a])?
        }
    };
    Ok(())
}

/// ONNX Slice (attributes before opset 10, inputs `starts, ends, axes?, steps?` after).
pub(crate) fn slice(ctx: &mut NodeCtx) -> LResult<()> {
    if ctx.opset < 10 {
        ctx.expect_inputs(1, 1)?;
        let a = ctx.attrs();
        let Some(starts) = a.ints("starts")? else {
            bail!("missing required attribute 'starts'");
        };
        let Some(ends) = a.ints("ends")? else {
            bail!("missing required attribute 'ends'");
        };
        let axes = a
            .ints("axes")?
            .unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = vec![1; starts.len()];
        return emit_static_slice(ctx, starts, ends, axes, steps);
    }
    ctx.expect_inputs(3, 5)?;
    let all_static = (1..5).try_fold(true, |acc, i| {
        Ok::<_, LowerError>(acc && ctx.input_is_static(i)?)
    })?;
    if all_static {
        let starts = ctx.const_ints(1, "starts")?.unwrap_or_default();
        let ends = ctx.const_ints(2, "ends")?.unwrap_or_default();
        let axes = ctx
            .const_ints(3, "axes")?
            .unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = ctx
            .const_ints(4, "steps")?
            .unwrap_or_else(|| vec![1; starts.len()]);
        return emit_static_slice(ctx, starts, ends, axes, steps);
    }
    // Dynamic form: [x, starts, ends, axes?, steps?]; axes is materialised when only steps
    // is given.
    let x = ctx.input(0)?;
    let starts = ctx.input(1)?;
    let ends = ctx.input(2)?;
    let mut ins = vec![x, starts, ends];
    if ctx.has_input(3) {
        ins.push(ctx.input(3)?);
    } else if ctx.has_input(4) {
        let st = ctx.ty(starts).clone();
        let Some(n) = st
            .shape
            .first()
            .and_then(Dim::fixed)
            .filter(|_| st.rank() == 1)
        else {
            bail!("'starts' must be a 1-d tensor of known length when 'steps' is given without 'axes'");
        };
        let axes: Vec<i64> = (0..n as i64).collect();
        let dt = st.dtype;
        ins.push(ctx.new_const("axes", Tensor::new(vec![n], Data::from_i64(dt, &axes))));
    }
    if ctx.has_input(4) {
        ins.push(ctx.input(4)?);
    }
    ctx.emit1(
        Op::Slice {
            starts: vec![],
            ends: vec![],
            axes: vec![],
            steps: vec![],
        },
        ins,
    )?;
    Ok(())
}

fn emit_static_slice(
    ctx: &mut NodeCtx,
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Vec<i64>,
    steps: Vec<i64>,
) -> LResult<()> {
    let n = starts.len();
    if ends.len() != n || axes.len() != n || steps.len() != n {
        bail!(
            "starts, ends, axes and steps must have the same length, got {}, {}, {}, {}",
            n,
            ends.len(),
            axes.len(),
            steps.len()
        );
    }
    if steps.contains(&0) {
        bail!("slice steps must be non-zero, got {steps:?}");
    }
    let x = ctx.input(0)?;
    ctx.emit1(
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        },
        vec![x],
    )?;
    Ok(())
}

fn pad_mode(ctx: &NodeCtx) -> LResult<PadMode> {
    let mode = ctx
        .attrs()
        .string("mode")?
        .unwrap_or_else(|| "constant".to_string());
    Ok(match mode.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => {
            return Err(LowerError::Unsupported(format!("Pad mode '{other}'")));
        }
    })
}

/// ONNX Pad: attributes `pads` (`paddings` in opset 1) / `value` before opset 11; inputs
/// `pads, constant_value?, axes?` (axes from 18) after. Constant `axes` are folded into
/// pads over every dim.
pub(crate) fn pad(ctx: &mut NodeCtx) -> LResult<()> {
    let mode = pad_mode(ctx)?;
    if ctx.opset < 11 {
        ctx.expect_inputs(1, 1)?;
        let a = ctx.attrs();
        let pads = match a.ints("pads")? {
            Some(p) => p,
            None => match a.ints("paddings")? {
                Some(p) => p,
                None => bail!("missing required attribute 'pads'"),
            },
        };
        let value = a.float_or("value", 0.0)? as f64;
        let x = ctx.input(0)?;
        check_pads(&pads, ctx.ty(x).rank())?;
        ctx.emit1(Op::Pad { mode, pads, value }, vec![x])?;
        return Ok(());
    }
    ctx.expect_inputs(2, 4)?;
    let x = ctx.input(0)?;
    let rank = ctx.ty(x).rank();
    let all_static =
        ctx.input_is_static(1)? && ctx.input_is_static(2)? && ctx.input_is_static(3)?;
    if all_static {
        let pads = ctx.const_ints(1, "pads")?.unwrap_or_default();
        let value = match ctx.const_input(2)? {
            Some(t) if t.len() == 1 => t.data.to_f64_vec()[0],
            Some(t) if t.is_empty() => 0.0,
            Some(t) => bail!("constant_value must be a scalar, got shape {:?}", t.shape),
            None => 0.0,
        };
        let pads = match ctx.const_ints(3, "axes")? {
            None => pads,
            Some(axes) => {
                if pads.len() != 2 * axes.len() {
                    bail!(
                        "pads has {} values, expected {} for axes {axes:?}",
                        pads.len(),
                        2 * axes.len()
                    );
                }
                let mut full = vec![0i64; 2 * rank];
                for (k, &ax) in axes.iter().enumerate() {
                    let a = norm_axis(ax, rank)?;
                    full[a] = pads[k];
                    full[a + rank] = pads[k + axes.len()];
                }
                full
            }
        };
        check_pads(&pads, rank)?;
        ctx.emit1(Op::Pad { mode, pads, value }, vec![x])?;
        return Ok(());
    }
    let p = ctx.input(1)?;
    let mut ins = vec![x, p];
    if ctx.has_input(2) {
        ins.push(ctx.input(2)?);
    } else if ctx.has_input(3) {
        let dt = ctx.ty(x).dtype;
        ins.push(ctx.scalar_const("constant_value", dt, 0.0));
    }
    if ctx.has_input(3) {
        ins.push(ctx.input(3)?);
    }
    ctx.emit1(
        Op::Pad {
            mode,
            pads: vec![],
            value: 0.0,
        },
        ins,
    )?;
    Ok(())
}

fn check_pads(pads: &[i64], rank: usize) -> LResult<()> {
    if pads.len() != 2 * rank {
        bail!(
            "pads has {} values, expected {} for rank {rank}",
            pads.len(),
            2 * rank
        );
    }
    Ok(())
}

/// ONNX Concat.
pub(crate) fn concat(ctx: &mut NodeCtx) -> LResult<()> {
    let n = ctx.num_inputs();
    if n == 0 {
        bail!("expected at least 1 input");
    }
    let axis = match ctx.attrs().int("axis")? {
        Some(a) => a,
        None if ctx.opset < 4 => 1,
        None => bail!("missing required attribute 'axis'"),
    };
    let mut ins = Vec::with_capacity(n);
    for i in 0..n {
        ins.push(ctx.input(i)?);
    }
    ctx.emit1(Op::Concat { axis }, ins)?;
    Ok(())
}

/// ONNX Split: sizes from the `split` attribute (< 13) or input (>= 13), else equal parts
/// (`num_outputs` from 18, the output count before; the last part may be smaller).
pub(crate) fn split(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 2)?;
    let axis = ctx.attrs().int_or("axis", 0)?;
    let n_out = ctx.num_outputs();
    if n_out == 0 {
        bail!("expected at least 1 output");
    }
    let x = ctx.input(0)?;
    let xt = ctx.ty(x).clone();
    let a = norm_axis(axis, xt.rank())?;
    let sizes: Option<Vec<i64>> = if ctx.opset < 13 {
        match ctx.attrs().ints("split")? {
            Some(s) => Some(s),
            // Opset 2..12 also accepted the split as a second input.
            None if ctx.has_input(1) => ctx.const_ints(1, "split")?,
            None => Some(vec![]),
        }
    } else if ctx.has_input(1) {
        ctx.const_ints(1, "split")?
    } else {
        Some(vec![])
    };
    let Some(sizes) = sizes else {
        // Run-time split sizes: dynamic form.
        let s = ctx.input(1)?;
        ctx.emit_outputs(
            Op::Split {
                axis,
                sizes: vec![],
            },
            vec![x, s],
            n_out,
            &[],
        )?;
        return Ok(());
    };
    let sizes: Vec<usize> = if sizes.is_empty() {
        let parts = match ctx.attrs().int("num_outputs")? {
            Some(k) if ctx.opset >= 18 => {
                if k < 1 || k as usize != n_out {
                    bail!("num_outputs is {k} but the node has {n_out} outputs");
                }
                k as usize
            }
            _ => n_out,
        };
        let Dim::Fixed(d) = xt.shape[a] else {
            return Err(LowerError::Unsupported(format!(
                "Split into equal parts along a non-fixed dim '{}'",
                xt.shape[a]
            )));
        };
        let chunk = d.div_ceil(parts);
        if ctx.opset < 18 && d % parts != 0 {
            bail!("dim {d} cannot be split into {parts} equal parts");
        }
        (0..parts)
            .map(|i| chunk.min(d.saturating_sub(i.saturating_mul(chunk))))
            .collect()
    } else {
        let mut out = Vec::with_capacity(sizes.len());
        for &s in &sizes {
            if s < 0 {
                bail!("split sizes must be >= 0, got {sizes:?}");
            }
            out.push(s as usize);
        }
        if out.len() != n_out {
            bail!(
                "split has {} sizes but the node has {n_out} outputs",
                out.len()
            );
        }
        if let Dim::Fixed(d) = xt.shape[a] {
            if out.iter().try_fold(0usize, |a, &b| a.checked_add(b)) != Some(d) {
                bail!("split sizes {out:?} do not add up to dim {d}");
            }
        }
        out
    };
    let n = sizes.len();
    ctx.emit_outputs(Op::Split { axis, sizes }, vec![x], n, &[])?;
    Ok(())
}

/// A shape operand as IR dims: a constant, or a shape value whose symbolic elements
/// become symbolic dims (sizes must be non-negative); `None` for run-time data.
pub(crate) fn target_dims(ctx: &NodeCtx, i: usize, what: &str) -> LResult<Option<Vec<Dim>>> {
    use super::shape::SymInt;
    let name = ctx.input_name(i)?;
    let vals: Vec<SymInt> = if let Some(s) = ctx.b.shape_vals.get(name) {
        s.vals.clone()
    } else if let Some(k) = ctx.const_ints(i, what)? {
        k.into_iter().map(SymInt::Known).collect()
    } else {
        return Ok(None);
    };
    vals.into_iter()
        .map(|v| match v {
            SymInt::Known(k) if k >= 0 => Ok(Dim::Fixed(k as usize)),
            SymInt::Known(k) => bail!("{what} has the negative size {k}"),
            SymInt::Sym(s) if qcc_ir::is_plain_dim_name(&s) => Ok(Dim::Sym(s)),
            SymInt::Sym(s) => {
                bail!("{what} holds the symbolic dim '{s}', whose name is not a plain word")
            }
        })
        .collect::<LResult<Vec<_>>>()
        .map(Some)
}

/// ONNX Expand (numpy broadcasting to a shape given as an operand).
pub(crate) fn expand(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 2)?;
    let x = ctx.input(0)?;
    let shape = target_dims(ctx, 1, "shape")?;
    expand_to(ctx, x, shape, 1)
}

/// Emits `x` expanded to `shape` ([`target_dims`] of input `i`), or to input `i` itself
/// (the dynamic form) when that shape is computed at run time.
pub(crate) fn expand_to(
    ctx: &mut NodeCtx,
    x: ValueId,
    shape: Option<Vec<Dim>>,
    i: usize,
) -> LResult<()> {
    match shape {
        Some(shape) => ctx.emit1(Op::Expand { shape }, vec![x])?,
        None => {
            let s = ctx.input(i)?;
            ctx.emit1(Op::Expand { shape: vec![] }, vec![x, s])?
        }
    };
    Ok(())
}

/// ONNX Gather (data, integer indices; `axis` attribute, default 0).
pub(crate) fn gather(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(2, 2)?;
    let axis = ctx.attrs().int_or("axis", 0)?;
    let x = ctx.input(0)?;
    let a = norm_axis(axis, ctx.ty(x).rank())?;
    // Constant indices are checked here rather than at the first run.
    if let (Some(idx), Some(n)) = (ctx.const_input(1)?, ctx.ty(x).shape[a].fixed()) {
        if let Some(bad) = idx.data.to_i64_vec().into_iter().find(|&i| {
            let j = if i < 0 { i + n as i64 } else { i };
            !(0..n as i64).contains(&j)
        }) {
            bail!("index {bad} is out of range for axis {a} of size {n}");
        }
    }
    let i = ctx.input(1)?;
    ctx.emit1(Op::Gather { axis }, vec![x, i])?;
    Ok(())
}
