//! The execution seam shared by the reference interpreter and the JIT.

use crate::Tensor;

/// Anything that can execute a compiled module: `run(inputs) -> outputs`.
///
/// Inputs are given in graph-input order and outputs come back in graph-output order, so the
/// CLI, tests and benchmarks can swap engines freely.
pub trait Engine {
    /// Runs the model once.
    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, crate::Error>;
}
