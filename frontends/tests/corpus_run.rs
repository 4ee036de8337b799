//! Runs the quantized corpus models (../shared/corpus/onnx, onnx-torch) through the frontend
//! and the reference interpreter on `input_0.npy` and compares with onnxruntime's
//! `expected_ort_noopt.npy` in units of the output quantization step. Skips when the corpus
//! is absent.

use qcc_frontends::onnx::load_onnx;
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

/// Reads a little-endian float32, C-order `.npy` file.
fn read_npy_f32(path: &Path) -> Result<Tensor, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(format!("{}: not a .npy file", path.display()));
    }
    let (hlen, start) = if b[6] == 1 {
        (u16::from_le_bytes([b[8], b[9]]) as usize, 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let header = std::str::from_utf8(&b[start..start + hlen]).map_err(|e| e.to_string())?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(format!(
            "{}: expected a C-order <f4 array: {header}",
            path.display()
        ));
    }
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or("no shape")?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad dim {s}")))
        .collect::<Result<_, _>>()?;
    let data = Data::from_le_bytes(qcc_ir::DType::F32, &b[start + hlen..]).ok_or("bad data")?;
    Tensor::try_new(shape, data).ok_or_else(|| "element count mismatch".to_string())
}

/// The scale of the model's output DequantizeLinear, from meta.json (`output_dequantize`).
fn output_scale(dir: &Path) -> Option<f64> {
    let meta = std::fs::read_to_string(dir.join("meta.json")).ok()?;
    let i = meta.find("\"output_dequantize\"")?;
    let rest = &meta[i..];
    let j = rest.find("\"scale\"")?;
    let num: String = rest[j + 8..]
        .chars()
        .skip_while(|c| !(c.is_ascii_digit() || *c == '-' || *c == '.'))
        .take_while(|c| c.is_ascii_digit() || "-.eE+".contains(*c))
        .collect();
    num.parse().ok()
}

#[test]
fn corpus_models_match_onnxruntime() {
    let Some(root) = corpus_root() else {
        eprintln!("note: shared/corpus not found, skipping the corpus run");
        return;
    };
    let (mut report, mut failures) = (Vec::new(), Vec::new());
    for folder in ["onnx", "onnx-torch"] {
        let Ok(rd) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        dirs.sort();
        for dir in dirs.into_iter().filter(|d| d.join("model.onnx").is_file()) {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let m = load_onnx(&dir.join("model.onnx")).expect("corpus model loads");
            let input = read_npy_f32(&dir.join("input_0.npy")).expect("input");
            let want = read_npy_f32(&dir.join("expected_ort_noopt.npy")).expect("expected");
            let got = match qcc_ir::interp::run(&m, &[input]) {
                Ok(g) => g,
                Err(e) => {
                    failures.push(format!("{name}: run error: {e}"));
                    continue;
                }
            };
            let (g, w) = (got[0].data.to_f64_vec(), want.data.to_f64_vec());
            assert_eq!(got[0].shape, want.shape, "{name}: output shape");
            let max = g
                .iter()
                .zip(&w)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            match output_scale(&dir) {
                // Quantized: a few output steps (mobilenet_v2's 52 convs accumulate float
                // rounding differences; ORT's own noopt-vs-opt spread there is ~16 steps).
                Some(s) => {
                    let steps = max / s;
                    report.push(format!(
                        "{name}: max |diff| {max:.6} ({steps:.2} output steps)"
                    ));
                    if steps > 16.0 {
                        failures.push(format!("{name}: {steps:.2} output steps from ORT"));
                    }
                }
                None => {
                    report.push(format!("{name}: max |diff| {max:.6} (float model)"));
                    if max > 1e-3 {
                        failures.push(format!("{name}: max |diff| {max} from ORT"));
                    }
                }
            }
        }
    }
    for r in &report {
        eprintln!("{r}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
