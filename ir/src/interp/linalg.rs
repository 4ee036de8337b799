//! Matrix products: MatMul (numpy semantics), MatMulInteger, Gemm, and the quantized
//! `qmatmul` / `qgemm`.

use super::broadcast::{broadcast_index, broadcast_shapes};
use super::conv::{channel_requants, tensor_params, weight_params, zero_points, Mac};
use super::{arity, numel, typed, Ctx, R};
use crate::{DType, Data, Element, GemmAttrs, Tensor};

/// Checked numpy matmul shapes.
struct MmShape {
    m: usize,
    k: usize,
    n: usize,
    /// Per output batch: batch index into `a` and into `b`.
    a_batch: Vec<usize>,
    b_batch: Vec<usize>,
    out_shape: Vec<usize>,
}

fn mm_shape(a: &[usize], b: &[usize]) -> R<MmShape> {
    if a.is_empty() || b.is_empty() {
        return Err(format!(
            "matmul operands must have rank >= 1, got {a:?} and {b:?}"
        ));
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, ka) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if ka != kb {
        return Err(format!(
            "inner dimensions differ: {a:?} x {b:?} ({ka} vs {kb})"
        ));
    }
    let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let batch = broadcast_shapes(&[ba, bb])?;
    let nb = numel(&batch)?;
    let ia = broadcast_index(ba, &batch)?.unwrap_or_else(|| (0..nb).collect());
    let ib = broadcast_index(bb, &batch)?.unwrap_or_else(|| (0..nb).collect());
    let mut out_shape = batch;
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    numel(&out_shape)?;
    Ok(MmShape {
        m,
        k: ka,
        n,
        a_batch: ia,
        b_batch: ib,
        out_shape,
    })
}

/// `out[b, i, j] = sum_k a[b, i, k] * b[b, k, j]`, k ascending.
fn mm_core<T: Mac>(a: &[T], b: &[T], s: &MmShape) -> Vec<T> {
    let (m, k, n) = (s.m, s.k, s.n);
    let mut out = vec![T::ZERO; s.a_batch.len() * m * n];
    for (bi, (&ia, &ib)) in s.a_batch.iter().zip(&s.b_batch).enumerate() {
        let ab = &a[ia * m * k..(ia + 1) * m * k];
        let bb = &b[ib * k * n..(ib + 1) * k * n];
        for i in 0..m {
            let acc = &mut out[(bi * m + i) * n..(bi * m + i + 1) * n];
            for kk in 0..k {
                let av = ab[i * k + kk];
                let brow = &bb[kk * n..(kk + 1) * n];
                for (o, &bv) in acc.iter_mut().zip(brow) {
                    *o = o.mac(av, bv);
                }
            }
        }
    }
    out
}

/// Numpy matmul (1-d operands promoted and squeezed, batch dims broadcast).
pub(crate) fn matmul(ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    if a.dtype() != b.dtype() {
        return Err(format!(
            "operand dtypes differ: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    let s = mm_shape(&a.shape, &b.shape)?;
    fn go<T: Mac + Element>(a: &Tensor, b: &Tensor, s: &MmShape) -> R<Data> {
        Ok(T::wrap(mm_core(
            typed::<T>(a, "a")?,
            typed::<T>(b, "b")?,
            s,
        )))
    }
    let data = match a.dtype() {
        DType::F32 => go::<f32>(a, b, &s)?,
        DType::F64 => go::<f64>(a, b, &s)?,
        DType::I32 => go::<i32>(a, b, &s)?,
        DType::I64 => go::<i64>(a, b, &s)?,
        DType::U32 => go::<u32>(a, b, &s)?,
        DType::U64 => go::<u64>(a, b, &s)?,
        d => return Err(format!("matmul is not defined on {d}")),
    };
    Ok(Tensor::new(s.out_shape, data))
}

/// `a - za[row]` as i32 for an `[..., m, k]` operand.
fn a_minus(a: &Tensor, za: &[i64], m: usize, k: usize) -> Vec<i32> {
    a.data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v - za[(i / k.max(1)) % m.max(1)]) as i32)
        .collect()
}

/// `b - zb[col]` as i32 for a `[..., k, n]` operand.
fn b_minus(b: &Tensor, zb: &[i64], n: usize) -> Vec<i32> {
    b.data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v - zb[i % n.max(1)]) as i32)
        .collect()
}

fn int8(t: &Tensor, what: &str) -> R<()> {
    match t.dtype() {
        DType::U8 | DType::I8 => Ok(()),
        d => Err(format!("{what} must be u8 or i8, got {d}")),
    }
}

/// ONNX MatMulInteger `[a, b, a_zero_point?, b_zero_point?] -> i32`; `a_zero_point` is a
/// scalar or per row (M), `b_zero_point` a scalar or per column (N).
pub(crate) fn matmul_integer(ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 4)?;
    let (a, b) = (ins[0], ins[1]);
    int8(a, "a")?;
    int8(b, "b")?;
    let s = mm_shape(&a.shape, &b.shape)?;
    let za = zero_points(ins.get(2), s.m, a.dtype(), "a_zero_point")?;
    let zb = zero_points(ins.get(3), s.n, b.dtype(), "b_zero_point")?;
    let ai = a_minus(a, &za, s.m, s.k);
    let bi = b_minus(b, &zb, s.n);
    Ok(Tensor::new(
        s.out_shape.clone(),
        Data::I32(mm_core(&ai, &bi, &s)),
    ))
}

/// Gemm dims: (M, K, N) after the transposes; operands must be 2-d.
fn gemm_dims(a: &[usize], b: &[usize], at: &GemmAttrs) -> R<(usize, usize, usize)> {
    if a.len() != 2 || b.len() != 2 {
        return Err(format!("gemm operands must be 2-d, got {a:?} and {b:?}"));
    }
    let (m, ka) = if at.trans_a {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let (kb, n) = if at.trans_b {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    if ka != kb {
        return Err(format!(
            "inner dimensions differ: A' is {m}x{ka}, B' is {kb}x{n} (shapes {a:?}, {b:?})"
        ));
    }
    numel(&[m, n])?;
    Ok((m, ka, n))
}

/// Gemm core: `acc[i, j] = sum_k A'[i, k] * B'[k, j]`, k ascending. Each output row is
/// accumulated over contiguous rows of B' (a transposed B is copied once into `[k][n]`), so
/// the per-element order is unchanged and the inner loop vectorises across columns.
fn gemm_core<T: Mac>(a: &[T], b: &[T], (m, k, n): (usize, usize, usize), at: &GemmAttrs) -> Vec<T> {
    let bt;
    let b_kn: &[T] = if at.trans_b {
        let mut t = vec![T::ZERO; k * n];
        for j in 0..n {
            for kk in 0..k {
                t[kk * n + j] = b[j * k + kk];
            }
        }
        bt = t;
        &bt
    } else {
        b
    };
    let mut out = vec![T::ZERO; m * n];
    for (i, acc) in out.chunks_mut(n.max(1)).enumerate().take(m) {
        for kk in 0..k {
            let av = if at.trans_a {
                a[kk * m + i]
            } else {
                a[i * k + kk]
            };
            let brow = &b_kn[kk * n..(kk + 1) * n];
            for (o, &bv) in acc.iter_mut().zip(brow) {
                *o = o.mac(av, bv);
            }
        }
    }
    out
}

/// Index into C (unidirectionally broadcast to `[m, n]`) for each output element.
fn c_index(c: &Tensor, m: usize, n: usize) -> R<Vec<usize>> {
    let target = [m, n];
    match broadcast_index(&c.shape, &target)? {
        Some(v) => Ok(v),
        None => Ok((0..m * n).collect()),
    }
}

/// ONNX Gemm: `alpha * A' B' + beta * C` (float), C broadcast to `[M, N]`; the product is
/// accumulated in natural order, then `acc * alpha + c * beta`.
pub(crate) fn gemm(ins: &[&Tensor], at: &GemmAttrs) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (a, b) = (ins[0], ins[1]);
    if a.dtype() != b.dtype() {
        return Err(format!(
            "operand dtypes differ: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    let dims = gemm_dims(&a.shape, &b.shape, at)?;
    let (m, _, n) = dims;
    let c = match ins.get(2) {
        Some(c) if at.beta != 0.0 => Some((*c, c_index(c, m, n)?)),
        _ => None,
    };
    fn go<T>(
        a: &Tensor,
        b: &Tensor,
        c: Option<(&Tensor, Vec<usize>)>,
        dims: (usize, usize, usize),
        at: &GemmAttrs,
    ) -> R<Data>
    where
        T: Mac + Element + std::ops::Mul<Output = T> + std::ops::Add<Output = T>,
    {
        let acc = gemm_core(typed::<T>(a, "A")?, typed::<T>(b, "B")?, dims, at);
        let alpha = T::from_f64(at.alpha as f64);
        let beta = T::from_f64(at.beta as f64);
        let out: Vec<T> = match c {
            None => acc.into_iter().map(|v| v * alpha).collect(),
            Some((c, idx)) => {
                let cv = typed::<T>(c, "C")?;
                acc.into_iter()
                    .zip(idx)
                    .map(|(v, i)| v * alpha + cv[i] * beta)
                    .collect()
            }
        };
        Ok(T::wrap(out))
    }
    let data = match a.dtype() {
        DType::F32 => go::<f32>(a, b, c, dims, at)?,
        DType::F64 => go::<f64>(a, b, c, dims, at)?,
        d => return Err(format!("gemm needs float operands, got {d}")),
    };
    Ok(Tensor::new(vec![m, n], data))
}

fn int_operands(a: &Tensor, b: &Tensor) -> R<()> {
    if !a.dtype().is_int() || !b.dtype().is_int() {
        return Err(format!(
            "operands must be quantized integers, got {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    Ok(())
}

/// Quantized matmul `[a: q (per-tensor), b: q (per-tensor or per-axis along its last dim)]`:
/// int32 accumulation of `(a - za) * (b - zb[col])`, requantized per column.
pub(crate) fn qmatmul(ctx: &Ctx, ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    int_operands(a, b)?;
    let s = mm_shape(&a.shape, &b.shape)?;
    let (sa, za) = tensor_params(ctx, 0)?;
    // Per-axis B parameters run along its last dim (columns); a 1-d B has one column and
    // must be per-tensor.
    let b_axis = if b.shape.len() >= 2 {
        b.shape.len() - 1
    } else {
        usize::MAX
    };
    let (sb, zb) = weight_params(ctx, 1, b_axis, s.n)?;
    let out_axis = s.out_shape.len().saturating_sub(1);
    let (req, (qmin, qmax), dt) = channel_requants(ctx, 1.0, sa, &sb, out_axis)?;
    let ai = a_minus(a, &[za], 1, s.k);
    let bi = b_minus(b, &zb, s.n);
    let acc = mm_core(&ai, &bi, &s);
    let vals: Vec<i64> = acc
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let j = i % s.n.max(1);
            req[j].mult.apply(v, req[j].zp, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(s.out_shape.clone(), Data::from_i64(dt, &vals)))
}

/// Quantized gemm `[a: q, b: q, c: i32?]`: int32 accumulation of `(a - za) * (b - zb[n])`
/// plus C (broadcast to `[M, N]`, at scale `sa * sb`), requantized with
/// `M = alpha * sa * sb[n] / sy`; with a plain f32 result type the output is
/// `acc * (alpha * sa * sb[n])` in f32. B's per-axis parameters run along its output dim
/// (axis 0 when `trans_b`, else 1).
pub(crate) fn qgemm(ctx: &Ctx, ins: &[&Tensor], at: &GemmAttrs) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let (a, b) = (ins[0], ins[1]);
    int_operands(a, b)?;
    let dims = gemm_dims(&a.shape, &b.shape, at)?;
    let (m, _, n) = dims;
    let (sa, za) = tensor_params(ctx, 0)?;
    let b_axis = if at.trans_b { 0 } else { 1 };
    let (sb, zb) = weight_params(ctx, 1, b_axis, n)?;
    if let Some(c) = ins.get(2).filter(|c| c.dtype() == DType::I64) {
        return qgemm_i64(ctx, a, b, c, at, dims, (sa, za), (&sb, &zb));
    }
    let ai: Vec<i32> = a
        .data
        .to_i64_vec()
        .into_iter()
        .map(|v| (v - za) as i32)
        .collect();
    let bi: Vec<i32> = b
        .data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            // Column (output channel) of element i of B as stored.
            let col = if at.trans_b {
                i / b.shape[1].max(1)
            } else {
                i % n.max(1)
            };
            (v - zb[col]) as i32
        })
        .collect();
    let mut acc = gemm_core(&ai, &bi, dims, at);
    if let Some(c) = ins.get(2) {
        let cv = typed::<i32>(c, "C")?;
        let idx = c_index(c, m, n)?;
        for (v, i) in acc.iter_mut().zip(idx) {
            *v = v.wrapping_add(cv[i]);
        }
    }
    let out_ty = ctx.out_ty(0);
    if out_ty.quant.is_none() && out_ty.dtype == DType::F32 {
        let scales: Vec<f32> = sb.iter().map(|&s| at.alpha * sa * s).collect();
        let v: Vec<f32> = acc
            .into_iter()
            .enumerate()
            .map(|(i, v)| v as f32 * scales[i % n.max(1)])
            .collect();
        return Ok(Tensor::new(vec![m, n], Data::F32(v)));
    }
    let (req, (qmin, qmax), dt) = channel_requants(ctx, at.alpha, sa, &sb, 1)?;
    let vals: Vec<i64> = acc
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let j = i % n.max(1);
            req[j].mult.apply(v, req[j].zp, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(vec![m, n], Data::from_i64(dt, &vals)))
}

/// `qgemm` with an int64 C (TFLite's int16x8 FULLY_CONNECTED): int64 accumulation, C added
/// in int64, requantized with [`crate::quant::Multiplier::apply_i64`].
#[allow(clippy::too_many_arguments)]
fn qgemm_i64(
    ctx: &Ctx,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    at: &GemmAttrs,
    dims: (usize, usize, usize),
    (sa, za): (f32, i64),
    (sb, zb): (&[f32], &[i64]),
) -> R<Tensor> {
    let (m, _, n) = dims;
    let ai: Vec<i64> = a.data.to_i64_vec().into_iter().map(|v| v - za).collect();
    let bi: Vec<i64> = b
        .data
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let col = if at.trans_b {
                i / b.shape[1].max(1)
            } else {
                i % n.max(1)
            };
            v - zb[col]
        })
        .collect();
    let mut acc = gemm_core(&ai, &bi, dims, at);
    let cv = typed::<i64>(c, "C")?;
    let idx = c_index(c, m, n)?;
    for (v, i) in acc.iter_mut().zip(idx) {
        *v = v.wrapping_add(cv[i]);
    }
    let (req, (qmin, qmax), dt) = channel_requants(ctx, at.alpha, sa, sb, 1)?;
    let vals: Vec<i64> = acc
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let j = i % n.max(1);
            req[j].mult.apply_i64(v, req[j].zp, qmin, qmax)
        })
        .collect();
    Ok(Tensor::new(vec![m, n], Data::from_i64(dt, &vals)))
}
