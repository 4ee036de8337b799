//! Activation fusion (family 2): relu / clip after a conv or gemm become the integer op's
//! output clamp, and the near misses where they must not (another user needs the
//! unclamped values, or the value is a graph output).

mod rule_support;

use rule_support::*;

const W: &str = "const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\nconst @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])> = dense<[100, -50]>\n";

/// Q/DQ conv, then `act` on the float result, quantized with zero point 128 (so relu is
/// not absorbed by quantize's saturation), plus `extra` body lines.
fn conv_act(act: &str, extra: &str, ret: &str) -> String {
    let body = format!("  %wq = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %wd = dequantize %wq : tensor<2x2x1x1xf32>\n  %bq = const @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])>\n  %bd = dequantize %bq : tensor<2xf32>\n  %c = conv %d, %wd, %bd {{strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1}} : tensor<1x2x3x3xf32>\n  %r = {act} : tensor<1x2x3x3xf32>\n  %q2 = quantize %r : tensor<1x2x3x3xu8, q(0.01, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x3x3xf32>\n{extra}");
    graph("1x2x3x3", "0.05", 128, W, &body, ret)
}

#[test]
fn relu_after_conv_becomes_the_qconv_clamp() {
    let src = conv_act("relu %c", "", "%d2");
    fires("relu-through-quantize", "relu-through-quantize", &src, STEP);
    fires("clip-into-integer-op", "clip-into-integer-op", &src, STEP);
    let (_, out, _, _) = run(&src, &[]);
    assert!(out.contains("clamp=[128, 255]"), "{out}");
    assert!(!out.contains("= relu") && !out.contains("= clip"), "{out}");
}

#[test]
fn relu6_after_conv_becomes_the_qconv_clamp() {
    let src = conv_act("clip %c {min=0, max=0.5}", "", "%d2");
    let (fired, out, before, after) = run(&src, &[]);
    assert!(
        fired.iter().any(|f| f == "clip-into-integer-op"),
        "{fired:?}"
    );
    assert!(out.contains("clamp=[128, 178]"), "{out}");
    same_outputs(&before, &after, STEP);
}

#[test]
fn clamp_stays_when_the_conv_result_has_another_user() {
    // The unclamped qconv result is also dequantized and returned: it keeps its values.
    let src = "module @t requant=float\n\nconst @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\n\nfunc @main(%x: tensor<1x2x2x1xf32>) {\n  %q = quantize %x : tensor<1x2x2x1xu8, q(0.05, 128)>\n  %w = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %c = qconv %q, %w {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  %r = clip %c {min=128, max=200} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  %d1 = dequantize %r : tensor<1x2x2x1xf32>\n  %d2 = dequantize %c : tensor<1x2x2x1xf32>\n  return %d1, %d2\n}\n";
    misses("clip-into-integer-op", src);
}

#[test]
fn clamp_stays_when_the_conv_result_is_a_graph_output() {
    let src = "module @t requant=float\n\nconst @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\n\nfunc @main(%x: tensor<1x2x2x1xf32>) {\n  %q = quantize %x : tensor<1x2x2x1xu8, q(0.05, 128)>\n  %w = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %c = qconv %q, %w {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  %r = clip %c {min=128, max=200} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  return %r, %c\n}\n";
    misses("clip-into-integer-op", src);
}

#[test]
fn integer_clip_after_qconv_fuses() {
    let src = "module @t requant=float\n\nconst @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\n\nfunc @main(%x: tensor<1x2x2x1xf32>) {\n  %q = quantize %x : tensor<1x2x2x1xu8, q(0.05, 128)>\n  %w = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %c = qconv %q, %w {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  %r = clip %c {min=128, max=200} : tensor<1x2x2x1xu8, q(0.01, 128)>\n  return %r\n}\n";
    let (fired, out, before, after) = run(src, &[]);
    assert!(
        fired.iter().any(|f| f == "clip-into-integer-op"),
        "{fired:?}"
    );
    assert!(out.contains("clamp=[128, 200]"), "{out}");
    same_outputs(&before, &after, EXACT);
}
