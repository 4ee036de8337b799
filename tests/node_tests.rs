//! ONNX backend node tests: load each model, run the reference interpreter on the test
//! inputs, compare with ONNX's reference outputs (rtol 1e-3 / atol 1e-5 for floats, exact
//! for integers), like `../shared/bin/corpus-check` does.

use qcc::npy::read_npy;
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

/// Node tests qcc does not run, each with the reason. Keep this short.
const SKIPPED: &[(&str, &str)] = &[];

fn run_one(dir: &std::path::Path, level: qcc_passes::OptLevel) -> Result<(), String> {
    let opts = qcc::CompileOptions {
        level,
        ..Default::default()
    };
    let module = qcc::compile(&dir.join("model.onnx"), opts)
        .map_err(|e| format!("{e:#}"))?
        .module;
    let inputs = indexed_files(dir, "input")
        .iter()
        .map(|p| read_npy(p).map_err(|e| format!("{e:#}")))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = qcc_ir::interp::run(&module, &inputs).map_err(|e| e.to_string())?;
    let refs = indexed_files(dir, "expected");
    if refs.len() != outputs.len() {
        return Err(format!(
            "{} outputs, {} references",
            outputs.len(),
            refs.len()
        ));
    }
    for (k, (out, r)) in outputs.iter().zip(&refs).enumerate() {
        let r = read_npy(r).map_err(|e| format!("{e:#}"))?;
        compare(
            out,
            &r,
            Tolerance::Relative {
                rtol: 1e-3,
                atol: 1e-5,
            },
        )
        .map_err(|e| format!("output {k}: {e}"))?;
    }
    Ok(())
}

#[test]
fn onnx_node_tests_match_the_reference_implementation() {
    let root = fixture("onnx-node-tests");
    let manifest = std::fs::read_to_string(root.join("manifest.tsv")).expect("manifest");
    let names: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert!(names.len() > 350, "expected the full node-test fixture set");
    let mut failures = Vec::new();
    let mut ran = 0;
    for name in names {
        if SKIPPED.iter().any(|(s, _)| *s == name) {
            continue;
        }
        ran += 1;
        for level in [qcc_passes::OptLevel::O0, qcc_passes::OptLevel::O2] {
            if let Err(e) = run_one(&root.join(name), level) {
                failures.push(format!("{name} at {level:?}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} node tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
