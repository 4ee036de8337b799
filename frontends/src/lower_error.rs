//! The error of one node's (ONNX) or operator's (TFLite) lowering, shared by the frontends:
//! each importer turns it into its own file-level error, adding the file, node and op.

/// Errors inside one node's lowering. `Unsupported` marks valid input that qcc does not
/// lower (the importer reports it as an unsupported op).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LowerError {
    /// A malformed node or an inference failure.
    Msg(String),
    /// The op (with these attributes / at this opset or version) is not supported; the
    /// message says why.
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
        return Err($crate::lower_error::LowerError::Msg(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// Returns early with a formatted [`LowerError::Unsupported`].
macro_rules! unsupported {
    ($($arg:tt)*) => {
        return Err($crate::lower_error::LowerError::Unsupported(format!($($arg)*)))
    };
}
pub(crate) use unsupported;
