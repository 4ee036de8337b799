//! Runs the ONNX backend node tests of the shared corpus through the frontend and the
//! reference interpreter, comparing with the expected outputs (`.pb` tensors) using each
//! test's rtol / atol. Skips (with a note) when the corpus is absent.

use qcc_frontends::onnx::{load_onnx, load_tensor_proto};
use qcc_ir::{Data, Tensor};
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

fn read_pbs(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("{prefix}_{k}.pb"));
        if !p.is_file() {
            break;
        }
        let bytes = std::fs::read(&p).map_err(|e| e.to_string())?;
        out.push(load_tensor_proto(&bytes, &p.display().to_string()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn compare(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.shape != want.shape {
        return Err(format!("shape {:?}, expected {:?}", got.shape, want.shape));
    }
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {}, expected {}", got.dtype(), want.dtype()));
    }
    let exact = !matches!(want.data, Data::F32(_) | Data::F64(_));
    let (g, w) = (got.data.to_f64_vec(), want.data.to_f64_vec());
    let mut worst = None;
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if exact {
            a == b
        } else {
            (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs()
        };
        if !ok && worst.is_none() {
            worst = Some(format!("element {i}: got {a}, expected {b}"));
        }
    }
    match worst {
        None => Ok(()),
        Some(w) => Err(w),
    }
}

fn run_one(dir: &Path, rtol: f64, atol: f64) -> Result<(), String> {
    let m = load_onnx(&dir.join("model.onnx")).map_err(|e| format!("load: {e}"))?;
    let data = dir.join("test_data_set_0");
    let inputs = read_pbs(&data, "input")?;
    let wants = read_pbs(&data, "output")?;
    let gots = qcc_ir::interp::run(&m, &inputs).map_err(|e| format!("run: {e}"))?;
    if gots.len() != wants.len() {
        return Err(format!("{} outputs, expected {}", gots.len(), wants.len()));
    }
    for (k, (g, w)) in gots.iter().zip(&wants).enumerate() {
        compare(g, w, rtol, atol).map_err(|e| format!("output {k}: {e}"))?;
    }
    Ok(())
}

#[test]
fn node_tests_match_reference_outputs() {
    let Some(root) = corpus_root() else {
        eprintln!("note: shared/corpus not found, skipping the node-test run");
        return;
    };
    let dir = root.join("onnx-node-tests");
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.tsv")) else {
        eprintln!("note: onnx-node-tests/manifest.tsv not found, skipping");
        return;
    };
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .expect("manifest column")
    };
    let (c_name, c_npy, c_rtol, c_atol, c_op) = (
        col("test_name"),
        col("npy"),
        col("rtol"),
        col("atol"),
        col("op_type"),
    );
    let filter = std::env::var("QCC_NODE_TEST_FILTER").unwrap_or_default();
    let (mut n, mut failures) = (0, Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f.get(c_npy) != Some(&"1") || !f[c_name].contains(filter.as_str()) {
            continue;
        }
        n += 1;
        let rtol = f[c_rtol].parse().unwrap_or(1e-3);
        let atol = f[c_atol].parse().unwrap_or(1e-7);
        if let Err(e) = run_one(&dir.join(f[c_name]), rtol, atol) {
            failures.push((f[c_op].to_string(), format!("{}: {e}", f[c_name])));
        }
    }
    eprintln!(
        "node tests run (npy=1): {} of {n} match",
        n - failures.len()
    );
    for (_, f) in &failures {
        eprintln!("  {f}");
    }
    // The ops whose numerics the frontend itself defines must match bit for bit.
    let frontend_owned = [
        "QLinearConv",
        "QLinearMatMul",
        "QuantizeLinear",
        "DequantizeLinear",
    ];
    let owned: Vec<&String> = failures
        .iter()
        .filter(|(op, _)| frontend_owned.contains(&op.as_str()))
        .map(|(_, f)| f)
        .collect();
    assert!(owned.is_empty(), "frontend-owned failures: {owned:#?}");
}
