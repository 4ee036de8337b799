//! Epilogue fusion across nodes: a float `conv`, `gemm` or `matmul` whose only reader is a
//! `relu` or `clip` can apply that clamp in registers and store straight into the clamp's
//! result, so the intermediate tensor is never written or read again.
//!
//! The candidates are found before the memory plan is made: the clamp's result is then
//! planned as if the producer defined it (so it cannot share bytes with the producer's
//! operands). A kernel that accepts the epilogue ([`crate::kernels::Lower::take_clamp`])
//! makes the clamp node a no-op; a producer left to the interpreter leaves both nodes as
//! they are. The clamp is the interpreter's (`x < lo -> lo`, then `x > hi -> hi`), so the
//! fused result is bit for bit the unfused one.

use qcc_ir::{DType, Module, Op, UnaryOp, ValueId};

/// A clamp a producer may apply as its epilogue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epilogue {
    /// Node index of the clamp.
    pub consumer: usize,
    /// The clamp's result (where the fused kernel stores).
    pub out: ValueId,
    /// Lower bound (`x < lo -> lo`), as the f32 the interpreter compares with.
    pub lo: Option<f32>,
    /// Upper bound (`x > hi -> hi`).
    pub hi: Option<f32>,
}

/// For every node, the clamp its kernel may fuse (None for most nodes).
pub fn epilogues(m: &Module) -> Vec<Option<Epilogue>> {
    let g = &m.graph;
    let nv = g.values.len();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for (i, n) in g.nodes.iter().enumerate() {
        for v in &n.inputs {
            if let Some(r) = readers.get_mut(v.0 as usize) {
                if r.last() != Some(&i) {
                    r.push(i);
                }
            }
        }
    }
    let f32_of = |v: ValueId| g.ty(v).dtype == DType::F32;
    g.nodes
        .iter()
        .map(|n| {
            if !matches!(n.op, Op::Conv(_) | Op::Gemm(_) | Op::MatMul) || n.outputs.len() != 1 {
                return None;
            }
            let v = n.outputs[0];
            if !f32_of(v) || g.outputs.contains(&v) {
                return None;
            }
            let [j] = readers[v.0 as usize][..] else {
                return None;
            };
            let c = &g.nodes[j];
            if c.inputs != [v] || c.outputs.len() != 1 || !f32_of(c.outputs[0]) {
                return None;
            }
            let (lo, hi) = match c.op {
                Op::Unary(UnaryOp::Relu) => (Some(0.0), None),
                // The interpreter converts the bounds with `as f32`.
                Op::Clip { min, max } => (min.map(|x| x as f32), max.map(|x| x as f32)),
                _ => return None,
            };
            Some(Epilogue {
                consumer: j,
                out: c.outputs[0],
                lo,
                hi,
            })
        })
        .collect()
}
