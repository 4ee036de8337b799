//! Clamp merging into quantization parameters (family 3, `passes/rules/clamp_merge.rules`):
//! opt-in rules that recompute (s, z) for the clamped range. The merged graph is on a finer
//! grid, so outputs stay within one step of the original graph's grid.

mod rule_support;

use rule_support::*;

const MERGE: &[&str] = &["relu-merge-into-qparams", "clip-merge-into-qparams"];

/// `x -> Q/DQ -> act -> Q(0.04, 128) -> DQ`, returning `ret`, with `extra` lines.
fn act_graph(act: &str, extra: &str, ret: &str) -> String {
    let body = format!("  %r = {act} : tensor<2x8xf32>\n  %q2 = quantize %r : tensor<2x8xu8, q(0.04, 128)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n{extra}");
    graph("2x8", "0.05", 128, "", &body, ret)
}

#[test]
fn relu_merges_into_asymmetric_parameters() {
    let src = act_graph("relu %d", "", "%d2");
    fires_enabled(
        "relu-merge-into-qparams",
        "relu-merge-into-qparams",
        &src,
        STEP,
        MERGE,
    );
    let (_, out, _, _) = run_enabled(&src, &[], MERGE);
    // [0, 127 * 0.04] over 255 steps, zero point 0; no relu or clip left.
    assert!(out.contains("q(0.019921567, 0)"), "{out}");
    assert!(!out.contains("= relu") && !out.contains("= clip"), "{out}");
}

#[test]
fn clip_merges_into_parameters() {
    let src = act_graph("clip %d {min=-1, max=2}", "", "%d2");
    fires_enabled(
        "clip-merge-into-qparams",
        "clip-merge-into-qparams",
        &src,
        STEP,
        MERGE,
    );
}

#[test]
fn symmetric_parameters_stay_symmetric() {
    let body = "  %r = clip %d {min=-1, max=2} : tensor<2x8xf32>\n  %q2 = quantize %r : tensor<2x8xi8, q(0.04, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n";
    let src = graph("2x8", "0.05", 128, "", body, "%d2");
    let (fired, out, before, after) = run_enabled(&src, &[], MERGE);
    assert!(
        fired.iter().any(|f| f == "clip-merge-into-qparams"),
        "{fired:?}"
    );
    // amax = 2 over 127.5 steps, zero point 0.
    assert!(out.contains("xi8, q(0.015686275, 0)>"), "{out}");
    same_outputs(&before, &after, STEP);
}

#[test]
fn off_by_default() {
    misses("relu-merge-into-qparams", &act_graph("relu %d", "", "%d2"));
}

#[test]
fn not_when_the_quantized_value_is_a_graph_output() {
    let src = act_graph("relu %d", "", "%d2, %q2");
    let (fired, _, _, _) = run_enabled(&src, &[], MERGE);
    assert!(
        !fired.iter().any(|f| f == "relu-merge-into-qparams"),
        "{fired:?}"
    );
}

#[test]
fn not_when_another_user_needs_the_old_parameters() {
    let extra = "  %d3 = dequantize %q2 : tensor<2x8xf32>\n  %s = add %d2, %d3 : tensor<2x8xf32>\n";
    let src = act_graph("relu %d", extra, "%s");
    let (fired, _, _, _) = run_enabled(&src, &[], MERGE);
    assert!(
        !fired.iter().any(|f| f == "relu-merge-into-qparams"),
        "{fired:?}"
    );
}

#[test]
fn not_when_the_clamp_excludes_zero() {
    // clip(0.5, 2): the new range would have to contain 0, so the clip must stay.
    let src = act_graph("clip %d {min=0.5, max=2}", "", "%d2");
    let (fired, _, _, _) = run_enabled(&src, &[], MERGE);
    assert!(
        !fired.iter().any(|f| f == "clip-merge-into-qparams"),
        "{fired:?}"
    );
}
