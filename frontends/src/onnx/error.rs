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

/// Errors inside one node's lowering: a message, turned into [`FrontendError::Node`] by the
/// driver (which knows the file, node and op). `Unsupported` becomes
/// [`FrontendError::UnsupportedOp`] (an op variant that qcc does not lower).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LowerError {
    /// A malformed node or an inference failure.
    Msg(String),
    /// The op (with these attributes / at this opset) is not supported; the message says why.
    Unsupported(String),
}

impl From<String> for LowerError {
    fn from(s: String) -> Self {
        LowerError::Msg(s)
    }
}

impl From<&str> for LowerError {
    fn from(s: &str) -> Self {
        LowerError::Msg(s.to_string())
    }
}

impl From<qcc_ir::Error> for LowerError {
    fn from(e: qcc_ir::Error) -> Self {
        // Inference errors name the node and op again; keep only the message.
        match e {
            qcc_ir::Error::Infer { msg, .. } => LowerError::Msg(msg),
            other => LowerError::Msg(other.to_string()),
        }
    }
}

/// Result of one node's lowering.
pub(crate) type LResult<T> = Result<T, LowerError>;

/// Returns early with a formatted [`LowerError::Msg`].
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::onnx::error::LowerError::Msg(format!($($arg)*)))
    };
}
pub(crate) use bail;
