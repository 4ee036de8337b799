//! Result-type inference for every op.
//!
//! The ONNX frontend calls these for every node it lowers and the verifier calls them to
//! check declared result types, so they are exact where the result is known and never
//! panic. Every rule follows ONNX semantics (latest opset); see [`crate::Op`].
//!
//! Dims propagate symbolically:
//!
//! * element counts are tracked as a fixed product times a multiset of symbols, so
//!   `flatten{axis=1}` of `Nx64x7x7` is `Nx3136` and `reshape{shape=[-1, 3136]}` of it is
//!   `Nx3136`; a count that is not a single symbol or a fixed number becomes [`Dim::Any`];
//! * broadcasting: `1` with `x` is `x`, `N` with `N` is `N`, `N` with a fixed `k != 1` is
//!   `k`, [`Dim::Any`] with anything but `1` is `Any`, and two different fixed sizes other
//!   than 1 are an error;
//! * dims that must be equal (matmul inner dims, concat's other dims, channels) unify to
//!   the most precise of the two and are an error only when both are fixed and differ;
//! * the dynamic forms (extra operands) give `Any` for the data-dependent dims and keep the
//!   rank, taking it from the length of a 1-d shape / axes operand where the rank depends
//!   on it; when that length is not known either, inference fails with "cannot infer rank".
//!
//! Error messages start with the op mnemonic (`matmul: inner dims 64 and 32 differ`).

mod dims;
mod quant;
mod shapes;
#[cfg(test)]
mod tests;

use crate::{BinaryOp, ConstId, Constant, DType, Dim, Module, Op, QParams, TensorType, UnaryOp};
use dims::R;

/// Infers the result shapes of `op` applied to operands of the given types.
///
/// `n_results` is the number of results the node declares (needed for dynamic split and
/// optional results such as maxpool indices / batchnorm training stats). The returned vector
/// has exactly `n_results` shapes; a wrong operand or result count is an error.
pub fn infer_shapes(
    op: &Op,
    inputs: &[&TensorType],
    n_results: usize,
    module: &Module,
) -> std::result::Result<Vec<Vec<Dim>>, String> {
    shapes::infer(op, inputs, n_results, module).map_err(|e| format!("{}: {e}", op.name()))
}

/// Infers result element types where they follow from the op and operands.
///
/// `None` where the producer chooses: `quantize`, `requantize`, `qconv`, `qmatmul`, `qgemm`
/// (take the declared type), and `quantize_linear` without a zero-point operand.
/// `quantize_linear` otherwise gives the zero point's type, `cast` its target, `const` the
/// constant's type, comparisons / `and` / `or` / `not` give `bool`, the integer ops
/// (`conv_integer`, `matmul_integer`) `i32`, `dequantize` / `dequantize_linear` `f32`,
/// maxpool's indices `i64`, batchnorm's training stats the type of the mean / var operands;
/// everything else keeps its first data operand's type. Operands that must share a type
/// (e.g. both sides of `add`, all inputs of `concat`) are checked.
pub fn infer_dtypes(
    op: &Op,
    inputs: &[&TensorType],
    n_results: usize,
    module: &Module,
) -> std::result::Result<Vec<Option<DType>>, String> {
    check_arity(op, inputs, n_results)
        .and_then(|()| dtypes(op, inputs, n_results, module))
        .map_err(|e| format!("{}: {e}", op.name()))
}

/// Quantization parameters a result inherits from its operands.
///
/// Share-ops (maxpool, global_maxpool, reshape, flatten, transpose, squeeze, unsqueeze,
/// slice, pad, identity, split (every result), concat when all inputs share equal params,
/// clip, relu on a quantized integer input) return the operand's [`QParams`]; const returns
/// the constant's quantization; every other op `None`. Per-axis parameters follow their axis
/// through layout ops (e.g. transpose moves it); when the quantized axis is itself changed
/// (sliced, padded, split, merged by a reshape, pooled over) the result is `None`.
///
/// The vector has one entry per result the op defines by itself: `sizes.len()` for a static
/// split (the split operand's length for the dynamic form when fixed, else 1), 3 for
/// `dynamic_quantize_linear`, 1 otherwise (optional results such as maxpool indices are left
/// off; they inherit nothing). Use [`inherited_quant_n`] to get exactly one entry per result.
pub fn inherited_quant(op: &Op, inputs: &[&TensorType], module: &Module) -> Vec<Option<QParams>> {
    let n = match op {
        Op::Split { sizes, .. } if inputs.len() == 1 && !sizes.is_empty() => sizes.len(),
        Op::Split { .. } => inputs
            .get(1)
            .filter(|t| t.rank() == 1)
            .and_then(|t| t.shape[0].fixed())
            .filter(|&k| k > 0)
            .unwrap_or(1),
        Op::DynamicQuantizeLinear => 3,
        _ => 1,
    };
    quant::inherited(op, inputs, n, module)
}

/// [`inherited_quant`] with exactly `n_results` entries (the node's result count).
pub fn inherited_quant_n(
    op: &Op,
    inputs: &[&TensorType],
    n_results: usize,
    module: &Module,
) -> Vec<Option<QParams>> {
    quant::inherited(op, inputs, n_results, module)
}

/// The constant `c`, or an error for a dangling id.
fn constant(module: &Module, c: ConstId) -> R<&Constant> {
    module
        .consts
        .get(c.0 as usize)
        .ok_or_else(|| format!("unknown constant #{}", c.0))
}

/// Allowed operand counts `(min, max)` of an op, inclusive (`max = usize::MAX` for variadic
/// ops). The one table of arities: inference, the verifier and the rule parser all read it.
pub fn operand_range(op: &Op) -> (usize, usize) {
    match op {
        Op::Const(_) => (0, 0),
        Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } => (2, 3),
        Op::Conv(_) | Op::QConv(..) | Op::Gemm(_) | Op::QGemm(..) | Op::QFullyConnected => (2, 3),
        Op::ConvInteger(_) | Op::MatMulInteger => (2, 4),
        Op::MatMul | Op::QMatMul | Op::QAdd | Op::QMul | Op::QSub | Op::Lut | Op::Binary(_) => {
            (2, 2)
        }
        Op::BatchNorm { .. } => (5, 5),
        Op::LayerNorm { .. } => (2, 3),
        Op::ResizeNearest { .. } | Op::ResizeBilinear { .. } | Op::Arg { .. } => (1, 1),
        Op::TfliteLstm { .. } => (15, 15),
        Op::Where => (3, 3),
        Op::Clip { .. } => (1, 3),
        Op::Reduce { .. }
        | Op::Reshape { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Split { .. } => (1, 2),
        Op::Slice { .. } => (1, 5),
        Op::Pad { .. } => (1, 4),
        Op::Concat { .. } => (1, usize::MAX),
        Op::Expand { .. } => (1, 2),
        Op::Gather { .. } => (2, 2),
        Op::Range { .. } => (0, 3),
        Op::Quantize
        | Op::Dequantize
        | Op::Requantize
        | Op::DynamicQuantizeLinear
        | Op::Unary(_)
        | Op::LeakyRelu { .. }
        | Op::HardSigmoid { .. }
        | Op::Cast { .. }
        | Op::Softmax { .. }
        | Op::Identity
        | Op::MaxPool(_)
        | Op::AvgPool(_)
        | Op::GlobalAvgPool
        | Op::QGlobalAvgPool
        | Op::QAvgPool(_)
        | Op::QSoftmax { .. }
        | Op::QMean { .. }
        | Op::GlobalMaxPool
        | Op::Flatten { .. }
        | Op::Transpose { .. } => (1, 1),
    }
}

/// Allowed result counts (inclusive).
fn result_range(op: &Op, ins: &[&TensorType]) -> (usize, usize) {
    match op {
        Op::Split { sizes, .. } if ins.len() == 1 && !sizes.is_empty() => {
            (sizes.len(), sizes.len())
        }
        Op::Split { .. } => (1, usize::MAX),
        Op::MaxPool(_) => (1, 2),
        Op::BatchNorm { training: true, .. } => (1, 3),
        Op::DynamicQuantizeLinear => (3, 3),
        _ => (1, 1),
    }
}

fn describe(lo: usize, hi: usize, noun: &str) -> String {
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if lo == hi {
        format!("{lo} {noun}{}", s(lo))
    } else if hi == usize::MAX {
        format!("at least {lo} {noun}{}", s(lo))
    } else if hi == lo + 1 {
        format!("{lo} or {hi} {noun}s")
    } else {
        format!("{lo} to {hi} {noun}s")
    }
}

/// Checks the operand and result counts of a node.
fn check_arity(op: &Op, ins: &[&TensorType], n: usize) -> R<()> {
    let k = ins.len();
    if matches!(op, Op::Slice { .. }) && k == 2 {
        return Err("expected 1 operand (static) or 3 to 5 (dynamic), got 2".into());
    }
    let (lo, hi) = operand_range(op);
    if k < lo || k > hi {
        return Err(format!("expected {}, got {k}", describe(lo, hi, "operand")));
    }
    let (lo, hi) = result_range(op, ins);
    if n < lo || n > hi {
        return Err(format!("expected {}, got {n}", describe(lo, hi, "result")));
    }
    Ok(())
}

/// Checks that operands `idx` share the dtype of operand `idx[0]`.
fn same_dtypes(ins: &[&TensorType], idx: &[usize]) -> R<()> {
    let Some(first) = idx.first().and_then(|&i| ins.get(i)) else {
        return Ok(());
    };
    for &i in &idx[1..] {
        if let Some(t) = ins.get(i) {
            if t.dtype != first.dtype {
                return Err(format!(
                    "operand {i} has dtype {}, expected {} like operand {}",
                    t.dtype, first.dtype, idx[0]
                ));
            }
        }
    }
    Ok(())
}

fn dtypes(op: &Op, ins: &[&TensorType], n: usize, module: &Module) -> R<Vec<Option<DType>>> {
    let all = |d: Option<DType>| vec![d; n];
    let x = || ins.first().map(|t| t.dtype);
    Ok(match op {
        Op::Const(c) => all(Some(constant(module, *c)?.ty.dtype)),
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
        | Op::Lut => all(None),
        Op::Dequantize | Op::DequantizeLinear { .. } => all(Some(DType::F32)),
        Op::QuantizeLinear { .. } => all(ins.get(2).map(|z| z.dtype)),
        Op::DynamicQuantizeLinear => vec![Some(DType::U8), Some(DType::F32), Some(DType::U8)],
        Op::ConvInteger(_) | Op::MatMulInteger => all(Some(DType::I32)),
        Op::Conv(_) | Op::Gemm(_) => {
            same_dtypes(ins, &[0, 1, 2])?;
            all(x())
        }
        Op::MatMul => {
            same_dtypes(ins, &[0, 1])?;
            all(x())
        }
        Op::LayerNorm { .. } => {
            same_dtypes(ins, &(0..ins.len()).collect::<Vec<_>>())?;
            all(x())
        }
        Op::BatchNorm { .. } => [
            x(),
            ins.get(3).map(|t| t.dtype),
            ins.get(4).map(|t| t.dtype),
        ]
        .into_iter()
        .take(n)
        .collect(),
        Op::Binary(b) => {
            use BinaryOp::*;
            if *b != Pow {
                same_dtypes(ins, &[0, 1])?;
            }
            match b {
                Less | LessOrEqual | Greater | GreaterOrEqual | Equal | And | Or => {
                    all(Some(DType::Bool))
                }
                Add | Sub | Mul | Div | Max | Min | Pow => all(x()),
            }
        }
        Op::Unary(UnaryOp::Not) => all(Some(DType::Bool)),
        Op::Where => {
            if ins[0].dtype != DType::Bool {
                return Err(format!("condition must be bool, got {}", ins[0].dtype));
            }
            same_dtypes(ins, &[1, 2])?;
            all(Some(ins[1].dtype))
        }
        Op::Clip { .. } => {
            same_dtypes(ins, &[0, 1, 2])?;
            all(x())
        }
        Op::Cast { to } => all(Some(*to)),
        Op::Range { .. } if !ins.is_empty() => {
            same_dtypes(ins, &[0, 1, 2])?;
            all(x())
        }
        Op::Range { to, .. } => {
            if !to.is_int() {
                return Err(format!("range produces integers, not {to}"));
            }
            all(Some(*to))
        }
        Op::Arg { .. } => all(Some(DType::I64)),
        Op::MaxPool(_) => [x(), Some(DType::I64)].into_iter().take(n).collect(),
        Op::Concat { .. } => {
            same_dtypes(ins, &(0..ins.len()).collect::<Vec<_>>())?;
            all(x())
        }
        Op::Gather { .. } => {
            if !matches!(ins[1].dtype, DType::I32 | DType::I64) {
                return Err(format!("indices must be i32 or i64, got {}", ins[1].dtype));
            }
            all(x())
        }
        Op::Unary(_)
        | Op::LeakyRelu { .. }
        | Op::HardSigmoid { .. }
        | Op::Softmax { .. }
        | Op::Identity
        | Op::ResizeNearest { .. }
        | Op::ResizeBilinear { .. }
        | Op::AvgPool(_)
        | Op::GlobalAvgPool
        | Op::GlobalMaxPool
        | Op::Reduce { .. }
        | Op::Reshape { .. }
        | Op::Flatten { .. }
        | Op::Transpose { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Slice { .. }
        | Op::Pad { .. }
        | Op::Expand { .. }
        | Op::Split { .. } => all(x()),
    })
}
