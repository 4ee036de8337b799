//! The IR crate's error type.

use thiserror::Error;

/// Errors from the IR: parsing, verification and execution.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Text-format syntax error at a 1-based line and column.
    #[error("{line}:{col}: {msg}")]
    Parse {
        /// Line number.
        line: usize,
        /// Column number.
        col: usize,
        /// What went wrong.
        msg: String,
    },
    /// The verifier rejected the IR.
    #[error("verifier: {0}")]
    Verify(String),
    /// Shape or type inference failed for a node.
    #[error("node '{node}' ({op}): {msg}")]
    Infer {
        /// Node name.
        node: String,
        /// Op mnemonic.
        op: String,
        /// What went wrong.
        msg: String,
    },
    /// A run-time error (bad input, bad shape) while executing.
    #[error("{0}")]
    Exec(String),
}

/// Result alias for the IR crate.
pub type Result<T> = std::result::Result<T, Error>;
