//! Latency of the same models in qcc and in tract (in process), one thread, batch 1 and 8.
//!
//! `cargo bench -p qcc --bench compare` runs every `model.onnx` under the folders in
//! `QCC_BENCH_DIRS` (colon-separated; default `../shared/corpus/onnx` and
//! `../shared/corpus/onnx-torch`, or `tests/fixtures/models` when the corpus is absent).
//! `QCC_BENCH_BATCHES` (default `1,8`), `QCC_BENCH_ITERS` (default 50; fast models run
//! more, up to 5000, for about 0.2 s of timed runs) and
//! `QCC_BENCH_ENGINE` (`jit`, the default, or `interp`) tune it. Each result
//! is printed as one JSON line (`{"model", "batch", "runtime", "median_ms", ...}`) and as a
//! table; `scripts/bench_compare.py` adds ONNX Runtime and prints the ratios.

use qcc::bench::generate_inputs;
use qcc::{compile, make_engine, CompileOptions, EngineKind};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tract_onnx::prelude::*;

/// Timed runs of a model: at least `iters`, and more for fast models (up to 5000) so that
/// the timed runs take about 0.2 s and the median of microsecond runs is stable.
fn run_count(iters: usize, one_ms: f64) -> usize {
    let budget = (200.0 / one_ms.max(1e-4)) as usize;
    iters.max(budget.min(5000))
}

/// Median of the per-run times in milliseconds after untimed warm-up runs.
fn time_ms(iters: usize, mut run: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    for _ in 0..iters.div_ceil(10).max(2) {
        run()?;
    }
    let t = Instant::now();
    run()?;
    let iters = run_count(iters, t.elapsed().as_secs_f64() * 1e3);
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        run()?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

fn model_paths() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dirs: Vec<PathBuf> = match std::env::var("QCC_BENCH_DIRS") {
        Ok(v) => v.split(':').map(PathBuf::from).collect(),
        Err(_) => {
            let corpus = root.join("../shared/corpus");
            if corpus.exists() {
                vec![corpus.join("onnx"), corpus.join("onnx-torch")]
            } else {
                vec![root.join("tests/fixtures/models")]
            }
        }
    };
    let mut models = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            eprintln!("skipping {}: not a folder", d.display());
            continue;
        };
        for e in entries.flatten() {
            let m = e.path().join("model.onnx");
            if m.exists() {
                models.push(m);
            }
        }
    }
    models.sort();
    models
}

/// qcc: compile once (-O2), then time `run` on generated inputs.
fn bench_qcc(path: &Path, batch: usize, iters: usize, engine: EngineKind) -> anyhow::Result<f64> {
    let opts = CompileOptions {
        level: qcc_passes::OptLevel::O2,
        ..CompileOptions::default()
    };
    let compiled = compile(path, opts)?;
    let inputs = generate_inputs(&compiled.module, batch, 0);
    let mut e = make_engine(&compiled.module, engine)?;
    time_ms(iters, || e.run(&inputs).map(|_| ()).map_err(Into::into))
}

/// tract: the same inputs (shapes from qcc's view of the graph), optimised plan.
fn bench_tract(path: &Path, batch: usize, iters: usize) -> anyhow::Result<f64> {
    let module = qcc::load_model(path)?;
    let inputs = generate_inputs(&module, batch, 0);
    // The batch dim stays symbolic (the models' value infos name it), bound at run time.
    let model = tract_onnx::onnx().model_for_path(path)?;
    let mut values = TVec::new();
    for t in &inputs {
        let data = t
            .data
            .to_f64_vec()
            .iter()
            .map(|&v| v as f32)
            .collect::<Vec<f32>>();
        let tensor = tract_ndarray::ArrayD::from_shape_vec(t.shape.clone(), data)?.into_tensor();
        values.push(tensor.into_tvalue());
    }
    let plan = model.into_optimized()?.into_runnable()?;
    time_ms(iters, || plan.run(values.clone()).map(|_| ()))
}

fn main() {
    let batches: Vec<usize> = std::env::var("QCC_BENCH_BATCHES")
        .unwrap_or_else(|_| "1,8".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let iters: usize = std::env::var("QCC_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let engine = match std::env::var("QCC_BENCH_ENGINE").as_deref() {
        Ok("interp") => EngineKind::Interp,
        Ok("jit") => EngineKind::Jit,
        _ => EngineKind::Jit,
    };
    println!(
        "{:<34} {:>5} {:>12} {:>12} {:>8}",
        "model", "batch", "qcc ms", "tract ms", "tract/qcc"
    );
    for path in model_paths() {
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for &batch in &batches {
            let q = bench_qcc(&path, batch, iters, engine);
            let t = bench_tract(&path, batch, iters);
            for (runtime, r) in [("qcc", &q), ("tract", &t)] {
                match r {
                    Ok(ms) => println!(
                        "{{\"model\": \"{name}\", \"batch\": {batch}, \"runtime\": \"{runtime}\", \"median_ms\": {ms:.4}}}"
                    ),
                    Err(e) => println!(
                        "{{\"model\": \"{name}\", \"batch\": {batch}, \"runtime\": \"{runtime}\", \"error\": {:?}}}",
                        format!("{e:#}")
                    ),
                }
            }
            let show = |r: &anyhow::Result<f64>| match r {
                Ok(ms) => format!("{ms:.3}"),
                Err(_) => "unsupported".into(),
            };
            let ratio = match (&q, &t) {
                (Ok(a), Ok(b)) => format!("{:.2}", b / a),
                _ => "-".into(),
            };
            println!(
                "{name:<34} {batch:>5} {:>12} {:>12} {ratio:>8}",
                show(&q),
                show(&t)
            );
        }
    }
}
