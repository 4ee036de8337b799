//! Every TFLite model in `tests/fixtures/tflite` (copied from the corpus with its input and
//! TFLite's reference-kernel output `expected_tf.npy`): the reference interpreter's output
//! must equal `expected_tf` on every element at -O0 and at -O2, and the IR text must
//! round-trip. Fixtures that also carry `input_all.npy` / `expected_tf_all.npy` (several
//! samples stacked on dim 0) are checked on every sample, one batch-1 run each. The `op_*`
//! folders are single-op models from qcc's builder with LiteRT reference-kernel outputs
//! (`scripts/make_litert_op_fixtures.py`). `tests/fixtures/tflite_keras` holds small Keras
//! models converted by TensorFlow 2.21 (full-integer PTQ, int8 and int16x8) with their
//! reference-kernel outputs (`scripts/make_keras_tflite_fixtures.py`).

use qcc::npy::read_npy;
use qcc_ir::{Data, Tensor};
use qcc_passes::OptLevel;
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

fn model_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = ["tflite", "tflite_keras"]
        .iter()
        .flat_map(|f| std::fs::read_dir(fixture(f)).expect("tflite fixtures"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.tflite").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "tflite fixtures missing");
    dirs
}

/// The reference outputs: `expected_tf.npy`, or `expected_tf_K.npy` for several outputs.
fn references(dir: &std::path::Path) -> Result<Vec<Tensor>, String> {
    let paths = indexed_files(dir, "expected_tf");
    if paths.is_empty() {
        return Err("no expected_tf*.npy".into());
    }
    paths
        .iter()
        .map(|p| read_npy(p).map_err(|e| format!("{e:#}")))
        .collect()
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

/// Runs `module` on `inputs` with `engine` (`None`: the interpreter, else a JIT target).
fn run(
    module: &qcc_ir::Module,
    inputs: &[Tensor],
    engine: Option<qcc_codegen::Target>,
) -> Result<Vec<Tensor>, String> {
    use qcc_ir::Engine;
    match engine {
        None => qcc_ir::interp::run(module, inputs).map_err(|e| e.to_string()),
        Some(t) => qcc_codegen::JitEngine::new(module, t)
            .map_err(|e| e.to_string())?
            .run(inputs)
            .map_err(|e| e.to_string()),
    }
}

fn check_level(level: OptLevel) {
    check(level, None);
}

fn check(level: OptLevel, engine: Option<qcc_codegen::Target>) {
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
            let out = run(&module, &inputs, engine)?;
            let refs = references(&dir)?;
            if out.len() != refs.len() {
                return Err(format!("{} outputs, {} references", out.len(), refs.len()));
            }
            for (k, (o, r)) in out.iter().zip(&refs).enumerate() {
                compare(o, r, Tolerance::Exact).map_err(|e| format!("output {k}: {e}"))?;
            }
            if dir.join("input_all.npy").exists() {
                let all = read_npy(&dir.join("input_all.npy")).map_err(|e| format!("{e:#}"))?;
                let refs =
                    read_npy(&dir.join("expected_tf_all.npy")).map_err(|e| format!("{e:#}"))?;
                for (k, (x, r)) in rows(&all).into_iter().zip(rows(&refs)).enumerate() {
                    let out = run(&module, &[x], engine)?;
                    compare(&out[0], &r, Tolerance::Exact)
                        .map_err(|e| format!("sample {k}: {e}"))?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(format!("{name} at {level:?} ({engine:?}): {e}"));
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
fn jit_equals_tflite_reference_kernels_on_every_target() {
    for t in qcc_codegen::Target::ALL {
        if t.check_host().is_ok() {
            check(OptLevel::O2, Some(t));
        }
    }
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
