//! ONNX frontend: decodes a `ModelProto` and lowers its graph into a [`qcc_ir::Module`].
//!
//! * Initializers and Constant nodes become module constants, each referenced by one
//!   `const` node emitted at its first use.
//! * Shape-like operands that are constants fold into op attributes; run-time ones give
//!   the ops' dynamic forms.
//! * QDQ: QuantizeLinear / DequantizeLinear with constant per-tensor or per-axis params
//!   become the static `quantize` / `dequantize` ops (params in the types), otherwise the
//!   dynamic `quantize_linear` / `dequantize_linear`.
//! * QOperator: QLinearConv / QLinearMatMul / com.microsoft QGemm become `qconv` /
//!   `qmatmul` / `qgemm`; the other contrib ops dequantize -> float op -> quantize
//!   (see `lower/qop.rs`).
//!
//! Every error is a [`FrontendError`] whose message is one line naming the file and, for
//! node errors, the node and its op. Nothing panics on malformed input.

mod attrs;
mod builder;
mod error;
mod external;
mod lower;
mod node;
mod proto;
mod registry;
mod tensor;
mod typing;

pub use error::FrontendError;
pub use registry::supported_ops;

use builder::{dims_conflict, Binding, Builder};
use error::LowerError;
use node::NodeCtx;
use proto::{GraphProto, ModelProto, Opsets};
use qcc_ir::Module;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;

/// Loads an ONNX model file. Errors name the file as given.
pub fn load_onnx(path: &Path) -> Result<Module, FrontendError> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FrontendError::Io {
        file: label.clone(),
        msg: e.to_string(),
    })?;
    let mut model = proto::decode_model(&bytes).map_err(|msg| FrontendError::Decode {
        file: label.clone(),
        msg,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    external::inline_external(&mut model, dir).map_err(|msg| FrontendError::Model {
        file: label.clone(),
        msg,
    })?;
    Importer { file: label }.import(&model)
}

/// Loads an ONNX model from its bytes; `file_label` names it in error messages and gives
/// the module name when the graph has none.
pub fn load_onnx_bytes(bytes: &[u8], file_label: &str) -> Result<Module, FrontendError> {
    let model = proto::decode_model(bytes).map_err(|msg| FrontendError::Decode {
        file: file_label.to_string(),
        msg,
    })?;
    Importer {
        file: file_label.to_string(),
    }
    .import(&model)
}

/// Decodes a serialized `TensorProto` (the `.pb` files of ONNX's backend tests) into a
/// tensor; `file_label` names it in error messages.
pub fn load_tensor_proto(bytes: &[u8], file_label: &str) -> Result<qcc_ir::Tensor, FrontendError> {
    use prost::Message;
    let t = proto::TensorProto::decode(bytes).map_err(|e| FrontendError::Decode {
        file: file_label.to_string(),
        msg: e.to_string(),
    })?;
    tensor::tensor_from_proto(&t, "tensor").map_err(|msg| FrontendError::Model {
        file: file_label.to_string(),
        msg,
    })
}

struct Importer {
    file: String,
}

impl Importer {
    fn model_err(&self, msg: impl Into<String>) -> FrontendError {
        FrontendError::Model {
            file: self.file.clone(),
            msg: msg.into(),
        }
    }

    fn node_err(&self, node: &str, op: &str, msg: impl Into<String>) -> FrontendError {
        FrontendError::Node {
            file: self.file.clone(),
            node: node.to_string(),
            op: op.to_string(),
            msg: msg.into(),
        }
    }

    fn import(&self, model: &ModelProto) -> Result<Module, FrontendError> {
        let opsets = Opsets::from_model(model).map_err(|m| self.model_err(m))?;
        let Some(graph) = &model.graph else {
            return Err(self.model_err("model has no graph"));
        };
        let name = if graph.name.is_empty() {
            Path::new(&self.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".to_string())
        } else {
            graph.name.clone()
        };
        let mut b = Builder::new(name);
        self.add_initializers(&mut b, graph)?;
        self.add_inputs(&mut b, graph)?;
        let order = self.topo_order(&b, graph)?;
        for n in &graph.node {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                b.reserve(o);
            }
        }
        for i in order {
            self.lower_node(&mut b, &opsets, graph, i)?;
        }
        self.add_outputs(&mut b, graph)?;
        Ok(b.finish())
    }

    fn add_initializers(&self, b: &mut Builder, g: &GraphProto) -> Result<(), FrontendError> {
        if let Some(s) = g.sparse_initializer.first() {
            let name = s.values.as_ref().map(|v| v.name.as_str()).unwrap_or("");
            return Err(self.model_err(format!("sparse initializer '{name}' is not supported")));
        }
        for t in &g.initializer {
            if t.name.is_empty() {
                return Err(self.model_err("initializer without a name"));
            }
            if b.is_defined(&t.name) {
                return Err(self.model_err(format!("initializer '{}' is defined twice", t.name)));
            }
            let data =
                tensor::tensor_from_proto(t, "initializer").map_err(|m| self.model_err(m))?;
            let c = b.add_const(&t.name, data);
            b.bind(&t.name, Binding::Const(c));
        }
        Ok(())
    }

    fn add_inputs(&self, b: &mut Builder, g: &GraphProto) -> Result<(), FrontendError> {
        let inits: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        let mut seen = HashSet::new();
        for vi in &g.input {
            if vi.name.is_empty() {
                return Err(self.model_err("graph input without a name"));
            }
            if !seen.insert(vi.name.as_str()) {
                return Err(self.model_err(format!("graph input '{}' is listed twice", vi.name)));
            }
            // An initializer that is also a graph input is a constant (its default value).
            if inits.contains(vi.name.as_str()) {
                continue;
            }
            let ty = tensor::type_from_value_info(vi)
                .map_err(|m| self.model_err(format!("graph input {m}")))?
                .ok_or_else(|| {
                    self.model_err(format!("graph input '{}' has no tensor type", vi.name))
                })?;
            b.add_input(&vi.name, ty);
        }
        Ok(())
    }

    fn node_name(g: &GraphProto, i: usize) -> String {
        let n = &g.node[i];
        if n.name.is_empty() {
            format!("{}_{i}", n.op_type)
        } else {
            n.name.clone()
        }
    }

    /// A topological order of the nodes (stable: the file's order where it is valid).
    fn topo_order(&self, b: &Builder, g: &GraphProto) -> Result<Vec<usize>, FrontendError> {
        let mut producer: HashMap<&str, usize> = HashMap::new();
        for (i, n) in g.node.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                if b.is_defined(o) || producer.insert(o.as_str(), i).is_some() {
                    return Err(self.node_err(
                        &Self::node_name(g, i),
                        &n.op_type,
                        format!("output '{o}' is already defined"),
                    ));
                }
            }
        }
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); g.node.len()];
        let mut pending: Vec<usize> = vec![0; g.node.len()];
        for (i, n) in g.node.iter().enumerate() {
            let mut deps = HashSet::new();
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                match producer.get(inp.as_str()) {
                    Some(&p) => {
                        if deps.insert(p) {
                            users[p].push(i);
                            pending[i] += 1;
                        }
                    }
                    None if b.is_defined(inp) => {}
                    None => {
                        return Err(self.node_err(
                            &Self::node_name(g, i),
                            &n.op_type,
                            format!("input '{inp}' is not defined"),
                        ))
                    }
                }
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> = pending
            .iter()
            .enumerate()
            .filter(|(_, &p)| p == 0)
            .map(|(i, _)| Reverse(i))
            .collect();
        let mut order = Vec::with_capacity(g.node.len());
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &u in &users[i] {
                pending[u] -= 1;
                if pending[u] == 0 {
                    ready.push(Reverse(u));
                }
            }
        }
        if order.len() != g.node.len() {
            let i = (0..g.node.len()).find(|&i| pending[i] > 0).unwrap_or(0);
            return Err(self.node_err(
                &Self::node_name(g, i),
                &g.node[i].op_type,
                "the graph has a cycle through this node",
            ));
        }
        Ok(order)
    }

    fn lower_node(
        &self,
        b: &mut Builder,
        opsets: &Opsets,
        g: &GraphProto,
        i: usize,
    ) -> Result<(), FrontendError> {
        let n = &g.node[i];
        let name = Self::node_name(g, i);
        let version = opsets.version_of(&n.domain);
        let qualified = if proto::is_default_domain(&n.domain) {
            n.op_type.clone()
        } else {
            format!("{}.{}", n.domain, n.op_type)
        };
        let f = registry::lookup(&n.domain, &n.op_type, version);
        let mut ctx = NodeCtx {
            b,
            node: n,
            name: name.clone(),
            opset: version,
        };
        // Shape arithmetic is evaluated here; everything else goes to its lowering.
        let lowered = match (lower::shape::try_fold(&mut ctx), f) {
            (Ok(true), _) => Ok(()),
            (Ok(false), Some(f)) => f(&mut ctx),
            (Ok(false), None) => {
                return Err(FrontendError::UnsupportedOp {
                    file: self.file.clone(),
                    op: qualified,
                    opset: version,
                    node: name,
                })
            }
            (Err(e), _) => Err(e),
        };
        match lowered {
            Ok(()) => {}
            Err(LowerError::Msg(m)) => return Err(self.node_err(&name, &qualified, m)),
            Err(LowerError::Unsupported(m)) => {
                return Err(self.node_err(
                    &name,
                    &qualified,
                    format!("unsupported at opset {version}: {m}"),
                ))
            }
        }
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if !b.is_defined(o) && !b.shape_vals.contains_key(o.as_str()) {
                return Err(self.node_err(
                    &name,
                    &qualified,
                    format!("output '{o}' was not produced"),
                ));
            }
        }
        Ok(())
    }

    fn add_outputs(&self, b: &mut Builder, g: &GraphProto) -> Result<(), FrontendError> {
        if g.output.is_empty() {
            return Err(self.model_err("graph has no outputs"));
        }
        let mut seen = HashSet::new();
        for vi in &g.output {
            if !seen.insert(vi.name.as_str()) {
                return Err(self.model_err(format!("graph output '{}' is listed twice", vi.name)));
            }
            let Some(v) = b.value_of(&vi.name) else {
                return Err(self.model_err(format!("graph output '{}' is not defined", vi.name)));
            };
            let declared = tensor::type_from_value_info(vi)
                .map_err(|m| self.model_err(format!("graph output {m}")));
            // Outputs of unknown rank are fine: the inferred type stands.
            let declared = match declared {
                Ok(d) => d,
                Err(e) if e.to_string().contains("has no shape") => None,
                Err(e) => return Err(e),
            };
            if let Some(d) = declared {
                let got = b.ty(v);
                if d.dtype != got.dtype {
                    return Err(self.model_err(format!(
                        "graph output '{}' is declared {} but computes {}",
                        vi.name, d.dtype, got.dtype
                    )));
                }
                let shape_conflict = d.rank() != got.rank()
                    || d.shape
                        .iter()
                        .zip(&got.shape)
                        .any(|(a, b)| dims_conflict(a, b));
                if shape_conflict {
                    let fmt = |s: &[qcc_ir::Dim]| {
                        s.iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join("x")
                    };
                    return Err(self.model_err(format!(
                        "graph output '{}' is declared with shape [{}] but computes [{}]",
                        vi.name,
                        fmt(&d.shape),
                        fmt(&got.shape)
                    )));
                }
            }
            b.module.graph.outputs.push(v);
        }
        Ok(())
    }
}
