//! Result-shape rules, one function per op family.

use super::dims::{
    broadcast, fmt_list, fmt_shape, norm_axes, norm_axis, one_d_len, unify, window_out, Size, R,
};
use crate::{ConvAttrs, Dim, GemmAttrs, Module, Op, PoolAttrs, TensorType};

/// Shapes of every result (checked operand and result counts first).
pub(super) fn infer(op: &Op, ins: &[&TensorType], n: usize, module: &Module) -> R<Vec<Vec<Dim>>> {
    super::check_arity(op, ins, n)?;
    let single = |s: Vec<Dim>| -> R<Vec<Vec<Dim>>> { Ok(vec![s]) };
    match op {
        Op::Const(c) => single(super::constant(module, *c)?.ty.shape.clone()),
        Op::Quantize
        | Op::Dequantize
        | Op::Requantize
        | Op::Unary(_)
        | Op::LeakyRelu { .. }
        | Op::HardSigmoid { .. }
        | Op::Cast { .. }
        | Op::Lut
        | Op::Identity => single(ins[0].shape.clone()),
        Op::QuantizeLinear { axis, block_size } | Op::DequantizeLinear { axis, block_size } => {
            linear_qparams(ins, *axis, *block_size)?;
            single(ins[0].shape.clone())
        }
        Op::DynamicQuantizeLinear => Ok(vec![ins[0].shape.clone(), vec![], vec![]]),
        Op::Conv(a) | Op::QConv(a, _) => single(conv(a, ins, true)?),
        Op::ConvInteger(a) => single(conv(a, ins, false)?),
        Op::MatMul | Op::QMatMul => single(matmul(&ins[0].shape, &ins[1].shape)?),
        Op::MatMulInteger => single(matmul_integer(ins)?),
        Op::Gemm(g) | Op::QGemm(g, _) => single(gemm(g, ins)?),
        Op::BatchNorm { .. } => batchnorm(ins, n),
        Op::Binary(_) => single(broadcast(&ins[0].shape, &ins[1].shape)?),
        Op::Where => single(where_(ins)?),
        Op::Clip { .. } => {
            clip_bounds(ins)?;
            single(ins[0].shape.clone())
        }
        Op::QFullyConnected => single(gemm(
            &GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            },
            ins,
        )?),
        Op::TfliteLstm { .. } => single(tflite_lstm(ins)?),
        Op::QSoftmax { axis, .. } => {
            norm_axis(*axis, ins[0].rank(), "axis")?;
            single(ins[0].shape.clone())
        }
        Op::QMean { axes, keepdims } => {
            if axes.is_empty() {
                return Err("qmean needs at least one axis".into());
            }
            single(reduce_static(axes, *keepdims, false, &ins[0].shape)?)
        }
        Op::ResizeBilinear { sizes, .. } => {
            let x = &ins[0].shape;
            match (x.as_slice(), sizes.as_slice()) {
                ([n, _, _, c], &[h, w]) if h > 0 && w > 0 => single(vec![
                    n.clone(),
                    Dim::Fixed(h as usize),
                    Dim::Fixed(w as usize),
                    c.clone(),
                ]),
                _ => Err(format!(
                    "resize_bilinear needs a rank-4 operand and two positive sizes, got {} dims and {sizes:?}",
                    x.len()
                )),
            }
        }
        Op::ResizeNearest { sizes, scales, .. } => {
            let x = &ins[0].shape;
            if sizes.len() != x.len() || scales.len() != x.len() {
                return Err(format!(
                    "sizes and scales need one entry per dim ({}), got {} and {}",
                    x.len(),
                    sizes.len(),
                    scales.len()
                ));
            }
            single(
                x.iter()
                    .zip(sizes)
                    .map(|(d, &s)| {
                        if s < 0 {
                            d.clone()
                        } else {
                            Dim::Fixed(s as usize)
                        }
                    })
                    .collect(),
            )
        }
        Op::LayerNorm { axis, .. } => {
            norm_axis(*axis, ins[0].rank(), "axis")?;
            single(ins[0].shape.clone())
        }
        Op::Softmax { axis } => {
            norm_axis(*axis, ins[0].rank(), "axis")?;
            single(ins[0].shape.clone())
        }
        Op::MaxPool(p) => {
            let s = pool(p, ins[0])?;
            Ok(vec![s; n])
        }
        Op::AvgPool(p) | Op::QAvgPool(p) => single(pool(p, ins[0])?),
        Op::GlobalAvgPool | Op::GlobalMaxPool | Op::QGlobalAvgPool => single(global_pool(ins[0])?),
        Op::QAdd | Op::QMul | Op::QSub => single(broadcast(&ins[0].shape, &ins[1].shape)?),
        Op::Arg { axis, keepdims, .. } => {
            single(reduce_static(&[*axis], *keepdims, false, &ins[0].shape)?)
        }
        Op::Reduce {
            axes,
            keepdims,
            noop_with_empty_axes,
            ..
        } => single(reduce(
            axes.as_deref(),
            *keepdims,
            *noop_with_empty_axes,
            ins,
        )?),
        Op::Reshape { shape, allowzero } => single(if ins.len() == 2 {
            dyn_reshape(ins[1])?
        } else {
            reshape(shape, *allowzero, &ins[0].shape)?
        }),
        Op::Flatten { axis } => single(flatten(*axis, &ins[0].shape)?),
        Op::Transpose { perm } => single(transpose(perm, &ins[0].shape)?),
        Op::Squeeze { axes } => single(squeeze(axes, ins)?),
        Op::Unsqueeze { axes } => single(unsqueeze(axes, ins)?),
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => single(if ins.len() >= 3 {
            dyn_slice(ins)?
        } else {
            slice(starts, ends, axes, steps, &ins[0].shape)?
        }),
        Op::Pad { pads, .. } => single(pad(pads, ins)?),
        Op::Concat { axis } => single(concat(*axis, ins)?),
        Op::Expand { .. } if ins.len() == 2 => match one_d_len(ins[1], "shape")? {
            Some(k) => single(broadcast(&ins[0].shape, &vec![Dim::Any; k])?),
            None => Err("cannot infer rank of dynamic expand: shape operand length unknown".into()),
        },
        Op::Expand { shape } => {
            if shape.contains(&Dim::Any) {
                return Err("expand's target shape cannot hold unknown ('?') dims".into());
            }
            single(broadcast(&ins[0].shape, shape)?)
        }
        Op::Gather { axis } => single(gather(*axis, ins)?),
        Op::Range { .. } if !ins.is_empty() => {
            if ins.len() != 3 || ins.iter().any(|t| !scalar_like(t)) {
                return Err("dynamic range takes three scalars: start, limit, delta".into());
            }
            single(vec![Dim::Any])
        }
        Op::Range { len, .. } => {
            if len.len() != 1 || len[0] == Dim::Any {
                return Err("range's len must be one size or symbolic dim".into());
            }
            single(len.clone())
        }
        Op::Split { axis, sizes } => split(*axis, sizes, ins, n),
    }
}

// ---------------------------------------------------------------- helpers

/// Per-spatial-dim attribute with ONNX defaults when empty.
fn per_dim(v: &[usize], n: usize, default: usize, what: &str) -> R<Vec<usize>> {
    if v.is_empty() {
        return Ok(vec![default; n]);
    }
    if v.len() != n {
        return Err(format!("{what} has {} values, expected {n}", v.len()));
    }
    Ok(v.to_vec())
}

fn positive(v: &[usize], what: &str) -> R<()> {
    if v.contains(&0) {
        return Err(format!("{what} must be positive, got {}", fmt_list(v)));
    }
    Ok(())
}

/// A tensor that can hold exactly one element (rank 0, or every dim possibly 1).
fn scalar_like(t: &TensorType) -> bool {
    t.rank() <= 1
        && t.shape
            .iter()
            .all(|d| !matches!(d, Dim::Fixed(k) if *k != 1))
}

/// A zero point / scale operand that is per-tensor or has one entry per `along`.
fn per_tensor_or(t: &TensorType, name: &str, along: &Dim) -> R<()> {
    match t.rank() {
        0 => Ok(()),
        1 => {
            let d = &t.shape[0];
            if *d == Dim::Fixed(1) || unify(d, along).is_some() {
                Ok(())
            } else {
                Err(format!("{name} has {d} elements, expected 1 or {along}"))
            }
        }
        // N-d zero points (ONNX MatMulInteger allows them) are checked at run time.
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- quantization

fn linear_qparams(ins: &[&TensorType], axis: i64, block: usize) -> R<()> {
    let (x, scale) = (ins[0], ins[1]);
    if let Some(z) = ins.get(2) {
        if z.rank() != scale.rank()
            || z.shape
                .iter()
                .zip(&scale.shape)
                .any(|(a, b)| unify(a, b).is_none())
        {
            return Err(format!(
                "zero point shape {} differs from scale shape {}",
                fmt_shape(&z.shape),
                fmt_shape(&scale.shape)
            ));
        }
    }
    if block == 0 {
        return match scale.rank() {
            0 => Ok(()),
            1 => {
                let d = &scale.shape[0];
                if *d == Dim::Fixed(1) {
                    return Ok(());
                }
                let a = norm_axis(axis, x.rank(), "axis")?;
                if unify(d, &x.shape[a]).is_none() {
                    return Err(format!(
                        "scale has {d} elements but axis {a} has size {}",
                        x.shape[a]
                    ));
                }
                Ok(())
            }
            _ => Err(format!(
                "scale must be a scalar or 1-d without block_size, got shape {}",
                fmt_shape(&scale.shape)
            )),
        };
    }
    if scale.rank() != x.rank() {
        return Err(format!(
            "blocked scale must have rank {}, got shape {}",
            x.rank(),
            fmt_shape(&scale.shape)
        ));
    }
    let a = norm_axis(axis, x.rank(), "axis")?;
    for (i, (xd, sd)) in x.shape.iter().zip(&scale.shape).enumerate() {
        if i == a {
            if let (Dim::Fixed(xn), Dim::Fixed(sn)) = (xd, sd) {
                let want = xn.div_ceil(block);
                if *sn != want {
                    return Err(format!(
                        "scale dim {a} is {sn}, expected ceil({xn} / {block}) = {want}"
                    ));
                }
            }
        } else if unify(xd, sd).is_none() {
            return Err(format!("scale dim {i} is {sd}, expected {xd}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- conv / matmul

fn conv(a: &ConvAttrs, ins: &[&TensorType], has_bias: bool) -> R<Vec<Dim>> {
    let (x, w) = (ins[0], ins[1]);
    let r = x.rank();
    if r < 3 {
        return Err(format!(
            "input must have rank >= 3 (N, C, spatial...), got shape {}",
            fmt_shape(&x.shape)
        ));
    }
    if w.rank() != r {
        return Err(format!(
            "weight has shape {}, expected rank {r} like the input",
            fmt_shape(&w.shape)
        ));
    }
    let s = r - 2;
    let strides = per_dim(&a.strides, s, 1, "strides")?;
    let dil = per_dim(&a.dilations, s, 1, "dilations")?;
    let pads = per_dim(&a.pads, 2 * s, 0, "pads")?;
    positive(&strides, "strides")?;
    positive(&dil, "dilations")?;
    let g = a.group;
    if g == 0 {
        return Err("group must be positive".into());
    }
    if let (Some(c), Some(k)) = (x.shape[1].fixed(), w.shape[1].fixed()) {
        if k.checked_mul(g) != Some(c) {
            return Err(format!(
                "input has {c} channels, but weight expects {k} x group {g}"
            ));
        }
    }
    let mut cout = w.shape[0].clone();
    if has_bias {
        if let Some(b) = ins.get(2) {
            one_d_len(b, "bias")?;
            cout = unify(&cout, &b.shape[0]).ok_or_else(|| {
                format!("bias has {} elements, expected {}", b.shape[0], w.shape[0])
            })?;
        }
    } else {
        if let Some(xz) = ins.get(2) {
            if !scalar_like(xz) {
                return Err(format!(
                    "x_zero_point must be a scalar, got shape {}",
                    fmt_shape(&xz.shape)
                ));
            }
        }
        if let Some(wz) = ins.get(3) {
            per_tensor_or(wz, "w_zero_point", &cout)?;
        }
    }
    if let Some(o) = cout.fixed() {
        if o % g != 0 {
            return Err(format!("{o} output channels not divisible by group {g}"));
        }
    }
    let mut out = vec![x.shape[0].clone(), cout];
    for i in 0..s {
        out.push(window_out(
            &x.shape[2 + i],
            w.shape[2 + i].fixed(),
            strides[i],
            dil[i],
            pads[i],
            pads[s + i],
            false,
            i,
        )?);
    }
    Ok(out)
}

/// Numpy matmul: 1-d operands get a dim prepended (a) / appended (b) and removed again;
/// batch dims broadcast.
fn matmul(a: &[Dim], b: &[Dim]) -> R<Vec<Dim>> {
    if a.is_empty() || b.is_empty() {
        return Err(format!(
            "operands must have rank >= 1, got {} and {}",
            fmt_shape(a),
            fmt_shape(b)
        ));
    }
    let (a1, b1) = (a.len() == 1, b.len() == 1);
    let mut a2 = a.to_vec();
    let mut b2 = b.to_vec();
    if a1 {
        a2.insert(0, Dim::Fixed(1));
    }
    if b1 {
        b2.push(Dim::Fixed(1));
    }
    let (ra, rb) = (a2.len(), b2.len());
    let (ka, kb) = (&a2[ra - 1], &b2[rb - 2]);
    if unify(ka, kb).is_none() {
        return Err(format!("inner dims {ka} and {kb} differ"));
    }
    let mut out = broadcast(&a2[..ra - 2], &b2[..rb - 2]).map_err(|_| {
        format!(
            "cannot broadcast batch dims of {} and {}",
            fmt_shape(a),
            fmt_shape(b)
        )
    })?;
    if !a1 {
        out.push(a2[ra - 2].clone());
    }
    if !b1 {
        out.push(b2[rb - 1].clone());
    }
    Ok(out)
}

fn matmul_integer(ins: &[&TensorType]) -> R<Vec<Dim>> {
    let (a, b) = (&ins[0].shape, &ins[1].shape);
    let out = matmul(a, b)?;
    let m = if a.len() >= 2 {
        a[a.len() - 2].clone()
    } else {
        Dim::Fixed(1)
    };
    let n = if b.len() >= 2 {
        b[b.len() - 1].clone()
    } else {
        Dim::Fixed(1)
    };
    if let Some(az) = ins.get(2) {
        per_tensor_or(az, "a_zero_point", &m)?;
    }
    if let Some(bz) = ins.get(3) {
        per_tensor_or(bz, "b_zero_point", &n)?;
    }
    Ok(out)
}

fn gemm(g: &GemmAttrs, ins: &[&TensorType]) -> R<Vec<Dim>> {
    let (a, b) = (ins[0], ins[1]);
    for (t, nm) in [(a, "A"), (b, "B")] {
        if t.rank() != 2 {
            return Err(format!(
                "{nm} must be 2-d, got shape {}",
                fmt_shape(&t.shape)
            ));
        }
    }
    let (m, ka) = if g.trans_a {
        (&a.shape[1], &a.shape[0])
    } else {
        (&a.shape[0], &a.shape[1])
    };
    let (kb, n) = if g.trans_b {
        (&b.shape[1], &b.shape[0])
    } else {
        (&b.shape[0], &b.shape[1])
    };
    if unify(ka, kb).is_none() {
        return Err(format!("inner dims {ka} and {kb} differ"));
    }
    let mut out = vec![m.clone(), n.clone()];
    if let Some(c) = ins.get(2) {
        let bad = || {
            format!(
                "C of shape {} does not broadcast to [{m}, {n}]",
                fmt_shape(&c.shape)
            )
        };
        if c.rank() > 2 {
            return Err(bad());
        }
        let off = 2 - c.rank();
        for (i, cd) in c.shape.iter().enumerate() {
            // C broadcasts one way: a fixed C dim other than 1 pins the result dim.
            if matches!(cd, Dim::Fixed(k) if *k != 1) {
                out[off + i] = unify(&out[off + i], cd).ok_or_else(bad)?;
            }
        }
    }
    Ok(out)
}

fn batchnorm(ins: &[&TensorType], n: usize) -> R<Vec<Vec<Dim>>> {
    let x = ins[0];
    if x.rank() < 2 {
        return Err(format!(
            "input must have rank >= 2 (N, C, ...), got shape {}",
            fmt_shape(&x.shape)
        ));
    }
    let mut c = x.shape[1].clone();
    for (t, name) in ins[1..5].iter().zip(["scale", "bias", "mean", "var"]) {
        if t.rank() != 1 {
            return Err(format!(
                "{name} must be 1-d, got shape {}",
                fmt_shape(&t.shape)
            ));
        }
        c = unify(&c, &t.shape[0])
            .ok_or_else(|| format!("{name} has {} elements, expected {c}", t.shape[0]))?;
    }
    let mut y = x.shape.clone();
    y[1] = c.clone();
    let mut out = vec![y];
    for _ in 1..n {
        out.push(vec![c.clone()]);
    }
    Ok(out)
}

// ---------------------------------------------------------------- elementwise

fn where_(ins: &[&TensorType]) -> R<Vec<Dim>> {
    broadcast(&ins[0].shape, &ins[1].shape)
        .and_then(|s| broadcast(&s, &ins[2].shape))
        .map_err(|_| {
            format!(
                "cannot broadcast {}, {} and {}",
                fmt_shape(&ins[0].shape),
                fmt_shape(&ins[1].shape),
                fmt_shape(&ins[2].shape)
            )
        })
}

fn clip_bounds(ins: &[&TensorType]) -> R<()> {
    for (t, name) in ins.iter().skip(1).zip(["min", "max"]) {
        if !scalar_like(t) {
            return Err(format!(
                "{name} must be a scalar, got shape {}",
                fmt_shape(&t.shape)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- pooling / reductions

fn pool(p: &PoolAttrs, x: &TensorType) -> R<Vec<Dim>> {
    let r = x.rank();
    if r < 3 {
        return Err(format!(
            "input must have rank >= 3 (N, C, spatial...), got shape {}",
            fmt_shape(&x.shape)
        ));
    }
    let s = r - 2;
    if p.kernel.len() != s {
        return Err(format!(
            "kernel has {} dims, expected {s} for input shape {}",
            p.kernel.len(),
            fmt_shape(&x.shape)
        ));
    }
    let strides = per_dim(&p.strides, s, 1, "strides")?;
    let dil = per_dim(&p.dilations, s, 1, "dilations")?;
    let pads = per_dim(&p.pads, 2 * s, 0, "pads")?;
    positive(&strides, "strides")?;
    positive(&dil, "dilations")?;
    let mut out = vec![x.shape[0].clone(), x.shape[1].clone()];
    for i in 0..s {
        out.push(window_out(
            &x.shape[2 + i],
            Some(p.kernel[i]),
            strides[i],
            dil[i],
            pads[i],
            pads[s + i],
            p.ceil_mode,
            i,
        )?);
    }
    Ok(out)
}

fn global_pool(x: &TensorType) -> R<Vec<Dim>> {
    if x.rank() < 3 {
        return Err(format!(
            "input must have rank >= 3 (N, C, spatial...), got shape {}",
            fmt_shape(&x.shape)
        ));
    }
    let mut out = x.shape[..2].to_vec();
    out.resize(x.rank(), Dim::Fixed(1));
    Ok(out)
}

fn reduce(axes: Option<&[i64]>, keepdims: bool, noop: bool, ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    let r = x.len();
    if ins.len() == 2 {
        // A dim that is already 1 stays 1 whether or not it is reduced.
        let keep_one = |d: &Dim| {
            if *d == Dim::Fixed(1) {
                d.clone()
            } else {
                Dim::Any
            }
        };
        return match one_d_len(ins[1], "axes")? {
            Some(0) => reduce_static(&[], keepdims, noop, x),
            Some(k) if k > r => Err(format!(
                "axes operand has {k} entries but the input has rank {r}"
            )),
            Some(k) if !keepdims => Ok(vec![Dim::Any; r - k]),
            _ if keepdims => Ok(x.iter().map(keep_one).collect()),
            _ => Err("cannot infer rank of dynamic reduce: axes operand length unknown".into()),
        };
    }
    reduce_static(axes.unwrap_or(&[]), keepdims, noop, x)
}

fn reduce_static(axes: &[i64], keepdims: bool, noop: bool, x: &[Dim]) -> R<Vec<Dim>> {
    let ax: Vec<usize> = if axes.is_empty() {
        if noop {
            return Ok(x.to_vec());
        }
        (0..x.len()).collect()
    } else {
        norm_axes(axes, x.len(), "axis")?
    };
    let mut out = Vec::new();
    for (i, d) in x.iter().enumerate() {
        if !ax.contains(&i) {
            out.push(d.clone());
        } else if keepdims {
            out.push(Dim::Fixed(1));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- layout

fn reshape(spec: &[i64], allowzero: bool, x: &[Dim]) -> R<Vec<Dim>> {
    let mut out = Vec::with_capacity(spec.len());
    let mut infer_at = None;
    for (i, &v) in spec.iter().enumerate() {
        match v {
            -1 => {
                if infer_at.is_some() {
                    return Err(format!("more than one -1 in shape {}", fmt_list(spec)));
                }
                infer_at = Some(i);
                out.push(Dim::Any);
            }
            0 if !allowzero => match x.get(i) {
                Some(d) => out.push(d.clone()),
                None => {
                    return Err(format!(
                        "shape {}: 0 at index {i} copies a dim the rank-{} input lacks",
                        fmt_list(spec),
                        x.len()
                    ))
                }
            },
            v if v < 0 => return Err(format!("invalid dim {v} in shape {}", fmt_list(spec))),
            v => out.push(Dim::Fixed(usize::try_from(v).map_err(|_| {
                format!("dim {v} in shape {} too large", fmt_list(spec))
            })?)),
        }
    }
    let total = Size::of(x);
    let cannot = || format!("cannot reshape {total} elements into {}", fmt_list(spec));
    if let Some(i) = infer_at {
        if allowzero && spec.contains(&0) {
            return Err(format!(
                "shape {} has both 0 and -1 with allowzero",
                fmt_list(spec)
            ));
        }
        let mut known = out.clone();
        known.remove(i);
        let known = Size::of(&known);
        if known.is_zero() {
            return Err(format!(
                "cannot infer -1 in shape {} next to a zero-size dim",
                fmt_list(spec)
            ));
        }
        out[i] = total.divide(&known).map_err(|_| cannot())?;
    } else {
        let got = Size::of(&out);
        if total.exact() && got.exact() && total.syms == got.syms && total.fixed != got.fixed {
            return Err(cannot());
        }
    }
    Ok(out)
}

fn dyn_reshape(shape: &TensorType) -> R<Vec<Dim>> {
    match one_d_len(shape, "shape")? {
        Some(k) => Ok(vec![Dim::Any; k]),
        None => Err("cannot infer rank of dynamic reshape: shape operand length unknown".into()),
    }
}

/// ONNX Gather: `x[..axis] ++ indices ++ x[axis + 1..]`.
fn gather(axis: i64, ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    let a = norm_axis(axis, x.len(), "axis")?;
    let mut out = x[..a].to_vec();
    out.extend(ins[1].shape.iter().cloned());
    out.extend(x[a + 1..].iter().cloned());
    Ok(out)
}

fn flatten(axis: i64, x: &[Dim]) -> R<Vec<Dim>> {
    let r = x.len() as i64;
    if axis < -r || axis > r {
        return Err(format!("axis {axis} out of range for rank {r}"));
    }
    let a = if axis < 0 { axis + r } else { axis } as usize;
    Ok(vec![Size::of(&x[..a]).to_dim(), Size::of(&x[a..]).to_dim()])
}

/// The effective permutation (empty = reverse), validated.
pub(super) fn perm_of(perm: &[usize], rank: usize) -> R<Vec<usize>> {
    if perm.is_empty() {
        return Ok((0..rank).rev().collect());
    }
    let mut seen = vec![false; rank];
    let ok = perm.len() == rank
        && perm
            .iter()
            .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
    if !ok {
        return Err(format!(
            "perm {} is not a permutation of {rank} dims",
            fmt_list(perm)
        ));
    }
    Ok(perm.to_vec())
}

fn transpose(perm: &[usize], x: &[Dim]) -> R<Vec<Dim>> {
    Ok(perm_of(perm, x.len())?
        .into_iter()
        .map(|p| x[p].clone())
        .collect())
}

/// The input dims a static squeeze removes.
pub(super) fn squeezed_axes(axes: &[i64], x: &[Dim]) -> R<Vec<usize>> {
    if axes.is_empty() {
        let mut v = Vec::new();
        for (i, d) in x.iter().enumerate() {
            match d {
                Dim::Fixed(1) => v.push(i),
                Dim::Fixed(_) => {}
                _ => {
                    return Err(format!(
                        "cannot tell whether dim {i} ({d}) has size 1; explicit axes needed"
                    ))
                }
            }
        }
        return Ok(v);
    }
    let ax = norm_axes(axes, x.len(), "axis")?;
    for &a in &ax {
        if let Dim::Fixed(n) = x[a] {
            if n != 1 {
                return Err(format!("dim {a} has size {n}, not 1"));
            }
        }
    }
    Ok(ax)
}

fn squeeze(axes: &[i64], ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    let removed = if ins.len() == 2 {
        match one_d_len(ins[1], "axes")? {
            Some(0) => squeezed_axes(&[], x)?,
            Some(k) if k <= x.len() => return Ok(vec![Dim::Any; x.len() - k]),
            Some(k) => {
                return Err(format!(
                    "axes operand has {k} entries but the input has rank {}",
                    x.len()
                ))
            }
            None => {
                return Err(
                    "cannot infer rank of dynamic squeeze: axes operand length unknown".into(),
                )
            }
        }
    } else {
        squeezed_axes(axes, x)?
    };
    Ok(x.iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, d)| d.clone())
        .collect())
}

/// The output positions a static unsqueeze inserts.
pub(super) fn unsqueeze_positions(axes: &[i64], in_rank: usize) -> R<Vec<usize>> {
    norm_axes(axes, in_rank + axes.len(), "axis")
}

fn unsqueeze(axes: &[i64], ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    if ins.len() == 2 {
        return match one_d_len(ins[1], "axes")? {
            Some(0) => Ok(x.clone()),
            Some(k) => Ok(vec![Dim::Any; x.len() + k]),
            None => {
                Err("cannot infer rank of dynamic unsqueeze: axes operand length unknown".into())
            }
        };
    }
    let pos = unsqueeze_positions(axes, x.len())?;
    let mut it = x.iter();
    Ok((0..x.len() + axes.len())
        .map(|i| {
            if pos.contains(&i) {
                Dim::Fixed(1)
            } else {
                it.next().cloned().unwrap_or(Dim::Any)
            }
        })
        .collect())
}

/// One sliced axis: (axis, start, end, step).
pub(super) type SliceAxis = (usize, i64, i64, i64);

/// Validates static slice attributes and pairs them per axis.
pub(super) fn slice_spec(
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
    rank: usize,
) -> R<Vec<SliceAxis>> {
    let k = starts.len();
    if ends.len() != k {
        return Err(format!("{k} starts but {} ends", ends.len()));
    }
    if !axes.is_empty() && axes.len() != k {
        return Err(format!("{} axes for {k} starts", axes.len()));
    }
    if !steps.is_empty() && steps.len() != k {
        return Err(format!("{} steps for {k} starts", steps.len()));
    }
    let ax: Vec<usize> = if axes.is_empty() {
        if k > rank {
            return Err(format!("{k} starts for rank {rank}"));
        }
        (0..k).collect()
    } else {
        norm_axes(axes, rank, "axis")?
    };
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        let step = steps.get(i).copied().unwrap_or(1);
        if step == 0 {
            return Err(format!("step 0 on axis {}", ax[i]));
        }
        out.push((ax[i], starts[i], ends[i], step));
    }
    Ok(out)
}

/// `(start, end)` of a slice of a fixed dim `n` after ONNX normalisation and clamping.
fn slice_bounds(n: i128, start: i64, end: i64, step: i64) -> (i128, i128) {
    let (mut s, mut e) = (start as i128, end as i128);
    if s < 0 {
        s += n;
    }
    if e < 0 {
        e += n;
    }
    if step > 0 {
        (s.min(n).max(0), e.min(n).max(0))
    } else {
        (s.min(n - 1).max(0), e.min(n - 1).max(-1))
    }
}

/// Length of a slice of a fixed dim `n` (ONNX clamping, negative steps included).
pub(super) fn slice_fixed(n: usize, start: i64, end: i64, step: i64) -> usize {
    if n == 0 {
        return 0;
    }
    let (s, e) = slice_bounds(n as i128, start, end, step);
    let st = step as i128;
    let len = if step > 0 {
        if e > s {
            (e - s + st - 1) / st
        } else {
            0
        }
    } else if s > e {
        (s - e + (-st) - 1) / (-st)
    } else {
        0
    };
    len as usize
}

/// The slice covers the whole dim in order (the dim and its per-axis data are unchanged).
pub(super) fn slice_is_identity(d: &Dim, start: i64, end: i64, step: i64) -> bool {
    if step != 1 {
        return false;
    }
    match d {
        Dim::Fixed(n) => slice_bounds(*n as i128, start, end, step) == (0, *n as i128),
        _ => (start == 0 || start == i64::MIN) && end == i64::MAX,
    }
}

fn slice_dim(d: &Dim, start: i64, end: i64, step: i64) -> Dim {
    match d {
        Dim::Fixed(n) => Dim::Fixed(slice_fixed(*n, start, end, step)),
        _ => {
            let full_reverse = step == -1 && (start == -1 || start == i64::MAX) && end == i64::MIN;
            // Bounds on the same side of zero keep their order after normalisation and
            // clamping, so `end` at or before `start` is empty whatever the size.
            let same_side = (start >= 0) == (end >= 0);
            if slice_is_identity(d, start, end, step) || full_reverse {
                d.clone()
            } else if same_side && ((step > 0 && end <= start) || (step < 0 && start <= end)) {
                Dim::Fixed(0)
            } else {
                Dim::Any
            }
        }
    }
}

fn slice(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64], x: &[Dim]) -> R<Vec<Dim>> {
    let mut out = x.to_vec();
    for (a, s, e, st) in slice_spec(starts, ends, axes, steps, x.len())? {
        out[a] = slice_dim(&x[a], s, e, st);
    }
    Ok(out)
}

fn dyn_slice(ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    let r = x.len();
    let starts = one_d_len(ins[1], "starts")?;
    let ends = one_d_len(ins[2], "ends")?;
    if let (Some(s), Some(e)) = (starts, ends) {
        if s != e {
            return Err(format!("{s} starts but {e} ends"));
        }
    }
    let k = starts.or(ends);
    for (t, name) in ins.iter().skip(3).zip(["axes", "steps"]) {
        if let (Some(m), Some(k)) = (one_d_len(t, name)?, k) {
            if m != k {
                return Err(format!("{m} {name} for {k} starts"));
            }
        }
    }
    if let Some(k) = k {
        if k > r {
            return Err(format!("{k} starts for rank {r}"));
        }
        if ins.len() == 3 {
            // Default axes are 0..k: later dims are untouched.
            let mut out = vec![Dim::Any; k];
            out.extend_from_slice(&x[k..]);
            return Ok(out);
        }
    }
    Ok(vec![Dim::Any; r])
}

fn pad_dim(d: &Dim, b: i64, e: i64, i: usize) -> R<Dim> {
    let total = b as i128 + e as i128;
    match d {
        Dim::Fixed(n) => {
            let v = *n as i128 + total;
            if v < 0 {
                return Err(format!(
                    "dim {i} of size {n} would have size {v} after pads {b}, {e}"
                ));
            }
            usize::try_from(v)
                .map(Dim::Fixed)
                .map_err(|_| format!("dim {i} overflows after pads {b}, {e}"))
        }
        _ => Ok(if total == 0 { d.clone() } else { Dim::Any }),
    }
}

fn pad(pads: &[i64], ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    let r = x.len();
    if ins.len() >= 2 {
        let m = one_d_len(ins[1], "pads")?;
        let want = match ins.get(3) {
            Some(axes) => one_d_len(axes, "axes")?.map(|k| 2 * k),
            None => Some(2 * r),
        };
        if let (Some(m), Some(w)) = (m, want) {
            if m != w {
                return Err(format!("pads operand has {m} entries, expected {w}"));
            }
        }
        if let Some(cv) = ins.get(2) {
            if !scalar_like(cv) {
                return Err(format!(
                    "constant_value must be a scalar, got shape {}",
                    fmt_shape(&cv.shape)
                ));
            }
        }
        return Ok(vec![Dim::Any; r]);
    }
    if pads.len() != 2 * r {
        return Err(format!(
            "pads has {} values, expected {} for rank {r}",
            pads.len(),
            2 * r
        ));
    }
    (0..r)
        .map(|i| pad_dim(&x[i], pads[i], pads[r + i], i))
        .collect()
}

fn concat(axis: i64, ins: &[&TensorType]) -> R<Vec<Dim>> {
    let r = ins[0].rank();
    if r == 0 {
        return Err("cannot concatenate scalars".into());
    }
    let a = norm_axis(axis, r, "axis")?;
    let mut out = ins[0].shape.clone();
    let (mut fixed, mut syms, mut any) = (0u128, Vec::new(), false);
    for (i, t) in ins.iter().enumerate() {
        if t.rank() != r {
            return Err(format!("input {i} has rank {}, expected {r}", t.rank()));
        }
        for (j, d) in t.shape.iter().enumerate() {
            if j == a {
                match d {
                    Dim::Fixed(n) => fixed += *n as u128,
                    Dim::Sym(s) => syms.push(s.clone()),
                    Dim::Any => any = true,
                }
            } else {
                out[j] = unify(&out[j], d)
                    .ok_or_else(|| format!("input {i} has dim {j} = {d}, expected {}", out[j]))?;
            }
        }
    }
    out[a] = match (any, syms.len()) {
        (false, 0) => usize::try_from(fixed).map(Dim::Fixed).unwrap_or(Dim::Any),
        (false, 1) if fixed == 0 => Dim::Sym(syms[0].clone()),
        _ => Dim::Any,
    };
    Ok(out)
}

fn split(axis: i64, sizes: &[usize], ins: &[&TensorType], n: usize) -> R<Vec<Vec<Dim>>> {
    let x = &ins[0].shape;
    if x.is_empty() {
        return Err("cannot split a scalar".into());
    }
    let a = norm_axis(axis, x.len(), "axis")?;
    let part = |d: Dim| {
        let mut s = x.clone();
        s[a] = d;
        s
    };
    if n == 0 {
        return Err("expected at least 1 result".into());
    }
    if ins.len() == 2 {
        if let Some(k) = one_d_len(ins[1], "split")? {
            if k != n {
                return Err(format!(
                    "split operand has {k} sizes but the node has {n} results"
                ));
            }
        }
        return Ok(if n == 1 {
            vec![x.clone()]
        } else {
            vec![part(Dim::Any); n]
        });
    }
    if !sizes.is_empty() {
        if sizes.len() != n {
            return Err(format!("{} sizes but {n} results", sizes.len()));
        }
        if let Dim::Fixed(d) = x[a] {
            let sum: u128 = sizes.iter().map(|&s| s as u128).sum();
            if sum != d as u128 {
                return Err(format!(
                    "sizes {} sum to {sum}, but dim {a} has size {d}",
                    fmt_list(sizes)
                ));
            }
        }
        return Ok(sizes.iter().map(|&s| part(Dim::Fixed(s))).collect());
    }
    // No sizes: ONNX `num_outputs` semantics, ceil(d / n) each and a smaller last part.
    match x[a] {
        Dim::Fixed(d) => {
            let c = d.div_ceil(n);
            let last = d as i128 - (c as i128) * (n as i128 - 1);
            if last < 0 {
                return Err(format!("cannot split dim {a} of size {d} into {n} parts"));
            }
            Ok((0..n)
                .map(|i| part(Dim::Fixed(if i + 1 == n { last as usize } else { c })))
                .collect())
        }
        _ if n == 1 => Ok(vec![x.clone()]),
        _ => Ok(vec![part(Dim::Any); n]),
    }
}

/// `tflite_lstm`: `x` is rank 3 and the result keeps its two leading dims, with the
/// recurrent weights' column count (the output size) last.
fn tflite_lstm(ins: &[&TensorType]) -> R<Vec<Dim>> {
    let x = &ins[0].shape;
    if x.len() != 3 {
        return Err(format!("input must be rank 3, got {}", fmt_shape(x)));
    }
    let w = &ins[5].shape;
    if w.len() != 2 {
        return Err(format!(
            "recurrent weights must be rank 2, got {}",
            fmt_shape(w)
        ));
    }
    Ok(vec![x[0].clone(), x[1].clone(), w[1].clone()])
}
