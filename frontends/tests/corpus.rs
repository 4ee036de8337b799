//! Loads every model of the shared corpus (when it is present: CI on a fresh clone has
//! `../shared/corpus` beside the checkout; elsewhere the tests print a note and pass).

use qcc_frontends::onnx::load_onnx;
use std::path::{Path, PathBuf};

fn corpus_root() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("QCC_CORPUS") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

fn model_dirs(folder: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("model.onnx").is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Loads and verifies one model; the error text on failure.
fn load_and_verify(path: &Path) -> Result<qcc_ir::Module, String> {
    let m = load_onnx(path).map_err(|e| e.to_string())?;
    qcc_ir::verify::verify_module(&m).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(m)
}

#[test]
fn loads_quantized_model_corpus() {
    let Some(root) = corpus_root() else {
        eprintln!("note: shared/corpus not found, skipping the corpus load test");
        return;
    };
    let mut n = 0;
    let mut failures = Vec::new();
    for folder in ["onnx", "onnx-torch"] {
        for dir in model_dirs(&root.join(folder)) {
            n += 1;
            if let Err(e) = load_and_verify(&dir.join("model.onnx")) {
                failures.push(e);
            }
        }
    }
    eprintln!("corpus models: {} of {n} load", n - failures.len());
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert!(n >= 14, "expected at least 14 corpus models, found {n}");
}

#[test]
fn loads_node_tests_with_npy() {
    let Some(root) = corpus_root() else {
        eprintln!("note: shared/corpus not found, skipping the node-test load test");
        return;
    };
    let dir = root.join("onnx-node-tests");
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.tsv")) else {
        eprintln!("note: onnx-node-tests/manifest.tsv not found, skipping");
        return;
    };
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(name_col), Some(npy_col)) = (col("test_name"), col("npy")) else {
        panic!("manifest.tsv lacks test_name / npy columns");
    };
    let mut n = 0;
    let mut failures = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f.get(npy_col) != Some(&"1") {
            continue;
        }
        let Some(test) = f.get(name_col) else {
            continue;
        };
        n += 1;
        if let Err(e) = load_and_verify(&dir.join(test).join("model.onnx")) {
            failures.push(e);
        }
    }
    eprintln!("node tests (npy=1): {} of {n} load", n - failures.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
