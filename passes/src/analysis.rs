//! The e-class analysis: the facts rules need about every e-class.
//!
//! Every value class carries its [`TensorType`] (element type, shape, quantization
//! parameters), computed from the node's operands with [`qcc_ir::infer`], or the list of
//! result types for a multi-result op. Constant classes remember their constant; classes
//! that were values of the input graph remember how many users they had and whether they
//! were graph outputs, so rules can refuse to change a tensor other users still read.

use crate::lang::{QNode, GET};
use egg::{DidMerge, EGraph, Id};
use qcc_ir::{Constant, Op, TensorType};

/// The e-graph type used by the optimiser.
pub type QEGraph = EGraph<QNode, QAnalysis>;

/// Type of an e-class.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassTy {
    /// A leaf (attributes, type, index, absent): not a value.
    Leaf,
    /// A tensor value.
    Value(TensorType),
    /// The results of a multi-result op, selected with `get`.
    Tuple(Vec<TensorType>),
    /// The node is ill-typed (a rule built something inconsistent); never extracted.
    Invalid(String),
}

/// Per-class facts.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassData {
    /// The class's type.
    pub ty: ClassTy,
    /// The constant this class is, if any.
    pub konst: Option<u32>,
    /// Users in the input graph (0 for classes created by rewrites).
    pub uses: usize,
    /// The class is a graph output.
    pub is_output: bool,
}

impl ClassData {
    /// The tensor type, if the class is a tensor value.
    pub fn tensor(&self) -> Option<&TensorType> {
        match &self.ty {
            ClassTy::Value(t) => Some(t),
            _ => None,
        }
    }
}

/// The analysis state: the constant table and the graph input types.
#[derive(Default)]
pub struct QAnalysis {
    /// Constants: the module's, then those rules create.
    pub consts: Vec<Constant>,
    /// Graph input types.
    pub inputs: Vec<TensorType>,
    /// A module holding `consts`, handed to [`qcc_ir::infer`] (which reads constants).
    pub shadow: qcc_ir::Module,
}

impl QAnalysis {
    /// Adds a constant and returns its index; an identical constant (same type and data)
    /// already in the table is reused, so re-applying a rule adds nothing new.
    pub fn add_const(&mut self, c: Constant) -> u32 {
        if let Some(i) = self
            .consts
            .iter()
            .position(|k| k.ty == c.ty && k.data == c.data)
        {
            return i as u32;
        }
        self.consts.push(c.clone());
        self.shadow.consts.push(c);
        self.consts.len() as u32 - 1
    }
}

/// Splits an op node's children into (type leaf, attribute leaf, operands).
pub fn split_children<'a>(
    egraph: &'a QEGraph,
    name: &str,
    children: &'a [Id],
) -> Option<(Option<TensorType>, Op, &'a [Id])> {
    let template = qcc_ir::text::op_template(name)?;
    let (ty_slot, attr_slot) = (
        crate::lang::has_type_slot(&template),
        crate::lang::has_attrs_slot(&template),
    );
    let mut rest = children;
    let mut ty = None;
    if ty_slot {
        let (first, tail) = rest.split_first()?;
        ty = Some(leaf_type(egraph, *first)?);
        rest = tail;
    }
    let mut op = template;
    if attr_slot {
        let (first, tail) = rest.split_first()?;
        op = retarget(&leaf_attrs(egraph, *first)?.op, &op)?;
        rest = tail;
    }
    Some((ty, op, rest))
}

/// The attributes of `attrs` on the op kind of `template`: a rule may hand a conv's
/// attribute leaf to a qconv, a gemm's to a qgemm, an avgpool's to a qavgpool. `None` when the kinds share no
/// attribute structure.
pub fn retarget(attrs: &Op, template: &Op) -> Option<Op> {
    if attrs.name() == template.name() {
        return Some(attrs.clone());
    }
    let conv = match attrs {
        Op::Conv(a) | Op::ConvInteger(a) | Op::QConv(a, _) => Some(a.clone()),
        _ => None,
    };
    let gemm = match attrs {
        Op::Gemm(g) | Op::QGemm(g, _) => Some(g.clone()),
        _ => None,
    };
    let pool = match attrs {
        Op::AvgPool(p) | Op::QAvgPool(p) => Some(p.clone()),
        _ => None,
    };
    match (template, attrs) {
        (Op::QSoftmax { .. }, Op::Softmax { axis }) => {
            return Some(Op::QSoftmax {
                axis: *axis,
                beta: 1.0,
            })
        }
        (Op::Softmax { .. }, Op::QSoftmax { axis, .. }) => {
            return Some(Op::Softmax { axis: *axis })
        }
        _ => {}
    }
    match template {
        Op::QAvgPool(_) => pool.map(Op::QAvgPool),
        Op::Conv(_) => conv.map(Op::Conv),
        Op::ConvInteger(_) => conv.map(Op::ConvInteger),
        Op::QConv(..) => conv.map(|a| Op::QConv(a, qcc_ir::Clamp::default())),
        Op::Gemm(_) => gemm.map(Op::Gemm),
        Op::QGemm(..) => gemm.map(|a| Op::QGemm(a, qcc_ir::Clamp::default())),
        _ => None,
    }
}

/// The type stored in a type-leaf class.
pub fn leaf_type(egraph: &QEGraph, id: Id) -> Option<TensorType> {
    egraph[id].nodes.iter().find_map(|n| match n {
        QNode::Type(t) => Some((*t.ty).clone()),
        _ => None,
    })
}

/// The attributes stored in an attribute-leaf class.
pub fn leaf_attrs(egraph: &QEGraph, id: Id) -> Option<crate::lang::AttrLeaf> {
    egraph[id].nodes.iter().find_map(|n| match n {
        QNode::Attrs(a) => Some(a.clone()),
        _ => None,
    })
}

fn is_absent(egraph: &QEGraph, id: Id) -> bool {
    egraph[id].nodes.iter().any(|n| matches!(n, QNode::Absent))
}

/// Computes the type of an op node from its children.
pub fn node_type(egraph: &QEGraph, name: &str, children: &[Id]) -> ClassTy {
    if name == GET {
        let idx = children.first().and_then(|&c| {
            egraph[c].nodes.iter().find_map(|n| match n {
                QNode::Index(i) => Some(*i as usize),
                _ => None,
            })
        });
        return match (idx, children.get(1).map(|&c| &egraph[c].data.ty)) {
            (Some(i), Some(ClassTy::Tuple(ts))) if i < ts.len() => ClassTy::Value(ts[i].clone()),
            _ => ClassTy::Invalid("get of a non-tuple".into()),
        };
    }
    let Some((declared, op, operands)) = split_children(egraph, name, children) else {
        return ClassTy::Invalid(format!("{name}: malformed slots"));
    };
    let n_results = egraph_attrs_results(egraph, name, children).unwrap_or(1);
    let mut ins = Vec::with_capacity(operands.len());
    for &c in operands {
        if is_absent(egraph, c) {
            continue;
        }
        match &egraph[c].data.ty {
            ClassTy::Value(t) => ins.push(t.clone()),
            other => return ClassTy::Invalid(format!("{name}: operand is {other:?}")),
        }
    }
    let refs: Vec<&TensorType> = ins.iter().collect();
    let module = &egraph.analysis.shadow;
    let shapes = match qcc_ir::infer::infer_shapes(&op, &refs, n_results, module) {
        Ok(s) => s,
        Err(e) => return ClassTy::Invalid(format!("{name}: {e}")),
    };
    let dtypes = match qcc_ir::infer::infer_dtypes(&op, &refs, n_results, module) {
        Ok(d) => d,
        Err(e) => return ClassTy::Invalid(format!("{name}: {e}")),
    };
    let quants = qcc_ir::infer::inherited_quant_n(&op, &refs, n_results, module);
    let mut out = Vec::with_capacity(n_results);
    for k in 0..n_results {
        let t = match (&declared, dtypes[k]) {
            (Some(d), _) if k == 0 => {
                let agree = d.shape.len() == shapes[k].len()
                    && d.shape
                        .iter()
                        .zip(&shapes[k])
                        .all(|(a, b)| a == b || *a == qcc_ir::Dim::Any || *b == qcc_ir::Dim::Any);
                if !agree {
                    return ClassTy::Invalid(format!("{name}: declared shape differs"));
                }
                d.clone()
            }
            (_, Some(dt)) => TensorType {
                dtype: dt,
                shape: shapes[k].clone(),
                quant: quants[k].clone(),
            },
            _ => return ClassTy::Invalid(format!("{name}: result {k} has no type")),
        };
        out.push(t);
    }
    if n_results == 1 {
        ClassTy::Value(out.pop().unwrap())
    } else {
        ClassTy::Tuple(out)
    }
}

fn egraph_attrs_results(egraph: &QEGraph, name: &str, children: &[Id]) -> Option<usize> {
    let template = qcc_ir::text::op_template(name)?;
    if !crate::lang::has_attrs_slot(&template) {
        return None;
    }
    let idx = usize::from(crate::lang::has_type_slot(&template));
    let leaf = leaf_attrs(egraph, *children.get(idx)?)?;
    Some(leaf.n_results as usize)
}

impl egg::Analysis<QNode> for QAnalysis {
    type Data = ClassData;

    fn make(egraph: &mut QEGraph, enode: &QNode, _id: Id) -> ClassData {
        let (ty, konst) = match enode {
            QNode::Op(name, children) => (node_type(egraph, name.as_str(), children), None),
            QNode::Input(i) => match egraph.analysis.inputs.get(*i as usize) {
                Some(t) => (ClassTy::Value(t.clone()), None),
                None => (ClassTy::Invalid(format!("input {i} does not exist")), None),
            },
            QNode::Const(c) => match egraph.analysis.consts.get(*c as usize) {
                Some(k) => (ClassTy::Value(k.ty.clone()), Some(*c)),
                None => (
                    ClassTy::Invalid(format!("constant {c} does not exist")),
                    None,
                ),
            },
            _ => (ClassTy::Leaf, None),
        };
        ClassData {
            ty,
            konst,
            uses: 0,
            is_output: false,
        }
    }

    fn merge(&mut self, to: &mut ClassData, from: ClassData) -> DidMerge {
        let before = to.clone();
        // A rule only unions classes whose types agree (the applier checks), so a typed
        // class wins over an invalid one and otherwise the types are equal.
        if matches!(to.ty, ClassTy::Invalid(_)) {
            to.ty = from.ty.clone();
        }
        if to.konst.is_none() {
            to.konst = from.konst;
        }
        to.uses = to.uses.max(from.uses);
        to.is_output |= from.is_output;
        let changed_to = *to != before;
        DidMerge(changed_to, *to != from)
    }
}
