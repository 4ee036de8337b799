//! Modules, graphs, nodes and SSA values.

use crate::{Op, Tensor, TensorType};
use std::sync::Arc;

/// Index of an SSA value in [`Graph::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// Index of a constant in [`Module::consts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstId(pub u32);

/// How integer ops turn an int32 accumulator into the output's quantized value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RequantMode {
    /// `round_half_even(acc * M)` in f32 with `M = s_in * s_w / s_out` (ONNX Runtime).
    #[default]
    Float,
    /// TFLite fixed point: 31-bit multiplier and shift, `SaturatingRoundingDoublingHighMul`
    /// then a rounding right shift.
    FixedPoint,
}

/// A named constant tensor, stored once and referenced by [`ConstId`].
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    /// Name (from the model's initializer where there was one).
    pub name: String,
    /// Type, including quantization parameters for quantized weights.
    pub ty: TensorType,
    /// The data; shared, never copied per use.
    pub data: Arc<Tensor>,
}

/// An SSA value: defined exactly once, by a graph input or a node result.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Source name (the ONNX tensor name), used in error messages and as a printing hint.
    pub name: String,
    /// Type of the value.
    pub ty: TensorType,
}

/// One operation instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Source node name, for error messages.
    pub name: String,
    /// The operation.
    pub op: Op,
    /// Operands.
    pub inputs: Vec<ValueId>,
    /// Results (usually one; Split and DynamicQuantizeLinear have several).
    pub outputs: Vec<ValueId>,
}

/// A dataflow graph in SSA form; nodes are kept in a topological order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// All values, indexed by [`ValueId`].
    pub values: Vec<Value>,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// Graph inputs, in order.
    pub inputs: Vec<ValueId>,
    /// Graph outputs, in order.
    pub outputs: Vec<ValueId>,
}

impl Graph {
    /// Adds a value and returns its id.
    pub fn add_value(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        self.values.push(Value {
            name: name.into(),
            ty,
        });
        ValueId(self.values.len() as u32 - 1)
    }

    /// Adds a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let v = self.add_value(name, ty);
        self.inputs.push(v);
        v
    }

    /// Appends a node whose results get the given names and types; returns the result ids.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<ValueId>,
        results: Vec<(String, TensorType)>,
    ) -> Vec<ValueId> {
        let outputs: Vec<ValueId> = results
            .into_iter()
            .map(|(n, t)| self.add_value(n, t))
            .collect();
        self.nodes.push(Node {
            name: name.into(),
            op,
            inputs,
            outputs: outputs.clone(),
        });
        outputs
    }

    /// The value with id `v`.
    pub fn value(&self, v: ValueId) -> &Value {
        &self.values[v.0 as usize]
    }

    /// The type of value `v`.
    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.values[v.0 as usize].ty
    }
}

/// A compilation unit: constants plus one graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    /// Module name (from the model file name or graph name).
    pub name: String,
    /// Requantization arithmetic used by the integer ops.
    pub requant: RequantMode,
    /// Constant table.
    pub consts: Vec<Constant>,
    /// The main graph.
    pub graph: Graph,
}

impl Module {
    /// Adds a constant to the table and returns its id.
    pub fn add_const(&mut self, name: impl Into<String>, ty: TensorType, data: Tensor) -> ConstId {
        self.consts.push(Constant {
            name: name.into(),
            ty,
            data: Arc::new(data),
        });
        ConstId(self.consts.len() as u32 - 1)
    }

    /// The constant with id `c`.
    pub fn constant(&self, c: ConstId) -> &Constant {
        &self.consts[c.0 as usize]
    }
}
