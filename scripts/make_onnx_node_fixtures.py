#!/usr/bin/env python3
"""Export ONNX's own backend node tests for the given operators into
tests/fixtures/onnx-node-tests (model.onnx, input_K.npy, expected.npy / expected_K.npy) and
append them to its manifest.tsv, as the corpus' node-test folder does (onnx's case
generators, numpy seed 0; only tests whose tensors have plain numpy dtypes).

    python3 scripts/make_onnx_node_fixtures.py ArgMax ArgMin
"""
import os
import sys

import numpy as np
import onnx
from onnx.backend.test.case.node import collect_testcases

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                    "onnx-node-tests")


def main(ops):
    np.random.seed(0)
    manifest = os.path.join(ROOT, "manifest.tsv")
    have = {line.split("\t")[0] for line in open(manifest)}
    rows = []
    for case in collect_testcases(None):
        graph_ops = [n.op_type for n in case.model.graph.node]
        if not any(op in graph_ops for op in ops) or case.name in have:
            continue
        if case.kind != "node" or not case.data_sets:
            continue
        inputs, outputs = case.data_sets[0]
        arrays = [np.asarray(a) for a in list(inputs) + list(outputs)]
        if any(a.dtype.kind not in "biuf" or a.dtype == np.float16 for a in arrays):
            continue
        d = os.path.join(ROOT, case.name)
        os.makedirs(d, exist_ok=True)
        onnx.save(case.model, os.path.join(d, "model.onnx"))
        for k, a in enumerate(inputs):
            np.save(os.path.join(d, f"input_{k}.npy"), np.asarray(a))
        for k, a in enumerate(outputs):
            name = "expected.npy" if len(outputs) == 1 else f"expected_{k}.npy"
            np.save(os.path.join(d, name), np.asarray(a))
        opset = max(o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx"))
        dt = lambda xs: ",".join(str(np.asarray(a).dtype).replace("float32", "float")
                                 for a in xs)
        rows.append("\t".join([case.name, graph_ops[0], str(opset), dt(inputs), dt(outputs),
                               "0", ",".join(graph_ops), "not run", str(case.rtol), str(case.atol),
                               f"onnx {onnx.__version__} case generators", "1"]))
    with open(manifest, "a") as f:
        for r in rows:
            f.write(r + "\n")
    print(f"{len(rows)} tests added")


if __name__ == "__main__":
    main(sys.argv[1:])
