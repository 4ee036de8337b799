//! Result types of emitted nodes, from `qcc_ir::infer`.

use qcc_ir::infer::{infer_dtypes, infer_shapes, inherited_quant_n};
use qcc_ir::{DType, Dim, Module, Op, QParams, TensorType};

/// An inferred result: shape, dtype (None where the producer chooses) and inherited params.
pub(crate) struct Inferred {
    pub shape: Vec<Dim>,
    pub dtype: Option<DType>,
    pub quant: Option<QParams>,
}

/// Infers the `n` results of `op` on operands of types `ins`.
pub(crate) fn result_types(
    op: &Op,
    ins: &[&TensorType],
    n: usize,
    module: &Module,
) -> Result<Vec<Inferred>, String> {
    let shapes = infer_shapes(op, ins, n, module)?;
    let dtypes = infer_dtypes(op, ins, n, module)?;
    let quants = inherited_quant_n(op, ins, n, module);
    Ok(shapes
        .into_iter()
        .enumerate()
        .map(|(i, shape)| Inferred {
            shape,
            dtype: dtypes.get(i).copied().flatten(),
            quant: quants.get(i).cloned().flatten(),
        })
        .collect())
}
