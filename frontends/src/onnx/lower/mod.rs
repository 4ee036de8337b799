//! Lowering functions, one module per op family.

pub(crate) mod constant;
pub(crate) mod conv;
pub(crate) mod elementwise;
pub(crate) mod layout;
pub(crate) mod pool;
pub(crate) mod qop;
pub(crate) mod quant;
pub(crate) mod reduce;
pub(crate) mod resize;
pub(crate) mod shape;
