//! Decoding the protobuf and reading model-level facts (opsets, element types).

use prost::Message;
use qcc_ir::DType;
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;

pub(crate) use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};

/// Lowest and highest ai.onnx opset accepted.
pub(crate) const MIN_OPSET: i64 = 1;
/// Highest ai.onnx opset accepted.
pub(crate) const MAX_OPSET: i64 = 28;

/// Decodes a `ModelProto`; the error is prost's message.
pub(crate) fn decode_model(bytes: &[u8]) -> Result<ModelProto, String> {
    if bytes.is_empty() {
        return Err("empty file".to_string());
    }
    ModelProto::decode(bytes).map_err(|e| e.to_string())
}

/// True for the default ONNX operator domain.
pub(crate) fn is_default_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// The opsets a model imports.
#[derive(Clone, Debug)]
pub(crate) struct Opsets {
    /// Version of the default (ai.onnx) domain.
    pub onnx: i64,
    /// Version of com.microsoft, when imported.
    pub microsoft: Option<i64>,
}

impl Opsets {
    /// Reads `opset_import`; the default domain must be present (IR < 3 models without
    /// opset imports are taken as opset 1) and within `MIN_OPSET..=MAX_OPSET`.
    pub(crate) fn from_model(m: &ModelProto) -> Result<Opsets, String> {
        let mut onnx = None;
        let mut microsoft = None;
        for o in &m.opset_import {
            if is_default_domain(&o.domain) {
                onnx = Some(onnx.map_or(o.version, |v: i64| v.max(o.version)));
            } else if o.domain == "com.microsoft" {
                microsoft = Some(o.version);
            }
        }
        let onnx = match onnx {
            Some(v) => v,
            None if m.opset_import.is_empty() => 1,
            None => return Err("model does not import the ai.onnx opset".to_string()),
        };
        if !(MIN_OPSET..=MAX_OPSET).contains(&onnx) {
            return Err(format!(
                "unsupported ai.onnx opset {onnx} (supported: {MIN_OPSET}..={MAX_OPSET})"
            ));
        }
        Ok(Opsets { onnx, microsoft })
    }

    /// The version of `domain` to quote in messages.
    pub(crate) fn version_of(&self, domain: &str) -> i64 {
        if is_default_domain(domain) {
            self.onnx
        } else if domain == "com.microsoft" {
            self.microsoft.unwrap_or(1)
        } else {
            0
        }
    }
}

/// The name of an ONNX element type number, for messages.
pub(crate) fn elem_type_name(t: i32) -> String {
    match DataType::try_from(t) {
        Ok(d) => d.as_str_name().to_string(),
        // Newer than the protobuf definitions in tract.
        Err(_) if t == 24 => "FLOAT8E8M0".to_string(),
        Err(_) if t == 25 => "UINT2".to_string(),
        Err(_) if t == 26 => "INT2".to_string(),
        Err(_) => format!("<unknown element type {t}>"),
    }
}

/// Maps an ONNX element type to a qcc dtype; `None` for the types qcc does not support
/// (float16, bfloat16, string, complex, float8, int4, ...).
pub(crate) fn dtype_of(t: i32) -> Option<DType> {
    Some(match DataType::try_from(t).ok()? {
        DataType::Float => DType::F32,
        DataType::Double => DType::F64,
        DataType::Int8 => DType::I8,
        DataType::Uint8 => DType::U8,
        DataType::Int16 => DType::I16,
        DataType::Uint16 => DType::U16,
        DataType::Int32 => DType::I32,
        DataType::Uint32 => DType::U32,
        DataType::Int64 => DType::I64,
        DataType::Uint64 => DType::U64,
        DataType::Bool => DType::Bool,
        _ => return None,
    })
}

/// The ONNX element type number of a qcc dtype.
pub(crate) fn elem_type_of(d: DType) -> i32 {
    (match d {
        DType::F32 => DataType::Float,
        DType::F64 => DataType::Double,
        DType::I8 => DataType::Int8,
        DType::U8 => DataType::Uint8,
        DType::I16 => DataType::Int16,
        DType::U16 => DataType::Uint16,
        DType::I32 => DataType::Int32,
        DType::U32 => DataType::Uint32,
        DType::I64 => DataType::Int64,
        DType::U64 => DataType::Uint64,
        DType::Bool => DataType::Bool,
    }) as i32
}

/// The tensor type of a value info, when it is a tensor type.
pub(crate) fn tensor_type_of(v: &ValueInfoProto) -> Option<&pb::type_proto::Tensor> {
    match v.r#type.as_ref()?.value.as_ref()? {
        pb::type_proto::Value::TensorType(t) => Some(t),
    }
}
