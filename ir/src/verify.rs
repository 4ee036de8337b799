//! The verifier (being written; the real one lands once `infer` exists).
use crate::{Module, Result};
/// Verifies `module`.
pub fn verify_module(_module: &Module) -> Result<()> {
    Ok(())
}
