//! Snapshots and near misses of the split / concat rules (`passes/rules/split_concat.rules`):
//! both only move values, so every rewrite is bit-exact.

mod rule_support;

use rule_support::*;

/// `x -> Q(0.05, 3) -> DQ -> split in two -> Q(p0) / Q(p1) -> maxpool-free DQ -> add`.
fn split_graph(p0: &str, p1: &str) -> String {
    let body = format!(
        "  %a, %b = split %d {{axis=1, sizes=[4, 4]}} : tensor<2x4xf32>, tensor<2x4xf32>\n  %qa = quantize %a : tensor<2x4xu8, {p0}>\n  %qb = quantize %b : tensor<2x4xu8, {p1}>\n  %da = dequantize %qa : tensor<2x4xf32>\n  %db = dequantize %qb : tensor<2x4xf32>\n"
    );
    graph("2x8", "0.05", 3, "", &body, "%da, %db")
}

#[test]
fn split_outputs_share_the_input_parameters() {
    fires(
        "split-on-integers",
        "split-on-integers",
        &split_graph("q(0.05, 3)", "q(0.05, 3)"),
        EXACT,
    );
}

#[test]
fn split_output_with_its_own_grid_is_requantized_once() {
    let src = split_graph("q(0.05, 3)", "q(0.1, 0)");
    fires("split-requantize", "split-requantize", &src, EXACT);
    // The output with other parameters must not be treated as sharing the input's.
    let (_, out, _, _) = run(&src, &[]);
    assert_eq!(out.matches("= requantize ").count(), 1, "{out}");
}

#[test]
fn split_propagates_through_share_ops() {
    // Each output goes through a reshape with the same parameters: all on integers.
    let body = "  %a, %b = split %d {axis=1, sizes=[4, 4]} : tensor<2x4xf32>, tensor<2x4xf32>\n  %qa = quantize %a : tensor<2x4xu8, q(0.05, 3)>\n  %da = dequantize %qa : tensor<2x4xf32>\n  %r = reshape %da {shape=[8], allowzero=false} : tensor<8xf32>\n  %qr = quantize %r : tensor<8xu8, q(0.05, 3)>\n  %dr = dequantize %qr : tensor<8xf32>\n  %qb = quantize %b : tensor<2x4xu8, q(0.05, 3)>\n  %db = dequantize %qb : tensor<2x4xf32>\n";
    let src = graph("2x8", "0.05", 3, "", body, "%dr, %db");
    let (fired, out, before, after) = run(&src, &[]);
    for r in ["split-on-integers", "reshape-on-integers"] {
        assert!(fired.iter().any(|f| f == r), "{r} missing from {fired:?}");
    }
    let float_ops = out
        .lines()
        .filter(|l| l.contains("xf32>") && !l.contains("dequantize") && !l.contains("func"))
        .count();
    assert_eq!(float_ops, 0, "float ops left:\n{out}");
    same_outputs(&before, &after, EXACT);
}

/// Two inputs quantized with `pa` and `pb`, concatenated and quantized with `pt`.
fn concat_graph(pa: &str, pb: &str, pt: &str) -> String {
    format!(
        "module @t requant=float\n\nfunc @main(%x: tensor<2x3xf32>, %y: tensor<2x5xf32>) {{\n  %qx = quantize %x : tensor<2x3xu8, {pa}>\n  %qy = quantize %y : tensor<2x5xu8, {pb}>\n  %dx = dequantize %qx : tensor<2x3xf32>\n  %dy = dequantize %qy : tensor<2x5xf32>\n  %c = concat %dx, %dy {{axis=1}} : tensor<2x8xf32>\n  %qc = quantize %c : tensor<2x8xu8, {pt}>\n  %dc = dequantize %qc : tensor<2x8xf32>\n  return %dc\n}}\n"
    )
}

#[test]
fn concat_with_equal_parameters_concatenates_integers() {
    let src = concat_graph("q(0.05, 3)", "q(0.05, 3)", "q(0.05, 3)");
    fires("concat-on-integers", "concat-on-integers", &src, EXACT);
    let (_, out, _, _) = run(&src, &[]);
    assert!(!out.contains("= requantize "), "{out}");
}

#[test]
fn concat_with_different_parameters_requantizes_each_input_once() {
    let src = concat_graph("q(0.05, 3)", "q(0.1, 7)", "q(0.05, 3)");
    let (fired, out, before, after) = run(&src, &[]);
    assert!(fired.iter().any(|f| f == "concat-on-integers"), "{fired:?}");
    assert_eq!(out.matches("= requantize ").count(), 1, "{out}");
    same_outputs(&before, &after, EXACT);
}

#[test]
fn concat_with_per_axis_output_stays_float() {
    misses(
        "concat-on-integers",
        &concat_graph(
            "q(0.05, 3)",
            "q(0.05, 3)",
            "q(axis=0, scale=[0.05, 0.1], zp=[3, 3])",
        ),
    );
}

#[test]
fn concats_of_any_arity_fold() {
    let rule = "concat-on-integers";
    for n in [1, 3, 6] {
        let args: Vec<String> = (0..n).map(|i| format!("%x{i}")).collect();
        let params: Vec<String> = (0..n).map(|i| format!("%x{i}: tensor<2x2xf32>")).collect();
        let mut body = String::new();
        for i in 0..n {
            body += &format!("  %q{i} = quantize %x{i} : tensor<2x2xu8, q(0.0{}, {i})>\n  %d{i} = dequantize %q{i} : tensor<2x2xf32>\n", i + 1);
        }
        let ds: Vec<String> = (0..n).map(|i| format!("%d{i}")).collect();
        body += &format!(
            "  %c = concat {} {{axis=1}} : tensor<2x{}xf32>\n  %qc = quantize %c : tensor<2x{}xu8, q(0.02, 5)>\n  %dc = dequantize %qc : tensor<2x{}xf32>\n",
            ds.join(", "),
            2 * n,
            2 * n,
            2 * n
        );
        let src = format!(
            "module @t requant=float\n\nfunc @main({}) {{\n{body}  return %dc\n}}\n",
            params.join(", ")
        );
        let _ = args;
        fires(&format!("{rule}-{n}"), rule, &src, EXACT);
    }
}

#[test]
fn concat_with_a_float_input_stays_float() {
    // The second input is a graph input in float: no integer concat computes it.
    let src = concat_graph("q(0.05, 3)", "q(0.05, 3)", "q(0.05, 3)")
        .replace("concat %dx, %dy", "concat %dx, %y");
    misses("concat-on-integers", &src);
}
