//! The op registry: (domain, op_type) -> lowering function, with the first opset at which
//! the op exists.

use super::error::LResult;
use super::lower::{constant, conv, elementwise as ew, layout, pool, qop, quant, reduce, resize};
use super::node::NodeCtx;
use super::proto::is_default_domain;

/// A lowering function.
pub(crate) type LowerFn = fn(&mut NodeCtx) -> LResult<()>;

/// Operator domains qcc lowers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Domain {
    Onnx,
    Microsoft,
}

struct Entry {
    domain: Domain,
    op: &'static str,
    since: i64,
    f: LowerFn,
}

const fn onnx(op: &'static str, since: i64, f: LowerFn) -> Entry {
    Entry {
        domain: Domain::Onnx,
        op,
        since,
        f,
    }
}

const fn ms(op: &'static str, f: LowerFn) -> Entry {
    Entry {
        domain: Domain::Microsoft,
        op,
        since: 1,
        f,
    }
}

const ENTRIES: &[Entry] = &[
    // quantization
    onnx("QuantizeLinear", 10, quant::quantize_linear),
    onnx("DequantizeLinear", 10, quant::dequantize_linear),
    onnx("DynamicQuantizeLinear", 11, quant::dynamic_quantize_linear),
    onnx("QLinearConv", 10, qop::qlinear_conv),
    onnx("QLinearMatMul", 10, qop::qlinear_matmul),
    onnx("ConvInteger", 10, conv::conv_integer),
    onnx("MatMulInteger", 10, conv::matmul_integer),
    // compute
    onnx("Conv", 1, conv::conv),
    onnx("Gemm", 1, conv::gemm),
    onnx("MatMul", 1, conv::matmul),
    onnx("BatchNormalization", 1, conv::batch_norm),
    // elementwise
    onnx("Add", 1, ew::add),
    onnx("Sub", 1, ew::sub),
    onnx("Mul", 1, ew::mul),
    onnx("Div", 1, ew::div),
    onnx("Pow", 1, ew::pow),
    onnx("Less", 1, ew::less),
    onnx("LessOrEqual", 12, ew::less_equal),
    onnx("Greater", 1, ew::greater),
    onnx("GreaterOrEqual", 12, ew::greater_equal),
    onnx("Equal", 1, ew::equal),
    onnx("And", 1, ew::and),
    onnx("Or", 1, ew::or),
    onnx("Max", 1, ew::max),
    onnx("Min", 1, ew::min),
    onnx("Sum", 1, ew::sum),
    onnx("Where", 9, ew::where_),
    onnx("Not", 1, ew::not),
    onnx("Relu", 1, ew::relu),
    onnx("Sigmoid", 1, ew::sigmoid),
    onnx("Tanh", 1, ew::tanh),
    onnx("Exp", 1, ew::exp),
    onnx("Log", 1, ew::log),
    onnx("Neg", 1, ew::neg),
    onnx("Abs", 1, ew::abs),
    onnx("Sqrt", 1, ew::sqrt),
    onnx("Reciprocal", 1, ew::reciprocal),
    onnx("Round", 11, ew::round),
    onnx("Floor", 1, ew::floor),
    onnx("Ceil", 1, ew::ceil),
    onnx("Erf", 9, ew::erf),
    onnx("Gelu", 20, ew::gelu),
    onnx("Resize", 11, resize::resize),
    onnx("LeakyRelu", 1, ew::leaky_relu),
    onnx("HardSigmoid", 1, ew::hard_sigmoid),
    onnx("HardSwish", 14, ew::hard_swish),
    onnx("Clip", 1, ew::clip),
    onnx("Cast", 1, ew::cast),
    onnx("CastLike", 15, ew::cast_like),
    onnx("Softmax", 1, ew::softmax),
    onnx("LayerNormalization", 17, ew::layer_norm),
    onnx("Identity", 1, ew::identity),
    onnx("Dropout", 1, ew::dropout),
    onnx("Constant", 1, constant::constant),
    // pooling and reductions
    onnx("MaxPool", 1, pool::max_pool),
    onnx("AveragePool", 1, pool::avg_pool),
    onnx("GlobalAveragePool", 1, pool::global_avg_pool),
    onnx("GlobalMaxPool", 1, pool::global_max_pool),
    onnx("ReduceMean", 1, reduce::reduce_mean),
    onnx("ReduceSum", 1, reduce::reduce_sum),
    onnx("ReduceMax", 1, reduce::reduce_max),
    onnx("ArgMax", 1, reduce::arg_max),
    onnx("ArgMin", 1, reduce::arg_min),
    onnx("ReduceMin", 1, reduce::reduce_min),
    // layout
    onnx("Reshape", 1, layout::reshape),
    onnx("Flatten", 1, layout::flatten),
    onnx("Transpose", 1, layout::transpose),
    onnx("Squeeze", 1, layout::squeeze),
    onnx("Unsqueeze", 1, layout::unsqueeze),
    onnx("Slice", 1, layout::slice),
    onnx("Pad", 1, layout::pad),
    onnx("Concat", 1, layout::concat),
    onnx("Split", 1, layout::split),
    onnx("Expand", 8, layout::expand),
    onnx("Gather", 1, layout::gather),
    onnx("ConstantOfShape", 9, constant::constant_of_shape),
    onnx("Range", 11, constant::range),
    // com.microsoft contrib ops
    ms("QGemm", qop::qgemm),
    ms("QLinearAdd", qop::qlinear_add),
    ms("QLinearMul", qop::qlinear_mul),
    ms("QLinearConcat", qop::qlinear_concat),
    ms("QLinearAveragePool", qop::qlinear_avg_pool),
    ms("QLinearGlobalAveragePool", qop::qlinear_global_avg_pool),
    ms("QLinearSigmoid", qop::qlinear_sigmoid),
    ms("QLinearSoftmax", qop::qlinear_softmax),
    ms("QLinearLeakyRelu", qop::qlinear_leaky_relu),
];

/// The lowering of `op_type` in `domain` at opset `version` of that domain.
pub(crate) fn lookup(domain: &str, op_type: &str, version: i64) -> Option<LowerFn> {
    let d = if is_default_domain(domain) {
        Domain::Onnx
    } else if domain == "com.microsoft" {
        Domain::Microsoft
    } else {
        return None;
    };
    ENTRIES
        .iter()
        .find(|e| e.domain == d && e.op == op_type && version >= e.since)
        .map(|e| e.f)
}

/// Every (domain, op_type) pair the frontend lowers, for documentation and tests.
pub fn supported_ops() -> Vec<(&'static str, &'static str)> {
    ENTRIES
        .iter()
        .map(|e| {
            (
                match e.domain {
                    Domain::Onnx => "ai.onnx",
                    Domain::Microsoft => "com.microsoft",
                },
                e.op,
            )
        })
        .collect()
}
