//! The IR's operations.
//!
//! Every op reads SSA values (its operands) and defines one or more results. Integer
//! quantized ops (`qconv2d`, `qmatmul`, `qgemm`, `quantize`, `dequantize`, `requantize`)
//! take their quantization parameters from the operand and result *types*; the ONNX-style
//! ops `quantize_linear` / `dequantize_linear` take them as operands (the dynamic form a
//! frontend emits only when the parameters are not compile-time constants).
//!
//! A few shape-like ops (reshape, slice, pad, squeeze, unsqueeze, split, reduce, clip)
//! normally carry their parameters as attributes. When the model computes those
//! parameters at run time the frontend emits the *dynamic form*: the extra operands (in
//! ONNX input order) are present and the attribute fields are empty and ignored.

use crate::{ConstId, DType, Dim};

/// Attributes shared by convolutions (float, integer and quantized).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConvAttrs {
    /// Stride per spatial dim.
    pub strides: Vec<usize>,
    /// Padding: all begins, then all ends (ONNX order), per spatial dim.
    pub pads: Vec<usize>,
    /// Dilation per spatial dim.
    pub dilations: Vec<usize>,
    /// Number of groups (`group == channels` is depthwise).
    pub group: usize,
}

/// Attributes of max / average pooling.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolAttrs {
    /// Window size per spatial dim.
    pub kernel: Vec<usize>,
    /// Stride per spatial dim.
    pub strides: Vec<usize>,
    /// Padding: all begins, then all ends, per spatial dim.
    pub pads: Vec<usize>,
    /// Dilation per spatial dim.
    pub dilations: Vec<usize>,
    /// Output size rounds up instead of down.
    pub ceil_mode: bool,
    /// Average pooling divides by the full window including padding.
    pub count_include_pad: bool,
    /// Float average pooling runs ONNX Runtime's opset-19 AveragePool loop (each window
    /// summed from 0.0 in row-major order, then divided by the count); otherwise MLAS's
    /// pooling kernels (opsets up to 18). Integer pools ignore it.
    pub row_major_sum: bool,
}

/// A fused output clamp of an integer op (`qconv`, `qgemm`): the stored result saturates to
/// `[lo, hi]` intersected with its storage range instead of the storage range alone, which
/// is what a Relu / Clip / HardTanh after the op means on the integer grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Clamp(pub Option<(i64, i64)>);

impl Clamp {
    /// The saturation bounds for storage range `[qmin, qmax]`.
    pub fn bounds(self, qmin: i64, qmax: i64) -> (i64, i64) {
        match self.0 {
            Some((lo, hi)) => (lo.max(qmin), hi.min(qmax)),
            None => (qmin, qmax),
        }
    }

    /// This clamp narrowed by `[lo, hi]`.
    pub fn and(self, lo: i64, hi: i64) -> Clamp {
        Clamp(Some(match self.0 {
            Some((a, b)) => (a.max(lo), b.min(hi)),
            None => (lo, hi),
        }))
    }
}

/// Gemm attributes: `Y = alpha * A' B' + beta * C`.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `C`.
    pub beta: f32,
    /// Transpose `A` first.
    pub trans_a: bool,
    /// Transpose `B` first.
    pub trans_b: bool,
}

/// Elementwise binary ops with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a * b
    Mul,
    /// a / b (integers truncate toward zero)
    Div,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// a ^ b
    Pow,
    /// a < b (bool result)
    Less,
    /// a <= b (bool result)
    LessOrEqual,
    /// a > b (bool result)
    Greater,
    /// a >= b (bool result)
    GreaterOrEqual,
    /// a == b (bool result)
    Equal,
    /// logical and
    And,
    /// logical or
    Or,
}

/// Elementwise unary ops without attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// max(x, 0)
    Relu,
    /// 1 / (1 + exp(-x))
    Sigmoid,
    /// tanh(x)
    Tanh,
    /// exp(x)
    Exp,
    /// ln(x)
    Log,
    /// -x
    Neg,
    /// |x|
    Abs,
    /// sqrt(x)
    Sqrt,
    /// 1 / x
    Reciprocal,
    /// round half to even
    Round,
    /// floor(x)
    Floor,
    /// ceil(x)
    Ceil,
    /// logical not
    Not,
    /// x * hardsigmoid(x, 1/6, 1/2)
    HardSwish,
    /// erf(x)
    Erf,
    /// `0.5 * x * (1 + erf(x / sqrt(2)))` (ONNX Gelu, approximate = "none")
    Gelu,
    /// `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))` (approximate = "tanh")
    GeluTanh,
}

/// Which extremum `arg_max` / `arg_min` locates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgOp {
    /// The largest value.
    Max,
    /// The smallest value.
    Min,
}

/// Reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Arithmetic mean.
    Mean,
    /// Arithmetic mean of a rank-4 f32 tensor over its spatial axes, summed in the order
    /// ONNX Runtime uses when its layout transformer has put the tensor in NHWC (the
    /// spatial positions of each channel added by MLAS's M = 1 SGEMM against a vector of
    /// ones: four at a time, then into the running sum). Elsewhere the same as `Mean`.
    MeanChannelsLast,
    /// Sum.
    Sum,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// Padding modes of `pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PadMode {
    /// Fill with a constant value.
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge element.
    Edge,
    /// Wrap around.
    Wrap,
}

/// One IR operation. Operands and results live on the [`crate::Node`] that holds the op.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A constant from the module's constant table. No operands, one result.
    Const(ConstId),

    // ---- quantization, static form (parameters in the types) ----
    /// `[x: f32] -> q`: `saturate(round_half_even(x / s) + z)` with the result type's params.
    Quantize,
    /// `[x: q] -> f32`: `(x - z) * s` with the operand type's params.
    Dequantize,
    /// `[x: q] -> q'`: change parameters, `quantize(dequantize(x))` in f32. In fixed-point
    /// modules with per-tensor parameters: TFLite's integer `Requantize` (QUANTIZE int ->
    /// int), `saturate(MultiplyByQuantizedMultiplier(x - z_x, QuantizeMultiplier(s_x / s_y))
    /// + z_y)` with the ratio in double.
    Requantize,

    // ---- quantization, dynamic (ONNX) form ----
    /// `[x, scale, zero_point] -> y`: ONNX QuantizeLinear with run-time parameters
    /// (per-tensor, per-axis along `axis` or blocked along `axis` when `block_size > 0`).
    QuantizeLinear {
        /// Quantized axis (may be negative, ONNX style).
        axis: i64,
        /// Block size for blocked quantization, 0 for none.
        block_size: usize,
    },
    /// `[x, scale, zero_point] -> f32`: ONNX DequantizeLinear with run-time parameters.
    DequantizeLinear {
        /// Quantized axis (may be negative).
        axis: i64,
        /// Block size for blocked quantization, 0 for none.
        block_size: usize,
    },
    /// `[x: f32] -> (y: u8, scale: f32, zero_point: u8)`: ONNX DynamicQuantizeLinear.
    DynamicQuantizeLinear,

    // ---- float / generic compute ----
    /// `[x, w, bias?]`: N-d convolution, NC... layout, weights O x I/group x k...
    Conv(ConvAttrs),
    /// `[x: u8/i8, w: u8/i8, x_zero_point, w_zero_point] -> i32`: ONNX ConvInteger.
    ConvInteger(ConvAttrs),
    /// `[a, b]`: numpy matmul (batched, broadcasting).
    MatMul,
    /// `[a, b, a_zero_point, b_zero_point] -> i32`: ONNX MatMulInteger (b_zero_point may be per column).
    MatMulInteger,
    /// `[a, b, c?]`: ONNX Gemm on 2-d operands.
    Gemm(GemmAttrs),
    /// `[x] -> y`: nearest-neighbour resize (ONNX Resize with `mode=nearest`, TFLite
    /// RESIZE_NEAREST_NEIGHBOR), any element type. Output dim `d` is `sizes[d]` (`-1`: the
    /// input's). Output index `o` reads input index `clamp(nearest(c), 0, in - 1)` (a dim
    /// with scale 1 and equal sizes reads `o`), with in f32 `s = scales[d]`:
    /// - `coord`: `half_pixel` `(o + 0.5) / s - 0.5`; `asymmetric` `o / s`;
    ///   `pytorch_half_pixel` as half_pixel, 0 when out = 1; `tf_half_pixel_for_nn`
    ///   `(o + 0.5) / s`; `align_corners` `o * (in - 1) / (out - 1)` (0 when out = 1);
    ///   TFLite's `GetNearestNeighbor` multiplies instead: `tflite` `o * r`,
    ///   `tflite_half_pixel` `(o + 0.5) * r`, with `r = in / out`, and
    ///   `tflite_align_corners` `o * r` with `r = (in - 1) / (out - 1)`;
    /// - `nearest`: `round_prefer_floor`, `round_prefer_ceil`, `floor`, `ceil` (ONNX Runtime's
    ///   definitions; the `tflite*` modes use `floor`, or round half away with align_corners).
    ResizeNearest {
        /// Output size per dim (`-1`: same as the input).
        sizes: Vec<i64>,
        /// Scale per dim for the `half_pixel` / `asymmetric` / ... mappings.
        scales: Vec<f32>,
        /// Coordinate transformation mode.
        coord: String,
        /// Nearest rounding mode.
        nearest: String,
    },
    /// `[x] -> y`: TFLite's RESIZE_BILINEAR of a rank-4 NHWC tensor to `sizes = [H', W']`.
    /// `coord` is `tflite` (source `o * in / out`), `tflite_half_pixel` (`(o + 0.5) * in /
    /// out - 0.5`) or `tflite_align_corners` (`o * (in - 1) / (out - 1)`). Integer tensors
    /// (int8, int16; the result keeps the operand's quantization) follow the reference
    /// `ResizeBilinearInteger`: source positions in 10-bit fixed point (`scale_10 =
    /// round(1024 in / out)`, half pixel `o * scale_10 + scale_10 / 2 - 512`), the four
    /// stored neighbours weighted in int64 and divided by `2^20` rounding half away from
    /// zero. f32 follows the float reference: source positions and weights in f32.
    ResizeBilinear {
        /// Output height and width.
        sizes: Vec<i64>,
        /// Coordinate mode.
        coord: String,
    },
    /// `[x, scale, bias?] -> y` (float): ONNX LayerNormalization over the dims from `axis` on,
    /// with ONNX Runtime's arithmetic: per row, f32 running sums of `x` and `x * x` in order,
    /// `mean = sum / n`, `sd = sqrt(sum_sq / n - mean * mean + epsilon)`, then
    /// `(x - mean) / sd * scale + bias`, left to right.
    LayerNorm {
        /// First normalised dim (may be negative).
        axis: i64,
        /// Added to the variance.
        epsilon: f32,
    },
    /// `[x, scale, bias, mean, var]`: inference batch normalisation over dim 1.
    /// With `training`, three results: y, running mean, running var (ONNX training mode).
    BatchNorm {
        /// Added to the variance.
        epsilon: f32,
        /// Running-stat momentum (training mode only).
        momentum: f32,
        /// ONNX `training_mode`.
        training: bool,
    },

    // ---- integer quantized compute (parameters in the types) ----
    /// `[x: q, w: q (per-tensor or per-axis 0), bias: i32?] -> q`: int32 accumulation and
    /// requantization with the module's [`crate::RequantMode`].
    /// The [`Clamp`] is a fused output activation.
    QConv(ConvAttrs, Clamp),
    /// `[a: q, b: q (per-tensor or per-axis along the last dim)] -> q`.
    QMatMul,
    /// `[a: q, b: q] -> q`: elementwise add of two quantized tensors (numpy broadcasting),
    /// as ONNX Runtime's QLinearAdd computes it: `r_a = s_a / s_y`, `r_b = s_b / s_y`,
    /// `k = z_y - fma(r_a, z_a, r_b * z_b)` ([`crate::quant::qladd_constant`]), `y =
    /// saturate(round_half_even(fma(a, r_a,
    /// fma(b, r_b, k))))` in f32 (an operand with one element is folded into `k` first).
    QAdd,
    /// `[x: q] -> q`: mean over the spatial dims (kept as size 1): the int32 sum of
    /// `(x - z_x)` requantized with multiplier `s_x / (s_y * n)` (ONNX Runtime's
    /// QLinearGlobalAveragePool).
    QGlobalAvgPool,
    /// `[a: q, b: q, c: i32?] -> q`: `alpha * A' B' + C` requantized (C at scale sa*sb, zp 0).
    /// `alpha`, `trans_a` and `trans_b` apply; `beta` is ignored (C is already an int32 bias).
    /// The [`Clamp`] is a fused output activation.
    QGemm(GemmAttrs, Clamp),
    /// `[a: q, b: q] -> q`: elementwise product with numpy broadcasting. Float mode follows
    /// ONNX Runtime's QLinearMul: the exact int32 product `(a - z_a) * (b - z_b)` times
    /// `r = (s_a * s_b) / s_y` in f32, plus `z_y` in f32, rounded half to even; fixed-point
    /// mode follows TFLite's MUL (`MultiplyByQuantizedMultiplier(product) + z_y`, the
    /// multiplier `QuantizeMultiplier(s_a * s_b / s_y)` with the ratio in f32; int16
    /// operands have zero points 0). int8
    /// operands compute in the uint8 domain (values and zero points + 128), as ONNX Runtime
    /// does on x86 after its S8-to-U8 rewrite.
    QMul,
    /// `[a: q, b: q] -> q`: elementwise difference with numpy broadcasting. Fixed-point mode:
    /// TFLite's integer SUB (both operands rescaled with left shift 20 and per-input
    /// fixed-point multipliers, subtracted, requantized), the same arithmetic as `qadd`'s
    /// with the second term negated; float mode: `quantize(dequantize(a) - dequantize(b))`.
    QSub,
    /// `[x: q] -> q`: average pooling as ONNX Runtime's QLinearAveragePool: the window's
    /// dequantized values summed in f32 in window order (padding skipped), divided by the
    /// count (the full kernel with `count_include_pad`), then `round_half_even(sum / s_y +
    /// z_y)`; a window covering the whole unpadded input uses `qglobal_avgpool`'s integer
    /// arithmetic. int8 computes in the uint8 domain like `qmul`.
    QAvgPool(PoolAttrs),
    /// `[x: q] -> q`: softmax of `beta * x` along `axis`. Float modules (`beta` = 1): ONNX
    /// Runtime's QLinearSoftmax on an 8-bit operand: per row `t(x) = (f32) exp(((x - max) +
    /// b) * s_x)` in f64 (`b` keeps the row sum finite), the f32 sum of `t` in order, then
    /// `round_half_even(t * floor(1 / s_y) / sum) + z_y` saturated, int8 in the uint8 domain
    /// (ORT's x86 rewrite); with another `beta`, `quantize(softmax(beta * dequantize(x)))`.
    /// Fixed-point modules: TFLite's reference kernel along the last axis (gemmlowp fixed
    /// point: Q5.26 scaled differences, `exp_on_negative_values`, Q12.19 sum, Newton-Raphson
    /// reciprocal, see docs/numerics.md).
    QSoftmax {
        /// Normalised axis (may be negative).
        axis: i64,
        /// Input scaling (`softmax(beta * x)`).
        beta: f32,
    },
    /// `[x: q (per-tensor)] -> q`: TFLite's reference quantized MEAN over `axes`: the int32
    /// sum of the stored values, minus `z_x * count`, requantized with `QuantizeMultiplier(s_x /
    /// s_y)` whose multiplier absorbs `1 / count` (`(m << k) / count`, `k = min(floor(log2
    /// count), 32, 31 + shift)`), plus `z_y`, saturated. The same in both requantization modes.
    QMean {
        /// Reduced axes (may be negative; at least one).
        axes: Vec<i64>,
        /// Keep reduced dims as size 1.
        keepdims: bool,
    },
    /// `[x: 8- or 16-bit q (per-tensor), table: const] -> q`: a lookup table indexed by the
    /// stored integer, `y = table[x - storage_min(x)]`. `table` has shape `[E]`, or `[C, E]`
    /// for one table per channel along dim 1 of `x`, with `E` = 256 for 8-bit and 65536 for
    /// 16-bit operands; its element type is the result's. Built at compile time by evaluating
    /// the exact computation it replaces (`quantize(f(dequantize(v)))`, or a reference
    /// kernel's integer arithmetic) for every stored value `v`, so it equals it bit for bit.
    Lut,
    /// `[x: q (M x K), w: q (N x K, per-tensor or per-axis 0), bias: i32 / i64?] -> q (M x N)`:
    /// TFLite's reference FULLY_CONNECTED. Accumulates `(x - z_x) * (w - z_w[n])` plus the bias
    /// in the bias type (int32 wrapping, or int64), then requantizes in double precision:
    /// `round_half_away(acc * (s_x * s_w[n] / s_y)) + z_y` (scales widened to f64), saturated.
    /// The same in both requantization modes.
    QFullyConnected,
    /// `[x: i8 (B x T x I, or T x B x I when time_major), w_ii, w_if, w_ic, w_io: i8 (C x I),
    /// w_ri, w_rf, w_rc, w_ro: i8 (C x O), b_i, b_f, b_c, b_o: i32 (C), h0: i8 (B x O),
    /// c0: i16 (B x C)] -> i8 (x's leading dims x O)`: TFLite's integer UNIDIRECTIONAL_SEQUENCE_LSTM
    /// (8x8_16 kernel, `lstm_eval.cc` `EvalInteger8x8_16`) without peephole, projection,
    /// layer norm or CIFG. Gates are int16 Q3.12 (`MultiplyByQuantizedMultiplier` of int32
    /// accumulations with zero points folded into the biases), gemmlowp int16 `logistic` /
    /// `tanh`; the cell state is int16 with a power-of-two scale; the hidden state is
    /// `output_gate * tanh(cell)` requantized to `hidden_scale` / `hidden_zp` (the operator's
    /// fifth intermediate tensor). The result is the hidden state at every step. See
    /// docs/numerics.md.
    TfliteLstm {
        /// Input and result are `T x B x ...` rather than `B x T x ...`.
        time_major: bool,
        /// Cell-state clip (0 = none), in real units.
        cell_clip: f32,
        /// Scale of the hidden state (intermediate 4).
        hidden_scale: f32,
        /// Zero point of the hidden state.
        hidden_zp: i64,
    },

    // ---- elementwise ----
    /// Broadcasting binary op.
    Binary(BinaryOp),
    /// Unary op.
    Unary(UnaryOp),
    /// `[cond, a, b]`: select with broadcasting.
    Where,
    /// `x < 0 ? alpha * x : x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `clamp(alpha * x + beta, 0, 1)`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// Clamp to `[min, max]` (either bound optional). Dynamic form: `[x, min, max]`.
    Clip {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// Element type conversion (ONNX Cast semantics, saturating float->int is not applied).
    Cast {
        /// Target element type.
        to: DType,
    },
    /// Softmax along `axis` (ONNX opset >= 13 semantics).
    Softmax {
        /// Normalised axis (may be negative).
        axis: i64,
    },
    /// Identity copy.
    Identity,

    // ---- pooling and reductions ----
    /// `[x] -> i64`: the index of the largest (`arg_max`) or smallest (`arg_min`) value along
    /// `axis` (ONNX ArgMax / ArgMin, TFLite ARG_MAX / ARG_MIN): the first such index, or the
    /// last with `select_last_index`; any element type (quantized operands compare stored
    /// values, which order like the real ones for a positive scale). NaN never wins a
    /// comparison, so a leading NaN stays selected.
    Arg {
        /// Largest or smallest.
        op: ArgOp,
        /// The reduced axis (may be negative).
        axis: i64,
        /// Keep the axis as size 1.
        keepdims: bool,
        /// Ties go to the last index.
        select_last_index: bool,
    },
    /// Max pooling; an optional second result holds ONNX's flattened argmax indices (i64).
    MaxPool(PoolAttrs),
    /// Average pooling.
    AvgPool(PoolAttrs),
    /// Mean over all spatial dims, keeping them as size 1.
    GlobalAvgPool,
    /// Max over all spatial dims, keeping them as size 1.
    GlobalMaxPool,
    /// Reduction over `axes` (None = all axes unless `noop_with_empty_axes`). Dynamic form: `[x, axes]`.
    Reduce {
        /// Which reduction.
        op: ReduceOp,
        /// Reduced axes (may be negative).
        axes: Option<Vec<i64>>,
        /// Keep reduced dims as size 1.
        keepdims: bool,
        /// With no axes, return the input unchanged.
        noop_with_empty_axes: bool,
    },

    // ---- layout ----
    /// ONNX Reshape (`0` copies a dim unless `allowzero`, `-1` is inferred). Dynamic form: `[x, shape]`.
    Reshape {
        /// Target shape spec.
        shape: Vec<i64>,
        /// `0` means an empty dim instead of "copy".
        allowzero: bool,
    },
    /// Flatten to 2-d at `axis`.
    Flatten {
        /// Split point (may be negative).
        axis: i64,
    },
    /// Permute dims.
    Transpose {
        /// Permutation.
        perm: Vec<usize>,
    },
    /// Remove size-1 dims (all when `axes` is empty). Dynamic form: `[x, axes]`.
    Squeeze {
        /// Axes to remove (may be negative).
        axes: Vec<i64>,
    },
    /// Insert size-1 dims. Dynamic form: `[x, axes]`.
    Unsqueeze {
        /// Positions in the output (may be negative).
        axes: Vec<i64>,
    },
    /// ONNX Slice. Dynamic form: `[x, starts, ends, axes?, steps?]`.
    Slice {
        /// Start per axis.
        starts: Vec<i64>,
        /// End per axis (clamped).
        ends: Vec<i64>,
        /// Axes (may be negative).
        axes: Vec<i64>,
        /// Steps (non-zero).
        steps: Vec<i64>,
    },
    /// ONNX Pad. `pads` = all begins then all ends over every dim. Dynamic form:
    /// `[x, pads, constant_value?, axes?]`.
    Pad {
        /// Mode.
        mode: PadMode,
        /// Begins then ends, one per dim.
        pads: Vec<i64>,
        /// Fill value for constant mode (stored as the element value, not quantized).
        value: f64,
    },
    /// Concatenate along `axis`.
    Concat {
        /// Axis (may be negative).
        axis: i64,
    },
    /// ONNX Expand: broadcasts `x` to `shape` (numpy rules in both directions, so a `1` in
    /// `shape` keeps `x`'s dim). A symbolic dim (the batch `N` of `x.expand(N, -1, -1)`)
    /// takes the size the graph's inputs bind it to. Dynamic form: `[x, shape]`.
    Expand {
        /// Target shape.
        shape: Vec<Dim>,
    },
    /// ONNX Range `start, start + delta, ...` (no operands): `len` holds the one result
    /// dim, a size or a symbolic dim (`torch.arange(x.size(1))`, position ids), bound when
    /// the inputs arrive. Dynamic form: `[start, limit, delta]` scalars of any numeric type
    /// (ONNX's `max(ceil((limit - start) / delta), 0)` elements; the attributes are ignored).
    Range {
        /// First value.
        start: i64,
        /// Step.
        delta: i64,
        /// The result's length, as a one-element shape.
        len: Vec<Dim>,
        /// Element type (an integer type).
        to: DType,
    },
    /// ONNX Gather: the slices of operand 0 along `axis` at the integer `indices` (operand
    /// 1, any shape; negative indices count from the end). The result's dims are
    /// `x[..axis] ++ indices ++ x[axis + 1..]`.
    Gather {
        /// Axis of operand 0 (may be negative).
        axis: i64,
    },
    /// Split along `axis` into `sizes.len()` results. Dynamic form: `[x, split]`.
    Split {
        /// Axis (may be negative).
        axis: i64,
        /// Size of each part.
        sizes: Vec<usize>,
    },
}

impl Op {
    /// The op's mnemonic in the text format.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Const(_) => "const",
            Op::Quantize => "quantize",
            Op::Dequantize => "dequantize",
            Op::Requantize => "requantize",
            Op::QuantizeLinear { .. } => "quantize_linear",
            Op::DequantizeLinear { .. } => "dequantize_linear",
            Op::DynamicQuantizeLinear => "dynamic_quantize_linear",
            Op::Conv(_) => "conv",
            Op::ConvInteger(_) => "conv_integer",
            Op::MatMul => "matmul",
            Op::MatMulInteger => "matmul_integer",
            Op::Gemm(_) => "gemm",
            Op::BatchNorm { .. } => "batchnorm",
            Op::LayerNorm { .. } => "layer_norm",
            Op::ResizeNearest { .. } => "resize_nearest",
            Op::ResizeBilinear { .. } => "resize_bilinear",
            Op::QConv(..) => "qconv",
            Op::QMatMul => "qmatmul",
            Op::QGemm(..) => "qgemm",
            Op::QAdd => "qadd",
            Op::QGlobalAvgPool => "qglobal_avgpool",
            Op::QMul => "qmul",
            Op::QSub => "qsub",
            Op::QAvgPool(_) => "qavgpool",
            Op::QSoftmax { .. } => "qsoftmax",
            Op::QMean { .. } => "qmean",
            Op::Lut => "lut",
            Op::QFullyConnected => "qfully_connected",
            Op::TfliteLstm { .. } => "tflite_lstm",
            Op::Binary(b) => match b {
                BinaryOp::Add => "add",
                BinaryOp::Sub => "sub",
                BinaryOp::Mul => "mul",
                BinaryOp::Div => "div",
                BinaryOp::Max => "max",
                BinaryOp::Min => "min",
                BinaryOp::Pow => "pow",
                BinaryOp::Less => "less",
                BinaryOp::LessOrEqual => "less_equal",
                BinaryOp::Greater => "greater",
                BinaryOp::GreaterOrEqual => "greater_equal",
                BinaryOp::Equal => "equal",
                BinaryOp::And => "and",
                BinaryOp::Or => "or",
            },
            Op::Unary(u) => match u {
                UnaryOp::Relu => "relu",
                UnaryOp::Sigmoid => "sigmoid",
                UnaryOp::Tanh => "tanh",
                UnaryOp::Exp => "exp",
                UnaryOp::Log => "log",
                UnaryOp::Neg => "neg",
                UnaryOp::Abs => "abs",
                UnaryOp::Sqrt => "sqrt",
                UnaryOp::Reciprocal => "reciprocal",
                UnaryOp::Round => "round",
                UnaryOp::Floor => "floor",
                UnaryOp::Ceil => "ceil",
                UnaryOp::Not => "not",
                UnaryOp::HardSwish => "hard_swish",
                UnaryOp::Erf => "erf",
                UnaryOp::Gelu => "gelu",
                UnaryOp::GeluTanh => "gelu_tanh",
            },
            Op::Where => "where",
            Op::LeakyRelu { .. } => "leaky_relu",
            Op::HardSigmoid { .. } => "hard_sigmoid",
            Op::Clip { .. } => "clip",
            Op::Cast { .. } => "cast",
            Op::Softmax { .. } => "softmax",
            Op::Identity => "identity",
            Op::MaxPool(_) => "maxpool",
            Op::AvgPool(_) => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::GlobalMaxPool => "global_maxpool",
            Op::Arg { op, .. } => match op {
                ArgOp::Max => "arg_max",
                ArgOp::Min => "arg_min",
            },
            Op::Reduce { op, .. } => match op {
                ReduceOp::Mean => "reduce_mean",
                ReduceOp::MeanChannelsLast => "reduce_mean_nhwc",
                ReduceOp::Sum => "reduce_sum",
                ReduceOp::Max => "reduce_max",
                ReduceOp::Min => "reduce_min",
            },
            Op::Reshape { .. } => "reshape",
            Op::Flatten { .. } => "flatten",
            Op::Transpose { .. } => "transpose",
            Op::Squeeze { .. } => "squeeze",
            Op::Unsqueeze { .. } => "unsqueeze",
            Op::Slice { .. } => "slice",
            Op::Pad { .. } => "pad",
            Op::Concat { .. } => "concat",
            Op::Expand { .. } => "expand",
            Op::Gather { .. } => "gather",
            Op::Range { .. } => "range",
            Op::Split { .. } => "split",
        }
    }
}
