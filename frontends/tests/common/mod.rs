//! Builders for small ONNX models in tests.
#![allow(dead_code)]

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
pub use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

pub use tract_onnx::pb::tensor_proto::DataType as DT;

/// A tensor with raw little-endian data.
pub fn raw(name: &str, dt: DataType, dims: &[i64], bytes: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: dt as i32,
        dims: dims.to_vec(),
        raw_data: bytes,
        ..Default::default()
    }
}

pub fn f32s(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: DataType::Float as i32,
        dims: dims.to_vec(),
        float_data: v.to_vec(),
        ..Default::default()
    }
}

pub fn i64s(name: &str, dims: &[i64], v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: DataType::Int64 as i32,
        dims: dims.to_vec(),
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

/// int8 / uint8 / int32 / ... stored in int32_data.
pub fn ints(name: &str, dt: DataType, dims: &[i64], v: &[i32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: dt as i32,
        dims: dims.to_vec(),
        int32_data: v.to_vec(),
        ..Default::default()
    }
}

/// A scalar f32.
pub fn scalar_f32(name: &str, v: f32) -> TensorProto {
    f32s(name, &[], &[v])
}

/// A tensor value info; dims < 0 are left unknown, `Err(name)` dims are symbolic.
pub fn vi(name: &str, dt: DataType, dims: &[i64]) -> ValueInfoProto {
    vi_dims(
        name,
        dt,
        dims.iter()
            .map(|&d| if d < 0 { None } else { Some(Ok(d)) })
            .collect(),
    )
}

pub fn vi_sym(name: &str, dt: DataType, dims: &[&str]) -> ValueInfoProto {
    vi_dims(
        name,
        dt,
        dims.iter()
            .map(|d| match d.parse::<i64>() {
                Ok(n) => Some(Ok(n)),
                Err(_) if *d == "?" => None,
                Err(_) => Some(Err(d.to_string())),
            })
            .collect(),
    )
}

fn vi_dims(name: &str, dt: DataType, dims: Vec<Option<Result<i64, String>>>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            denotation: String::new(),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: dt as i32,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .into_iter()
                        .map(|d| Dimension {
                            denotation: String::new(),
                            value: d.map(|d| match d {
                                Ok(n) => dimension::Value::DimValue(n),
                                Err(s) => dimension::Value::DimParam(s),
                            }),
                        })
                        .collect(),
                }),
            })),
        }),
        doc_string: String::new(),
    }
}

pub fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

pub fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: v,
        ..Default::default()
    }
}

pub fn a_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Tensor as i32,
        t: Some(t),
        ..Default::default()
    }
}

/// A node in the default domain.
pub fn node(
    op: &str,
    name: &str,
    ins: &[&str],
    outs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        domain: String::new(),
        attribute: attrs,
        doc_string: String::new(),
    }
}

/// A com.microsoft node.
pub fn ms_node(
    op: &str,
    name: &str,
    ins: &[&str],
    outs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        domain: "com.microsoft".into(),
        ..node(op, name, ins, outs, attrs)
    }
}

/// A model description.
pub struct M {
    pub opset: i64,
    pub nodes: Vec<NodeProto>,
    pub inits: Vec<TensorProto>,
    pub inputs: Vec<ValueInfoProto>,
    pub outputs: Vec<ValueInfoProto>,
    pub extra_opsets: Vec<(&'static str, i64)>,
}

impl M {
    pub fn new(opset: i64) -> Self {
        M {
            opset,
            nodes: vec![],
            inits: vec![],
            inputs: vec![],
            outputs: vec![],
            extra_opsets: vec![],
        }
    }
    pub fn node(mut self, n: NodeProto) -> Self {
        self.nodes.push(n);
        self
    }
    pub fn init(mut self, t: TensorProto) -> Self {
        self.inits.push(t);
        self
    }
    pub fn input(mut self, v: ValueInfoProto) -> Self {
        self.inputs.push(v);
        self
    }
    pub fn output(mut self, v: ValueInfoProto) -> Self {
        self.outputs.push(v);
        self
    }
    /// An output declared by name only (no type).
    pub fn output_name(mut self, name: &str) -> Self {
        self.outputs.push(ValueInfoProto {
            name: name.into(),
            ..Default::default()
        });
        self
    }
    pub fn opset_import(mut self, domain: &'static str, v: i64) -> Self {
        self.extra_opsets.push((domain, v));
        self
    }
    pub fn proto(&self) -> ModelProto {
        let mut opset_import = vec![OperatorSetIdProto {
            domain: String::new(),
            version: self.opset,
        }];
        for (d, v) in &self.extra_opsets {
            opset_import.push(OperatorSetIdProto {
                domain: d.to_string(),
                version: *v,
            });
        }
        ModelProto {
            ir_version: 8,
            opset_import,
            graph: Some(GraphProto {
                node: self.nodes.clone(),
                name: "g".into(),
                initializer: self.inits.clone(),
                input: self.inputs.clone(),
                output: self.outputs.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
    pub fn bytes(&self) -> Vec<u8> {
        self.proto().encode_to_vec()
    }
    pub fn load(&self) -> Result<qcc_ir::Module, String> {
        load_bytes(&self.bytes())
    }
    /// Loads, verifies, and returns the module (panics with the error otherwise).
    pub fn ok(&self) -> qcc_ir::Module {
        let m = self.load().unwrap_or_else(|e| panic!("load failed: {e}"));
        if let Err(e) = qcc_ir::verify::verify_module(&m) {
            panic!("verify failed: {e}\n{}", qcc_ir::text::print_module(&m));
        }
        m
    }
    /// The error message of a failed load.
    pub fn err(&self) -> String {
        match self.load() {
            Ok(m) => panic!(
                "expected an error, got:\n{}",
                qcc_ir::text::print_module(&m)
            ),
            Err(e) => e,
        }
    }
}

pub fn load_bytes(b: &[u8]) -> Result<qcc_ir::Module, String> {
    qcc_frontends::onnx::load_onnx_bytes(b, "m.onnx").map_err(|e| e.to_string())
}

/// The op mnemonics of the module's nodes, in order.
pub fn ops(m: &qcc_ir::Module) -> Vec<&'static str> {
    m.graph.nodes.iter().map(|n| n.op.name()).collect()
}

/// The node that defines the graph output `k`.
pub fn producer(m: &qcc_ir::Module, v: qcc_ir::ValueId) -> &qcc_ir::Node {
    m.graph
        .nodes
        .iter()
        .find(|n| n.outputs.contains(&v))
        .expect("producer")
}

/// The value named `name`.
pub fn value<'a>(m: &'a qcc_ir::Module, name: &str) -> (qcc_ir::ValueId, &'a qcc_ir::Value) {
    let i = m
        .graph
        .values
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("no value '{name}'"));
    (qcc_ir::ValueId(i as u32), &m.graph.values[i])
}

/// The node defining value `name`.
pub fn def<'a>(m: &'a qcc_ir::Module, name: &str) -> &'a qcc_ir::Node {
    let (v, _) = value(m, name);
    producer(m, v)
}
