//! The TFLite frontend's error type: every message is one line naming the file and, for
//! operator errors, the operator index, its builtin op, builtin code and version.

use thiserror::Error;

/// An error while loading a `.tflite` model. `Display` is one line starting with the file
/// label, e.g. `m.tflite: operator #3 (CONV_2D, builtin code 3, version 9): unsupported version`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TfliteError {
    /// The file could not be read.
    #[error("{file}: cannot read file: {msg}")]
    Io {
        /// File label.
        file: String,
        /// The OS error.
        msg: String,
    },
    /// The bytes are not a valid TFLite flatbuffer (the flatbuffers verifier rejected them).
    #[error("{file}: not a valid TFLite flatbuffer: {msg}")]
    Decode {
        /// File label.
        file: String,
        /// The verifier's message.
        msg: String,
    },
    /// A problem with the model as a whole: subgraphs, tensors, buffers, quantization.
    #[error("{file}: {msg}")]
    Model {
        /// File label.
        file: String,
        /// What went wrong.
        msg: String,
    },
    /// No lowering exists for this builtin op, version or option combination.
    #[error("{file}: operator #{index}: unsupported op {op} (builtin code {code}, version {version}): {reason}")]
    UnsupportedOp {
        /// File label.
        file: String,
        /// Operator index in subgraph 0.
        index: usize,
        /// Builtin op name (or `CUSTOM:<name>`).
        op: String,
        /// Builtin code.
        code: i32,
        /// Operator version.
        version: i32,
        /// Why it is not supported.
        reason: String,
    },
    /// An operator is malformed or cannot be lowered.
    #[error("{file}: operator #{index} ({op}, builtin code {code}, version {version}): {msg}")]
    Operator {
        /// File label.
        file: String,
        /// Operator index in subgraph 0.
        index: usize,
        /// Builtin op name.
        op: String,
        /// Builtin code.
        code: i32,
        /// Operator version.
        version: i32,
        /// What went wrong.
        msg: String,
    },
}

pub(crate) use crate::lower_error::{bail, unsupported, LResult, LowerError};
