//! Shared helpers for qcc's cross-crate integration tests (`tests/`): fixture paths and
//! the output comparison rules of `../shared/bin/corpus-check`, so `cargo test` judges
//! outputs the way the corpus does.

use qcc_ir::{DType, Tensor};
use std::path::{Path, PathBuf};

/// Path of a file or folder under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The folders of `tests/fixtures/models` that hold a `model.onnx`, sorted.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("models"))
        .expect("fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "model fixtures missing");
    dirs
}

/// `input_0.npy, input_1.npy, ...` (or `<prefix>.npy` alone) in a folder, in order.
pub fn indexed_files(folder: &Path, prefix: &str) -> Vec<PathBuf> {
    let single = folder.join(format!("{prefix}.npy"));
    if single.exists() {
        return vec![single];
    }
    (0..)
        .map(|k| folder.join(format!("{prefix}_{k}.npy")))
        .take_while(|p| p.exists())
        .collect()
}

/// How two outputs are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// Every element equal.
    Exact,
    /// Floats within `atol + rtol * |ref|` (the node-test rule: rtol 1e-3, atol 1e-5).
    Relative { rtol: f64, atol: f64 },
    /// Within `steps` quantization steps (the step read off the reference's own value grid)
    /// and the same argmax in every row of the last dim.
    Steps(f64),
}

fn grid_step(vals: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .min_by(f64::total_cmp)
}

fn argmax_rows(shape: &[usize], v: &[f64]) -> Option<Vec<usize>> {
    let w = *shape.last()?;
    if w < 2 {
        return None;
    }
    Some(
        v.chunks(w)
            .map(|row| {
                let mut best = 0;
                for (i, x) in row.iter().enumerate() {
                    if *x > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect(),
    )
}

/// Compares an output with a reference; `Err` says how they differ.
pub fn compare(out: &Tensor, reference: &Tensor, tol: Tolerance) -> Result<(), String> {
    if out.shape != reference.shape {
        return Err(format!(
            "shape {:?} != reference {:?}",
            out.shape, reference.shape
        ));
    }
    let is_float = |d: DType| d.is_float();
    if is_float(out.dtype()) != is_float(reference.dtype()) {
        return Err(format!(
            "dtype {} != reference {}",
            out.dtype(),
            reference.dtype()
        ));
    }
    let (o, r) = (out.data.to_f64_vec(), reference.data.to_f64_vec());
    let diff = |a: f64, b: f64| {
        if a == b || (a.is_nan() && b.is_nan()) {
            0.0
        } else if !(a.is_finite() && b.is_finite()) {
            f64::INFINITY
        } else {
            (a - b).abs()
        }
    };
    let diffs: Vec<f64> = o.iter().zip(&r).map(|(a, b)| diff(*a, *b)).collect();
    let max = diffs.iter().copied().fold(0.0, f64::max);
    let tol = if reference.dtype().is_float() {
        tol
    } else {
        Tolerance::Exact
    };
    match tol {
        Tolerance::Exact if max > 0.0 => Err(format!("max abs diff {max}")),
        Tolerance::Exact => Ok(()),
        Tolerance::Relative { rtol, atol } => {
            match diffs
                .iter()
                .zip(&r)
                .position(|(d, r)| *d > 0.0 && *d > atol + rtol * r.abs())
            {
                Some(i) => Err(format!(
                    "element {i}: {} vs reference {} (max abs diff {max:.3e})",
                    o[i], r[i]
                )),
                None => Ok(()),
            }
        }
        Tolerance::Steps(steps) => {
            let step = grid_step(&r);
            let got = match step {
                Some(s) => max / s,
                None if max == 0.0 => 0.0,
                None => f64::INFINITY,
            };
            if got > steps + 1e-3 {
                return Err(format!(
                    "max diff {got:.3} quantization steps (tolerance {steps})"
                ));
            }
            if argmax_rows(&out.shape, &o) != argmax_rows(&reference.shape, &r) {
                return Err("argmax differs".into());
            }
            Ok(())
        }
    }
}
