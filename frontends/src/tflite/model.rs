//! Reads subgraph 0 of a verified TFLite flatbuffer into owned, validated tables: tensors
//! (type, shape, shape signature, quantization, constant data) and operators (resolved
//! builtin code, version, tensor indices). Every index and array length is checked here,
//! so the lowerings never index out of range.

use qcc_ir::{DType, Data, Tensor};
use tract_tflite::tflite;

/// Quantization parameters of one tensor as stored (per-tensor when one scale).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TfQuant {
    /// Scales (one, or one per slice along `dim`).
    pub scale: Vec<f32>,
    /// Zero points, same length as `scale`.
    pub zero_point: Vec<i64>,
    /// The quantized dimension (meaningful for more than one scale).
    pub dim: usize,
}

/// One tensor of subgraph 0.
#[derive(Clone, Debug)]
pub(crate) struct TensorInfo {
    /// Name (may be empty).
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Static shape.
    pub shape: Vec<usize>,
    /// Shape signature (`-1` = dynamic dim), when the converter wrote one.
    pub signature: Option<Vec<i32>>,
    /// Quantization, when the tensor has scales.
    pub quant: Option<TfQuant>,
    /// Constant data, when its buffer holds bytes.
    pub data: Option<Tensor>,
    /// A variable (state) tensor.
    pub is_variable: bool,
}

/// One operator of subgraph 0.
#[derive(Clone, Debug)]
pub(crate) struct OpInfo {
    /// Builtin code (deprecated_builtin_code fallback applied).
    pub code: i32,
    /// Builtin op name, `CUSTOM:<name>` or `UNKNOWN`.
    pub name: String,
    /// Operator version.
    pub version: i32,
    /// Input tensor indices (`None` = optional input left out, index -1).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
}

/// Subgraph 0 in owned form.
#[derive(Clone, Debug)]
pub(crate) struct ModelInfo {
    /// Tensors by index.
    pub tensors: Vec<TensorInfo>,
    /// Operators in execution order.
    pub ops: Vec<OpInfo>,
    /// Graph inputs.
    pub inputs: Vec<usize>,
    /// Graph outputs.
    pub outputs: Vec<usize>,
}

/// Maps a TFLite tensor type to an IR dtype.
fn dtype_of(t: tflite::TensorType) -> Option<DType> {
    Some(match t {
        tflite::TensorType::FLOAT32 => DType::F32,
        tflite::TensorType::FLOAT64 => DType::F64,
        tflite::TensorType::INT8 => DType::I8,
        tflite::TensorType::UINT8 => DType::U8,
        tflite::TensorType::INT16 => DType::I16,
        tflite::TensorType::UINT16 => DType::U16,
        tflite::TensorType::INT32 => DType::I32,
        tflite::TensorType::UINT32 => DType::U32,
        tflite::TensorType::INT64 => DType::I64,
        tflite::TensorType::UINT64 => DType::U64,
        tflite::TensorType::BOOL => DType::Bool,
        _ => return None,
    })
}

/// Builtin op name of a code.
pub(crate) fn op_name(code: i32) -> String {
    tflite::BuiltinOperator(code)
        .variant_name()
        .map(str::to_string)
        .unwrap_or_else(|| "UNKNOWN".to_string())
}

/// Decodes and validates subgraph 0 of `model`.
pub(crate) fn read_model(model: &tflite::Model<'_>) -> Result<ModelInfo, String> {
    let version = model.version();
    if version != 3 {
        return Err(format!(
            "unsupported schema version {version} (qcc reads version 3)"
        ));
    }
    let subgraphs = model.subgraphs().ok_or("model has no subgraphs")?;
    if subgraphs.is_empty() {
        return Err("model has no subgraphs".into());
    }
    let sg = subgraphs.get(0);
    let buffers: Vec<Option<Vec<u8>>> = model
        .buffers()
        .map(|bs| {
            bs.iter()
                .map(|b| b.data().map(|d| d.bytes().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    let tensors_fb = sg.tensors().ok_or("subgraph 0 has no tensor table")?;
    let mut tensors = Vec::with_capacity(tensors_fb.len());
    for (i, t) in tensors_fb.iter().enumerate() {
        tensors.push(read_tensor(i, &t, &buffers)?);
    }
    let n = tensors.len();
    let index = |v: i32, what: &str| -> Result<usize, String> {
        if v < 0 || v as usize >= n {
            Err(format!(
                "{what} tensor index {v} is out of range (subgraph 0 has {n} tensors)"
            ))
        } else {
            Ok(v as usize)
        }
    };
    let inputs = sg
        .inputs()
        .map(|v| v.iter().map(|i| index(i, "graph input")).collect())
        .transpose()?
        .unwrap_or_default();
    let outputs: Vec<usize> = sg
        .outputs()
        .map(|v| v.iter().map(|i| index(i, "graph output")).collect())
        .transpose()?
        .unwrap_or_default();
    if outputs.is_empty() {
        return Err("subgraph 0 has no outputs".into());
    }
    let codes = model.operator_codes();
    let mut ops = Vec::new();
    for (k, op) in sg.operators().into_iter().flatten().enumerate() {
        let ci = op.opcode_index() as usize;
        let Some(oc) = codes.filter(|c| ci < c.len()).map(|c| c.get(ci)) else {
            return Err(format!(
                "operator #{k}: opcode index {ci} is out of range ({} operator codes)",
                codes.map_or(0, |c| c.len())
            ));
        };
        // TFLite's GetBuiltinCode: the larger of the two fields.
        let code = oc.builtin_code().0.max(oc.deprecated_builtin_code() as i32);
        let name = if code == tflite::BuiltinOperator::CUSTOM.0 {
            format!("CUSTOM:{}", oc.custom_code().unwrap_or(""))
        } else {
            op_name(code)
        };
        let mut ins = Vec::new();
        for v in op.inputs().into_iter().flatten() {
            ins.push(if v == -1 {
                None
            } else {
                Some(index(v, &format!("operator #{k} ({name}) input"))?)
            });
        }
        let mut outs = Vec::new();
        for v in op.outputs().into_iter().flatten() {
            outs.push(index(v, &format!("operator #{k} ({name}) output"))?);
        }
        ops.push(OpInfo {
            code,
            name,
            version: oc.version(),
            inputs: ins,
            outputs: outs,
        });
    }
    Ok(ModelInfo {
        tensors,
        ops,
        inputs,
        outputs,
    })
}

fn read_tensor(
    i: usize,
    t: &tflite::Tensor<'_>,
    buffers: &[Option<Vec<u8>>],
) -> Result<TensorInfo, String> {
    let name = t.name().unwrap_or("").to_string();
    let label = format!("tensor {i} '{name}'");
    let dtype = dtype_of(t.type_())
        .ok_or_else(|| format!("{label}: unsupported tensor type {:?}", t.type_()))?;
    let mut shape = Vec::new();
    for d in t.shape().into_iter().flatten() {
        if d < 0 {
            return Err(format!("{label}: negative dim {d} in its shape"));
        }
        shape.push(d as usize);
    }
    let signature: Option<Vec<i32>> = t.shape_signature().map(|s| s.iter().collect());
    if let Some(s) = &signature {
        if s.len() != shape.len() {
            return Err(format!(
                "{label}: shape signature has rank {} but the shape has rank {}",
                s.len(),
                shape.len()
            ));
        }
    }
    if t.sparsity().is_some() {
        return Err(format!("{label}: sparse tensors are not supported"));
    }
    let b = t.buffer() as usize;
    if b >= buffers.len() && b != 0 {
        return Err(format!(
            "{label}: buffer index {b} is out of range ({} buffers)",
            buffers.len()
        ));
    }
    let data = match buffers
        .get(b)
        .and_then(|d| d.as_ref())
        .filter(|d| !d.is_empty())
    {
        None => None,
        Some(bytes) => Some(const_tensor(&label, dtype, &shape, bytes)?),
    };
    let quant = read_quant(&label, t, dtype, &shape)?;
    Ok(TensorInfo {
        name,
        dtype,
        shape,
        signature,
        quant,
        data,
        is_variable: t.is_variable(),
    })
}

fn const_tensor(
    label: &str,
    dtype: DType,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Tensor, String> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("{label}: element count overflows"))?;
    let size = dtype.size();
    if n.checked_mul(size) != Some(bytes.len()) {
        return Err(format!(
            "{label}: buffer holds {} bytes but shape {shape:?} of {dtype} needs {}",
            bytes.len(),
            n.saturating_mul(size)
        ));
    }
    let data = Data::from_le_bytes(dtype, bytes)
        .ok_or_else(|| format!("{label}: cannot decode {dtype} data"))?;
    Tensor::try_new(shape.to_vec(), data)
        .ok_or_else(|| format!("{label}: data does not match its shape"))
}

fn read_quant(
    label: &str,
    t: &tflite::Tensor<'_>,
    dtype: DType,
    shape: &[usize],
) -> Result<Option<TfQuant>, String> {
    let Some(q) = t.quantization() else {
        return Ok(None);
    };
    if q.details().is_some() {
        return Err(format!(
            "{label}: custom quantization details are not supported"
        ));
    }
    let scale: Vec<f32> = q.scale().map(|s| s.iter().collect()).unwrap_or_default();
    let zero_point: Vec<i64> = q
        .zero_point()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    if scale.is_empty() && zero_point.is_empty() {
        return Ok(None);
    }
    if scale.len() != zero_point.len() {
        return Err(format!(
            "{label}: quantization has {} scales but {} zero points",
            scale.len(),
            zero_point.len()
        ));
    }
    if let Some(s) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!(
            "{label}: quantization scale {s} is not a positive finite number"
        ));
    }
    let qd = q.quantized_dimension();
    let dim = if scale.len() > 1 {
        if qd < 0 || qd as usize >= shape.len() {
            return Err(format!(
                "{label}: quantized_dimension {qd} is out of range for rank {}",
                shape.len()
            ));
        }
        if shape[qd as usize] != scale.len() {
            return Err(format!(
                "{label}: {} per-axis scales for dim {qd} of size {}",
                scale.len(),
                shape[qd as usize]
            ));
        }
        qd as usize
    } else {
        0
    };
    if let Some((lo, hi)) = dtype.int_range() {
        if dtype != DType::I32 && dtype != DType::I64 {
            if let Some(z) = zero_point.iter().find(|&&z| z < lo || z > hi) {
                return Err(format!(
                    "{label}: zero point {z} is outside the {dtype} range"
                ));
            }
        }
    }
    Ok(Some(TfQuant {
        scale,
        zero_point,
        dim,
    }))
}
