//! Every quantized model in `tests/fixtures/models`: the reference interpreter at -O0 must
//! match ONNX Runtime's unoptimised run (Q/DQ executed as written) within one quantization
//! step with the same argmax, and the IR text must round-trip.

use qcc::npy::read_npy;
use qcc_tests::{compare, model_dirs, Tolerance};

#[test]
fn interpreter_matches_onnx_runtime_noopt() {
    let mut failures = Vec::new();
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let result = (|| -> Result<(), String> {
            let module = qcc::load_model(&dir.join("model.onnx")).map_err(|e| format!("{e:#}"))?;
            let input = read_npy(&dir.join("input_0.npy")).map_err(|e| format!("{e:#}"))?;
            let out = qcc_ir::interp::run(&module, &[input]).map_err(|e| e.to_string())?;
            let reference =
                read_npy(&dir.join("expected_ort_noopt.npy")).map_err(|e| format!("{e:#}"))?;
            let tol = if name.ends_with("_float") {
                Tolerance::Relative {
                    rtol: 1e-3,
                    atol: 1e-5,
                }
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
        let parsed =
            qcc_ir::text::parse_module(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(parsed, module, "{}: parse(print(m)) != m", dir.display());
        assert_eq!(qcc_ir::text::print_module(&parsed), text);
    }
}

/// -O1 and -O2 on every model: the optimised graph matches ONNX Runtime's own optimised run
/// (its integer kernels) within one step with the same argmax, -O1 (folding only) equals
/// -O0 exactly, -O2 keeps the -O0 argmax, and optimising twice prints the same IR.
#[test]
fn optimised_models_match_onnx_runtime_and_are_deterministic() {
    use qcc_passes::OptLevel;
    let mut failures = Vec::new();
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let result = (|| -> Result<(), String> {
            let model = dir.join("model.onnx");
            let at = |level| {
                let opts = qcc::CompileOptions {
                    level,
                    ..Default::default()
                };
                qcc::compile(&model, opts)
                    .map(|c| c.module)
                    .map_err(|e| format!("{e:#}"))
            };
            let input = read_npy(&dir.join("input_0.npy")).map_err(|e| format!("{e:#}"))?;
            let run = |m: &qcc_ir::Module| {
                qcc_ir::interp::run(m, std::slice::from_ref(&input)).map_err(|e| e.to_string())
            };
            let (m0, m1, m2) = (at(OptLevel::O0)?, at(OptLevel::O1)?, at(OptLevel::O2)?);
            let (o0, o1, o2) = (run(&m0)?, run(&m1)?, run(&m2)?);
            compare(&o1[0], &o0[0], Tolerance::Exact).map_err(|e| format!("-O1 vs -O0: {e}"))?;
            compare(&o2[0], &o0[0], Tolerance::Steps(f64::INFINITY))
                .map_err(|e| format!("-O2 vs -O0: {e}"))?;
            let reference =
                read_npy(&dir.join("expected_ort_opt.npy")).map_err(|e| format!("{e:#}"))?;
            let tol = if name.ends_with("_float") {
                Tolerance::Relative {
                    rtol: 1e-3,
                    atol: 1e-5,
                }
            } else {
                Tolerance::Steps(1.0)
            };
            compare(&o2[0], &reference, tol).map_err(|e| format!("-O2 vs ORT opt: {e}"))?;
            let again = at(OptLevel::O2)?;
            if qcc_ir::text::print_module(&again) != qcc_ir::text::print_module(&m2) {
                return Err("-O2 output differs between two runs".into());
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The -O2 graphs of the quantized models hold only integer ops between the input quantize
/// and the output dequantize: no float conv/gemm/matmul/add, no standalone relu.
#[test]
fn optimised_quantized_models_are_integer_only() {
    for dir in model_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with("_float") || name.ends_with("_dyn") || name.ends_with("_nopre") {
            continue;
        }
        let opts = qcc::CompileOptions {
            level: qcc_passes::OptLevel::O2,
            ..Default::default()
        };
        let m = qcc::compile(&dir.join("model.onnx"), opts).unwrap().module;
        let float_ops: Vec<&str> = m
            .graph
            .nodes
            .iter()
            .map(|n| n.op.name())
            .filter(|op| {
                matches!(
                    *op,
                    "conv"
                        | "gemm"
                        | "matmul"
                        | "add"
                        | "relu"
                        | "clip"
                        | "batchnorm"
                        | "global_avgpool"
                )
            })
            .collect();
        assert!(
            float_ops.is_empty(),
            "{name}: float ops left at -O2: {float_ops:?}"
        );
        let dq = m
            .graph
            .nodes
            .iter()
            .filter(|n| n.op.name() == "dequantize")
            .count();
        assert_eq!(dq, 1, "{name}: expected only the output dequantize");
    }
}
