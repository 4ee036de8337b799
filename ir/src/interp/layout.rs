//! Layout ops: reshape, flatten, squeeze, unsqueeze, identity (shape-only), transpose, slice,
//! pad, concat and split. All are dtype-agnostic: on quantized values they move the stored
//! integers.

use super::{arity, gather, gather_fill, ints, norm_axis, numel, strides_of, Ctx, NONE, R};
use crate::{Data, Dim, Element, Op, PadMode, Tensor};

/// For shape-only ops (identity, reshape, flatten, squeeze, unsqueeze) the result shape;
/// `None` for every other op.
pub(crate) fn view_shape(ctx: &Ctx, ins: &[&Tensor]) -> R<Option<Vec<usize>>> {
    let shape = match &ctx.node.op {
        Op::Identity => {
            arity(ins, 1, 1)?;
            ins[0].shape.clone()
        }
        Op::Reshape { shape, allowzero } => {
            arity(ins, 1, 2)?;
            let spec = match ins.get(1) {
                Some(t) => ints(t, "shape")?,
                None => shape.clone(),
            };
            reshape_shape(&ins[0].shape, &spec, *allowzero)?
        }
        Op::Flatten { axis } => {
            arity(ins, 1, 1)?;
            let s = &ins[0].shape;
            let r = s.len() as i64;
            if *axis < -r || *axis > r {
                return Err(format!("axis {axis} is out of range for rank {r}"));
            }
            let a = if *axis < 0 { axis + r } else { *axis } as usize;
            vec![numel(&s[..a])?, numel(&s[a..])?]
        }
        Op::Squeeze { axes } => {
            arity(ins, 1, 2)?;
            let axes = match ins.get(1) {
                Some(t) => ints(t, "axes")?,
                None => axes.clone(),
            };
            squeeze_shape(&ins[0].shape, &axes)?
        }
        Op::Unsqueeze { axes } => {
            arity(ins, 1, 2)?;
            let axes = match ins.get(1) {
                Some(t) => ints(t, "axes")?,
                None => axes.clone(),
            };
            unsqueeze_shape(&ins[0].shape, &axes)?
        }
        _ => return Ok(None),
    };
    Ok(Some(shape))
}

/// ONNX Reshape: `0` copies the input dim (unless `allowzero`), `-1` is inferred.
pub(crate) fn reshape_shape(input: &[usize], spec: &[i64], allowzero: bool) -> R<Vec<usize>> {
    let total = numel(input)?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 => {
                if infer.is_some() {
                    return Err(format!("shape {spec:?} has more than one -1"));
                }
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => match input.get(i) {
                Some(&d) => out.push(d),
                None => {
                    return Err(format!(
                        "shape {spec:?}: 0 at position {i} but the input {input:?} has rank {}",
                        input.len()
                    ))
                }
            },
            s if s >= 0 => out.push(usize::try_from(s).map_err(|_| format!("dim {s} too large"))?),
            s => return Err(format!("shape {spec:?} has invalid dim {s}")),
        }
    }
    if let Some(i) = infer {
        if allowzero && spec.contains(&0) {
            return Err(format!("shape {spec:?} has both 0 (allowzero) and -1"));
        }
        let known = numel(&out)?;
        if known == 0 || total % known != 0 {
            return Err(format!(
                "cannot reshape {input:?} ({total} elements) to {spec:?}"
            ));
        }
        out[i] = total / known;
    }
    if numel(&out)? != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) to {out:?} ({} elements)",
            numel(&out)?
        ));
    }
    Ok(out)
}

fn norm_axes(axes: &[i64], rank: usize) -> R<Vec<usize>> {
    let mut v = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank)?;
        if v.contains(&n) {
            return Err(format!("axes {axes:?} repeat axis {n}"));
        }
        v.push(n);
    }
    Ok(v)
}

fn squeeze_shape(input: &[usize], axes: &[i64]) -> R<Vec<usize>> {
    if axes.is_empty() {
        return Ok(input.iter().copied().filter(|&d| d != 1).collect());
    }
    let ax = norm_axes(axes, input.len())?;
    for &a in &ax {
        if input[a] != 1 {
            return Err(format!(
                "cannot squeeze axis {a} of shape {input:?}: size is not 1"
            ));
        }
    }
    Ok(input
        .iter()
        .enumerate()
        .filter(|(i, _)| !ax.contains(i))
        .map(|(_, &d)| d)
        .collect())
}

fn unsqueeze_shape(input: &[usize], axes: &[i64]) -> R<Vec<usize>> {
    let out_rank = input.len() + axes.len();
    let ax = norm_axes(axes, out_rank)?;
    let mut it = input.iter();
    Ok((0..out_rank)
        .map(|i| {
            if ax.contains(&i) {
                1
            } else {
                *it.next().unwrap_or(&1)
            }
        })
        .collect())
}

/// Permutes dims (`perm` empty reverses them).
pub(crate) fn transpose(ins: &[&Tensor], perm: &[usize]) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let r = x.shape.len();
    let perm: Vec<usize> = if perm.is_empty() {
        (0..r).rev().collect()
    } else {
        perm.to_vec()
    };
    let mut seen = vec![false; r];
    if perm.len() != r
        || perm
            .iter()
            .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
    {
        return Err(format!("perm {perm:?} is not a permutation of rank {r}"));
    }
    let in_strides = strides_of(&x.shape);
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let idx = super::strided_offsets(&shape, &strides, 0);
    Ok(Tensor::new(shape, gather(&x.data, &idx)))
}

/// ONNX Expand: `x` broadcast to `shape` (numpy rules both ways: a `1` in `shape` keeps
/// `x`'s dim), symbolic dims sized by the graph inputs.
pub(crate) fn expand(ctx: &Ctx, ins: &[&Tensor], shape: &[Dim]) -> R<Tensor> {
    arity(ins, 1, 2)?;
    let x = ins[0];
    let target = match ins.get(1) {
        Some(t) => ints(t, "shape")?
            .into_iter()
            .map(|k| usize::try_from(k).map_err(|_| format!("shape has the negative size {k}")))
            .collect::<R<Vec<usize>>>()?,
        None => shape
            .iter()
            .map(|d| ctx.dim_size(d))
            .collect::<R<Vec<usize>>>()?,
    };
    let out = super::broadcast::broadcast_shapes(&[&x.shape, &target])?;
    let data = match super::broadcast::broadcast_index(&x.shape, &out)? {
        Some(idx) => gather(&x.data, &idx),
        None => x.data.clone(),
    };
    Ok(Tensor::new(out, data))
}

/// ONNX Range of integers: `len` values `start + i * delta` (wrapping), the length a
/// size or a symbolic dim bound by the graph inputs.
pub(crate) fn range(
    ctx: &Ctx,
    ins: &[&Tensor],
    (start, delta): (i64, i64),
    len: &[Dim],
    to: crate::DType,
) -> R<Tensor> {
    if !ins.is_empty() {
        return onnx_range(ins);
    }
    let [d] = len else {
        return Err("range's len must be one dim".into());
    };
    let n = ctx.dim_size(d)?;
    let v: Vec<i64> = (0..n as i64)
        .map(|i| start.wrapping_add(i.wrapping_mul(delta)))
        .collect();
    Ok(Tensor::new(vec![n], Data::from_i64(to, &v)))
}

/// ONNX Range (the dynamic form of `range`, and what frontends fold constant bounds
/// with): scalars `[start, limit, delta]` of one numeric type, `max(ceil((limit - start) /
/// delta), 0)` elements `start + i * delta` (integers wrapping, floats in f64 then rounded
/// to the type).
pub fn onnx_range(ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 3, 3)?;
    if ins.iter().any(|t| t.len() != 1) {
        return Err("start, limit and delta must be scalars".into());
    }
    let dt = ins[0].dtype();
    let v: Vec<f64> = ins.iter().map(|t| t.data.to_f64_vec()[0]).collect();
    let (s, l, d) = (v[0], v[1], v[2]);
    if d == 0.0 || !d.is_finite() || !s.is_finite() || !l.is_finite() {
        return Err(format!("cannot range from {s} to {l} by {d}"));
    }
    let n = ((l - s) / d).ceil().max(0.0);
    if n > (1u64 << 28) as f64 {
        return Err(format!("the range has {n} elements"));
    }
    let n = n as usize;
    let data = if dt.is_int() {
        let iv: Vec<i64> = ins.iter().map(|t| t.data.to_i64_vec()[0]).collect();
        let out: Vec<i64> = (0..n as i64)
            .map(|i| iv[0].wrapping_add(i.wrapping_mul(iv[2])))
            .collect();
        Data::from_i64(dt, &out)
    } else {
        let out: Vec<f64> = (0..n).map(|i| s + i as f64 * d).collect();
        Data::from_f64(dt, &out)
    };
    Ok(Tensor::new(vec![n], data))
}

/// ONNX Gather: the slices of `x` along `axis` at `indices` (negative ones count from the
/// end; any index outside `[-n, n)` is an error).
pub(crate) fn gather_axis(ins: &[&Tensor], axis: i64) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (x, ind) = (ins[0], ins[1]);
    let a = norm_axis(axis, x.shape.len())?;
    let n = x.shape[a];
    let picks = ind
        .data
        .to_i64_vec()
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + n as i64 } else { i };
            if (0..n as i64).contains(&j) {
                Ok(j as usize)
            } else {
                Err(format!(
                    "index {i} is out of range for axis {a} of size {n}"
                ))
            }
        })
        .collect::<R<Vec<usize>>>()?;
    let outer = numel(&x.shape[..a])?;
    let inner = numel(&x.shape[a + 1..])?;
    let mut idx = Vec::with_capacity(outer * picks.len() * inner);
    for o in 0..outer {
        for &p in &picks {
            let base = (o * n + p) * inner;
            idx.extend(base..base + inner);
        }
    }
    let mut shape = x.shape[..a].to_vec();
    shape.extend(&ind.shape);
    shape.extend(&x.shape[a + 1..]);
    Ok(Tensor::new(shape, gather(&x.data, &idx)))
}

/// Offsets `base + sum(idx[d] * strides[d])` over `shape` in row-major order, with signed
/// strides (every resulting offset is known to be in range).
fn signed_offsets(shape: &[usize], strides: &[i64], base: i64) -> Vec<usize> {
    let n = super::prod(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = base;
    for _ in 0..n {
        out.push(off as usize);
        let mut d = rank;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d] as i64;
            idx[d] = 0;
        }
    }
    out
}

/// ONNX Slice with the spec's clamping (negative starts/ends count from the end; steps may be
/// negative). Static attributes or dynamic operands `[x, starts, ends, axes?, steps?]`.
pub(crate) fn slice(
    ins: &[&Tensor],
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
) -> R<Tensor> {
    arity(ins, 1, 5)?;
    let x = ins[0];
    let (starts, ends, axes, steps) = if ins.len() > 1 {
        if ins.len() < 3 {
            return Err("dynamic slice needs starts and ends operands".into());
        }
        (
            ints(ins[1], "starts")?,
            ints(ins[2], "ends")?,
            match ins.get(3) {
                Some(t) => ints(t, "axes")?,
                None => vec![],
            },
            match ins.get(4) {
                Some(t) => ints(t, "steps")?,
                None => vec![],
            },
        )
    } else {
        (
            starts.to_vec(),
            ends.to_vec(),
            axes.to_vec(),
            steps.to_vec(),
        )
    };
    let n = starts.len();
    if ends.len() != n {
        return Err(format!("{n} starts but {} ends", ends.len()));
    }
    let axes: Vec<i64> = if axes.is_empty() {
        (0..n as i64).collect()
    } else {
        axes
    };
    let steps: Vec<i64> = if steps.is_empty() { vec![1; n] } else { steps };
    if axes.len() != n || steps.len() != n {
        return Err(format!(
            "{n} starts, {} axes and {} steps",
            axes.len(),
            steps.len()
        ));
    }
    let rank = x.shape.len();
    let ax = norm_axes(&axes, rank)?;
    // Per dim: (start, step, count).
    let mut per: Vec<(i128, i128, usize)> = x.shape.iter().map(|&d| (0, 1, d)).collect();
    for i in 0..n {
        let d = x.shape[ax[i]] as i128;
        let step = steps[i] as i128;
        if step == 0 {
            return Err(format!("step for axis {} is 0", ax[i]));
        }
        let norm = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
        let (s, e) = (norm(starts[i]), norm(ends[i]));
        let (start, count) = if step > 0 {
            let s = s.clamp(0, d);
            let e = e.clamp(0, d);
            (s, if e > s { (e - s + step - 1) / step } else { 0 })
        } else {
            if d == 0 {
                (0, 0)
            } else {
                let s = s.clamp(0, d - 1);
                let e = e.clamp(-1, d - 1);
                (
                    s,
                    if s > e {
                        (s - e + (-step) - 1) / (-step)
                    } else {
                        0
                    },
                )
            }
        };
        per[ax[i]] = (start, step, count as usize);
    }
    let in_strides = strides_of(&x.shape);
    let shape: Vec<usize> = per.iter().map(|p| p.2).collect();
    let base: i128 = per
        .iter()
        .zip(&in_strides)
        .map(|(p, &s)| if p.2 == 0 { 0 } else { p.0 * s as i128 })
        .sum();
    let strides: Vec<i64> = per
        .iter()
        .zip(&in_strides)
        .map(|(p, &s)| (p.1 * s as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        .collect();
    let idx = signed_offsets(&shape, &strides, base as i64);
    Ok(Tensor::new(shape, gather(&x.data, &idx)))
}

/// ONNX Pad: negative pads crop first, then `constant` fills with `value`, `edge` repeats
/// the border, `reflect` mirrors without repeating it and `wrap` wraps around (numpy
/// semantics, also for pads larger than the dim). Static attributes or dynamic operands
/// `[x, pads, constant_value?, axes?]`.
pub(crate) fn pad(ins: &[&Tensor], mode: PadMode, pads: &[i64], value: f64) -> R<Tensor> {
    arity(ins, 1, 4)?;
    let x = ins[0];
    let rank = x.shape.len();
    let full: Vec<i64> = if ins.len() > 1 {
        let p = ints(ins[1], "pads")?;
        match ins.get(3) {
            Some(a) if !a.is_empty() => {
                let axes = norm_axes(&ints(a, "axes")?, rank)?;
                if p.len() != 2 * axes.len() {
                    return Err(format!("{} pads for {} axes", p.len(), axes.len()));
                }
                let mut f = vec![0i64; 2 * rank];
                for (i, &a) in axes.iter().enumerate() {
                    f[a] = p[i];
                    f[rank + a] = p[axes.len() + i];
                }
                f
            }
            _ => p,
        }
    } else {
        pads.to_vec()
    };
    if full.len() != 2 * rank {
        return Err(format!(
            "{} pads for rank {rank} (need {})",
            full.len(),
            2 * rank
        ));
    }
    let fill: Data = match ins.get(2) {
        Some(c) if !c.is_empty() => {
            if c.dtype() != x.dtype() {
                return Err(format!(
                    "constant_value dtype {} differs from the data's {}",
                    c.dtype(),
                    x.dtype()
                ));
            }
            c.data.clone()
        }
        _ => Data::from_f64(x.dtype(), &[value]),
    };
    // Per dim: (crop at the begin, kept size, pad at the begin, output size).
    let mut dims = Vec::with_capacity(rank);
    for d in 0..rank {
        let dim = x.shape[d] as i64;
        let (pb, pe) = (full[d], full[rank + d]);
        let (cb, ce) = (
            pb.checked_neg().unwrap_or(i64::MAX).max(0),
            pe.checked_neg().unwrap_or(i64::MAX).max(0),
        );
        let kept = dim
            .checked_sub(cb)
            .and_then(|v| v.checked_sub(ce))
            .unwrap_or(-1);
        if kept < 0 {
            return Err(format!("pads {pb}, {pe} crop more than dim {d} ({dim})"));
        }
        let (pb, pe) = (pb.max(0), pe.max(0));
        let out = kept
            .checked_add(pb)
            .and_then(|v| v.checked_add(pe))
            .ok_or("padded size overflows")?;
        if kept == 0 && out > 0 && mode != PadMode::Constant {
            return Err(format!("cannot {mode:?}-pad an empty dim {d}"));
        }
        dims.push((cb, kept, pb, out as usize));
    }
    let shape: Vec<usize> = dims.iter().map(|d| d.3).collect();
    numel(&shape)?;
    let in_strides = strides_of(&x.shape);
    let mut per_dim: Vec<Vec<Option<usize>>> = Vec::with_capacity(rank);
    for (d, &(cb, kept, pb, out)) in dims.iter().enumerate() {
        let map: Vec<Option<usize>> = (0..out as i64)
            .map(|o| {
                let j = o - pb;
                let src = if (0..kept).contains(&j) {
                    Some(j)
                } else {
                    match mode {
                        PadMode::Constant => None,
                        PadMode::Edge => Some(j.clamp(0, kept - 1)),
                        PadMode::Wrap => Some(j.rem_euclid(kept)),
                        PadMode::Reflect => Some(if kept == 1 {
                            0
                        } else {
                            let period = 2 * (kept - 1);
                            let m = j.rem_euclid(period);
                            if m >= kept {
                                period - m
                            } else {
                                m
                            }
                        }),
                    }
                };
                src.map(|s| (s + cb) as usize * in_strides[d])
            })
            .collect();
        per_dim.push(map);
    }
    // Combine the per-dim maps into flat source indices (NONE = fill).
    let mut idx: Vec<usize> = vec![0];
    for map in &per_dim {
        let mut next = Vec::with_capacity(idx.len() * map.len());
        for &p in &idx {
            for m in map {
                next.push(match (p, m) {
                    (NONE, _) | (_, None) => NONE,
                    (p, Some(m)) => p + m,
                });
            }
        }
        idx = next;
    }
    Ok(Tensor::new(shape, gather_fill(&x.data, &idx, &fill)))
}

/// Concatenation along `axis`; every operand has the same dtype and rank and equal dims
/// except along `axis`.
pub(crate) fn concat(ins: &[&Tensor], axis: i64) -> R<Tensor> {
    if ins.is_empty() {
        return Err("expects at least one operand".into());
    }
    let first = ins[0];
    let rank = first.shape.len();
    let ax = norm_axis(axis, rank)?;
    let mut shape = first.shape.clone();
    shape[ax] = 0;
    for (i, t) in ins.iter().enumerate() {
        if t.dtype() != first.dtype() {
            return Err(format!(
                "operand {i} has dtype {}, operand 0 has {}",
                t.dtype(),
                first.dtype()
            ));
        }
        let same = t.shape.len() == rank
            && t.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(d, (a, b))| d == ax || a == b);
        if !same {
            return Err(format!(
                "operand {i} has shape {:?}, incompatible with operand 0 {:?} along axis {ax}",
                t.shape, first.shape
            ));
        }
        shape[ax] = shape[ax]
            .checked_add(t.shape[ax])
            .ok_or("concatenated size overflows")?;
    }
    numel(&shape)?;
    let outer = super::prod(&shape[..ax]);
    let inner = super::prod(&shape[ax + 1..]);
    /// `_first` only fixes the element type.
    fn go<T: Element>(
        _first: &[T],
        ins: &[&Tensor],
        outer: usize,
        inner: usize,
        ax: usize,
    ) -> Data {
        let parts: Vec<(&[T], usize)> = ins
            .iter()
            .map(|t| {
                let v = T::unwrap(&t.data).map(|v| v.as_slice()).unwrap_or(&[]);
                (v, t.shape[ax] * inner)
            })
            .collect();
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.1).sum::<usize>() * outer);
        for o in 0..outer {
            for &(v, chunk) in &parts {
                out.extend_from_slice(&v[o * chunk..(o + 1) * chunk]);
            }
        }
        T::wrap(out)
    }
    let data = crate::with_data!(&first.data, v => go(v, ins, outer, inner, ax));
    Ok(Tensor::new(shape, data))
}

/// Split along `axis` into one part per result: sizes from the attribute, from the dynamic
/// operand `[x, split]`, or (when neither gives any) equal parts of `ceil(dim / n)` with a
/// smaller last part.
pub(crate) fn split(ctx: &Ctx, ins: &[&Tensor], axis: i64, sizes: &[usize]) -> R<Vec<Tensor>> {
    arity(ins, 1, 2)?;
    let x = ins[0];
    let n = ctx.n_out();
    if n == 0 {
        return Err("split needs at least one result".into());
    }
    let ax = norm_axis(axis, x.shape.len())?;
    let dim = x.shape[ax];
    let sizes: Vec<usize> = match ins.get(1) {
        Some(t) if !t.is_empty() => ints(t, "split")?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| format!("negative split size {v}")))
            .collect::<R<_>>()?,
        _ if !sizes.is_empty() && ins.len() == 1 => sizes.to_vec(),
        _ => {
            let chunk = dim.div_ceil(n);
            (0..n)
                .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
                .collect()
        }
    };
    if sizes.len() != n {
        return Err(format!("{} split sizes for {n} results", sizes.len()));
    }
    let total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s));
    if total != Some(dim) {
        return Err(format!(
            "split sizes {sizes:?} do not add up to dim {ax} of {:?}",
            x.shape
        ));
    }
    let in_strides = strides_of(&x.shape);
    let mut out = Vec::with_capacity(n);
    let mut start = 0usize;
    for &s in &sizes {
        let mut shape = x.shape.clone();
        shape[ax] = s;
        let idx = super::strided_offsets(&shape, &in_strides, start * in_strides[ax]);
        out.push(Tensor::new(shape, gather(&x.data, &idx)));
        start += s;
    }
    Ok(out)
}
