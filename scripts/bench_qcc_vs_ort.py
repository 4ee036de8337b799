"""Quick batch-1 latency of qcc (`qcc bench`, release build) against ONNX Runtime for model
folders outside the corpus (each holding model.onnx), one line per model.

    cargo build --release -p qcc
    python3 scripts/bench_qcc_vs_ort.py DIR [DIR ...]

ONNX Runtime is timed exactly as in bench_compare.py (1 thread, ORT_ENABLE_ALL). The full
side-by-side table with tract is bench_compare.py.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_compare import ROOT, ort_ms  # noqa: E402


def main():
    qcc = os.path.join(ROOT, "target", "release", "qcc")
    for d in sys.argv[1:]:
        path = os.path.join(d, "model.onnx")
        out = subprocess.run([qcc, "bench", path, "--iters", "30"], capture_output=True, text=True)
        m = re.search(r"median ([\d.]+) ms", out.stdout + out.stderr)
        q = float(m.group(1)) if m else None
        o = ort_ms(path, 1, 30)
        ratio = f"{o / q:.2f}" if q else "-"
        print(f"{os.path.basename(os.path.normpath(d)):40s} qcc {q} ms  ort {o:.3f} ms  ort/qcc {ratio}", flush=True)


if __name__ == "__main__":
    main()
