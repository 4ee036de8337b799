//! Snapshots of the remaining share-op, redundant-pair, gemm and batchnorm rules, so that
//! every built-in rule has one (checked by `rules.rs`).

mod rule_support;

use rule_support::*;

/// `op` on the dequantized input of shape `in_shape`, result `out_shape`, quantized with
/// `(s, z)` and dequantized.
fn share(op: &str, in_shape: &str, out_shape: &str, s: &str, z: i32) -> String {
    // An op reading `%i` (gather's indices) gets that constant.
    let (consts, idx) = if op.contains("%i") {
        (
            "const @idx : tensor<3xi64> = dense<[3, -4, 1]>\n",
            "  %i = const @idx : tensor<3xi64>\n",
        )
    } else {
        ("", "")
    };
    let body = format!("{idx}  %p = {op} : tensor<{out_shape}xf32>\n  %q2 = quantize %p : tensor<{out_shape}xu8, q({s}, {z})>\n  %d2 = dequantize %q2 : tensor<{out_shape}xf32>\n");
    graph(in_shape, "0.05", 3, consts, &body, "%d2")
}

#[test]
fn layout_ops_run_on_integers() {
    let cases = [
        (
            "global-maxpool-on-integers",
            "global_maxpool %d",
            "1x2x3x3",
            "1x2x1x1",
        ),
        (
            "squeeze-on-integers",
            "squeeze %d {axes=[0]}",
            "1x2x4",
            "2x4",
        ),
        (
            "unsqueeze-on-integers",
            "unsqueeze %d {axes=[0]}",
            "2x4",
            "1x2x4",
        ),
        (
            "slice-on-integers",
            "slice %d {starts=[1], ends=[3], axes=[1], steps=[1]}",
            "2x4",
            "2x2",
        ),
        ("identity-on-integers", "identity %d", "2x4", "2x4"),
        ("gather-on-integers", "gather %d, %i {axis=1}", "2x4", "2x3"),
    ];
    for (rule, op, i, o) in cases {
        fires(rule, rule, &share(op, i, o, "0.05", 3), EXACT);
        // Near miss: other output parameters and no requantize rule for this op kind
        // keep the float op (or, for the ops with one, a requantize).
        let (fired, _, _, _) = run(&share(op, i, o, "0.1", 0), &[]);
        assert!(
            !fired.iter().any(|f| f == rule),
            "{rule} fired with other parameters"
        );
    }
}

#[test]
fn layout_ops_requantize_for_other_parameters() {
    let cases = [
        (
            "reshape-requantize",
            "reshape %d {shape=[8], allowzero=false}",
            "2x4",
            "8",
        ),
        ("flatten-requantize", "flatten %d {axis=1}", "2x2x2", "2x4"),
    ];
    for (rule, op, i, o) in cases {
        fires(rule, rule, &share(op, i, o, "0.1", 0), EXACT);
        misses(rule, &share(op, i, o, "0.05", 3));
    }
}

#[test]
fn requantize_to_the_same_parameters_vanishes() {
    let body = "  %r = requantize %q : tensor<2x4xu8, q(0.05, 3)>\n  %d2 = dequantize %r : tensor<2x4xf32>\n";
    let src = graph("2x4", "0.05", 3, "", body, "%d2");
    fires("requantize-identity", "requantize-identity", &src, EXACT);
    let other = body.replace("q(0.05, 3)>\n  %d2", "q(0.1, 3)>\n  %d2");
    misses(
        "requantize-identity",
        &graph("2x4", "0.05", 3, "", &other, "%d2"),
    );
}

const GEMM_CONSTS: &str = "const @w : tensor<3x4xi8, q(axis=0, scale=[0.02, 0.01, 0.03], zp=[0, 0, 0])> = dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]>\nconst @b : tensor<3xi32, q(axis=0, scale=[0.001, 0.0005, 0.0015], zp=[0, 0, 0])> = dense<[100, -200, 300]>\n";

fn gemm_body(bias: &str) -> String {
    format!("  %wq = const @w : tensor<3x4xi8, q(axis=0, scale=[0.02, 0.01, 0.03], zp=[0, 0, 0])>\n  %wd = dequantize %wq : tensor<3x4xf32>\n  %bq = const @b : tensor<3xi32, q(axis=0, scale=[0.001, 0.0005, 0.0015], zp=[0, 0, 0])>\n  %bd = dequantize %bq : tensor<3xf32>\n  %g = gemm %d, %wd{bias} {{alpha=1, beta=1, trans_a=false, trans_b=true}} : tensor<2x3xf32>\n  %q2 = quantize %g : tensor<2x3xu8, q(0.05, 100)>\n  %d2 = dequantize %q2 : tensor<2x3xf32>\n")
}

#[test]
fn gemm_with_int32_bias_or_none_folds() {
    fires(
        "gemm-to-qgemm",
        "gemm-to-qgemm",
        &graph("2x4", "0.05", 128, GEMM_CONSTS, &gemm_body(", %bd"), "%d2"),
        STEP,
    );
    fires(
        "gemm-no-bias-to-qgemm",
        "gemm-no-bias-to-qgemm",
        &graph("2x4", "0.05", 128, GEMM_CONSTS, &gemm_body(""), "%d2"),
        STEP,
    );
    // Near miss: the bias grid is s_x * s_w only for input scale 0.05.
    misses(
        "gemm-to-qgemm",
        &graph("2x4", "0.04", 128, GEMM_CONSTS, &gemm_body(", %bd"), "%d2"),
    );
}

#[test]
fn batchnorm_into_qconv_when_enabled() {
    // Disabled by every built-in target (it skips a rounding the graph performs); with
    // --enable-rule it folds, and the result stays within a step on this small graph.
    let consts = "const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\nconst @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])> = dense<[100, -50]>\nconst @g : tensor<2xf32> = dense<[1.5, -0.5]>\nconst @beta : tensor<2xf32> = dense<[0.1, 0.2]>\nconst @m : tensor<2xf32> = dense<[0.3, -0.1]>\nconst @v : tensor<2xf32> = dense<[0.9, 2]>\n";
    let body = "  %w = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %b = const @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])>\n  %c = qconv %q, %w, %b {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x3x3xu8, q(0.02, 128)>\n  %cd = dequantize %c : tensor<1x2x3x3xf32>\n  %g = const @g : tensor<2xf32>\n  %beta = const @beta : tensor<2xf32>\n  %m = const @m : tensor<2xf32>\n  %v = const @v : tensor<2xf32>\n  %bn = batchnorm %cd, %g, %beta, %m, %v {epsilon=0.00001, momentum=0.9, training=false} : tensor<1x2x3x3xf32>\n  %q2 = quantize %bn : tensor<1x2x3x3xu8, q(0.03, 100)>\n  %d2 = dequantize %q2 : tensor<1x2x3x3xf32>\n";
    let src = graph("1x2x3x3", "0.05", 128, consts, body, "%d2");
    misses("batchnorm-into-qconv", &src);
    let (fired, out, _, _) = run_enabled(&src, &[], &["batchnorm-into-qconv"]);
    assert!(
        fired.iter().any(|f| f == "batchnorm-into-qconv"),
        "{fired:?}"
    );
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("batchnorm-into-qconv", format!("{src}\n// ---- after -O2 --enable-rule batchnorm-into-qconv ----\n{out}"));
    });
}

#[test]
fn pad_runs_on_integers_with_the_zero_point_as_fill() {
    let pad = "pad %d {mode=constant, pads=[0, 1, 0, 2], value=0}";
    fires(
        "pad-on-integers",
        "pad-on-integers",
        &share(pad, "2x4", "2x7", "0.05", 3),
        EXACT,
    );
    let (_, out, _, _) = run(&share(pad, "2x4", "2x7", "0.05", 3), &[]);
    assert!(out.contains("value=3}"), "{out}");
    fires(
        "pad-requantize",
        "pad-requantize",
        &share(pad, "2x4", "2x7", "0.1", 0),
        EXACT,
    );
    // Near miss: a fill value that is not on the input grid cannot be stored exactly.
    let off_grid = "pad %d {mode=constant, pads=[0, 1, 0, 2], value=0.123}";
    misses("pad-on-integers", &share(off_grid, "2x4", "2x7", "0.05", 3));
    misses("pad-requantize", &share(off_grid, "2x4", "2x7", "0.1", 0));
}

#[test]
fn transpose_round_trips_cancel_and_pairs_compose() {
    let nhwc = "  %t1 = transpose %q {perm=[0, 2, 3, 1]} : tensor<1x3x4x2xu8, q(0.05, 3)>\n  %t2 = transpose %t1 {perm=[0, 3, 1, 2]} : tensor<1x2x3x4xu8, q(0.05, 3)>\n  %d2 = dequantize %t2 : tensor<1x2x3x4xf32>\n";
    let src = graph("1x2x3x4", "0.05", 3, "", nhwc, "%d2");
    fires(
        "transpose-pair-cancels",
        "transpose-pair-cancels",
        &src,
        EXACT,
    );
    let (_, out, _, _) = run(&src, &[]);
    assert!(!out.contains("= transpose"), "{out}");
    let two = "  %t1 = transpose %q {perm=[0, 2, 3, 1]} : tensor<1x3x4x2xu8, q(0.05, 3)>\n  %t2 = transpose %t1 {perm=[0, 2, 1, 3]} : tensor<1x4x3x2xu8, q(0.05, 3)>\n  %d2 = dequantize %t2 : tensor<1x4x3x2xf32>\n";
    let src = graph("1x2x3x4", "0.05", 3, "", two, "%d2");
    fires(
        "transpose-pair-composes",
        "transpose-pair-composes",
        &src,
        EXACT,
    );
    let (_, out, _, _) = run(&src, &[]);
    assert_eq!(out.matches("= transpose").count(), 1, "{out}");
    assert!(out.contains("perm=[0, 3, 2, 1]"), "{out}");
    misses("transpose-pair-cancels", &src);
}

#[test]
fn clip_moves_before_a_transpose_and_fuses_into_the_qconv() {
    let body = "  %w = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %c = qconv %q, %w {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x3x3xu8, q(0.01, 128)>\n  %t = transpose %c {perm=[0, 2, 3, 1]} : tensor<1x3x3x2xu8, q(0.01, 128)>\n  %r = clip %t {min=128, max=200} : tensor<1x3x3x2xu8, q(0.01, 128)>\n  %d2 = dequantize %r : tensor<1x3x3x2xf32>\n";
    let consts = "const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\n";
    let src = graph("1x2x3x3", "0.05", 128, consts, body, "%d2");
    fires(
        "clip-before-transpose",
        "clip-before-transpose",
        &src,
        EXACT,
    );
    let (fired, out, _, _) = run(&src, &[]);
    assert!(
        fired.iter().any(|f| f == "clip-into-integer-op"),
        "{fired:?}"
    );
    assert!(
        out.contains("clamp=[128, 200]") && !out.contains("= clip"),
        "{out}"
    );
}
