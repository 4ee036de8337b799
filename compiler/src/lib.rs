//! The qcc driver: the one place that knows the whole pipeline
//! `file -> frontend -> verify -> passes::optimize -> engine -> outputs`.
//!
//! The binary (`src/main.rs`) is a thin clap front over these functions, so tests and
//! benchmarks drive exactly what users run.

pub mod bench;
pub mod cli;
pub mod dot;
pub mod driver;
pub mod npy;
pub mod out;

pub use driver::{compile, load_model, make_engine, CompileOptions, Compiled, EngineKind};
