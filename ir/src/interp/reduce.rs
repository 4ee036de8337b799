//! Reductions, global pooling and batch normalisation.

use super::elementwise::{float_dispatch, num_dispatch, Fl};
use super::{arity, ints, norm_axis, numel, strided_offsets, typed, Ctx, R};
use crate::{DType, Data, Element, ReduceOp, Tensor};

/// NaN-propagating max / min.
fn pick<T: PartialOrd + Copy>(a: T, b: T, max: bool) -> T {
    #[allow(clippy::eq_op)]
    let keep_a = a != a || if max { a >= b } else { a <= b };
    if keep_a {
        a
    } else {
        b
    }
}

/// Reduces `v` into `out_n` slots: element `i` goes to slot `map[i]`; `count` elements per
/// slot. Floats sum in f64; integers sum wrapping in i64 and `mean` truncates (ONNX's
/// reference casts the float mean back); max / min of nothing is -inf / +inf (saturated to
/// the integer range); mean of nothing is NaN (0 for integers).
fn reduce_into<T: Element + PartialOrd>(
    v: &[T],
    map: &[usize],
    out_n: usize,
    count: usize,
    op: ReduceOp,
) -> Data {
    let is_float = T::DTYPE.is_float();
    match op {
        ReduceOp::Sum | ReduceOp::Mean | ReduceOp::MeanChannelsLast => {
            let out: Vec<T> = if is_float {
                let mut acc = vec![0f64; out_n];
                for (x, &o) in v.iter().zip(map) {
                    acc[o] += x.to_f64();
                }
                acc.into_iter()
                    .map(|s| {
                        T::from_f64(if op != ReduceOp::Sum {
                            s / count as f64
                        } else {
                            s
                        })
                    })
                    .collect()
            } else {
                let mut acc = vec![0i64; out_n];
                for (x, &o) in v.iter().zip(map) {
                    acc[o] = acc[o].wrapping_add(x.to_i64());
                }
                acc.into_iter()
                    .map(|s| {
                        if op == ReduceOp::Mean {
                            T::from_f64(s as f64 / count as f64)
                        } else {
                            T::from_i64(s)
                        }
                    })
                    .collect()
            };
            T::wrap(out)
        }
        ReduceOp::Max | ReduceOp::Min => {
            let max = op == ReduceOp::Max;
            let mut acc: Vec<Option<T>> = vec![None; out_n];
            for (&x, &o) in v.iter().zip(map) {
                acc[o] = Some(match acc[o] {
                    None => x,
                    Some(a) => pick(a, x, max),
                });
            }
            let empty = T::from_f64(if max {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
            T::wrap(acc.into_iter().map(|a| a.unwrap_or(empty)).collect())
        }
    }
}

/// ONNX ReduceMean / ReduceSum / ReduceMax / ReduceMin with `keepdims` and
/// `noop_with_empty_axes`. Axes from the attribute or (dynamic form) from operand 1.
pub(crate) fn reduce(
    ins: &[&Tensor],
    op: ReduceOp,
    axes: Option<&[i64]>,
    keepdims: bool,
    noop_with_empty_axes: bool,
) -> R<Tensor> {
    arity(ins, 1, 2)?;
    let x = ins[0];
    let channels_last = op == ReduceOp::MeanChannelsLast;
    let op = if channels_last { ReduceOp::Mean } else { op };
    let axes: Vec<i64> = match ins.get(1) {
        Some(t) => ints(t, "axes")?,
        None => axes.map(<[i64]>::to_vec).unwrap_or_default(),
    };
    let rank = x.shape.len();
    let reduced: Vec<bool> = if axes.is_empty() {
        if noop_with_empty_axes {
            return Ok(x.clone());
        }
        vec![true; rank]
    } else {
        let mut r = vec![false; rank];
        for &a in &axes {
            r[norm_axis(a, rank)?] = true;
        }
        r
    };
    let kept: Vec<usize> = (0..rank)
        .map(|d| if reduced[d] { 1 } else { x.shape[d] })
        .collect();
    let out_n = numel(&kept)?;
    let count = super::prod(
        &x.shape
            .iter()
            .zip(&reduced)
            .filter(|(_, &r)| r)
            .map(|(&d, _)| d)
            .collect::<Vec<_>>(),
    );
    let kept_strides = super::strides_of(&kept);
    let map_strides: Vec<usize> = (0..rank)
        .map(|d| if reduced[d] { 0 } else { kept_strides[d] })
        .collect();
    // f32 sums over trailing axes: ONNX Runtime's fast path, in Eigen's order.
    let first = reduced.iter().position(|&r| r).unwrap_or(rank);
    let trailing = reduced[first..].iter().all(|&r| r);
    let data = if channels_last
        && x.dtype() == DType::F32
        && reduced == [false, false, true, true]
        && count > 0
    {
        Data::F32(super::eigen_sum::channels_last_means(
            typed::<f32>(x, "x")?,
            count,
        ))
    } else if x.dtype() == DType::F32
        && matches!(op, ReduceOp::Sum | ReduceOp::Mean)
        && trailing
        && count > 0
    {
        let v = typed::<f32>(x, "x")?;
        Data::F32(super::eigen_sum::reduce_rows(
            v,
            count,
            op == ReduceOp::Mean,
        ))
    } else {
        let map = strided_offsets(&x.shape, &map_strides, 0);
        num_dispatch!(x.dtype(), T => reduce_into(typed::<T>(x, "x")?, &map, out_n, count, op),
        return Err("reduction is not defined on bool".into()))
    };
    let shape = if keepdims {
        kept
    } else {
        (0..rank)
            .filter(|&d| !reduced[d])
            .map(|d| x.shape[d])
            .collect()
    };
    Ok(Tensor::new(shape, data))
}

/// GlobalAveragePool / GlobalMaxPool over all spatial dims (kept as size 1). f32 averages
/// follow ONNX Runtime's MLAS global kernel ([`super::mlas_pool`]), f64 ones sum in f64; integer averages round half away from zero (TFLite), like [`super::conv`]'s
/// average pooling.
pub(crate) fn global_pool(ins: &[&Tensor], max: bool) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    if x.shape.len() < 2 {
        return Err(format!(
            "input must have rank >= 2 (N, C, ...), got shape {:?}",
            x.shape
        ));
    }
    let planes = super::prod(&x.shape[..2]);
    let s = super::prod(&x.shape[2..]);
    let mut shape = x.shape[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, x.shape.len() - 2));
    let map: Vec<usize> = (0..numel(&[planes, s])?).map(|i| i / s.max(1)).collect();
    let data = if max {
        num_dispatch!(x.dtype(), T => reduce_into(typed::<T>(x, "x")?, &map, planes, s, ReduceOp::Max),
            return Err("pooling is not defined on bool".into()))
    } else {
        match x.dtype() {
            DType::F32 if s > 0 => {
                Data::F32(super::mlas_pool::global_average(typed::<f32>(x, "x")?, s))
            }
            DType::F32 | DType::F64 => {
                num_dispatch!(x.dtype(), T => reduce_into(typed::<T>(x, "x")?, &map, planes, s, ReduceOp::Mean),
                    return Err("pooling is not defined on bool".into()))
            }
            DType::Bool => return Err("pooling is not defined on bool".into()),
            dt => {
                let v = x.data.to_i64_vec();
                let c = s as i64;
                let out: Vec<i64> = (0..planes)
                    .map(|p| {
                        let sum: i64 = v[p * s..(p + 1) * s].iter().sum();
                        if c == 0 {
                            0
                        } else if sum > 0 {
                            (sum + c / 2) / c
                        } else {
                            (sum - c / 2) / c
                        }
                    })
                    .collect();
                Data::from_i64(dt, &out)
            }
        }
    };
    Ok(Tensor::new(shape, data))
}

/// BatchNormalization over dim 1 in the element type. Inference mode computes what ONNX
/// Runtime's kernel computes, `y = x * s + (bias - mean * s)` with
/// `s = (1 / sqrt(var + eps)) * scale`. Training mode keeps ONNX's reference order,
/// `y = scale * (x - mean) / sqrt(var + eps) + bias`, with the batch statistics
/// (population variance, accumulated in f64) in place of mean / var, and the extra results
/// `running = input_stat * momentum + batch_stat * (1 - momentum)`.
pub(crate) fn batchnorm(
    ctx: &Ctx,
    ins: &[&Tensor],
    eps: f32,
    momentum: f32,
    training: bool,
) -> R<Vec<Tensor>> {
    arity(ins, 5, 5)?;
    let x = ins[0];
    if x.shape.len() < 2 {
        return Err(format!(
            "input must have rank >= 2 (N, C, ...), got shape {:?}",
            x.shape
        ));
    }
    let n_out = ctx.n_out();
    if n_out == 0 || n_out > 3 || (!training && n_out != 1) {
        return Err(format!("{n_out} results (training mode: {training})"));
    }
    let c = x.shape[1];
    for (i, name) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
        if ins[i].len() != c {
            return Err(format!(
                "{name} has {} elements for {c} channels",
                ins[i].len()
            ));
        }
    }
    let n = x.shape[0];
    let s = super::prod(&x.shape[2..]);
    numel(&[n, c, s])?;
    fn go<T: Fl>(
        ins: &[&Tensor],
        (n, c, s): (usize, usize, usize),
        eps: f32,
        momentum: f32,
        training: bool,
    ) -> R<Vec<Data>> {
        let xv = typed::<T>(ins[0], "x")?;
        let sc = typed::<T>(ins[1], "scale")?;
        let bi = typed::<T>(ins[2], "bias")?;
        let mut mean = typed::<T>(ins[3], "mean")?.to_vec();
        let mut var = typed::<T>(ins[4], "var")?.to_vec();
        let at = |b: usize, ch: usize, i: usize| (b * c + ch) * s + i;
        let mut extra = vec![];
        if training {
            let cnt = (n * s) as f64;
            let mut bm = vec![T::c(0.0); c];
            let mut bv = vec![T::c(0.0); c];
            for ch in 0..c {
                let mut sum = 0f64;
                for b in 0..n {
                    for i in 0..s {
                        sum += xv[at(b, ch, i)].to_f64();
                    }
                }
                let m = sum / cnt;
                let mut sq = 0f64;
                for b in 0..n {
                    for i in 0..s {
                        let d = xv[at(b, ch, i)].to_f64() - m;
                        sq += d * d;
                    }
                }
                bm[ch] = T::c(m);
                bv[ch] = T::c(sq / cnt);
            }
            let mo = T::c(momentum as f64);
            let one_minus = T::c(1.0 - momentum as f64);
            let rm: Vec<T> = (0..c)
                .map(|ch| mean[ch] * mo + bm[ch] * one_minus)
                .collect();
            let rv: Vec<T> = (0..c).map(|ch| var[ch] * mo + bv[ch] * one_minus).collect();
            extra.push(T::wrap(rm));
            extra.push(T::wrap(rv));
            mean = bm;
            var = bv;
        }
        let e = T::c(eps as f64);
        let mut y = vec![T::c(0.0); xv.len()];
        for ch in 0..c {
            // Inference: ONNX Runtime's kernel, `x * s + (bias - mean * s)` with
            // `s = (1 / sqrt(var + eps)) * scale` (its rounding, not the reference's).
            let inv = T::c(1.0) / (var[ch] + e).sqrt();
            let ns = inv * sc[ch];
            let nb = bi[ch] - mean[ch] * ns;
            for b in 0..n {
                for i in 0..s {
                    let k = at(b, ch, i);
                    y[k] = if training {
                        sc[ch] * (xv[k] - mean[ch]) / (var[ch] + e).sqrt() + bi[ch]
                    } else {
                        xv[k] * ns + nb
                    };
                }
            }
        }
        let mut out = vec![T::wrap(y)];
        out.extend(extra);
        Ok(out)
    }
    let datas = float_dispatch!(x.dtype(), T => go::<T>(ins, (n, c, s), eps, momentum, training)?,
        return Err(format!("batchnorm needs float operands, got {}", x.dtype())));
    let mut out = Vec::with_capacity(n_out);
    for (k, d) in datas.into_iter().take(n_out).enumerate() {
        let shape = if k == 0 { x.shape.clone() } else { vec![c] };
        out.push(Tensor::new(shape, d));
    }
    Ok(out)
}

/// `arg_max` / `arg_min` (see [`crate::Op::Arg`]): strict comparisons in index order, so
/// ties keep the first index (with `select_last_index`, ties move to the later one).
pub(crate) fn arg(
    ins: &[&Tensor],
    op: crate::ArgOp,
    axis: i64,
    keepdims: bool,
    select_last_index: bool,
) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let rank = x.shape.len();
    let a = norm_axis(axis, rank)?;
    let n = x.shape[a];
    if n == 0 {
        return Err(format!("arg_{op:?} over an empty axis {a}").to_lowercase());
    }
    let outer: usize = x.shape[..a].iter().product();
    let inner: usize = x.shape[a + 1..].iter().product();
    let out = if x.dtype().is_int() {
        arg_indices(
            &x.data.to_i64_vec(),
            (outer, n, inner),
            op,
            select_last_index,
        )
    } else {
        arg_indices(
            &x.data.to_f64_vec(),
            (outer, n, inner),
            op,
            select_last_index,
        )
    };
    let mut shape = x.shape.clone();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Ok(Tensor::new(shape, Data::I64(out)))
}

/// The winning index along the middle dim of `v` viewed as `outer x n x inner`.
fn arg_indices<T: PartialOrd + Copy>(
    v: &[T],
    (outer, n, inner): (usize, usize, usize),
    op: crate::ArgOp,
    select_last_index: bool,
) -> Vec<i64> {
    let better = |c: T, best: T| match (op, select_last_index) {
        (crate::ArgOp::Max, false) => c > best,
        (crate::ArgOp::Max, true) => c >= best,
        (crate::ArgOp::Min, false) => c < best,
        (crate::ArgOp::Min, true) => c <= best,
    };
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| v[(o * n + k) * inner + i];
            let (mut best, mut idx) = (at(0), 0i64);
            for k in 1..n {
                if better(at(k), best) {
                    best = at(k);
                    idx = k as i64;
                }
            }
            out.push(idx);
        }
    }
    out
}
