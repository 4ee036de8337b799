//! `TensorProto` -> [`Tensor`] and `ValueInfoProto` -> [`TensorType`].

use super::proto::{dtype_of, elem_type_name, tensor_type_of, TensorProto, ValueInfoProto};
use qcc_ir::{DType, Data, Dim, Tensor, TensorType};
use tract_onnx::pb::tensor_shape_proto::dimension::Value as DimValue;

/// Largest element count accepted for one tensor (guards allocations on corrupt files).
const MAX_ELEMENTS: usize = 1 << 31;

/// Converts a `TensorProto`. Errors name the tensor (`what` is e.g. "initializer" or
/// "constant") and never panic: external data, unsupported element types, negative dims
/// and data of the wrong length are all errors.
pub(crate) fn tensor_from_proto(t: &TensorProto, what: &str) -> Result<Tensor, String> {
    let label = format!("{what} '{}'", t.name);
    if t.data_location == Some(1) || !t.external_data.is_empty() {
        return Err(format!(
            "{label}: external data can only be read when the model is loaded from its file"
        ));
    }
    if t.segment.is_some() {
        return Err(format!("{label}: segmented tensors are not supported"));
    }
    let dtype = dtype_of(t.data_type)
        .ok_or_else(|| format!("{label}: unsupported dtype {}", elem_type_name(t.data_type)))?;
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut n: usize = 1;
    for &d in &t.dims {
        if d < 0 {
            return Err(format!("{label}: negative dimension {d} in {:?}", t.dims));
        }
        let d = usize::try_from(d).map_err(|_| format!("{label}: dimension {d} too large"))?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| format!("{label}: too many elements for shape {:?}", t.dims))?;
        shape.push(d);
    }
    let data = if !t.raw_data.is_empty() {
        let want = n * dtype.size();
        if t.raw_data.len() != want {
            return Err(format!(
                "{label}: raw_data has {} bytes, expected {} ({} x {} for shape {:?})",
                t.raw_data.len(),
                want,
                n,
                dtype.name(),
                t.dims
            ));
        }
        Data::from_le_bytes(dtype, &t.raw_data)
            .ok_or_else(|| format!("{label}: raw_data cannot be decoded as {dtype}"))?
    } else {
        typed_data(t, dtype, n).map_err(|m| format!("{label}: {m}"))?
    };
    if data.len() != n {
        return Err(format!(
            "{label}: has {} elements, shape {:?} needs {}",
            data.len(),
            t.dims,
            n
        ));
    }
    Tensor::try_new(shape, data).ok_or_else(|| format!("{label}: element count mismatch"))
}

/// Reads the typed `*_data` field that holds `dtype`.
fn typed_data(t: &TensorProto, dtype: DType, n: usize) -> Result<Data, String> {
    let check = |len: usize, field: &str| -> Result<(), String> {
        if len != n {
            Err(format!(
                "{field} has {len} elements, shape {:?} needs {n}",
                t.dims
            ))
        } else {
            Ok(())
        }
    };
    Ok(match dtype {
        DType::F32 => {
            check(t.float_data.len(), "float_data")?;
            Data::F32(t.float_data.clone())
        }
        DType::F64 => {
            check(t.double_data.len(), "double_data")?;
            Data::F64(t.double_data.clone())
        }
        DType::I64 => {
            check(t.int64_data.len(), "int64_data")?;
            Data::I64(t.int64_data.clone())
        }
        DType::U64 => {
            check(t.uint64_data.len(), "uint64_data")?;
            Data::U64(t.uint64_data.clone())
        }
        DType::U32 => {
            check(t.uint64_data.len(), "uint64_data")?;
            Data::U32(t.uint64_data.iter().map(|&x| x as u32).collect())
        }
        DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32 | DType::Bool => {
            check(t.int32_data.len(), "int32_data")?;
            if dtype == DType::I32 {
                Data::I32(t.int32_data.clone())
            } else {
                let v: Vec<i64> = t.int32_data.iter().map(|&x| x as i64).collect();
                Data::from_i64(dtype, &v)
            }
        }
    })
}

/// The type declared by a graph input / output value info. `None` for a missing or
/// non-tensor type; an error for unsupported element types and negative dims.
pub(crate) fn type_from_value_info(v: &ValueInfoProto) -> Result<Option<TensorType>, String> {
    let Some(tt) = tensor_type_of(v) else {
        return Ok(None);
    };
    if tt.elem_type == 0 {
        return Ok(None);
    }
    let dtype = dtype_of(tt.elem_type).ok_or_else(|| {
        format!(
            "'{}' has unsupported dtype {}",
            v.name,
            elem_type_name(tt.elem_type)
        )
    })?;
    let Some(shape) = &tt.shape else {
        return Err(format!(
            "'{}' has no shape (tensors of unknown rank are not supported)",
            v.name
        ));
    };
    let mut dims = Vec::with_capacity(shape.dim.len());
    for d in &shape.dim {
        dims.push(match &d.value {
            Some(DimValue::DimValue(n)) if *n >= 0 => Dim::Fixed(*n as usize),
            Some(DimValue::DimValue(n)) => {
                return Err(format!("'{}' has a negative dimension {n}", v.name))
            }
            Some(DimValue::DimParam(p)) if !p.is_empty() => Dim::Sym(p.clone()),
            _ => Dim::Any,
        });
    }
    Ok(Some(TensorType::with_dims(dtype, dims)))
}
