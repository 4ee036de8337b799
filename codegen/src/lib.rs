//! qcc's Cranelift JIT backend.
//!
//! [`JitEngine`] compiles the -O2 IR into one specialised machine-code kernel per node
//! (qconv, qgemm, qmatmul, qadd, maxpool, qglobal_avgpool, quantize, dequantize,
//! requantize, clip; reshape-like ops are free views), over one arena whose buffers are
//! reused by liveness ([`plan`]). Nodes without a kernel run through the reference
//! interpreter one at a time. Every kernel reproduces the interpreter bit for bit.

pub mod engine;
pub mod kernels;
pub mod plan;
pub mod program;
pub mod target;

pub use engine::JitEngine;
pub use program::{Listing, Options};
pub use target::Target;
