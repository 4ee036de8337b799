//! The per-node lowering context handed to each lowering function.

use super::attrs::Attrs;
use super::builder::{Binding, Builder, ResultOverride};
use super::error::{bail, LResult};
use super::proto::NodeProto;
use qcc_ir::{DType, Data, Op, QParams, Tensor, TensorType, ValueId};
use std::sync::Arc;

/// One ONNX node being lowered.
pub(crate) struct NodeCtx<'a> {
    /// The module under construction.
    pub b: &'a mut Builder,
    /// The ONNX node.
    pub node: &'a NodeProto,
    /// The IR node name (ONNX name or `<op_type>_<index>`).
    pub name: String,
    /// Version of the node's domain.
    pub opset: i64,
}

impl<'a> NodeCtx<'a> {
    /// The node's attributes.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.node)
    }

    /// True when input `i` is given (present and not the empty name).
    pub(crate) fn has_input(&self, i: usize) -> bool {
        self.node.input.get(i).is_some_and(|s| !s.is_empty())
    }

    /// Number of input slots (including empty optional ones).
    pub(crate) fn num_inputs(&self) -> usize {
        self.node.input.len()
    }

    /// Number of output slots.
    pub(crate) fn num_outputs(&self) -> usize {
        self.node.output.len()
    }

    /// The name of input `i`, or an error when it is missing.
    pub(crate) fn input_name(&self, i: usize) -> LResult<&'a str> {
        match self.node.input.get(i) {
            Some(s) if !s.is_empty() => Ok(s.as_str()),
            _ => bail!("missing required input #{i}"),
        }
    }

    /// Requires between `lo` and `hi` input slots and the given inputs to be present.
    pub(crate) fn expect_inputs_with(
        &self,
        lo: usize,
        hi: usize,
        required: &[usize],
    ) -> LResult<()> {
        let n = self.node.input.len();
        if n < lo || n > hi {
            bail!("expected {lo} to {hi} inputs, got {n}");
        }
        for &i in required {
            self.input_name(i)?;
        }
        Ok(())
    }

    /// Requires between `lo` and `hi` inputs, the first `lo` of them present.
    pub(crate) fn expect_inputs(&self, lo: usize, hi: usize) -> LResult<()> {
        let n = self.node.input.len();
        if n < lo || n > hi {
            if lo == hi {
                bail!("expected {lo} inputs, got {n}");
            }
            bail!("expected {lo} to {hi} inputs, got {n}");
        }
        for i in 0..lo {
            self.input_name(i)?;
        }
        Ok(())
    }

    /// The value of required input `i`.
    pub(crate) fn input(&mut self, i: usize) -> LResult<ValueId> {
        let name = self.input_name(i)?;
        match self.b.value_of(name) {
            Some(v) => Ok(v),
            None if self.b.shape_vals.contains_key(name) => bail!(
                "input '{name}' is a shape that depends on a symbolic dim; \
                 only Reshape and shape arithmetic accept it"
            ),
            None => bail!("input '{name}' is not defined"),
        }
    }

    /// The value of optional input `i`.
    pub(crate) fn opt_input(&mut self, i: usize) -> LResult<Option<ValueId>> {
        if self.has_input(i) {
            self.input(i).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The constant data of input `i` when it is a constant (`None` when absent or run-time).
    pub(crate) fn const_input(&self, i: usize) -> LResult<Option<Arc<Tensor>>> {
        if !self.has_input(i) {
            return Ok(None);
        }
        let name = self.input_name(i)?;
        if !self.b.is_defined(name) {
            bail!("input '{name}' is not defined");
        }
        Ok(self.b.const_of_name(name))
    }

    /// True when input `i` is absent or a constant.
    pub(crate) fn input_is_static(&self, i: usize) -> LResult<bool> {
        Ok(!self.has_input(i) || self.const_input(i)?.is_some())
    }

    /// The type of input `i` without emitting anything.
    pub(crate) fn peek_type(&self, i: usize) -> LResult<TensorType> {
        let name = self.input_name(i)?;
        match self.b.lookup(name) {
            Some(Binding::Value(v)) => Ok(self.b.ty(v).clone()),
            Some(Binding::Const(c)) => Ok(self.b.module.consts[c.0 as usize].ty.clone()),
            None => bail!("input '{name}' is not defined"),
        }
    }

    /// Type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        self.b.ty(v)
    }

    /// Constant integer input `i` as i64s (`None` when absent or run-time).
    pub(crate) fn const_ints(&self, i: usize, what: &str) -> LResult<Option<Vec<i64>>> {
        match self.const_input(i)? {
            None => Ok(None),
            Some(t) => {
                if !t.dtype().is_int() {
                    bail!("{what} must be an integer tensor, got {}", t.dtype());
                }
                Ok(Some(t.data.to_i64_vec()))
            }
        }
    }

    /// Constant scalar input `i` as f64 (`None` when absent or run-time).
    pub(crate) fn const_scalar(&self, i: usize, what: &str) -> LResult<Option<f64>> {
        match self.const_input(i)? {
            None => Ok(None),
            Some(t) => {
                if t.len() != 1 {
                    bail!("{what} must be a scalar, got shape {:?}", t.shape);
                }
                Ok(Some(t.data.to_f64_vec()[0]))
            }
        }
    }

    /// The name of output `i` when the node declares it (non-empty).
    pub(crate) fn output_name(&self, i: usize) -> Option<&'a str> {
        self.node
            .output
            .get(i)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }

    /// Names for `n` results: the declared output names, fresh names for undeclared ones.
    pub(crate) fn result_names(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match self.output_name(i) {
                Some(s) => s.to_string(),
                None => {
                    let base = format!("{}:{i}", self.name);
                    self.b.fresh_value_name(&base)
                }
            })
            .collect()
    }

    /// A fresh internal value name derived from the node's first output.
    pub(crate) fn tmp_name(&mut self, suffix: &str) -> String {
        let base = match self.output_name(0) {
            Some(o) => format!("{o}/{suffix}"),
            None => format!("{}/{suffix}", self.name),
        };
        self.b.fresh_value_name(&base)
    }

    /// Binds the node's outputs to `vals` (extra values are ignored, missing ones error).
    pub(crate) fn bind_outputs(&mut self, vals: &[ValueId]) -> LResult<()> {
        for i in 0..self.num_outputs() {
            let Some(name) = self.output_name(i) else {
                continue;
            };
            let Some(&v) = vals.get(i) else {
                bail!("output #{i} '{name}' is not produced by this op");
            };
            if self.b.is_defined(name) {
                bail!("output '{name}' is already defined");
            }
            self.b.bind(name, Binding::Value(v));
        }
        Ok(())
    }

    /// Binds output 0 to a constant (no node).
    pub(crate) fn bind_const_output(&mut self, t: Tensor) -> LResult<()> {
        if self.num_outputs() != 1 {
            bail!("expected 1 output, got {}", self.num_outputs());
        }
        let Some(name) = self.output_name(0) else {
            return Ok(());
        };
        if self.b.is_defined(name) {
            bail!("output '{name}' is already defined");
        }
        let c = self.b.add_const(name, t);
        self.b.bind(name, Binding::Const(c));
        Ok(())
    }

    /// Emits the node's main op: results named by the node's outputs, then bound.
    pub(crate) fn emit_outputs(
        &mut self,
        op: Op,
        inputs: Vec<ValueId>,
        n_results: usize,
        overrides: &[ResultOverride],
    ) -> LResult<Vec<ValueId>> {
        let names = self.result_names(n_results);
        let vals = self.b.emit(&self.name, op, inputs, names, overrides)?;
        self.bind_outputs(&vals)?;
        Ok(vals)
    }

    /// Emits one op with one result bound to output 0.
    pub(crate) fn emit1(&mut self, op: Op, inputs: Vec<ValueId>) -> LResult<ValueId> {
        self.check_single_output()?;
        Ok(self.emit_outputs(op, inputs, 1, &[])?[0])
    }

    /// As [`NodeCtx::emit1`] with a result override.
    pub(crate) fn emit1_with(
        &mut self,
        op: Op,
        inputs: Vec<ValueId>,
        o: ResultOverride,
    ) -> LResult<ValueId> {
        self.check_single_output()?;
        Ok(self.emit_outputs(op, inputs, 1, &[o])?[0])
    }

    fn check_single_output(&self) -> LResult<()> {
        if self.num_outputs() > 1 {
            bail!("expected 1 output, got {}", self.num_outputs());
        }
        Ok(())
    }

    /// Emits an internal op with one result (a fresh name, not bound).
    pub(crate) fn tmp(&mut self, suffix: &str, op: Op, inputs: Vec<ValueId>) -> LResult<ValueId> {
        self.tmp_with(suffix, op, inputs, ResultOverride::default())
    }

    /// As [`NodeCtx::tmp`] with a result override.
    pub(crate) fn tmp_with(
        &mut self,
        suffix: &str,
        op: Op,
        inputs: Vec<ValueId>,
        o: ResultOverride,
    ) -> LResult<ValueId> {
        let name = self.tmp_name(suffix);
        Ok(self.b.emit(&self.name, op, inputs, vec![name], &[o])?[0])
    }

    /// A new constant (with its node), named after the node.
    pub(crate) fn new_const(&mut self, suffix: &str, t: Tensor) -> ValueId {
        let base = match self.output_name(0) {
            Some(o) => format!("{o}/{suffix}"),
            None => format!("{}/{suffix}", self.name),
        };
        self.b.new_const_value(&base, t, None)
    }

    /// A scalar constant of `dtype` holding `v`.
    pub(crate) fn scalar_const(&mut self, suffix: &str, dtype: DType, v: f64) -> ValueId {
        self.new_const(suffix, Tensor::new(vec![], Data::from_f64(dtype, &[v])))
    }

    /// Input `i` with qparams attached (see [`Builder::quantized_name`]).
    pub(crate) fn quantized_input(&mut self, i: usize, q: &QParams) -> LResult<ValueId> {
        let name = self.input_name(i)?;
        let node = self.name.clone();
        self.b.quantized_name(name, q, &node)
    }
}

/// Normalises a possibly negative axis against `rank`.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> LResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        bail!("axis {axis} is out of range for rank {rank}");
    }
    Ok(a as usize)
}
