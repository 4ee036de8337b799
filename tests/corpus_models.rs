//! Every quantized model in `tests/fixtures/models`: the reference interpreter at -O0 must
//! match ONNX Runtime's unoptimised run (Q/DQ executed as written) within one quantization
//! step with the same argmax, and the IR text must round-trip.

use qcc::npy::read_npy;
use qcc_tests::{compare, fixture, Tolerance};

fn model_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("models"))
        .expect("fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "model fixtures missing");
    dirs
}

#[test]
fn interpreter_matches_onnx_runtime_noopt() {
    let mut failures = Vec::new();
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let result = (|| -> Result<(), String> {
            let module = qcc::load_model(&dir.join("model.onnx")).map_err(|e| format!("{e:#}"))?;
            let input = read_npy(&dir.join("input_0.npy")).map_err(|e| format!("{e:#}"))?;
            let out = qcc_ir::interp::run(&module, &[input]).map_err(|e| e.to_string())?;
            let reference = read_npy(&dir.join("expected_ort_noopt.npy")).map_err(|e| format!("{e:#}"))?;
            let tol = if name.ends_with("_float") {
                Tolerance::Relative { rtol: 1e-3, atol: 1e-5 }
            } else {
                Tolerance::Steps(1.0)
            };
            compare(&out[0], &reference, tol)
        })();
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ir_text_round_trips_on_every_model() {
    for dir in model_dirs() {
        let module = qcc::load_model(&dir.join("model.onnx")).unwrap();
        let text = qcc_ir::text::print_module(&module);
        let parsed = qcc_ir::text::parse_module(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(parsed, module, "{}: parse(print(m)) != m", dir.display());
        assert_eq!(qcc_ir::text::print_module(&parsed), text);
    }
}
