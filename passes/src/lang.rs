//! The e-graph language: one e-node per IR operation, with the op's attributes and (for
//! ops whose result type is chosen by the producer) its result type as leaf children.
//!
//! An op e-node's children are, in order: the result-type leaf (only for ops listed by
//! [`has_type_slot`]), the attribute leaf (only for ops with attributes or several results,
//! [`has_attrs_slot`]), then the operands. Optional operands (the bias of conv/gemm) are
//! always present, as an [`QNode::Absent`] leaf when missing, so one pattern covers both.
//! In rule files that reads `(quantize ?t ?x)`, `(conv ?a ?x ?w ?b)`, `(qconv ?t ?a ?x ?w ?b)`.
//!
//! Leaves compare by their printed form, so patterns bind them with variables and rules pass
//! them through or compute new ones; a pattern never spells an attribute value itself.

use egg::{FromOp, Id, Language, Symbol};
use qcc_ir::{Op, TensorType};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An op's attributes (the full [`Op`] value) and how many results its node has.
#[derive(Clone, Debug)]
pub struct AttrLeaf {
    /// The op, attributes included.
    pub op: Arc<Op>,
    /// Number of results (more than one only for split and friends).
    pub n_results: u32,
    key: Arc<str>,
}

impl AttrLeaf {
    /// Wraps an op.
    pub fn new(op: Op, n_results: u32) -> Self {
        let key = format!(
            "{} {:?} {}",
            op.name(),
            qcc_ir::text::op_attrs(&op),
            n_results
        );
        AttrLeaf {
            op: Arc::new(op),
            n_results,
            key: key.into(),
        }
    }
}

/// A result type leaf.
#[derive(Clone, Debug)]
pub struct TypeLeaf {
    /// The type.
    pub ty: Arc<TensorType>,
    key: Arc<str>,
}

impl TypeLeaf {
    /// Wraps a type.
    pub fn new(ty: TensorType) -> Self {
        let key = qcc_ir::text::print_type(&ty);
        TypeLeaf {
            ty: Arc::new(ty),
            key: key.into(),
        }
    }
}

macro_rules! keyed {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, o: &Self) -> bool {
                self.key == o.key
            }
        }
        impl Eq for $t {}
        impl Hash for $t {
            fn hash<H: Hasher>(&self, h: &mut H) {
                self.key.hash(h)
            }
        }
        impl PartialOrd for $t {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for $t {
            fn cmp(&self, o: &Self) -> Ordering {
                self.key.cmp(&o.key)
            }
        }
    };
}
keyed!(AttrLeaf);
keyed!(TypeLeaf);

/// One e-node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QNode {
    /// An IR operation: its mnemonic and children (leaf slots first, then operands).
    Op(Symbol, Vec<Id>),
    /// The attributes of an op.
    Attrs(AttrLeaf),
    /// A result type.
    Type(TypeLeaf),
    /// Graph input number `i`.
    Input(u32),
    /// Constant number `i` of the optimiser's constant table.
    Const(u32),
    /// A result index, the first child of `get`.
    Index(u32),
    /// A missing optional operand.
    Absent,
}

/// The mnemonic of the projection `(get ?i ?tuple)` that selects one result of a
/// multi-result op.
pub const GET: &str = "get";

/// True when the op's result type is chosen by its producer and so is part of the node.
pub fn has_type_slot(op: &Op) -> bool {
    matches!(
        op,
        Op::Quantize
            | Op::Requantize
            | Op::QConv(..)
            | Op::QMatMul
            | Op::QGemm(..)
            | Op::QAdd
            | Op::QGlobalAvgPool
            | Op::QMul
            | Op::QSub
            | Op::QAvgPool(_)
            | Op::QSoftmax { .. }
            | Op::QMean { .. }
            | Op::QFullyConnected
            | Op::TfliteLstm { .. }
            | Op::Lut
            | Op::Cast { .. }
    )
}

/// True when the op kind has attributes (or several results) and so an attribute leaf.
/// Decided by the kind, never by the instance, so every node of one mnemonic has the
/// same slots.
pub fn has_attrs_slot(op: &Op) -> bool {
    !matches!(
        op,
        Op::Const(_)
            | Op::Quantize
            | Op::Dequantize
            | Op::Requantize
            | Op::MatMul
            | Op::MatMulInteger
            | Op::QMatMul
            | Op::QAdd
            | Op::QGlobalAvgPool
            | Op::QMul
            | Op::QSub
            | Op::Lut
            | Op::QFullyConnected
            | Op::Binary(_)
            | Op::Unary(_)
            | Op::Where
            | Op::Identity
            | Op::GlobalAvgPool
            | Op::GlobalMaxPool
    )
}

/// Number of operand slots that are always filled (optional trailing operands padded with
/// [`QNode::Absent`]); `None` for ops whose operand count varies.
pub fn fixed_operands(op: &Op) -> Option<usize> {
    match op {
        Op::Conv(_) | Op::QConv(..) | Op::Gemm(_) | Op::QGemm(..) => Some(3),
        _ => None,
    }
}

/// The shape of an op mnemonic in patterns: (type slot, attribute slot).
pub fn slots(mnemonic: &str) -> Option<(bool, bool)> {
    let op = qcc_ir::text::op_template(mnemonic)?;
    Some((has_type_slot(&op), has_attrs_slot(&op)))
}

impl QNode {
    /// The op mnemonic for op nodes.
    pub fn op_name(&self) -> Option<&str> {
        match self {
            QNode::Op(s, _) => Some(s.as_str()),
            _ => None,
        }
    }
}

impl Language for QNode {
    type Discriminant = (std::mem::Discriminant<QNode>, Option<Symbol>);

    fn discriminant(&self) -> Self::Discriminant {
        let sym = match self {
            QNode::Op(s, _) => Some(*s),
            _ => None,
        };
        (std::mem::discriminant(self), sym)
    }

    fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (QNode::Op(a, ca), QNode::Op(b, cb)) => a == b && ca.len() == cb.len(),
            _ => self == other,
        }
    }

    fn children(&self) -> &[Id] {
        match self {
            QNode::Op(_, c) => c,
            _ => &[],
        }
    }

    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            QNode::Op(_, c) => c,
            _ => &mut [],
        }
    }
}

impl fmt::Display for QNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QNode::Op(s, _) => write!(f, "{s}"),
            QNode::Attrs(a) => write!(f, "{{{}}}", a.key),
            QNode::Type(t) => write!(f, "{}", t.key),
            QNode::Input(i) => write!(f, "input{i}"),
            QNode::Const(i) => write!(f, "const{i}"),
            QNode::Index(i) => write!(f, "{i}"),
            QNode::Absent => write!(f, "absent"),
        }
    }
}

/// Why a pattern symbol is not part of the language.
#[derive(Debug, thiserror::Error)]
#[error("unknown op '{0}' in pattern")]
pub struct UnknownOp(pub String);

impl FromOp for QNode {
    type Error = UnknownOp;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Self, Self::Error> {
        if children.is_empty() {
            if op == "absent" {
                return Ok(QNode::Absent);
            }
            if let Ok(i) = op.parse::<u32>() {
                return Ok(QNode::Index(i));
            }
        }
        if op == GET || slots(op).is_some() {
            return Ok(QNode::Op(Symbol::from(op), children));
        }
        Err(UnknownOp(op.to_string()))
    }
}
