//! The extraction cost model: prefer integer ops, fewer requantizations and fewer float ops.
//!
//! A node costs `weight(op) * elements(result)` plus its children; the weights say that a
//! float conv is far dearer than an integer one, that quantize / dequantize / requantize each
//! cost a pass over the tensor, and that layout ops on integers are nearly free.

use crate::analysis::{ClassTy, QEGraph};
use crate::lang::QNode;
use egg::{CostFunction, Id, Language};

/// Relative cost per result element of an op mnemonic.
pub fn weight(op: &str) -> f64 {
    match op {
        "conv" | "gemm" | "matmul" | "conv_integer" | "matmul_integer" => 32.0,
        "qconv" | "qgemm" | "qmatmul" => 8.0,
        "qadd" | "qmul" | "qavgpool" | "qsoftmax" | "qglobal_avgpool" | "lut" => 2.0,
        "batchnorm" | "softmax" | "sigmoid" | "tanh" | "exp" | "hard_swish" | "hard_sigmoid" => 8.0,
        "quantize" | "dequantize" | "requantize" | "quantize_linear" | "dequantize_linear" => 2.0,
        "reshape" | "flatten" | "squeeze" | "unsqueeze" | "identity" | "get" => 0.1,
        "clip" | "relu" | "maxpool" | "global_maxpool" | "transpose" | "slice" | "concat"
        | "split" => 1.0,
        _ => 4.0,
    }
}

/// The cost function handed to egg's extractor.
pub struct QCost<'a> {
    /// The e-graph (read for result sizes).
    pub egraph: &'a QEGraph,
}

fn elements(ty: &ClassTy) -> Option<f64> {
    let dims = |t: &qcc_ir::TensorType| {
        t.shape
            .iter()
            .map(|d| d.fixed().unwrap_or(1) as f64)
            .product::<f64>()
    };
    match ty {
        ClassTy::Value(t) => Some(dims(t)),
        ClassTy::Tuple(ts) => Some(ts.iter().map(dims).sum()),
        ClassTy::Leaf => Some(0.0),
        ClassTy::Invalid(_) => None,
    }
}

impl CostFunction<QNode> for QCost<'_> {
    type Cost = f64;

    fn cost<C: FnMut(Id) -> f64>(&mut self, enode: &QNode, mut costs: C) -> f64 {
        let own = match enode {
            QNode::Op(name, _) => {
                let class = self.egraph.lookup(enode.clone());
                match class.and_then(|c| elements(&self.egraph[c].data.ty)) {
                    Some(n) => weight(name.as_str()) * n.max(1.0),
                    None => f64::INFINITY,
                }
            }
            _ => 0.0,
        };
        enode.fold(own, |sum, id| sum + costs(id))
    }
}
