//! `qcc bench`: latency of a compiled model on generated inputs.

use crate::cli::BenchArgs;
use crate::driver::compile;
use anyhow::Result;
use qcc_ir::{DType, Data, Dim, Module, Tensor};
use std::time::Instant;

/// Deterministic pseudo-random inputs matching the graph inputs; symbolic dims take
/// `batch`, unknown dims take 1. Floats lie in [-1, 1), 8- and 16-bit integers in
/// [-128, 127] clamped to their type, 32- and 64-bit integers (indices) are 0 or 1.
pub fn generate_inputs(module: &Module, batch: usize, seed: u64) -> Vec<Tensor> {
    let mut rng = fastrand::Rng::with_seed(seed);
    module
        .graph
        .inputs
        .iter()
        .map(|&v| {
            let ty = module.graph.ty(v);
            let shape: Vec<usize> = ty
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n,
                    Dim::Sym(_) => batch,
                    Dim::Any => 1,
                })
                .collect();
            let n: usize = shape.iter().product();
            let data = match ty.dtype {
                DType::F32 | DType::F64 => {
                    let vals: Vec<f64> = (0..n).map(|_| rng.f64() * 2.0 - 1.0).collect();
                    Data::from_f64(ty.dtype, &vals)
                }
                // 32- and 64-bit integer inputs are usually indices (token ids, a mask):
                // 0 and 1 are valid for any table.
                DType::I32 | DType::I64 => {
                    let vals: Vec<i64> = (0..n).map(|_| rng.i64(0..=1)).collect();
                    Data::from_i64(ty.dtype, &vals)
                }
                dt => {
                    let (lo, hi) = dt.int_range().unwrap_or((0, 1));
                    let (lo, hi) = (lo.max(-128), hi.min(127));
                    let vals: Vec<i64> = (0..n).map(|_| rng.i64(lo..=hi)).collect();
                    Data::from_i64(dt, &vals)
                }
            };
            Tensor::new(shape, data)
        })
        .collect()
}

/// Median and 90th percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

/// Runs `qcc bench`.
pub fn run_bench(args: BenchArgs) -> Result<()> {
    let opts = args.common.options()?;
    let t0 = Instant::now();
    let compiled = compile(&args.model, opts)?;
    let target = crate::driver::jit_target(&args.common.target.into());
    let mut engine = crate::driver::make_engine_for(&compiled.module, args.engine.into(), target)?;
    let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
    let inputs = generate_inputs(&compiled.module, args.batch.max(1), 0x5eed);
    let warmup = (args.iters / 10).clamp(1, 5);
    for _ in 0..warmup {
        engine
            .run(&inputs)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.model.display()))?;
    }
    let iters = args.iters.max(1);
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        engine
            .run(&inputs)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.model.display()))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let (median, p90, min) = (percentile(&times, 0.5), percentile(&times, 0.9), times[0]);
    crate::out::line!(
        "{}: batch {}, {:?} engine, {} iters: median {:.3} ms, p90 {:.3} ms, min {:.3} ms, compile {:.1} ms",
        args.model.display(),
        args.batch,
        args.engine,
        iters,
        median,
        p90,
        min,
        compile_ms
    );
    if args.json {
        let engine = format!("{:?}", args.engine).to_lowercase();
        crate::out::line!(
            "{}",
            serde_json::json!({
                "model": args.model.display().to_string(),
                "engine": engine,
                "batch": args.batch,
                "iters": iters,
                "median_ms": median,
                "p90_ms": p90,
                "min_ms": min,
                "compile_ms": compile_ms,
            })
        );
    }
    Ok(())
}
