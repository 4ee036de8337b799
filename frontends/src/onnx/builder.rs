//! The module under construction: ONNX names -> IR values, constants emitted at first use,
//! qparam attachment, and result-type inference for every emitted node.

use super::error::{bail, LResult};
use super::typing;
use qcc_ir::{ConstId, DType, Dim, Module, Op, QParams, RequantMode, Tensor, TensorType, ValueId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What an ONNX tensor name is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A run-time value (graph input or node result).
    Value(ValueId),
    /// A constant (initializer or Constant node); its Const node is emitted at first use.
    Const(ConstId),
}

/// The module being built.
pub(crate) struct Builder {
    pub(crate) module: Module,
    names: HashMap<String, Binding>,
    /// The Const node result of each constant, once emitted.
    const_nodes: HashMap<ConstId, ValueId>,
    /// Values whose defining node is a `const` (for folding).
    value_consts: HashMap<ValueId, ConstId>,
    /// Values re-typed with qparams: (source value, params) -> typed value.
    attached: HashMap<ValueId, Vec<(QParams, ValueId)>>,
    /// Used value names, to keep internal names unique.
    value_names: HashSet<String>,
    /// Used constant names.
    const_names: HashSet<String>,
    /// ONNX tensor names defined later in the graph, kept free for their values.
    reserved: HashSet<String>,
    /// Shape values that depend on a symbolic dim ([`super::lower::shape`]).
    pub(crate) shape_vals: HashMap<String, super::lower::shape::ShapeVal>,
}

impl Builder {
    pub(crate) fn new(name: String) -> Self {
        Builder {
            module: Module {
                name,
                requant: RequantMode::Float,
                ..Module::default()
            },
            names: HashMap::new(),
            const_nodes: HashMap::new(),
            value_consts: HashMap::new(),
            attached: HashMap::new(),
            value_names: HashSet::new(),
            const_names: HashSet::new(),
            reserved: HashSet::new(),
            shape_vals: HashMap::new(),
        }
    }

    /// The binding of an ONNX name.
    pub(crate) fn lookup(&self, name: &str) -> Option<Binding> {
        self.names.get(name).copied()
    }

    /// True when `name` is already defined.
    pub(crate) fn is_defined(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// Binds an ONNX name (the caller checked it is not yet defined).
    pub(crate) fn bind(&mut self, name: &str, b: Binding) {
        self.names.insert(name.to_string(), b);
    }

    /// A value name not used yet, derived from `base`.
    pub(crate) fn fresh_value_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.value_names.contains(&name)
            || self.names.contains_key(&name)
            || self.reserved.contains(&name)
        {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.value_names.insert(name.clone());
        name
    }

    fn fresh_const_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.const_names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.const_names.insert(name.clone());
        name
    }

    /// Keeps `name` (an ONNX tensor name defined later) out of the fresh internal names.
    pub(crate) fn reserve(&mut self, name: &str) {
        self.reserved.insert(name.to_string());
    }

    /// Adds a graph input.
    pub(crate) fn add_input(&mut self, name: &str, ty: TensorType) -> ValueId {
        self.value_names.insert(name.to_string());
        let v = self.module.graph.add_input(name, ty);
        self.bind(name, Binding::Value(v));
        v
    }

    /// Adds a constant to the table (no node yet).
    pub(crate) fn add_const(&mut self, name: &str, t: Tensor) -> ConstId {
        let name = self.fresh_const_name(name);
        let ty = TensorType::new(t.dtype(), &t.shape);
        self.module.add_const(name, ty, t)
    }

    /// The data of a constant.
    pub(crate) fn const_data(&self, c: ConstId) -> &Arc<Tensor> {
        &self.module.consts[c.0 as usize].data
    }

    /// The constant behind a value, if its defining node is a `const`.
    pub(crate) fn value_const(&self, v: ValueId) -> Option<ConstId> {
        self.value_consts.get(&v).copied()
    }

    /// The constant data behind an ONNX name or a value.
    pub(crate) fn const_of_name(&self, name: &str) -> Option<Arc<Tensor>> {
        match self.lookup(name)? {
            Binding::Const(c) => Some(self.const_data(c).clone()),
            Binding::Value(v) => self.value_const(v).map(|c| self.const_data(c).clone()),
        }
    }

    /// The Const node of constant `c`, emitted on first use.
    pub(crate) fn const_value(&mut self, c: ConstId) -> ValueId {
        if let Some(&v) = self.const_nodes.get(&c) {
            return v;
        }
        let k = &self.module.consts[c.0 as usize];
        let (name, ty) = (k.name.clone(), k.ty.clone());
        // The value takes the constant's (ONNX) name unless a value already has it.
        let vname = if self.value_names.insert(name.clone()) {
            name.clone()
        } else {
            self.fresh_value_name(&name)
        };
        let v = self
            .module
            .graph
            .add_node(name, Op::Const(c), vec![], vec![(vname, ty)])[0];
        self.const_nodes.insert(c, v);
        self.value_consts.insert(v, c);
        v
    }

    /// A new constant from `t` (with optional qparams) and its Const node.
    pub(crate) fn new_const_value(
        &mut self,
        name: &str,
        t: Tensor,
        quant: Option<QParams>,
    ) -> ValueId {
        let c = self.add_const(name, t);
        self.module.consts[c.0 as usize].ty.quant = quant;
        self.const_value(c)
    }

    /// The value an ONNX name refers to (emitting a constant's node on first use).
    pub(crate) fn value_of(&mut self, name: &str) -> Option<ValueId> {
        Some(match self.lookup(name)? {
            Binding::Value(v) => v,
            Binding::Const(c) => self.const_value(c),
        })
    }

    /// Type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        self.module.graph.ty(v)
    }

    /// A version of the value bound to `name` whose type carries `q`.
    ///
    /// * already carrying the same parameters: the value itself;
    /// * a constant whose node was not emitted yet: the constant gets the quantized type;
    /// * another constant: a second table entry sharing the data, with the quantized type;
    /// * a run-time value: `cast {to: same dtype}` whose result type carries `q`
    ///   (cast ignores qparams, so this only attaches them).
    pub(crate) fn quantized_name(
        &mut self,
        name: &str,
        q: &QParams,
        node: &str,
    ) -> LResult<ValueId> {
        let Some(b) = self.lookup(name) else {
            bail!("input '{name}' is not defined");
        };
        if let Binding::Const(c) = b {
            if !self.const_nodes.contains_key(&c) {
                let k = &mut self.module.consts[c.0 as usize];
                check_quantizable(k.ty.dtype, name)?;
                k.ty.quant = Some(q.clone());
                return Ok(self.const_value(c));
            }
        }
        let v = self.value_of(name).expect("bound");
        self.quantized_value(v, q, node)
    }

    /// As [`Builder::quantized_name`], for a value.
    pub(crate) fn quantized_value(
        &mut self,
        v: ValueId,
        q: &QParams,
        node: &str,
    ) -> LResult<ValueId> {
        let ty = self.ty(v).clone();
        check_quantizable(ty.dtype, &self.module.graph.value(v).name)?;
        if ty.quant.as_ref().is_some_and(|p| p.same_as(q)) {
            return Ok(v);
        }
        if let Some(list) = self.attached.get(&v) {
            if let Some((_, w)) = list.iter().find(|(p, _)| p.same_as(q)) {
                return Ok(*w);
            }
        }
        let w = if let Some(c) = self.value_const(v) {
            let k = &self.module.consts[c.0 as usize];
            let (name, data) = (k.name.clone(), k.data.clone());
            let cname = self.fresh_const_name(&format!("{name}_q"));
            let mut cty = ty.clone();
            cty.quant = Some(q.clone());
            self.module.consts.push(qcc_ir::Constant {
                name: cname,
                ty: cty,
                data,
            });
            let c2 = ConstId(self.module.consts.len() as u32 - 1);
            self.const_value(c2)
        } else {
            let vname = self.fresh_value_name(&format!("{}_q", self.module.graph.value(v).name));
            let mut rty = ty.clone();
            rty.quant = Some(q.clone());
            self.module
                .graph
                .add_node(node, Op::Cast { to: ty.dtype }, vec![v], vec![(vname, rty)])[0]
        };
        self.attached.entry(v).or_default().push((q.clone(), w));
        Ok(w)
    }

    /// Emits a node whose result types are inferred; `overrides` replace inferred result
    /// dtypes / qparams where given. Result `i` is named `names[i]`.
    pub(crate) fn emit(
        &mut self,
        node: &str,
        op: Op,
        inputs: Vec<ValueId>,
        names: Vec<String>,
        overrides: &[ResultOverride],
    ) -> LResult<Vec<ValueId>> {
        let in_tys: Vec<&TensorType> = inputs.iter().map(|&v| self.ty(v)).collect();
        let inferred = typing::result_types(&op, &in_tys, names.len(), &self.module)?;
        if inferred.len() != names.len() {
            bail!(
                "op '{}' defines {} results, expected {}",
                op.name(),
                inferred.len(),
                names.len()
            );
        }
        let mut tys = Vec::with_capacity(inferred.len());
        for (i, r) in inferred.into_iter().enumerate() {
            let o = overrides.get(i);
            let dtype = match (o.and_then(|o| o.dtype), r.dtype) {
                (Some(d), _) | (None, Some(d)) => d,
                (None, None) => bail!("{}: result {i} needs an explicit dtype", op.name()),
            };
            let quant = match o.and_then(|o| o.quant.clone()) {
                Some(q) => q,
                None => r.quant,
            };
            tys.push(TensorType {
                dtype,
                shape: r.shape,
                quant,
            });
        }
        let results: Vec<(String, TensorType)> = tys
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let n = match names.get(i) {
                    Some(n) => n.clone(),
                    None => format!("{node}:unused{i}"),
                };
                (n, t)
            })
            .collect();
        for (n, _) in &results {
            self.value_names.insert(n.clone());
        }
        Ok(self.module.graph.add_node(node, op, inputs, results))
    }

    /// Finishes the module: constants that no node references (scales and zero points
    /// folded into types or attributes, unused initializers) are dropped from the table.
    pub(crate) fn finish(mut self) -> Module {
        let n = self.module.consts.len();
        let mut used = vec![false; n];
        for node in &self.module.graph.nodes {
            if let Op::Const(c) = node.op {
                if let Some(u) = used.get_mut(c.0 as usize) {
                    *u = true;
                }
            }
        }
        let mut remap = vec![None; n];
        let mut kept = Vec::with_capacity(n);
        for (i, k) in std::mem::take(&mut self.module.consts)
            .into_iter()
            .enumerate()
        {
            if used[i] {
                remap[i] = Some(ConstId(kept.len() as u32));
                kept.push(k);
            }
        }
        self.module.consts = kept;
        for node in &mut self.module.graph.nodes {
            if let Op::Const(c) = &mut node.op {
                if let Some(Some(new)) = remap.get(c.0 as usize) {
                    *c = *new;
                }
            }
        }
        self.module
    }
}

/// Replacement for an inferred result's dtype and / or qparams.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResultOverride {
    /// The result's element type.
    pub dtype: Option<DType>,
    /// The result's qparams (`Some(None)` removes inherited ones).
    pub quant: Option<Option<QParams>>,
}

impl ResultOverride {
    /// Sets both dtype and qparams.
    pub(crate) fn quantized(dtype: DType, q: QParams) -> Self {
        ResultOverride {
            dtype: Some(dtype),
            quant: Some(Some(q)),
        }
    }

    /// A plain result of `dtype` without qparams.
    pub(crate) fn plain(dtype: DType) -> Self {
        ResultOverride {
            dtype: Some(dtype),
            quant: Some(None),
        }
    }
}

fn check_quantizable(d: DType, name: &str) -> LResult<()> {
    if !d.is_quantizable() {
        bail!("'{name}' has dtype {d}, which cannot carry quantization parameters (expected i8, u8, i16, u16 or i32)");
    }
    Ok(())
}

/// True when two dims certainly differ.
pub(crate) fn dims_conflict(a: &Dim, b: &Dim) -> bool {
    matches!((a, b), (Dim::Fixed(x), Dim::Fixed(y)) if x != y)
}
