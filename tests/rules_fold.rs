//! Snapshots and near misses of the mul and average-pool folding rules (family 6). Their
//! arithmetic is ONNX Runtime's (checked bit for bit in `ort_qdq_kernels.rs`), which rounds
//! differently from the float graph, so before/after agree within one step.

mod rule_support;

use rule_support::*;

#[test]
fn mul_folds_into_qmul() {
    let body = "  %q1 = quantize %x : tensor<1x2x2x2xu8, q(0.07, 120)>\n  %d1 = dequantize %q1 : tensor<1x2x2x2xf32>\n  %m = mul %d, %d1 : tensor<1x2x2x2xf32>\n  %q2 = quantize %m : tensor<1x2x2x2xu8, q(0.02, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n";
    fires(
        "mul-to-qmul",
        "mul-to-qmul",
        &graph("1x2x2x2", "0.05", 128, "", body, "%d2"),
        STEP,
    );
    // Near miss: a float multiplier (not dequantized) keeps the float mul.
    let near = "  %m = mul %d, %x : tensor<1x2x2x2xf32>\n  %q2 = quantize %m : tensor<1x2x2x2xu8, q(0.02, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n";
    misses(
        "mul-to-qmul",
        &graph("1x2x2x2", "0.05", 128, "", near, "%d2"),
    );
}

fn avgpool_body(attrs: &str) -> String {
    format!("  %p = avgpool %d {{{attrs}}} : tensor<1x2x2x2xf32>\n  %q2 = quantize %p : tensor<1x2x2x2xu8, q(0.03, 100)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n")
}

#[test]
fn avgpool_folds_into_qavgpool() {
    let attrs = "kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[1, 1], ceil_mode=false, count_include_pad=false";
    fires(
        "avgpool-to-qavgpool",
        "avgpool-to-qavgpool",
        &graph("1x2x4x4", "0.05", 128, "", &avgpool_body(attrs), "%d2"),
        STEP,
    );
    // Near miss: ceil_mode windows counted with padding (ONNX Runtime's divisor differs).
    let near = "kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[1, 1], ceil_mode=true, count_include_pad=true";
    misses(
        "avgpool-to-qavgpool",
        &graph("1x2x3x3", "0.05", 128, "", &avgpool_body(near), "%d2"),
    );
}

#[test]
fn softmax_folds_into_qsoftmax() {
    let body = "  %s = softmax %d {axis=1} : tensor<2x8xf32>\n  %q2 = quantize %s : tensor<2x8xu8, q(0.00390625, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "softmax-to-qsoftmax",
        "softmax-to-qsoftmax",
        &graph("2x8", "0.05", 128, "", body, "%d2"),
        STEP,
    );
    // Near miss: a softmax whose input is not dequantized stays float.
    let near = "  %s = softmax %x {axis=1} : tensor<2x8xf32>\n  %q2 = quantize %s : tensor<2x8xu8, q(0.00390625, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    misses(
        "softmax-to-qsoftmax",
        &graph("2x8", "0.05", 128, "", near, "%d2"),
    );
}

#[test]
fn sixteen_bit_groups_stay_float() {
    // ONNX Runtime runs 16-bit QDQ groups in float (a u16 softmax used to crash the fold).
    let text = "module @t requant=float\n\nfunc @main(%x: tensor<2x8xf32>) {\n  %q = quantize %x : tensor<2x8xu16, q(0.0005, 32768)>\n  %d = dequantize %q : tensor<2x8xf32>\n  %s = softmax %d {axis=1} : tensor<2x8xf32>\n  %q2 = quantize %s : tensor<2x8xu16, q(0.0000152590219, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n  return %d2\n}\n";
    misses("softmax-to-qsoftmax", text);
}
