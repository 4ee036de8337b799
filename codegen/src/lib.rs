//! Code generation for qcc. The Cranelift JIT lands here (issue 4); this crate currently
//! only reports that it is not available, so the driver can refuse `--engine jit` clearly.

/// Why the JIT cannot run yet.
pub const UNAVAILABLE: &str = "the JIT engine is not implemented yet; use --engine interp";
