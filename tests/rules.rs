//! One snapshot per rewrite rule (IR text in, IR text out, in `snapshots/`) and a near-miss
//! case where the rule must not fire. Every case also checks that the interpreter gives the
//! same outputs before and after -O2 on generated inputs (exact for integer rewrites; the
//! Q/DQ folding rules replace float arithmetic by integer arithmetic, so those compare
//! within one quantization step).

mod rule_support;

use qcc_tests::Tolerance;
use rule_support::*;

#[test]
fn qdq_identity() {
    let body = "  %q2 = quantize %d : tensor<2x8xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "qdq-identity",
        "qdq-identity",
        &graph("2x8", "0.05", 3, "", body, "%d2"),
        EXACT,
    );
    let other = "  %q2 = quantize %d : tensor<2x8xu8, q(0.07, 3)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    misses("qdq-identity", &graph("2x8", "0.05", 3, "", other, "%d2"));
}

#[test]
fn qdq_to_requantize() {
    let body = "  %q2 = quantize %d : tensor<2x8xu8, q(0.07, 3)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "qdq-to-requantize",
        "qdq-to-requantize",
        &graph("2x8", "0.05", 3, "", body, "%d2"),
        EXACT,
    );
    let same = "  %q2 = quantize %d : tensor<2x8xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    misses(
        "qdq-to-requantize",
        &graph("2x8", "0.05", 3, "", same, "%d2"),
    );
}

#[test]
fn relu_into_quantize() {
    let body = "  %r = relu %d : tensor<2x8xf32>\n  %q2 = quantize %r : tensor<2x8xu8, q(0.02, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "relu-into-quantize",
        "relu-into-quantize",
        &graph("2x8", "0.05", 128, "", body, "%d2"),
        EXACT,
    );
    // Zero point 10: quantize keeps small negatives, so the relu is needed.
    let near = "  %r = relu %d : tensor<2x8xf32>\n  %q2 = quantize %r : tensor<2x8xu8, q(0.02, 10)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    misses(
        "relu-into-quantize",
        &graph("2x8", "0.05", 128, "", near, "%d2"),
    );
}

#[test]
fn clip_through_quantize_and_full_range() {
    let body = "  %c = clip %d {min=0, max=6} : tensor<2x8xf32>\n  %q2 = quantize %c : tensor<2x8xu8, q(0.05, 128)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "clip-through-quantize",
        "clip-through-quantize",
        &graph("2x8", "0.05", 128, "", body, "%d2"),
        EXACT,
    );
    // A clip wider than the grid's range disappears entirely.
    let wide = "  %c = clip %d {min=-100, max=100} : tensor<2x8xf32>\n  %q2 = quantize %c : tensor<2x8xu8, q(0.05, 128)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "clip-full-range",
        "clip-full-range",
        &graph("2x8", "0.05", 128, "", wide, "%d2"),
        EXACT,
    );
    // Per-axis output parameters: the clip cannot be put on one grid.
    let near = "  %c = clip %d {min=0, max=6} : tensor<2x8xf32>\n  %q2 = quantize %c : tensor<2x8xu8, q(axis=0, scale=[0.05, 0.1], zp=[128, 128])>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    misses(
        "clip-through-quantize",
        &graph("2x8", "0.05", 128, "", near, "%d2"),
    );
}

#[test]
fn share_ops_run_on_integers() {
    let pool = "  %p = maxpool %d {kernel=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], dilations=[1, 1], ceil_mode=false, count_include_pad=false} : tensor<1x2x2x2xf32>\n";
    let same = format!("{pool}  %q2 = quantize %p : tensor<1x2x2x2xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n");
    fires(
        "maxpool-on-integers",
        "maxpool-on-integers",
        &graph("1x2x4x4", "0.05", 3, "", &same, "%d2"),
        EXACT,
    );
    let other = format!("{pool}  %q2 = quantize %p : tensor<1x2x2x2xu8, q(0.1, 0)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n");
    fires(
        "maxpool-requantize",
        "maxpool-requantize",
        &graph("1x2x4x4", "0.05", 3, "", &other, "%d2"),
        EXACT,
    );
    misses(
        "maxpool-on-integers",
        &graph("1x2x4x4", "0.05", 3, "", &other, "%d2"),
    );
    let flat = "  %f = flatten %d {axis=1} : tensor<2x8xf32>\n  %q2 = quantize %f : tensor<2x8xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    fires(
        "flatten-on-integers",
        "flatten-on-integers",
        &graph("2x2x4", "0.05", 3, "", flat, "%d2"),
        EXACT,
    );
    let reshape = "  %r = reshape %d {shape=[4, 4], allowzero=false} : tensor<4x4xf32>\n  %q2 = quantize %r : tensor<4x4xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<4x4xf32>\n";
    fires(
        "reshape-on-integers",
        "reshape-on-integers",
        &graph("2x8", "0.05", 3, "", reshape, "%d2"),
        EXACT,
    );
    let tr = "  %r = transpose %d {perm=[1, 0]} : tensor<8x2xf32>\n  %q2 = quantize %r : tensor<8x2xu8, q(0.05, 3)>\n  %d2 = dequantize %q2 : tensor<8x2xf32>\n";
    fires(
        "transpose-on-integers",
        "transpose-on-integers",
        &graph("2x8", "0.05", 3, "", tr, "%d2"),
        EXACT,
    );
}

const W_CONV: &str = "const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])> = dense<[10, -20, 30, 40]>\nconst @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])> = dense<[100, -50]>\nconst @bf : tensor<2xf32> = dense<[0.05, -0.05]>\n";

fn conv_body(bias: &str, bias_def: &str, out_zp: i32) -> String {
    format!("  %wq = const @w : tensor<2x2x1x1xi8, q(axis=0, scale=[0.01, 0.02], zp=[0, 0])>\n  %wd = dequantize %wq : tensor<2x2x1x1xf32>\n{bias_def}  %c = conv %d, %wd{bias} {{strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1}} : tensor<1x2x3x3xf32>\n  %q2 = quantize %c : tensor<1x2x3x3xu8, q(0.01, {out_zp})>\n  %d2 = dequantize %q2 : tensor<1x2x3x3xf32>\n")
}

#[test]
fn conv_folds_into_qconv() {
    let int_bias = "  %bq = const @b : tensor<2xi32, q(axis=0, scale=[0.0005, 0.001], zp=[0, 0])>\n  %bd = dequantize %bq : tensor<2xf32>\n";
    fires(
        "conv-to-qconv",
        "conv-to-qconv",
        &graph(
            "1x2x3x3",
            "0.05",
            128,
            W_CONV,
            &conv_body(", %bd", int_bias, 128),
            "%d2",
        ),
        STEP,
    );
    let float_bias = "  %bf = const @bf : tensor<2xf32>\n";
    fires(
        "conv-float-bias-to-qconv",
        "conv-float-bias-to-qconv",
        &graph(
            "1x2x3x3",
            "0.05",
            128,
            W_CONV,
            &conv_body(", %bf", float_bias, 128),
            "%d2",
        ),
        STEP,
    );
    fires(
        "conv-no-bias-to-qconv",
        "conv-no-bias-to-qconv",
        &graph(
            "1x2x3x3",
            "0.05",
            128,
            W_CONV,
            &conv_body("", "", 128),
            "%d2",
        ),
        STEP,
    );
    // Near miss: the int32 bias is not on the s_x * s_w grid (input scale 0.04, not 0.05).
    misses(
        "conv-to-qconv",
        &graph(
            "1x2x3x3",
            "0.04",
            128,
            W_CONV,
            &conv_body(", %bd", int_bias, 128),
            "%d2",
        ),
    );
}

#[test]
fn gemm_and_matmul_fold() {
    let consts = "const @w : tensor<3x4xi8, q(0.02, 0)> = dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]>\nconst @b : tensor<3xf32> = dense<[0.1, 0.2, -0.3]>\nconst @m : tensor<4x3xi8, q(axis=1, scale=[0.01, 0.02, 0.03], zp=[0, 0, 0])> = dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]>\n";
    let gemm = "  %wq = const @w : tensor<3x4xi8, q(0.02, 0)>\n  %wd = dequantize %wq : tensor<3x4xf32>\n  %b = const @b : tensor<3xf32>\n  %g = gemm %d, %wd, %b {alpha=1, beta=1, trans_a=false, trans_b=true} : tensor<2x3xf32>\n  %q2 = quantize %g : tensor<2x3xu8, q(0.05, 100)>\n  %d2 = dequantize %q2 : tensor<2x3xf32>\n";
    fires(
        "gemm-float-bias-to-qgemm",
        "gemm-float-bias-to-qgemm",
        &graph("2x4", "0.05", 128, consts, gemm, "%d2"),
        STEP,
    );
    let mm = "  %mq = const @m : tensor<4x3xi8, q(axis=1, scale=[0.01, 0.02, 0.03], zp=[0, 0, 0])>\n  %md = dequantize %mq : tensor<4x3xf32>\n  %y = matmul %d, %md : tensor<2x3xf32>\n  %q2 = quantize %y : tensor<2x3xu8, q(0.05, 100)>\n  %d2 = dequantize %q2 : tensor<2x3xf32>\n";
    fires(
        "matmul-to-qmatmul",
        "matmul-to-qmatmul",
        &graph("2x4", "0.05", 128, consts, mm, "%d2"),
        STEP,
    );
    // Near miss: beta = 0.5 scales the bias, which the int32 accumulator cannot.
    let half = gemm.replace("beta=1,", "beta=0.5,");
    misses(
        "gemm-float-bias-to-qgemm",
        &graph("2x4", "0.05", 128, consts, &half, "%d2"),
    );
}

#[test]
fn add_and_global_avgpool_fold() {
    let add = "  %q1 = quantize %x : tensor<1x2x2x2xu8, q(0.07, 120)>\n  %d1 = dequantize %q1 : tensor<1x2x2x2xf32>\n  %s = add %d, %d1 : tensor<1x2x2x2xf32>\n  %q2 = quantize %s : tensor<1x2x2x2xu8, q(0.1, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n";
    fires(
        "add-to-qadd",
        "add-to-qadd",
        &graph("1x2x2x2", "0.05", 128, "", add, "%d2"),
        STEP,
    );
    let gap = "  %g = global_avgpool %d : tensor<1x2x1x1xf32>\n  %q2 = quantize %g : tensor<1x2x1x1xu8, q(0.01, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x1x1xf32>\n";
    fires(
        "global-avgpool-to-qglobal-avgpool",
        "global-avgpool-to-qglobal-avgpool",
        &graph("1x2x2x2", "0.05", 128, "", gap, "%d2"),
        STEP,
    );
    // Near miss: a float add whose operand is not dequantized stays float.
    let near = "  %s = add %d, %x : tensor<1x2x2x2xf32>\n  %q2 = quantize %s : tensor<1x2x2x2xu8, q(0.1, 128)>\n  %d2 = dequantize %q2 : tensor<1x2x2x2xf32>\n";
    misses(
        "add-to-qadd",
        &graph("1x2x2x2", "0.05", 128, "", near, "%d2"),
    );
}

#[test]
fn batchnorm_folds_into_float_conv() {
    let consts = "const @w : tensor<2x2x1x1xf32> = dense<[0.5, -1, 2, 0.25]>\nconst @b : tensor<2xf32> = dense<[0.1, -0.2]>\nconst @g : tensor<2xf32> = dense<[1.5, -0.5]>\nconst @be : tensor<2xf32> = dense<[0.3, 0.4]>\nconst @mu : tensor<2xf32> = dense<[0.05, -0.1]>\nconst @var : tensor<2xf32> = dense<[2, 0.5]>\n";
    let src = format!("module @t requant=float\n\n{consts}\nfunc @main(%x: tensor<1x2x3x3xf32>) {{\n  %w = const @w : tensor<2x2x1x1xf32>\n  %b = const @b : tensor<2xf32>\n  %g = const @g : tensor<2xf32>\n  %be = const @be : tensor<2xf32>\n  %mu = const @mu : tensor<2xf32>\n  %var = const @var : tensor<2xf32>\n  %c = conv %x, %w, %b {{strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1}} : tensor<1x2x3x3xf32>\n  %y = batchnorm %c, %g, %be, %mu, %var {{epsilon=0.00001, momentum=0.9, training=false}} : tensor<1x2x3x3xf32>\n  return %y\n}}\n");
    fires(
        "batchnorm-into-conv",
        "batchnorm-into-conv",
        &src,
        Tolerance::Relative {
            rtol: 1e-5,
            atol: 1e-6,
        },
    );
    // Near miss: the weights are a run-time input, so there is nothing to fold into.
    let near = src
        .replace(
            "%x: tensor<1x2x3x3xf32>) {",
            "%x: tensor<1x2x3x3xf32>, %wi: tensor<2x2x1x1xf32>) {",
        )
        .replace("conv %x, %w, %b", "conv %x, %wi, %b");
    misses("batchnorm-into-conv", &near);
}

#[test]
fn a_rule_file_loads_from_disk() {
    let path = qcc_tests::fixture("rules/extra.rules");
    let src = std::fs::read_to_string(&path).unwrap();
    let rules = qcc_passes::parse_rules("extra.rules", &src).unwrap();
    assert_eq!(rules.len(), 1);
    let body = "  %u = unsqueeze %d {axes=[0]} : tensor<1x2x8xf32>\n  %q2 = quantize %u : tensor<1x2x8xu8, q(0.1, 0)>\n  %d2 = dequantize %q2 : tensor<1x2x8xf32>\n";
    let src = graph("2x8", "0.05", 3, "", body, "%d2");
    let (without, ..) = run(&src, &[]);
    assert!(!without.iter().any(|r| r == "unsqueeze-requantize"));
    let (with, out, before, after) = run(&src, &rules);
    assert!(with.iter().any(|r| r == "unsqueeze-requantize"), "{with:?}");
    assert!(out.contains("requantize"), "{out}");
    same_outputs(&before, &after, EXACT);
}

#[test]
fn malformed_rule_files_name_file_and_line() {
    let cases = [
        (
            "rule x:\n    (relu ?x) => ?x\n",
            "1: rule 'x' needs a comment",
        ),
        (
            "# doc\nrule x:\n    (qconv3 ?x) => ?x\n",
            "3: bad pattern '(qconv3 ?x)': unknown op 'qconv3'",
        ),
        (
            "# doc\nrule x:\n    (relu ?x) => ?x\n    if no_such_condition(?x)\n",
            "4: unknown condition 'no_such_condition'",
        ),
        (
            "# doc\nrule x:\n    (relu ?x) => ?y\n",
            "3: ?y on the right-hand side is never bound",
        ),
        (
            "# doc\nrule x:\n    (conv ?x ?w) => ?x\n",
            "3: 'conv' takes ?attrs then 3 operand(s)",
        ),
        (
            "# doc\nrule x:\n    (relu ?x) => ?x\n\n# doc\nrule x:\n    (relu ?x) => ?x\n",
            "6: rule 'x' is defined twice",
        ),
        (
            "# doc\nrule x:\n    if per_tensor(?x)\n",
            "2: rule 'x' has no 'LEFT => RIGHT' line",
        ),
        (
            "# doc\nrule x:\n    (relu ?x) => ?x\n    if per_tensor(?x, ?x)\n",
            "4: per_tensor takes 1 argument(s), got 2",
        ),
        ("garbage\n", "1: expected 'rule NAME:'"),
    ];
    for (src, want) in cases {
        let e = qcc_passes::parse_rules("bad.rules", src)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("bad.rules:") && e.contains(want),
            "{e} lacks {want}"
        );
    }
}

#[test]
fn builtin_rules_parse_and_every_rule_has_a_snapshot() {
    let rules = qcc_passes::rules::builtin_rules().unwrap();
    let snaps = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots")).unwrap();
    let names: Vec<String> = snaps
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| !names.iter().any(|n| n.starts_with(&format!("{r}.snap"))))
        .collect();
    assert!(missing.is_empty(), "rules without a snapshot: {missing:?}");
}
