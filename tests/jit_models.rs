//! The JIT against the reference interpreter on every fixture model: the same -O2 IR, every
//! output element bit for bit, on every target the host can run, at the fixture's batch and
//! at batch 1 (a second program for the same engine).

use qcc::npy::read_npy;
use qcc_codegen::{JitEngine, Target};
use qcc_ir::{Data, Engine, Tensor};
use qcc_tests::model_dirs;

/// Bitwise equality (floats by bits), with the first difference reported.
fn same_bits(a: &Tensor, b: &Tensor) -> Result<(), String> {
    if a.shape != b.shape || a.dtype() != b.dtype() {
        return Err(format!(
            "shape/dtype {:?} {} vs {:?} {}",
            a.shape,
            a.dtype(),
            b.shape,
            b.dtype()
        ));
    }
    let (x, y) = (a.data.to_le_bytes(), b.data.to_le_bytes());
    if let Some(i) = x.iter().zip(&y).position(|(p, q)| p != q) {
        let e = i / a.dtype().size();
        let (va, vb) = (a.data.to_f64_vec()[e], b.data.to_f64_vec()[e]);
        return Err(format!("element {e} differs: jit {va} vs interp {vb}"));
    }
    Ok(())
}

/// The first `n` items of a batch-major tensor.
fn first(t: &Tensor, n: usize) -> Tensor {
    let per = t.len() / t.shape[0].max(1);
    let mut shape = t.shape.clone();
    shape[0] = n;
    let data = match &t.data {
        Data::F32(v) => Data::F32(v[..n * per].to_vec()),
        other => other.clone(),
    };
    Tensor::new(shape, data)
}

fn targets() -> Vec<Target> {
    Target::ALL
        .into_iter()
        .filter(|t| t.check_host().is_ok())
        .collect()
}

#[test]
fn jit_equals_interpreter_on_every_model_and_target() {
    let opts = qcc::CompileOptions {
        level: qcc_passes::OptLevel::O2,
        ..Default::default()
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let compiled = qcc::compile(&dir.join("model.onnx"), opts.clone()).unwrap();
        let module = &compiled.module;
        let input = read_npy(&dir.join("input_0.npy")).unwrap();
        let batches = [input.clone(), first(&input, 1)];
        for target in targets() {
            let mut jit = match JitEngine::new(module, target) {
                Ok(j) => j,
                Err(e) => {
                    failures.push(format!("{name} [{target}]: {e}"));
                    continue;
                }
            };
            for x in &batches {
                let want = qcc_ir::interp::run(module, std::slice::from_ref(x)).unwrap();
                match jit.run(std::slice::from_ref(x)) {
                    Ok(got) => {
                        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                            checked += g.len();
                            if let Err(e) = same_bits(g, w) {
                                failures.push(format!(
                                    "{name} [{target}] batch {} output {k}: {e}",
                                    x.shape[0]
                                ));
                            }
                        }
                    }
                    Err(e) => failures.push(format!("{name} [{target}]: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 1000, "only {checked} elements compared");
}
