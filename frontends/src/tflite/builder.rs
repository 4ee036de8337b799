//! The module under construction: TFLite tensor indices -> IR values (or compile-time shape
//! vectors), constants emitted at first use, and result-type inference for every node.

use super::error::{bail, unsupported, LResult};
use super::model::{ModelInfo, TensorInfo};
use qcc_ir::infer::{infer_dtypes, infer_shapes, inherited_quant_n};
use qcc_ir::{DType, Dim, Module, Op, QParams, RequantMode, Tensor, TensorType, ValueId};
use std::collections::{HashMap, HashSet};

/// The name of the symbolic batch dim.
pub(crate) const BATCH: &str = "N";

/// What a TFLite tensor is bound to while lowering.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    /// A run-time value.
    Value(ValueId),
    /// A compile-time integer vector (or scalar) whose entries may be the symbolic batch:
    /// the result of SHAPE and of the shape arithmetic on it, folded at compile time.
    Shape {
        /// The entries.
        dims: Vec<Dim>,
        /// A scalar (rank 0) rather than a vector.
        scalar: bool,
    },
}

/// The module being built from subgraph 0.
pub(crate) struct Builder<'a> {
    /// The module.
    pub module: Module,
    /// The decoded model.
    pub info: &'a ModelInfo,
    slots: Vec<Option<Slot>>,
    const_values: HashMap<usize, ValueId>,
    names: HashSet<String>,
    /// NHWC values made by transposing an NCHW value, mapped to that value.
    nchw: HashMap<ValueId, ValueId>,
}

impl<'a> Builder<'a> {
    /// A builder for `info`; the module uses TFLite's fixed-point requantization.
    pub(crate) fn new(name: String, info: &'a ModelInfo) -> Self {
        Builder {
            module: Module {
                name,
                requant: RequantMode::FixedPoint,
                ..Module::default()
            },
            info,
            slots: vec![None; info.tensors.len()],
            const_values: HashMap::new(),
            names: HashSet::new(),
            nchw: HashMap::new(),
        }
    }

    /// Tensor `t` of the model.
    pub(crate) fn tensor(&self, t: usize) -> &'a TensorInfo {
        &self.info.tensors[t]
    }

    /// A value name not used yet, derived from a TFLite tensor name (the part before the
    /// first `;`, which joins fused op names).
    pub(crate) fn fresh_name(&mut self, base: &str) -> String {
        let base = base.split(';').next().unwrap_or("").trim();
        let base = if base.is_empty() { "t" } else { base };
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// The IR quantization parameters of tensor `t` (none for float tensors).
    pub(crate) fn qparams(&self, t: usize) -> Option<QParams> {
        let ti = self.tensor(t);
        if !ti.dtype.is_quantizable() {
            return None;
        }
        let q = ti.quant.as_ref()?;
        let zp: Vec<i32> = q.zero_point.iter().map(|&z| z as i32).collect();
        Some(if q.scale.len() == 1 {
            QParams::per_tensor(q.scale[0], zp[0])
        } else {
            QParams::per_axis(q.scale.clone(), zp, q.dim)
        })
    }

    /// Per-tensor (scale, zero point) of tensor `t`, or an error naming `what`.
    pub(crate) fn per_tensor(&self, t: usize, what: &str) -> LResult<(f32, i64)> {
        match &self.tensor(t).quant {
            Some(q) if q.scale.len() == 1 => Ok((q.scale[0], q.zero_point[0])),
            Some(_) => unsupported!("{what} has per-axis quantization"),
            None => bail!("{what} (tensor {t}) has no quantization parameters"),
        }
    }

    /// The IR dims of tensor `t` as a graph input: the batch dim becomes symbolic when the
    /// shape signature marks it dynamic and the stored size is 1 (converted with batch 1).
    pub(crate) fn input_dims(&self, t: usize) -> Vec<Dim> {
        let ti = self.tensor(t);
        ti.shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let dynamic = ti.signature.as_ref().is_some_and(|s| s.get(i) == Some(&-1));
                if i == 0 && d == 1 && dynamic {
                    Dim::Sym(BATCH.to_string())
                } else {
                    Dim::Fixed(d)
                }
            })
            .collect()
    }

    /// Adds tensor `t` as a graph input.
    pub(crate) fn add_input(&mut self, t: usize) {
        let ti = self.tensor(t);
        let ty = TensorType {
            dtype: ti.dtype,
            shape: self.input_dims(t),
            quant: self.qparams(t),
        };
        let name = self.fresh_name(&ti.name);
        let v = self.module.graph.add_input(name, ty);
        self.slots[t] = Some(Slot::Value(v));
    }

    /// The slot bound to tensor `t`, if any.
    pub(crate) fn slot(&self, t: usize) -> Option<&Slot> {
        self.slots[t].as_ref()
    }

    /// Binds tensor `t`.
    pub(crate) fn bind(&mut self, t: usize, s: Slot) {
        self.slots[t] = Some(s);
    }

    /// The constant data of tensor `t`, when it has a buffer.
    pub(crate) fn const_data(&self, t: usize) -> Option<&'a Tensor> {
        self.tensor(t).data.as_ref()
    }

    /// A new constant and its `const` node.
    pub(crate) fn new_const(
        &mut self,
        base: &str,
        data: Tensor,
        quant: Option<QParams>,
    ) -> ValueId {
        let name = self.fresh_name(base);
        let ty = TensorType::new(data.dtype(), &data.shape);
        let ty = TensorType { quant, ..ty };
        let c = self.module.add_const(name.clone(), ty.clone(), data);
        self.module
            .graph
            .add_node(name.clone(), Op::Const(c), vec![], vec![(name, ty)])[0]
    }

    /// The run-time value of tensor `t`: its binding, its constant (emitted once, with its
    /// quantization), or a fully known shape vector materialized as an i32 constant.
    pub(crate) fn value(&mut self, t: usize) -> LResult<ValueId> {
        match self.slots[t].clone() {
            Some(Slot::Value(v)) => return Ok(v),
            Some(Slot::Shape { dims, scalar }) => {
                let vals: Option<Vec<i32>> =
                    dims.iter().map(|d| d.fixed().map(|x| x as i32)).collect();
                let Some(vals) = vals else {
                    unsupported!(
                        "tensor {t} holds run-time shape arithmetic on the batch dim that is not folded into a RESHAPE"
                    );
                };
                let shape = if scalar { vec![] } else { vec![vals.len()] };
                let name = self.tensor(t).name.clone();
                let v = self.new_const(&name, Tensor::new(shape, qcc_ir::Data::I32(vals)), None);
                self.slots[t] = Some(Slot::Value(v));
                return Ok(v);
            }
            None => {}
        }
        if let Some(&v) = self.const_values.get(&t) {
            return Ok(v);
        }
        let ti = self.tensor(t);
        let Some(data) = ti.data.clone() else {
            if ti.is_variable {
                unsupported!(
                    "variable tensor {t} '{}' is used outside an op that owns its state",
                    ti.name
                );
            }
            bail!(
                "tensor {t} '{}' is read before any operator produces it and has no buffer data",
                ti.name
            );
        };
        let q = self.qparams(t);
        let v = self.new_const(&ti.name, data, q);
        self.const_values.insert(t, v);
        Ok(v)
    }

    /// The NCHW value an NHWC value was transposed from, if any.
    pub(crate) fn nchw_of(&self, v: ValueId) -> Option<ValueId> {
        self.nchw.get(&v).copied()
    }

    /// Records that NHWC value `nhwc` is `transpose(nchw, [0, 2, 3, 1])`.
    pub(crate) fn set_nchw_of(&mut self, nhwc: ValueId, nchw: ValueId) {
        self.nchw.insert(nhwc, nchw);
    }

    /// Type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        self.module.graph.ty(v)
    }

    /// Emits a node with one result; its shape is inferred, its dtype inferred unless
    /// `dtype` is given, its qparams inherited unless `quant` is given.
    pub(crate) fn emit(
        &mut self,
        name_hint: &str,
        op: Op,
        inputs: Vec<ValueId>,
        dtype: Option<DType>,
        quant: Option<Option<QParams>>,
    ) -> LResult<ValueId> {
        let ins: Vec<&TensorType> = inputs.iter().map(|&v| self.module.graph.ty(v)).collect();
        let shapes = infer_shapes(&op, &ins, 1, &self.module)?;
        let dtypes = infer_dtypes(&op, &ins, 1, &self.module)?;
        let quants = inherited_quant_n(&op, &ins, 1, &self.module);
        let Some(shape) = shapes.into_iter().next() else {
            bail!("{}: no result shape", op.name());
        };
        let dtype = match dtype.or(dtypes.first().copied().flatten()) {
            Some(d) => d,
            None => bail!("{}: result needs an explicit dtype", op.name()),
        };
        let quant = match quant {
            Some(q) => q,
            None => quants.into_iter().next().flatten(),
        };
        let name = self.fresh_name(name_hint);
        let ty = TensorType {
            dtype,
            shape,
            quant,
        };
        Ok(self
            .module
            .graph
            .add_node(name.clone(), op, inputs, vec![(name, ty)])[0])
    }

    /// Emits the node that defines TFLite tensor `t`: dtype and qparams are `t`'s, the
    /// inferred shape must agree with `t`'s stored shape (a symbolic batch matches 1).
    pub(crate) fn emit_tensor(
        &mut self,
        t: usize,
        op: Op,
        inputs: Vec<ValueId>,
    ) -> LResult<ValueId> {
        let ti = self.tensor(t);
        let v = self.emit(
            &ti.name.clone(),
            op,
            inputs,
            Some(ti.dtype),
            Some(self.qparams(t)),
        )?;
        self.check_shape(t, v)?;
        Ok(v)
    }

    /// Emits a node with one result per tensor of `outs` (split): shapes inferred and
    /// checked, dtype and qparams from the tensors. Binds the tensors.
    pub(crate) fn emit_tensors(
        &mut self,
        outs: &[usize],
        op: Op,
        inputs: Vec<ValueId>,
    ) -> LResult<()> {
        let n = outs.len();
        let ins: Vec<&TensorType> = inputs.iter().map(|&v| self.module.graph.ty(v)).collect();
        let shapes = infer_shapes(&op, &ins, n, &self.module)?;
        if shapes.len() != n {
            bail!(
                "{} defines {} results, the operator has {n} outputs",
                op.name(),
                shapes.len()
            );
        }
        let mut results = Vec::with_capacity(n);
        for (&t, shape) in outs.iter().zip(shapes) {
            let name = self.fresh_name(&self.tensor(t).name.clone());
            let ty = TensorType {
                dtype: self.tensor(t).dtype,
                shape,
                quant: self.qparams(t),
            };
            results.push((name, ty));
        }
        let node = results[0].0.clone();
        let vs = self.module.graph.add_node(node, op, inputs, results);
        for (&t, &v) in outs.iter().zip(&vs) {
            self.check_shape(t, v)?;
            self.bind(t, Slot::Value(v));
        }
        Ok(())
    }

    /// Checks the inferred shape of `v` against tensor `t`'s stored shape.
    pub(crate) fn check_shape(&self, t: usize, v: ValueId) -> LResult<()> {
        let ti = self.tensor(t);
        let got = &self.ty(v).shape;
        // A dim the signature marks dynamic (`-1`) is stored as a placeholder.
        let dynamic = |i: usize| ti.signature.as_ref().is_some_and(|s| s.get(i) == Some(&-1));
        let ok = got.len() == ti.shape.len()
            && got
                .iter()
                .zip(&ti.shape)
                .enumerate()
                .all(|(i, (g, &d))| match g {
                    _ if dynamic(i) => true,
                    Dim::Fixed(x) => *x == d,
                    Dim::Sym(_) => d == 1,
                    Dim::Any => true,
                });
        if !ok {
            bail!(
                "computed output shape [{}] differs from the model's shape {:?} for tensor {t} '{}'",
                got.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                ti.shape,
                ti.name
            );
        }
        Ok(())
    }
}
