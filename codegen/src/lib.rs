//! qcc's Cranelift JIT backend.
//!
//! [`JitEngine`] compiles the -O2 IR into one specialised machine-code kernel per node
//! (qconv, qgemm, qmatmul, qadd, maxpool, qglobal_avgpool, quantize, dequantize,
//! requantize, clip, float conv / gemm / matmul and more; reshape-like ops are free views),
//! over one arena whose buffers are reused by liveness ([`plan`]). A float conv or gemm
//! applies the relu / clip that reads it in its epilogue ([`fuse`]). Nodes without a kernel run through the reference
//! interpreter one at a time. Every kernel reproduces the interpreter bit for bit.

pub mod engine;
pub mod fuse;
pub mod kernels;
pub mod plan;
pub mod program;
pub mod target;

pub use engine::JitEngine;
pub use program::{Listing, Options};
pub use target::Target;
