//! QUANTIZE and DEQUANTIZE.

use super::{expect_dtype, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{unsupported, LResult};
use qcc_ir::{DType, Op};

/// QUANTIZE float -> int: `quantize` (in fixed-point modules TFLite's rounding: f32
/// division, half away from zero); int -> int: `requantize` (TFLite's integer Requantize in
/// fixed-point modules).
pub(crate) fn quantize(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let xd = b.tensor(x).dtype;
    expect_dtype(b, y, &[DType::I8, DType::U8, DType::I16], "the output")?;
    if matches!(xd, DType::I8 | DType::U8 | DType::I16) {
        b.per_tensor(x, "the input")?;
    }
    b.per_tensor(y, "the output")?;
    let xv = b.value(x)?;
    let v = match xd {
        DType::F32 => b.emit_tensor(y, Op::Quantize, vec![xv])?,
        DType::I8 | DType::U8 | DType::I16 => b.emit_tensor(y, Op::Requantize, vec![xv])?,
        d => unsupported!("QUANTIZE from {d} (requantization)"),
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// DEQUANTIZE int -> float.
pub(crate) fn dequantize(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    expect_dtype(b, x, &[DType::I8, DType::U8, DType::I16], "the input")?;
    expect_dtype(b, y, &[DType::F32], "the output")?;
    b.per_tensor(x, "the input")?;
    let xv = b.value(x)?;
    let v = b.emit_tensor(y, Op::Dequantize, vec![xv])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}
