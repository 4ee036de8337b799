//! LOGISTIC, TANH, HARD_SWISH and LEAKY_RELU. On 8-bit tensors each becomes a `lut` whose 256 entries
//! are what LiteRT's reference kernel computes for every stored value:
//!
//! - LOGISTIC / TANH: the kernel itself is a table (`LUTPopulate`): `dequantize` in f32,
//!   `1 / (1 + expf(-x))` or `tanhf(x)`, then `round_half_away(y / s_y) + z_y` in f32,
//!   saturated.
//! - HARD_SWISH: `reference_ops::HardSwish`'s 16-bit fixed-point arithmetic (hires input
//!   scale `s_x / 128`, a "relu-ish" multiplier on the scale where 3.0 is 32768, a truncating
//!   `SaturatingDoublingHighMul`), evaluated on all 256 inputs.
//!
//! - LEAKY_RELU: `QuantizeLeakyRelu`'s two fixed-point multipliers, per stored value.
//!
//! On int16 tensors LOGISTIC and TANH become 65536-entry tables of the int16 kernels
//! ([`super::lut16`]) and LEAKY_RELU one of `QuantizeLeakyRelu` on every int16 value;
//! int16 HARD_SWISH is not lowered (LiteRT has no int16 kernel for it).
//!
//! Float tensors lower to the float ops.

use super::lut16::{self, Act16};
use super::{expect_dtype, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::quant::{multiply_by_quantized_multiplier, quantize_multiplier};
use qcc_ir::{BinaryOp, DType, Data, Op, Tensor, UnaryOp};

/// LOGISTIC.
pub(crate) fn logistic(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let build = |p: Params| {
        if p.int16() {
            lut16::table(Act16::Logistic, (p.sx, p.zx), (p.sy, p.zy))
        } else {
            Ok(table(p, |x| 1.0 / (1.0 + (-x).exp())))
        }
    };
    lower_unary(b, op, Op::Unary(UnaryOp::Sigmoid), &build)
}

/// TANH.
pub(crate) fn tanh(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let build = |p: Params| {
        if p.int16() {
            lut16::table(Act16::Tanh, (p.sx, p.zx), (p.sy, p.zy))
        } else {
            Ok(table(p, f32::tanh))
        }
    };
    lower_unary(b, op, Op::Unary(UnaryOp::Tanh), &build)
}

/// GELU: LiteRT's `LUTPopulate` of `0.5 x (1 + erf(x / sqrt 2))`, or with `approximate`
/// of `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`, in f32: a 256-entry table for
/// int8 / uint8, for int16 the interpolated 513-entry table looked up at every value.
pub(crate) fn gelu(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let approximate = op
        .fb
        .builtin_options_as_gelu_options()
        .is_some_and(|o| o.approximate());
    let build = move |p: Params| {
        let f = if approximate { gelu_tanh } else { gelu_erf };
        if p.int16() {
            // `LUTPopulate<int16_t>`: the 513-entry interpolated table, built in f32.
            let q = |s: f32, z: i64| (s, z as i32);
            return Ok(qcc_ir::interp::int16_lut_f32(
                q(p.sx, p.zx),
                q(p.sy, p.zy),
                f,
            ));
        }
        Ok(table(p, f))
    };
    let float_op = if approximate {
        UnaryOp::GeluTanh
    } else {
        UnaryOp::Gelu
    };
    lower_unary(b, op, Op::Unary(float_op), &build)
}

/// `GeluTransform`: `0.5f * x * (1.f + erff(x * (float)M_SQRT1_2))`.
fn gelu_erf(x: f32) -> f32 {
    let e = qcc_ir::interp::erf(f64::from(x * std::f32::consts::FRAC_1_SQRT_2)) as f32;
    0.5 * x * (1.0 + e)
}

/// `GeluTransformApproximate`: `0.5f * x * (1.f + tanhf((float)(M_2_SQRTPI * M_SQRT1_2) *
/// (x + 0.044715f * x * x * x)))`.
fn gelu_tanh(x: f32) -> f32 {
    let k = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
    0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
}

/// PRELU (int8 / uint8, constant alpha): the reference kernel's `z_y +
/// MultiplyByQuantizedMultiplier(x - z_x, m1)` for `x >= z_x`, else of `(x - z_x) * (a -
/// z_a)` with `m2`, saturated; `m1 = s_x / s_y` and `m2 = s_x * s_a / s_y` in f32, then
/// `QuantizeMultiplier`. Per stored value and alpha that is a table: one `lut` when alpha
/// is one value, else one table per channel along the only dim alpha varies on (moved to
/// dim 1 around the `lut`). Float: `relu(x) + alpha * min(x, 0)`.
pub(crate) fn prelu(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 2, 1)?;
    let (x, a, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let dt = expect_dtype(b, x, &[DType::I8, DType::U8, DType::F32], "the input")?;
    if b.tensor(y).dtype != dt || b.tensor(a).dtype != dt {
        unsupported!("PRELU with input, alpha and output of different types");
    }
    let xv = b.value(x)?;
    if dt == DType::F32 {
        // `relu(x) + alpha * min(x, 0)`: `x` or `alpha * x` exactly.
        let av = b.value(a)?;
        let hint = b.tensor(y).name.clone();
        let zero = b.new_const(&hint, Tensor::new(vec![], Data::F32(vec![0.0])), None);
        let pos = b.emit(&hint, Op::Unary(UnaryOp::Relu), vec![xv], None, None)?;
        let neg = b.emit(&hint, Op::Binary(BinaryOp::Min), vec![xv, zero], None, None)?;
        let neg = b.emit(&hint, Op::Binary(BinaryOp::Mul), vec![av, neg], None, None)?;
        let v = b.emit_tensor(y, Op::Binary(BinaryOp::Add), vec![pos, neg])?;
        b.bind(y, Slot::Value(v));
        return Ok(());
    }
    let Some(alpha) = b
        .const_data(a)
        .map(|t| (t.shape.clone(), t.data.to_i64_vec()))
    else {
        unsupported!("non-constant alpha");
    };
    let (sx, zx) = b.per_tensor(x, "the input")?;
    let (sa, za) = b.per_tensor(a, "alpha")?;
    let (sy, zy) = b.per_tensor(y, "the output")?;
    let (m1, e1) = quantize_multiplier(f64::from(sx / sy));
    let (m2, e2) = quantize_multiplier(f64::from(sx * sa / sy));
    let range = dt.int_range().unwrap_or((0, 255));
    let table = |av: i64| -> Vec<i64> {
        (range.0..=range.1)
            .map(|v| {
                let xi = (v - zx) as i32;
                let r = if xi >= 0 {
                    multiply_by_quantized_multiplier(xi, m1, e1)
                } else {
                    multiply_by_quantized_multiplier(xi * (av - za) as i32, m2, e2)
                };
                (zy + i64::from(r)).clamp(range.0, range.1)
            })
            .collect()
    };
    // The one dim alpha varies on, aligned to x's trailing dims.
    let rank = b.tensor(x).shape.len();
    let (ashape, avals) = alpha;
    if avals.is_empty() {
        bail!("alpha has no elements");
    }
    if ashape.len() > rank {
        bail!("alpha of rank {} for an input of rank {rank}", ashape.len());
    }
    let lead = rank - ashape.len();
    let varying: Vec<usize> = (0..ashape.len()).filter(|&i| ashape[i] > 1).collect();
    let v = match varying.as_slice() {
        [] => {
            let t = table(avals[0]);
            let c = table_const(b, y, dt, vec![t.len()], &t);
            b.emit_tensor(y, Op::Lut, vec![xv, c])?
        }
        [i] if ashape[*i] == b.tensor(x).shape[lead + i] => {
            let d = lead + i;
            let n = ashape[*i];
            let entries: Vec<i64> = avals.iter().flat_map(|&av| table(av)).collect();
            let e = entries.len() / n;
            let c = table_const(b, y, dt, vec![n, e], &entries);
            if d == 1 {
                b.emit_tensor(y, Op::Lut, vec![xv, c])?
            } else if rank < 2 {
                unsupported!("PRELU of a rank-{rank} input with per-element alpha");
            } else {
                // Swap dims 1 and d around the per-channel lut.
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.swap(1, d);
                let hint = b.tensor(y).name.clone();
                let t = b.emit(
                    &hint,
                    Op::Transpose { perm: perm.clone() },
                    vec![xv],
                    None,
                    None,
                )?;
                let q = b.qparams(y);
                let l = b.emit(&hint, Op::Lut, vec![t, c], Some(dt), Some(q))?;
                b.emit_tensor(y, Op::Transpose { perm }, vec![l])?
            }
        }
        _ => unsupported!(
            "alpha of shape {ashape:?} (it must vary along at most one dim, one of the input's)"
        ),
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// HARD_SWISH.
pub(crate) fn hard_swish(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let build = |p: Params| {
        if p.int16() {
            unsupported!("int16 tensors (LiteRT has no int16 HARD_SWISH kernel)")
        } else {
            Ok(hard_swish_table(p))
        }
    };
    lower_unary(b, op, Op::Unary(UnaryOp::HardSwish), &build)
}

/// LEAKY_RELU: `leaky_relu` for float; on 8-bit tensors a table of the reference kernel
/// (`QuantizeLeakyRelu`: `z_y + MultiplyByQuantizedMultiplier(x - z_x, m)` with the identity
/// multiplier `s_x / s_y` for `x >= z_x`, else `s_x * alpha / s_y`, both ratios in f32).
pub(crate) fn leaky_relu(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let alpha = op
        .fb
        .builtin_options_as_leaky_relu_options()
        .map_or(0.0, |o| o.alpha());
    let build = move |p: Params| {
        let (mi, si) = quantize_multiplier(f64::from(p.sx / p.sy));
        let (ma, sa) = quantize_multiplier(f64::from(p.sx * alpha / p.sy));
        Ok((p.range.0..=p.range.1)
            .map(|v| {
                let x = (v - p.zx) as i32;
                let (m, s) = if x >= 0 { (mi, si) } else { (ma, sa) };
                let y = i64::from(qcc_ir::quant::multiply_by_quantized_multiplier(x, m, s));
                (p.zy + y).clamp(p.range.0, p.range.1)
            })
            .collect())
    };
    lower_unary(b, op, Op::LeakyRelu { alpha }, &build)
}

/// Quantization of an 8- or 16-bit operand and result.
#[derive(Clone, Copy)]
struct Params {
    sx: f32,
    zx: i64,
    sy: f32,
    zy: i64,
    /// Stored range of the element type (both tensors have the same type).
    range: (i64, i64),
}

impl Params {
    /// True for int16 tensors.
    fn int16(&self) -> bool {
        self.range == (i16::MIN.into(), i16::MAX.into())
    }
}

/// The constant table `{y}_table` of output tensor `y`'s `lut`: `entries` of type `dt` in
/// `shape` (`[E]`, or `[C, E]` for one table per channel).
pub(crate) fn table_const(
    b: &mut Builder<'_>,
    y: usize,
    dt: DType,
    shape: Vec<usize>,
    entries: &[i64],
) -> qcc_ir::ValueId {
    let name = format!("{}_table", b.tensor(y).name);
    b.new_const(&name, Tensor::new(shape, Data::from_i64(dt, entries)), None)
}

/// Lowers a one-input activation: float -> `float_op`, 8- and 16-bit -> `lut` with
/// `build`'s table (one entry per stored value, from the type's minimum up).
fn lower_unary(
    b: &mut Builder<'_>,
    op: &OpRef<'_>,
    float_op: Op,
    build: &dyn Fn(Params) -> LResult<Vec<i64>>,
) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let dt = expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::F32, DType::I16],
        "the input",
    )?;
    if b.tensor(y).dtype != dt {
        unsupported!(
            "output type {} differs from input type {dt}",
            b.tensor(y).dtype
        );
    }
    let xv = b.value(x)?;
    let v = match dt {
        DType::F32 => b.emit_tensor(y, float_op, vec![xv])?,
        DType::I8 | DType::U8 | DType::I16 => {
            let (sx, zx) = b.per_tensor(x, "the input")?;
            let (sy, zy) = b.per_tensor(y, "the output")?;
            let range = dt.int_range().unwrap_or((0, 255));
            let entries = build(Params {
                sx,
                zx,
                sy,
                zy,
                range,
            })?;
            let table = table_const(b, y, dt, vec![entries.len()], &entries);
            b.emit_tensor(y, Op::Lut, vec![xv, table])?
        }
        d => unsupported!("{d} tensors are not lowered yet (8-bit, int16 and float are)"),
    };
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// LiteRT's `LUTPopulate`: entry `i` is the result for stored value `range.0 + i`.
fn table(p: Params, f: impl Fn(f32) -> f32) -> Vec<i64> {
    let inverse_scale = 1.0 / p.sy;
    (p.range.0..=p.range.1)
        .map(|v| {
            let x = p.sx * (v - p.zx) as f32;
            // `std::round` (half away from zero), then the zero point added in f32.
            let q = ((f(x) * inverse_scale).round() + p.zy as f32) as i64;
            q.clamp(p.range.0, p.range.1)
        })
        .collect()
}

/// TFLite's `DownScaleInt32ToInt16Multiplier`: the Q15 rounding of a Q31 multiplier.
fn down_scale(m: i32) -> i16 {
    const ROUND: i32 = 1 << 15;
    if m >= i32::MAX - ROUND {
        return i16::MAX;
    }
    ((m + ROUND) >> 16) as i16
}

/// gemmlowp's 16-bit `SaturatingRoundingDoublingHighMul`.
fn srdhm16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    let ab = i32::from(a) * i32::from(b);
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// TFLite's truncating 16-bit `SaturatingDoublingHighMul` (SQDMULH).
fn sdhm16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    ((i32::from(a) * i32::from(b)) / (1 << 15)) as i16
}

/// gemmlowp's `RoundingDivideByPOT` on 16 bits.
fn rdbp16(x: i16, e: i32) -> i16 {
    qcc_ir::quant::rounding_divide_by_pot(i32::from(x), e) as i16
}

/// `SaturatingLeftShift` on 16 bits.
fn sat_shl16(v: i16, amount: i32) -> i16 {
    (i64::from(v) * (1i64 << amount)).clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

/// `reference_ops::HardSwish` on every stored value, with `HardSwishPrepare`'s multipliers
/// (computed in f32, then `QuantizeMultiplier` and the Q15 down-scaling).
fn hard_swish_table(p: Params) -> Vec<i64> {
    let hires_input_scale = (1.0f32 / 128.0) * p.sx;
    let reluish_scale = 3.0f32 / 32768.0;
    let (out_m, out_e) = quantize_multiplier(f64::from(hires_input_scale / p.sy));
    let out_m = down_scale(out_m);
    let (rel_m, rel_e) = quantize_multiplier(f64::from(hires_input_scale / reluish_scale));
    let rel_m = down_scale(rel_m);
    (p.range.0..=p.range.1)
        .map(|v| {
            let input = (v - p.zx) as i16;
            let hires = input.wrapping_mul(1 << 7);
            let preshift_out = srdhm16(hires, out_m);
            let mut reluish = hires;
            if rel_e > 0 {
                reluish = sat_shl16(reluish, rel_e - 1);
            }
            reluish = srdhm16(reluish, rel_m);
            if rel_e > 0 {
                reluish = sat_shl16(reluish, 1);
            }
            if rel_e < 0 {
                reluish = rdbp16(reluish, -rel_e);
            }
            let reluish = ((i32::from(reluish) + (1 << 15)) >> 1) as i16;
            let preshift = sdhm16(reluish, preshift_out);
            let out = i64::from(rdbp16(preshift, -out_e)) + p.zy;
            out.clamp(p.range.0, p.range.1)
        })
        .collect()
}
