//! ONNX Runtime's fused QDQ kernels, one op each (`tests/fixtures/ort-qdq`, made by
//! `scripts/make_ort_qdq_fixtures.py`): at -O2 the integer ops (`qadd`, `qmul`, `qavgpool`,
//! `lut`, integer `concat`) must reproduce ONNX Runtime's optimised output bit for bit,
//! int8 and uint8, including the `*_tie_*` models whose scales put hundreds of elements on
//! rounding ties where the float graph and the fused kernels round differently.

use qcc::npy::read_npy;
use qcc_passes::{optimize, OptLevel, Target};
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

fn run(dir: &std::path::Path, level: OptLevel) -> qcc_ir::Tensor {
    let module = qcc::load_model(&dir.join("model.onnx")).unwrap();
    let module = optimize(module, level, Target::default());
    let inputs: Vec<_> = indexed_files(dir, "input")
        .iter()
        .map(|p| read_npy(p).unwrap())
        .collect();
    qcc_ir::interp::run(&module, &inputs).unwrap().remove(0)
}

fn dirs() -> Vec<std::path::PathBuf> {
    let mut d: Vec<_> = std::fs::read_dir(fixture("ort-qdq"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    d.sort();
    assert!(d.len() >= 20, "ort-qdq fixtures missing");
    d
}

#[test]
fn o2_matches_onnx_runtime_fused_kernels_exactly() {
    let mut failures = Vec::new();
    for dir in dirs() {
        let out = run(&dir, OptLevel::O2);
        let reference = read_npy(&dir.join("expected_ort_opt.npy")).unwrap();
        if let Err(e) = compare(&out, &reference, Tolerance::Exact) {
            failures.push(format!("{}: {e}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn o2_folds_every_op_into_an_integer_kernel() {
    for dir in dirs() {
        let module = optimize(
            qcc::load_model(&dir.join("model.onnx")).unwrap(),
            OptLevel::O2,
            Target::default(),
        );
        let text = qcc_ir::text::print_module(&module);
        for float_op in [
            "= add ",
            "= mul ",
            "= avgpool ",
            "= leaky_relu ",
            "= concat %d",
        ] {
            assert!(
                !text.contains(float_op),
                "{}: {float_op} left\n{text}",
                dir.display()
            );
        }
    }
}

#[test]
fn o0_matches_onnx_runtime_as_written() {
    // The float graph as written; float AveragePool follows MLAS's summation order
    // (ir/src/interp/mlas_pool.rs), so pooling is exact too.
    let mut failures = Vec::new();
    for dir in dirs() {
        let out = run(&dir, OptLevel::O0);
        let reference = read_npy(&dir.join("expected_ort_noopt.npy")).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy();
        if let Err(e) = compare(&out, &reference, Tolerance::Exact) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
