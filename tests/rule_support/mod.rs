//! Helpers shared by the rule snapshot tests: run -O2 on IR text, check that a rule fires
//! (recording an insta snapshot) or misses, and compare interpreter outputs before/after.

#![allow(dead_code)]

use qcc_passes::{optimize_with, OptLevel, Options};
use qcc_tests::{compare, Tolerance};

/// Runs -O2 on `src`, returns (rules that fired, printed result).
pub fn run(
    src: &str,
    extra: &[qcc_passes::Rule],
) -> (Vec<String>, String, qcc_ir::Module, qcc_ir::Module) {
    run_enabled(src, extra, &[])
}

/// As [`run`], also running rules the target disables.
pub fn run_enabled(
    src: &str,
    extra: &[qcc_passes::Rule],
    enabled: &[&str],
) -> (Vec<String>, String, qcc_ir::Module, qcc_ir::Module) {
    let before = qcc_ir::text::parse_module(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    qcc_ir::verify::verify_module(&before).unwrap();
    let opts = Options {
        level: OptLevel::O2,
        extra_rules: extra.to_vec(),
        enabled_rules: enabled.iter().map(|r| r.to_string()).collect(),
        // The rules alone, without ONNX Runtime's bias quantization ahead of them.
        skip_ort_normalization: true,
        ..Options::default()
    };
    let (after, report) = optimize_with(before.clone(), &opts).unwrap();
    qcc_ir::verify::verify_module(&after).unwrap();
    assert!(!report.limit_hit, "saturation limit hit");
    let fired = report.fired.keys().cloned().collect();
    (fired, qcc_ir::text::print_module(&after), before, after)
}

/// The interpreter agrees before and after on generated inputs.
pub fn same_outputs(before: &qcc_ir::Module, after: &qcc_ir::Module, tol: Tolerance) {
    for seed in 0..4 {
        let inputs = qcc::bench::generate_inputs(before, 2, seed);
        let a = qcc_ir::interp::run(before, &inputs).unwrap();
        let b = qcc_ir::interp::run(after, &inputs).unwrap();
        for (x, y) in a.iter().zip(&b) {
            compare(y, x, tol).unwrap_or_else(|e| panic!("outputs differ: {e}"));
        }
    }
}

/// A positive case: `rule` fires, the snapshot records the rewrite, outputs agree.
pub fn fires(name: &str, rule: &str, src: &str, tol: Tolerance) {
    fires_enabled(name, rule, src, tol, &[]);
}

/// As [`fires`], with rules the target disables turned on.
pub fn fires_enabled(name: &str, rule: &str, src: &str, tol: Tolerance, enabled: &[&str]) {
    let (fired, out, before, after) = run_enabled(src, &[], enabled);
    assert!(
        fired.iter().any(|r| r == rule),
        "{rule} did not fire (fired: {fired:?})"
    );
    same_outputs(&before, &after, tol);
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, format!("{src}\n// ---- after -O2 (fired: {}) ----\n{out}", fired.join(", ")));
    });
}

/// A near miss: `rule` must not fire on `src`.
pub fn misses(rule: &str, src: &str) {
    let (fired, _, before, after) = run(src, &[]);
    assert!(
        !fired.iter().any(|r| r == rule),
        "{rule} fired on its near miss"
    );
    same_outputs(&before, &after, Tolerance::Steps(1.0));
}

pub const EXACT: Tolerance = Tolerance::Exact;
pub const STEP: Tolerance = Tolerance::Steps(1.0);

/// `x -> quantize(u8, s, z) -> dequantize -> BODY -> return`, BODY reading `%d`.
pub fn graph(shape: &str, s: &str, z: i32, consts: &str, body: &str, ret: &str) -> String {
    format!(
        "module @t requant=float\n\n{consts}\nfunc @main(%x: tensor<{shape}xf32>) {{\n  %q = quantize %x : tensor<{shape}xu8, q({s}, {z})>\n  %d = dequantize %q : tensor<{shape}xf32>\n{body}  return {ret}\n}}\n"
    )
}
