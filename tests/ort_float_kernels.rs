//! ONNX Runtime's float CPU kernels, one op each (`tests/fixtures/ort-float`, made by
//! `scripts/make_ort_float_fixtures.py`): at -O0 the interpreter must reproduce ONNX
//! Runtime's output (ORT_DISABLE_ALL, one thread) bit for bit — the MLAS pooling kernels'
//! summation order, and the MLAS polynomial approximations of the activations.

use qcc::npy::read_npy;
use qcc_passes::{optimize, OptLevel, Target};
use qcc_tests::{fixture, indexed_files};

fn run(dir: &std::path::Path) -> qcc_ir::Tensor {
    let module = qcc::load_model(&dir.join("model.onnx")).unwrap();
    let module = optimize(module, OptLevel::O0, Target::default());
    let inputs: Vec<_> = indexed_files(dir, "input")
        .iter()
        .map(|p| read_npy(p).unwrap())
        .collect();
    qcc_ir::interp::run(&module, &inputs).unwrap().remove(0)
}

/// Bit-for-bit equality (so `-0.0 != 0.0`; NaNs compare by payload too).
fn same_bits(out: &qcc_ir::Tensor, reference: &qcc_ir::Tensor) -> Result<(), String> {
    if out.shape != reference.shape || out.dtype() != reference.dtype() {
        return Err(format!(
            "{:?} {} vs reference {:?} {}",
            out.shape,
            out.dtype(),
            reference.shape,
            reference.dtype()
        ));
    }
    let (o, r) = (out.data.to_f64_vec(), reference.data.to_f64_vec());
    let bad: Vec<usize> = (0..o.len())
        .filter(|&i| o[i].to_bits() != r[i].to_bits())
        .collect();
    match bad.first() {
        None => Ok(()),
        Some(&i) => Err(format!(
            "{} of {} elements differ; first at {i}: {:e} vs reference {:e}",
            bad.len(),
            o.len(),
            o[i],
            r[i]
        )),
    }
}

/// Every fixture whose name starts with one of `prefixes` matches exactly.
fn check(prefixes: &[&str]) {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("ort-float"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            prefixes.iter().any(|pre| name.starts_with(pre))
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "ort-float fixtures {prefixes:?} missing");
    let mut failures = Vec::new();
    for dir in dirs {
        let out = run(&dir);
        let reference = read_npy(&dir.join("expected_ort_noopt.npy")).unwrap();
        if let Err(e) = same_bits(&out, &reference) {
            failures.push(format!("{}: {e}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pooling_matches_onnx_runtime_exactly() {
    check(&["avgpool", "globalavgpool", "maxpool"]);
}

#[test]
fn activations_match_onnx_runtime_exactly() {
    check(&["sigmoid", "tanh", "erf", "exp", "gelu"]);
}

#[test]
fn softmax_matches_onnx_runtime_exactly() {
    check(&["softmax"]);
}

#[test]
fn layer_norm_matches_onnx_runtime_exactly() {
    check(&["layernorm"]);
}

#[test]
fn resize_nearest_matches_onnx_runtime_exactly() {
    check(&["resize"]);
}

#[test]
fn reductions_over_trailing_axes_match_onnx_runtime_exactly() {
    check(&["reducemean", "reducesum"]);
}
