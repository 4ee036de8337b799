//! Graph optimisation for qcc.
//!
//! This crate is the seam the driver calls: [`optimize`] takes a module, an optimisation
//! level and a target and returns the rewritten module. The e-graph rule engine lands here
//! (issue 3); until then every level returns the graph as written, which is exactly `-O0`.

use qcc_ir::Module;

/// Optimisation level (`-O0`, `-O1`, `-O2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum OptLevel {
    /// The graph as written.
    #[default]
    O0,
    /// Canonicalisation and constant folding.
    O1,
    /// Full saturation of the rewrite rules.
    O2,
}

/// The optimisation target (`--target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    /// x86-64 with AVX2.
    #[default]
    X86Avx2,
    /// Baseline x86-64 (SSE4.1).
    X86_64,
    /// Portable scalar code.
    Generic,
}

/// Optimises `module` for `target` at `level`. Every level currently returns the module
/// unchanged: no rewrite has landed yet, so nothing is claimed.
pub fn optimize(module: Module, level: OptLevel, target: Target) -> Module {
    let _ = (level, target);
    module
}
