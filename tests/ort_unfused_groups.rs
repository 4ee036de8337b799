//! Q/DQ groups ONNX Runtime leaves in float (`tests/fixtures/ort-qdq-unfused`, made by
//! `scripts/make_ort_qdq_fixtures.py`): an int8 activation whose DequantizeLinear is shared
//! stays int8, so on x86 ONNX Runtime runs its consumers in float, and with ORT_ENABLE_ALL a
//! float pool over a multiple of 16 channels takes the NCHWc kernel's summation order. At
//! -O2 (interpreter and JIT) every output equals ONNX Runtime's optimised session, at -O0
//! its unoptimised one.

use qcc::npy::read_npy;
use qcc_ir::Engine;
use qcc_passes::{optimize, OptLevel, Target};
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

fn check(level: OptLevel, reference: &str, jit: bool) {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("ort-qdq-unfused"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 2, "ort-qdq-unfused fixtures missing");
    let mut failures = Vec::new();
    for dir in dirs {
        let module = optimize(
            qcc::load_model(&dir.join("model.onnx")).unwrap(),
            level,
            Target::default(),
        );
        let inputs: Vec<_> = indexed_files(&dir, "input")
            .iter()
            .map(|p| read_npy(p).unwrap())
            .collect();
        let outs = if jit {
            qcc_codegen::JitEngine::new(&module, qcc_codegen::Target::Native)
                .unwrap()
                .run(&inputs)
                .unwrap()
        } else {
            qcc_ir::interp::run(&module, &inputs).unwrap()
        };
        let refs = indexed_files(&dir, reference);
        assert_eq!(outs.len(), refs.len(), "{}", dir.display());
        for (k, (o, r)) in outs.iter().zip(&refs).enumerate() {
            if let Err(e) = compare(o, &read_npy(r).unwrap(), Tolerance::Exact) {
                failures.push(format!("{} output {k}: {e}", dir.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn o2_matches_onnx_runtime_optimised() {
    check(OptLevel::O2, "expected_ort_opt", false);
}

#[test]
fn o2_jit_matches_onnx_runtime_optimised() {
    check(OptLevel::O2, "expected_ort_opt", true);
}

#[test]
fn o0_matches_onnx_runtime_unoptimised() {
    check(OptLevel::O0, "expected_ort_noopt", false);
}
