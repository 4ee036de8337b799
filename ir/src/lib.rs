//! qcc's intermediate representation: a quantization-aware SSA IR.
//!
//! * [`DType`], [`TensorType`], [`QParams`]: element types, shapes, quantization parameters.
//! * [`Op`], [`Node`], [`Graph`], [`Module`]: the SSA graph and its constant table.
//! * [`text`]: the stable text format (printer and parser).
//! * [`verify`]: structural and type checks.
//! * [`infer`]: result-type inference for every op.
//! * [`interp`]: the reference interpreter, the semantic oracle for everything else.

mod dtype;
mod engine;
mod error;
mod module;
mod op;
mod tensor;
mod types;

pub mod gemmlowp;
pub mod infer;
pub mod interp;
pub mod quant;
pub mod text;
pub mod verify;

pub use dtype::DType;
pub use engine::Engine;
pub use error::{Error, Result};
pub use module::{ConstId, Constant, Graph, Module, Node, RequantMode, Value, ValueId};
pub use op::{
    ArgOp, BinaryOp, Clamp, ConvAttrs, GemmAttrs, Op, PadMode, PoolAttrs, ReduceOp, UnaryOp,
};
pub use tensor::{Data, Element, Tensor};
pub use types::{is_plain_dim_name, Dim, QParams, TensorType};
