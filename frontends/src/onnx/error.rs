//! The frontend's error type: every message is one line naming the file, and where it
//! applies the node and its op.

use thiserror::Error;

/// An error while loading an ONNX model. `Display` is a single line that starts with the
/// file label, e.g. `model.onnx: unsupported op 'Foo' (opset 13) at node 'conv_3'`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrontendError {
    /// The file could not be read.
    #[error("{file}: cannot read file: {msg}")]
    Io {
        /// File label.
        file: String,
        /// The OS error.
        msg: String,
    },
    /// The bytes are not a decodable `ModelProto`.
    #[error("{file}: not a valid ONNX protobuf: {msg}")]
    Decode {
        /// File label.
        file: String,
        /// The protobuf decoder's message.
        msg: String,
    },
    /// No lowering exists for this op (or for this op at this opset).
    #[error("{file}: unsupported op '{op}' (opset {opset}) at node '{node}'")]
    UnsupportedOp {
        /// File label.
        file: String,
        /// Op type, prefixed by its domain when that is not the default one.
        op: String,
        /// The opset version of the op's domain.
        opset: i64,
        /// Node name.
        node: String,
    },
    /// A node is malformed or cannot be lowered.
    #[error("{file}: node '{node}' ({op}): {msg}")]
    Node {
        /// File label.
        file: String,
        /// Node name.
        node: String,
        /// Op type.
        op: String,
        /// What went wrong.
        msg: String,
    },
    /// A problem with the model or graph as a whole (opsets, initializers, inputs, outputs).
    #[error("{file}: {msg}")]
    Model {
        /// File label.
        file: String,
        /// What went wrong.
        msg: String,
    },
}

pub(crate) use crate::lower_error::{bail, LResult, LowerError};
