//! Per-op lowerings and the registry mapping builtin codes (and the versions qcc accepts)
//! to them.

mod act;
mod batch_space;
mod layout;
mod lstm;
mod lut;
mod lut16;
mod nn;
mod quant;
mod reduce;
mod shape;

use super::builder::{Builder, Slot};
use super::error::{bail, unsupported, LResult};
use super::model::OpInfo;
use qcc_ir::{DType, Data, Op, Tensor, ValueId};
use tract_tflite::tflite::{self, BuiltinOperator as B};

/// One operator as the lowerings see it.
pub(crate) struct OpRef<'a> {
    /// Decoded operator (indices checked).
    pub info: &'a OpInfo,
    /// The flatbuffer operator, for its options.
    pub fb: tflite::Operator<'a>,
}

/// A lowering: emits the nodes for one operator and binds its outputs.
type Lower = fn(&mut Builder<'_>, &OpRef<'_>) -> LResult<()>;

/// The lowering of a builtin code and the highest operator version it accepts.
fn registry(code: i32) -> Option<(Lower, i32)> {
    let c = B(code);
    Some(match c {
        B::CONV_2D => (nn::conv2d as Lower, 8),
        B::DEPTHWISE_CONV_2D => (nn::depthwise_conv2d, 7),
        B::TRANSPOSE_CONV => (nn::transpose_conv, 4),
        B::FULLY_CONNECTED => (nn::fully_connected, 12),
        B::MAX_POOL_2D => (nn::max_pool2d, 3),
        B::AVERAGE_POOL_2D => (nn::average_pool2d, 3),
        B::RESHAPE => (shape::reshape, 2),
        B::SHAPE => (shape::shape, 1),
        B::STRIDED_SLICE => (shape::strided_slice, 6),
        B::PACK => (shape::pack, 4),
        B::UNPACK => (layout::unpack, 4),
        B::FILL => (shape::fill, 4),
        B::GATHER => (shape::gather, 7),
        B::REDUCE_PROD => (shape::reduce_prod, 2),
        B::QUANTIZE => (quant::quantize, 3),
        B::DEQUANTIZE => (quant::dequantize, 6),
        B::SOFTMAX => (act::softmax, 3),
        B::TRANSPOSE => (layout::transpose, 6),
        B::ADD => (layout::add, 4),
        B::MUL => (layout::mul, 4),
        B::SUB => (layout::sub, 3),
        B::MAXIMUM => (layout::maximum, 4),
        B::MINIMUM => (layout::minimum, 4),
        B::SQUEEZE => (layout::squeeze, 2),
        B::EXPAND_DIMS => (layout::expand_dims, 1),
        B::RESIZE_NEAREST_NEIGHBOR => (layout::resize_nearest_neighbor, 4),
        B::RESIZE_BILINEAR => (layout::resize_bilinear, 4),
        B::SPLIT => (layout::split, 4),
        B::SPLIT_V => (layout::split_v, 2),
        B::CONCATENATION => (layout::concatenation, 4),
        B::PAD => (layout::pad, 4),
        B::PADV2 => (layout::pad, 4),
        B::RELU => (layout::relu, 3),
        B::RELU6 => (layout::relu6, 3),
        B::RELU_N1_TO_1 => (layout::relu_n1_to_1, 2),
        B::MEAN => (reduce::mean, 3),
        B::SPACE_TO_BATCH_ND => (batch_space::space_to_batch_nd, 4),
        B::BATCH_TO_SPACE_ND => (batch_space::batch_to_space_nd, 4),
        B::REDUCE_MAX => (reduce::reduce_max, 3),
        B::ARG_MAX => (reduce::arg_max, 3),
        B::ARG_MIN => (reduce::arg_min, 3),
        B::REDUCE_MIN => (reduce::reduce_min, 3),
        B::LOGISTIC => (lut::logistic, 3),
        B::TANH => (lut::tanh, 3),
        B::HARD_SWISH => (lut::hard_swish, 1),
        B::GELU => (lut::gelu, 2),
        B::PRELU => (lut::prelu, 1),
        B::LEAKY_RELU => (lut::leaky_relu, 2),
        B::UNIDIRECTIONAL_SEQUENCE_LSTM => (lstm::unidirectional_sequence_lstm, 1),
        _ => return None,
    })
}

/// The builtin codes qcc lowers, with their highest accepted version.
pub fn supported_ops() -> Vec<(String, i32)> {
    (0..256)
        .filter_map(|c| registry(c).map(|(_, v)| (super::model::op_name(c), v)))
        .collect()
}

/// Lowers one operator. `Err(Unsupported)` for codes or versions qcc does not lower.
pub(crate) fn lower(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    let Some((f, max_version)) = registry(op.info.code) else {
        unsupported!("no lowering for this op");
    };
    if op.info.version < 1 || op.info.version > max_version {
        unsupported!(
            "version {} is not supported (qcc accepts 1..={max_version})",
            op.info.version
        );
    }
    f(b, op)
}

impl OpRef<'_> {
    /// Required input `i`.
    pub(crate) fn input(&self, i: usize) -> LResult<usize> {
        match self.info.inputs.get(i) {
            Some(Some(t)) => Ok(*t),
            Some(None) => bail!("required input {i} is left out (-1)"),
            None => bail!(
                "has {} inputs, input {i} is required",
                self.info.inputs.len()
            ),
        }
    }

    /// Optional input `i`.
    pub(crate) fn opt_input(&self, i: usize) -> Option<usize> {
        self.info.inputs.get(i).copied().flatten()
    }

    /// Output `i`.
    pub(crate) fn output(&self, i: usize) -> LResult<usize> {
        match self.info.outputs.get(i) {
            Some(t) => Ok(*t),
            None => bail!(
                "has {} outputs, output {i} is required",
                self.info.outputs.len()
            ),
        }
    }

    /// Checks the input count is within `[lo, hi]` and there is exactly `outs` outputs.
    pub(crate) fn arity(&self, lo: usize, hi: usize, outs: usize) -> LResult<()> {
        let n = self.info.inputs.len();
        if n < lo || n > hi {
            bail!("has {n} inputs, expected {lo}..={hi}");
        }
        if self.info.outputs.len() != outs {
            bail!("has {} outputs, expected {outs}", self.info.outputs.len());
        }
        Ok(())
    }
}

/// Permutes the dims of a constant: result dim `i` is input dim `perm[i]`.
pub(crate) fn permute(t: &Tensor, perm: &[usize]) -> LResult<Tensor> {
    let r = t.shape.len();
    if perm.len() != r {
        bail!("permutation of rank {} for a rank-{r} tensor", perm.len());
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| t.shape[p]).collect();
    let mut in_strides = vec![1usize; r];
    for i in (0..r.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * t.shape[i + 1];
    }
    let n = t.len();
    let mut src = Vec::with_capacity(n);
    let mut idx = vec![0usize; r];
    for _ in 0..n {
        src.push(
            idx.iter()
                .zip(perm)
                .map(|(&i, &p)| i * in_strides[p])
                .sum::<usize>(),
        );
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    macro_rules! gather {
        ($($v:ident),*) => {
            match &t.data {
                $(Data::$v(x) => Data::$v(src.iter().map(|&i| x[i]).collect()),)*
            }
        };
    }
    let data = gather!(F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, Bool);
    Ok(Tensor::new(out_shape, data))
}

/// Transposes an NHWC value to NCHW, reusing the NCHW value it was made from when it is the
/// result of [`nhwc_node`] (so `conv -> pool` chains carry no transpose pairs).
pub(crate) fn to_nchw(b: &mut Builder<'_>, v: ValueId, hint: &str) -> LResult<ValueId> {
    if let Some(n) = b.nchw_of(v) {
        return Ok(n);
    }
    b.emit(
        hint,
        Op::Transpose {
            perm: vec![0, 3, 1, 2],
        },
        vec![v],
        None,
        None,
    )
}

/// Emits `op` on NCHW data, then the fused activation `act` (elementwise, so it commutes
/// with the layout change), then the transpose back that defines NHWC tensor `out`:
/// `transpose -> op -> clip -> transpose`. Binds `out`.
pub(crate) fn nhwc_node(
    b: &mut Builder<'_>,
    out: usize,
    op: Op,
    x_nhwc: ValueId,
    rest: Vec<ValueId>,
    act: tflite::ActivationFunctionType,
) -> LResult<()> {
    let name = b.tensor(out).name.clone();
    let x = to_nchw(b, x_nhwc, &format!("{name}_nchw_in"))?;
    let mut ins = vec![x];
    ins.extend(rest);
    let q = b.qparams(out);
    let dtype = b.tensor(out).dtype;
    let y = b.emit(&format!("{name}_nchw"), op, ins, Some(dtype), Some(q))?;
    let y = act::fused_activation(b, out, y, act)?;
    let v = b.emit_tensor(
        out,
        Op::Transpose {
            perm: vec![0, 2, 3, 1],
        },
        vec![y],
    )?;
    b.set_nchw_of(v, y);
    b.bind(out, Slot::Value(v));
    Ok(())
}

/// Binds output tensor `t` to `v` after applying the fused activation `act`.
pub(crate) fn finish(
    b: &mut Builder<'_>,
    t: usize,
    v: ValueId,
    act: tflite::ActivationFunctionType,
) -> LResult<()> {
    let v = act::fused_activation(b, t, v, act)?;
    b.bind(t, Slot::Value(v));
    Ok(())
}

/// Requires an integer dtype from a list.
pub(crate) fn expect_dtype(
    b: &Builder<'_>,
    t: usize,
    allowed: &[DType],
    what: &str,
) -> LResult<DType> {
    let d = b.tensor(t).dtype;
    if !allowed.contains(&d) {
        unsupported!(
            "{what} has type {d}; supported: {}",
            allowed
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(d)
}
