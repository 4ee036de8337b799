//! RESHAPE and the shape arithmetic folded at compile time: SHAPE, STRIDED_SLICE, PACK,
//! GATHER, REDUCE_PROD and CONCATENATION on compile-time shape vectors (Keras' Flatten:
//! SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE; Keras 3's Dense on a rank > 2 input: SHAPE ->
//! GATHER -> REDUCE_PROD -> CONCATENATION / PACK -> RESHAPE). A product involving the
//! symbolic batch is known only at run time: it folds to an unknown entry, which RESHAPE
//! turns into its one `-1`.

use super::OpRef;
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::{DType, Data, Dim, Op, Tensor};

/// Integer entries of a constant tensor.
fn const_ints(b: &Builder<'_>, t: usize, what: &str) -> LResult<Vec<i64>> {
    let Some(d) = b.const_data(t) else {
        unsupported!("non-constant {what}");
    };
    if !matches!(d.dtype(), DType::I32 | DType::I64) {
        bail!("{what} has type {}, expected int32 or int64", d.dtype());
    }
    Ok(d.data.to_i64_vec())
}

/// A compile-time shape vector: a SHAPE result or an integer constant of rank <= 1.
pub(crate) fn shape_vec(b: &Builder<'_>, t: usize) -> Option<(Vec<Dim>, bool)> {
    match b.slot(t) {
        Some(Slot::Shape { dims, scalar }) => Some((dims.clone(), *scalar)),
        Some(Slot::Value(_)) => None,
        None => {
            let d = b.const_data(t)?;
            if !matches!(d.dtype(), DType::I32 | DType::I64) || d.shape.len() > 1 {
                return None;
            }
            let v = d.data.to_i64_vec();
            if v.iter().any(|&x| x < 0) {
                return None;
            }
            Some((
                v.into_iter().map(|x| Dim::Fixed(x as usize)).collect(),
                d.shape.is_empty(),
            ))
        }
    }
}

/// RESHAPE: the target comes from the shape operand (constant or folded), else from the
/// options' new_shape, else from the output tensor. A symbolic batch entry becomes `-1`.
pub(crate) fn reshape(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let spec: Vec<i64> = if let Some(s) = op.opt_input(1) {
        if let Some((dims, _)) = shape_vec(b, s) {
            let syms = dims.iter().filter(|d| !matches!(d, Dim::Fixed(_))).count();
            if syms > 1 {
                unsupported!("a target shape with {syms} run-time dims");
            }
            dims.iter()
                .map(|d| d.fixed().map_or(-1, |v| v as i64))
                .collect()
        } else if b.const_data(s).is_some() {
            const_ints(b, s, "shape")?
        } else {
            unsupported!("a run-time target shape");
        }
    } else if let Some(ns) = op
        .fb
        .builtin_options_as_reshape_options()
        .and_then(|o| o.new_shape())
    {
        ns.iter().map(|v| v as i64).collect()
    } else {
        let dims = b.input_dims(y);
        dims.iter()
            .map(|d| d.fixed().map_or(-1, |v| v as i64))
            .collect()
    };
    if spec.iter().filter(|&&v| v == -1).count() > 1 || spec.iter().any(|&v| v < -1) {
        bail!("invalid target shape {spec:?}");
    }
    let xv = b.value(x)?;
    let allowzero = spec.contains(&0);
    let v = b.emit_tensor(
        y,
        Op::Reshape {
            shape: spec,
            allowzero,
        },
        vec![xv],
    )?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// SHAPE: the input's dims as a compile-time vector (the batch may be symbolic, other
/// entries unknown until run time).
pub(crate) fn shape(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    if !matches!(b.tensor(y).dtype, DType::I32 | DType::I64) {
        bail!("output type must be int32 or int64");
    }
    let dims = match b.slot(x) {
        Some(Slot::Value(v)) => b.ty(*v).shape.clone(),
        _ => b.tensor(x).shape.iter().map(|&d| Dim::Fixed(d)).collect(),
    };
    // Entries known only at run time (`Dim::Any`, e.g. after a reshape to `[-1, C]` of a
    // batched tensor) stay unknown; a RESHAPE they reach may have one of them.
    b.bind(
        y,
        Slot::Shape {
            dims,
            scalar: false,
        },
    );
    Ok(())
}

/// STRIDED_SLICE of run-time data: `slice` (TFLite's masks resolved: a begin / end mask
/// selects the whole range in the stride's direction), then `squeeze` of the shrunk axes.
/// Ellipsis, new-axis masks and `offset` are unsupported.
fn strided_slice_data(b: &mut Builder<'_>, op: &OpRef<'_>, x: usize, y: usize) -> LResult<()> {
    let (tx, ty) = (b.tensor(x), b.tensor(y));
    if tx.dtype != ty.dtype || b.qparams(x) != b.qparams(y) {
        unsupported!("STRIDED_SLICE with different input and output quantization");
    }
    let begin = const_ints(b, op.input(1)?, "begin")?;
    let end = const_ints(b, op.input(2)?, "end")?;
    let strides = const_ints(b, op.input(3)?, "strides")?;
    let rank = tx.shape.len();
    if begin.len() != end.len() || begin.len() != strides.len() || begin.len() > rank {
        bail!("begin, end and strides must have one entry per sliced dim (rank {rank})");
    }
    let (mut bm, mut em, mut sm) = (0, 0, 0);
    if let Some(o) = op.fb.builtin_options_as_strided_slice_options() {
        // `offset` (field 5, vtable slot 14) is newer than tract-tflite's schema.
        // SAFETY: slot 14 of StridedSliceOptions is the bool `offset` in TFLite's schema.
        let offset = unsafe { o._tab.get::<bool>(14, Some(false)) }.unwrap_or(false);
        if o.ellipsis_mask() != 0 || o.new_axis_mask() != 0 || offset {
            unsupported!("ellipsis / new-axis masks or offset");
        }
        (bm, em, sm) = (o.begin_mask(), o.end_mask(), o.shrink_axis_mask());
    }
    let (mut starts, mut ends, mut axes, mut steps, mut shrunk) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..begin.len() {
        let bit = |m: i32| m >> i & 1 != 0;
        let step = strides[i];
        if step == 0 {
            bail!("stride 0 on dim {i}");
        }
        let (s, e, st) = if bit(sm) {
            shrunk.push(i as i64);
            let s = begin[i];
            // One element; -1 as an end would wrap, so the end is open instead.
            (s, if s == -1 { i64::MAX } else { s + 1 }, 1)
        } else {
            let s = if bit(bm) {
                if step > 0 {
                    0
                } else {
                    i64::MAX
                }
            } else {
                begin[i]
            };
            let e = if bit(em) {
                if step > 0 {
                    i64::MAX
                } else {
                    i64::MIN
                }
            } else {
                end[i]
            };
            (s, e, step)
        };
        starts.push(s);
        ends.push(e);
        axes.push(i as i64);
        steps.push(st);
    }
    let xv = b.value(x)?;
    let name = format!("{}_slice", b.tensor(y).name);
    let q = b.qparams(y);
    let dt = b.tensor(y).dtype;
    let sliced = b.emit(
        &name,
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        },
        vec![xv],
        Some(dt),
        Some(q),
    )?;
    let v = if shrunk.is_empty() {
        b.emit_tensor(y, Op::Identity, vec![sliced])?
    } else {
        b.emit_tensor(y, Op::Squeeze { axes: shrunk }, vec![sliced])?
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// STRIDED_SLICE: folded on a 1-d compile-time shape vector, else a `slice` of the data.
pub(crate) fn strided_slice(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(4, 4, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let Some((dims, scalar)) = shape_vec(b, x) else {
        return strided_slice_data(b, op, x, y);
    };
    if scalar {
        bail!("input must have rank 1");
    }
    let begin = const_ints(b, op.input(1)?, "begin")?;
    let end = const_ints(b, op.input(2)?, "end")?;
    let strides = const_ints(b, op.input(3)?, "strides")?;
    if begin.len() != 1 || end.len() != 1 || strides.len() != 1 {
        bail!("begin, end and strides must have one entry for a rank-1 input");
    }
    let (mut bm, mut em, mut sm) = (0, 0, 0);
    if let Some(o) = op.fb.builtin_options_as_strided_slice_options() {
        if o.ellipsis_mask() != 0 || o.new_axis_mask() != 0 {
            unsupported!("ellipsis / new-axis masks");
        }
        (bm, em, sm) = (
            o.begin_mask() & 1,
            o.end_mask() & 1,
            o.shrink_axis_mask() & 1,
        );
    }
    let n = dims.len() as i64;
    let stride = strides[0];
    if stride == 0 {
        bail!("stride 0");
    }
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let (start, stop) = if sm != 0 {
        let s = norm(begin[0]);
        if s < 0 || s >= n {
            bail!("shrink index {} out of range for {n} entries", begin[0]);
        }
        (s, s + 1)
    } else if stride > 0 {
        let s = if bm != 0 {
            0
        } else {
            norm(begin[0]).clamp(0, n)
        };
        let e = if em != 0 { n } else { norm(end[0]).clamp(0, n) };
        (s, e)
    } else {
        let s = if bm != 0 {
            n - 1
        } else {
            norm(begin[0]).clamp(-1, n - 1)
        };
        let e = if em != 0 {
            -1
        } else {
            norm(end[0]).clamp(-1, n - 1)
        };
        (s, e)
    };
    let step = if sm != 0 { 1 } else { stride };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(dims[i as usize].clone());
        i += step;
    }
    if sm != 0 && out.len() != 1 {
        bail!("shrink_axis slice is empty");
    }
    b.bind(
        y,
        Slot::Shape {
            dims: out,
            scalar: sm != 0,
        },
    );
    Ok(())
}

/// PACK of compile-time scalars along axis 0 (other inputs: unsupported).
pub(crate) fn pack(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let n = op.info.inputs.len();
    op.arity(1, usize::MAX, 1)?;
    let y = op.output(0)?;
    let axis = op
        .fb
        .builtin_options_as_pack_options()
        .map_or(0, |o| o.axis());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = op.input(i)?;
        match shape_vec(b, t) {
            Some((d, true)) if axis == 0 || axis == -1 => out.extend(d),
            _ => unsupported!("PACK of run-time tensors (only shape arithmetic is folded)"),
        }
    }
    b.bind(
        y,
        Slot::Shape {
            dims: out,
            scalar: false,
        },
    );
    Ok(())
}

/// The product of shape entries (`Dim::Any` when it involves more
/// than one run-time entry, the entry itself when it is the only factor other than 1).
fn product(dims: &[Dim]) -> Dim {
    let fixed: usize = dims.iter().filter_map(Dim::fixed).product();
    let other: Vec<&Dim> = dims.iter().filter(|d| d.fixed().is_none()).collect();
    match other.as_slice() {
        [] => Dim::Fixed(fixed),
        [d] if fixed == 1 => (*d).clone(),
        _ => Dim::Any,
    }
}

/// GATHER of entries of a compile-time shape vector (axis 0, constant indices).
pub(crate) fn gather(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let Some((dims, false)) = shape_vec(b, x) else {
        unsupported!("GATHER of run-time data (only shape arithmetic is folded)");
    };
    if let Some(o) = op.fb.builtin_options_as_gather_options() {
        if o.axis() != 0 || o.batch_dims() != 0 {
            unsupported!("GATHER of a shape vector along axis {}", o.axis());
        }
    }
    let it = op.input(1)?;
    let idx = const_ints(b, it, "indices")?;
    let scalar = b.const_data(it).is_some_and(|d| d.shape.is_empty());
    let mut out = Vec::with_capacity(idx.len());
    for &i in &idx {
        match usize::try_from(i).ok().and_then(|i| dims.get(i)) {
            Some(d) => out.push(d.clone()),
            None => bail!("index {i} is out of range for {} entries", dims.len()),
        }
    }
    b.bind(y, Slot::Shape { dims: out, scalar });
    Ok(())
}

/// REDUCE_PROD of a compile-time shape vector over its one axis.
pub(crate) fn reduce_prod(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let Some((dims, false)) = shape_vec(b, x) else {
        unsupported!("REDUCE_PROD of run-time data (only shape arithmetic is folded)");
    };
    let axes = const_ints(b, op.input(1)?, "axis")?;
    if axes.iter().any(|&a| a != 0 && a != -1) {
        bail!("axis {axes:?} is out of range for a rank-1 shape vector");
    }
    let keep = op
        .fb
        .builtin_options_as_reducer_options()
        .is_some_and(|o| o.keep_dims());
    let (dims, scalar) = if axes.is_empty() {
        (dims, false)
    } else {
        (vec![product(&dims)], !keep)
    };
    b.bind(y, Slot::Shape { dims, scalar });
    Ok(())
}

/// CONCATENATION of compile-time shape vectors, when every input is one and at least one is
/// a folded SHAPE result; `Ok(false)` leaves the op to the tensor lowering.
pub(crate) fn concat_shapes(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<bool> {
    let n = op.info.inputs.len();
    let mut vecs = Vec::with_capacity(n);
    let mut folded = false;
    for i in 0..n {
        let t = op.input(i)?;
        folded |= matches!(b.slot(t), Some(Slot::Shape { .. }));
        match shape_vec(b, t) {
            Some((d, false)) => vecs.push(d),
            _ => return Ok(false),
        }
    }
    if !folded {
        return Ok(false);
    }
    let y = op.output(0)?;
    b.bind(
        y,
        Slot::Shape {
            dims: vecs.concat(),
            scalar: false,
        },
    );
    Ok(true)
}

/// A compile-time shape operand (`what` names it) as sizes, its symbolic batch entry (the
/// first) taken as 1; any other run-time entry is unsupported.
pub(crate) fn shape_batch_one(b: &Builder<'_>, t: usize, what: &str) -> LResult<Vec<usize>> {
    let Some((dims, _)) = shape_vec(b, t) else {
        unsupported!("{what} computed at run time");
    };
    dims.iter()
        .enumerate()
        .map(|(k, d)| match d {
            Dim::Fixed(v) => Ok(*v),
            _ if k == 0 => Ok(1),
            _ => unsupported!("{what} with a run-time dim {k}"),
        })
        .collect()
}

/// FILL: a tensor of the given shape (a constant or a folded SHAPE computation) holding
/// one constant value, as a constant. A symbolic batch entry becomes 1: the value is the
/// same in every row, and the consumers (the initial states of an unrolled Keras LSTM)
/// broadcast it over the batch.
pub(crate) fn fill(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (dims_t, value_t, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let shape = shape_batch_one(b, dims_t, "FILL's shape")?;
    let Some(value) = b.const_data(value_t) else {
        unsupported!("FILL with a run-time value");
    };
    if value.len() != 1 || value.dtype() != b.tensor(y).dtype {
        bail!("the value must be one element of the output's type");
    }
    // A constant of at most 2^22 elements (a state tensor, not a model-sized buffer).
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 1 << 22);
    let Some(n) = n else {
        bail!("FILL shape {shape:?} is too large for a constant");
    };
    let data = match &value.data {
        Data::F32(v) => Data::F32(vec![v[0]; n]),
        d if value.dtype().is_int() => Data::from_i64(value.dtype(), &vec![d.to_i64_vec()[0]; n]),
        _ => unsupported!("FILL of {}", value.dtype()),
    };
    let name = b.tensor(y).name.clone();
    let q = b.qparams(y);
    let c = b.new_const(&name, Tensor::new(shape, data), q);
    b.bind(y, Slot::Value(c));
    Ok(())
}
