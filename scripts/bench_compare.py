"""qcc vs tract vs ONNX Runtime, one table from one run.

Runs `cargo bench -p qcc --bench compare` (qcc and tract in process, one thread), then
ONNX Runtime (Python, 1 intra-op and 1 inter-op thread, ORT_ENABLE_ALL) on the same
models and batch sizes, and prints median latencies and the ratios ort/qcc and tract/qcc
(above 1 means qcc is faster).

    pip install onnxruntime numpy
    python3 scripts/bench_compare.py [--dirs DIR:DIR] [--batches 1,8] [--iters 50] [--engine jit]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def ort_ms(path, batch, iters):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {}
    rng = np.random.default_rng(0)
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else batch for d in i.shape]
        if i.type in ("tensor(int64)", "tensor(int32)"):
            # Indices (token ids, masks): 0 and 1 are valid for any table, as `qcc bench`.
            dt = np.int64 if i.type == "tensor(int64)" else np.int32
            feeds[i.name] = rng.integers(0, 2, shape).astype(dt)
        else:
            feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    for _ in range(max(2, iters // 10)):
        sess.run(None, feeds)
    # Like the Rust harness: more runs for fast models (about 0.2 s, at most 5000).
    t = time.perf_counter()
    sess.run(None, feeds)
    one_ms = (time.perf_counter() - t) * 1e3
    iters = max(iters, min(5000, int(200.0 / max(one_ms, 1e-4))))
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, feeds)
        samples.append((time.perf_counter() - t) * 1e3)
    return float(np.median(samples))


def main():
    ap = argparse.ArgumentParser()
    corpus = os.path.join(ROOT, "..", "shared", "corpus")
    ap.add_argument("--dirs", default=f"{corpus}/onnx:{corpus}/onnx-torch")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--engine", default="")
    args = ap.parse_args()
    env = dict(os.environ, QCC_BENCH_DIRS=os.path.abspath(args.dirs) if ":" not in args.dirs
               else ":".join(os.path.abspath(d) for d in args.dirs.split(":")),
               QCC_BENCH_BATCHES=args.batches, QCC_BENCH_ITERS=str(args.iters))
    if args.engine:
        env["QCC_BENCH_ENGINE"] = args.engine
    out = subprocess.run(["cargo", "bench", "-q", "-p", "qcc", "--bench", "compare"], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    rows = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            rows.setdefault((r["model"], r["batch"]), {})[r["runtime"]] = r.get("median_ms")
    paths = {}
    for d in env["QCC_BENCH_DIRS"].split(":"):
        for m in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            p = os.path.join(d, m, "model.onnx")
            if os.path.exists(p):
                paths[m] = p
    print(f"# {platform.processor() or platform.machine()}, onnxruntime {ort.__version__}, "
          f"1 thread, median of at least {args.iters} runs (fast models: about 0.2 s of runs, "
          f"at most 5000); ratios > 1 mean qcc is faster")
    print(f"{'model':<30} {'batch':>5} {'qcc ms':>9} {'ort ms':>9} {'tract ms':>9} {'ort/qcc':>8} {'tract/qcc':>9}")
    for (model, batch), r in sorted(rows.items()):
        r["ort"] = ort_ms(paths[model], batch, args.iters) if model in paths else None
        fmt = lambda v: f"{v:9.3f}" if v is not None else f"{'-':>9}"
        ratio = lambda a: f"{a / r['qcc']:8.2f}" if a is not None and r.get("qcc") else f"{'-':>8}"
        print(f"{model:<30} {batch:>5} {fmt(r.get('qcc'))} {fmt(r['ort'])} {fmt(r.get('tract'))} "
              f"{ratio(r['ort'])} {ratio(r.get('tract')):>9}")


if __name__ == "__main__":
    main()
