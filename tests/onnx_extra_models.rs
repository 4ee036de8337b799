//! Quantized ONNX models built like users build them (`tests/fixtures/onnx_extra`, made by
//! `scripts/make_onnx_extra_fixtures.py` with ONNX Runtime 1.32's quantizer: ResNet,
//! MobileNetV3, EfficientNet and ShuffleNet blocks, Inception / SqueezeNet concats, pools,
//! transformer encoders with LayerNormalization / Gelu / attention, Conv1D, QDQ u8/s8/u16,
//! QOperator and dynamic quantization; and `branchnet_*`, a net with ReLU6 / Hardtanh, a
//! three-way Split joined by Concat and AdaptiveAvgPool2d quantized with PyTorch's FX and
//! PT2E flows and exported by torch.onnx's dynamo exporter with its weights in external
//! data, by `scripts/make_torch_flow_models.py`, which also made
//! `torchvision_mobilenet_v2_pt2e_ptq`, whose int8 residuals keep convs in float with
//! ONNX Runtime's quantized biases; and `avgpool_shared_s8_*`, float pools ONNX Runtime
//! leaves between int8 Q/DQ, which it runs in its NCHWc order over 32 channels, by
//! `scripts/make_ort_qdq_fixtures.py`; and `tiny_vit_*`, a small vision transformer whose
//! class token is `cls.expand(N, -1, -1)` (Shape / Reshape / Equal / Where / Expand on the
//! symbolic batch) and whose head reads it with Gather, and `tiny_text_*`, token ids with
//! a dynamic batch and length, embeddings read by Gather at run-time indices and position
//! ids from Range to the symbolic length, by `scripts/make_transformer_corpus.py`): every
//! output element equals ONNX Runtime's —
//! `expected_ort_opt` at -O2 (interpreter and JIT), `expected_ort_noopt` at -O0. The
//! dynamically quantized models (`*_dyn`) end in float arithmetic that ONNX Runtime fuses
//! differently (MatMulIntegerToFloat, DynamicQuantizeMatMul): their float outputs are
//! compared with the node-test tolerance (rtol 1e-3, atol 1e-5), as corpus-check does.

use qcc::npy::read_npy;
use qcc_ir::Engine;
use qcc_passes::OptLevel;
use qcc_tests::{compare, fixture, indexed_files, Tolerance};

fn dirs() -> Vec<std::path::PathBuf> {
    let mut d: Vec<_> = std::fs::read_dir(fixture("onnx_extra"))
        .expect("onnx_extra fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    d.sort();
    assert!(d.len() >= 50, "onnx_extra fixtures missing");
    d
}

fn check(level: OptLevel, reference: &str, jit: bool) {
    let mut failures = Vec::new();
    for dir in dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let result = (|| -> Result<(), String> {
            let opts = qcc::CompileOptions {
                level,
                ..Default::default()
            };
            let module = qcc::compile(&dir.join("model.onnx"), opts)
                .map_err(|e| format!("{e:#}"))?
                .module;
            let inputs = indexed_files(&dir, "input")
                .iter()
                .map(|p| read_npy(p).map_err(|e| format!("{e:#}")))
                .collect::<Result<Vec<_>, _>>()?;
            let out = if jit {
                qcc_codegen::JitEngine::new(&module, qcc_codegen::Target::Native)
                    .map_err(|e| e.to_string())?
                    .run(&inputs)
                    .map_err(|e| e.to_string())?
            } else {
                qcc_ir::interp::run(&module, &inputs).map_err(|e| e.to_string())?
            };
            let refs = indexed_files(&dir, reference);
            let tol = if name.ends_with("_dyn") {
                Tolerance::Relative {
                    rtol: 1e-3,
                    atol: 1e-5,
                }
            } else {
                Tolerance::Exact
            };
            for (k, (o, r)) in out.iter().zip(&refs).enumerate() {
                let r = read_npy(r).map_err(|e| format!("{e:#}"))?;
                compare(o, &r, tol).map_err(|e| format!("output {k}: {e}"))?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
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
