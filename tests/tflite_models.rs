//! Every TFLite model in `tests/fixtures/tflite` (copied from the corpus with its input and
//! TFLite's reference-kernel output `expected_tf.npy`): the reference interpreter's output
//! must equal `expected_tf` on every element at -O0 and at -O2, and the IR text must
//! round-trip. Fixtures that also carry `input_all.npy` / `expected_tf_all.npy` (several
//! samples stacked on dim 0) are checked on every sample, one batch-1 run each. The `op_*`
//! folders are single-op models from qcc's builder with LiteRT reference-kernel outputs
//! (`scripts/make_litert_op_fixtures.py`).

use qcc::npy::read_npy;
use qcc_ir::{Data, Tensor};
use qcc_passes::OptLevel;
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

fn model_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("tflite"))
        .expect("tflite fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.tflite").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "tflite fixtures missing");
    dirs
}

/// The samples of a stacked tensor, each with a leading dim of 1.
fn rows(t: &Tensor) -> Vec<Tensor> {
    let n = t.shape.first().copied().unwrap_or(0);
    let per = t.len().checked_div(n).unwrap_or(0);
    let vals = t.data.to_i64_vec();
    let mut shape = t.shape.clone();
    if let Some(d) = shape.first_mut() {
        *d = 1;
    }
    (0..n)
        .map(|i| {
            let v = &vals[i * per..(i + 1) * per];
            Tensor::new(shape.clone(), Data::from_i64(t.dtype(), v))
        })
        .collect()
}

fn check_level(level: OptLevel) {
    let mut failures = Vec::new();
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let result = (|| -> Result<(), String> {
            let opts = qcc::CompileOptions {
                level,
                ..Default::default()
            };
            let module = qcc::compile(&dir.join("model.tflite"), opts)
                .map(|c| c.module)
                .map_err(|e| format!("{e:#}"))?;
            let inputs = indexed_files(&dir, "input")
                .iter()
                .map(|p| read_npy(p).map_err(|e| format!("{e:#}")))
                .collect::<Result<Vec<_>, _>>()?;
            let out = qcc_ir::interp::run(&module, &inputs).map_err(|e| e.to_string())?;
            let reference = read_npy(&dir.join("expected_tf.npy")).map_err(|e| format!("{e:#}"))?;
            compare(&out[0], &reference, Tolerance::Exact)?;
            if dir.join("input_all.npy").exists() {
                let all = read_npy(&dir.join("input_all.npy")).map_err(|e| format!("{e:#}"))?;
                let refs =
                    read_npy(&dir.join("expected_tf_all.npy")).map_err(|e| format!("{e:#}"))?;
                for (k, (x, r)) in rows(&all).into_iter().zip(rows(&refs)).enumerate() {
                    let out = qcc_ir::interp::run(&module, &[x]).map_err(|e| e.to_string())?;
                    compare(&out[0], &r, Tolerance::Exact)
                        .map_err(|e| format!("sample {k}: {e}"))?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(format!("{name} at {level:?}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn interpreter_equals_tflite_reference_kernels_at_o0() {
    check_level(OptLevel::O0);
}

#[test]
fn interpreter_equals_tflite_reference_kernels_at_o2() {
    check_level(OptLevel::O2);
}

#[test]
fn tflite_ir_text_round_trips() {
    for dir in model_dirs() {
        let module = qcc::load_model(&dir.join("model.tflite")).unwrap();
        let text = qcc_ir::text::print_module(&module);
        let parsed =
            qcc_ir::text::parse_module(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(parsed, module, "{}: parse(print(m)) != m", dir.display());
    }
}
