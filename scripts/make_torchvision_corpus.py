"""Builds corpus-style folders from torchvision architectures quantized by ONNX Runtime.

The shared corpus is regenerated with other models; this script makes such models here so
that qcc meets them before a user does. For each architecture: random weights (seed 0),
BatchNorm statistics re-estimated on random data (activations O(1)), torch.onnx.export
(TorchScript exporter, opset 17), quant_pre_process, quantize_static (QDQ, MinMax, u8
activations, s8 per-channel weights unless the variant says otherwise), then ONNX Runtime's
outputs with ORT_ENABLE_ALL and ORT_DISABLE_ALL (one thread). The layout is the corpus's:
model.onnx, input_0.npy, expected_ort_opt.npy, expected_ort_noopt.npy, meta.json.

Run: pip install torch torchvision onnx onnxruntime numpy;
     python3 scripts/make_torchvision_corpus.py OUT_DIR [model ...]
Then: ../shared/bin/corpus-check OUT_DIR
"""

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

RES = int(os.environ.get("QCC_TV_RES", "224"))
VARIANTS = {
    "qdq_u8s8_pc": dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True),
    "qdq_s8s8_pt": dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, per_channel=False),
    "qop_u8s8": dict(quant_format=QuantFormat.QOperator, activation_type=QuantType.QUInt8,
                     weight_type=QuantType.QInt8, per_channel=False),
}


class Reader(CalibrationDataReader):
    def __init__(self, name, xs):
        self.it = iter([{name: x} for x in xs])

    def get_next(self):
        return next(self.it, None)


def build_float(arch, path):
    torch.manual_seed(0)
    kw = {"num_classes": 10}
    if arch in ("googlenet", "inception_v3"):
        kw.update(aux_logits=False, init_weights=True)
    net = getattr(torchvision.models, arch)(weights=None, **kw)
    # Re-estimate BatchNorm statistics on random data so activations stay O(1).
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        for _ in range(4):
            net(torch.randn(8, 3, RES, RES))
    net.eval()
    x = torch.randn(1, 3, RES, RES)
    torch.onnx.export(net, x, path, opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      dynamo=False)


def run(path, x, level):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def main():
    out = sys.argv[1]
    archs = sys.argv[2:] or ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_0",
                             "efficientnet_b0", "mnasnet0_5", "regnet_x_400mf", "googlenet"]
    variants = os.environ.get("QCC_TV_VARIANTS", "qdq_u8s8_pc").split(",")
    rng = np.random.default_rng(0)
    calib = [rng.standard_normal((1, 3, RES, RES)).astype(np.float32) for _ in range(8)]
    x = rng.standard_normal((1, 3, RES, RES)).astype(np.float32)
    for arch in archs:
        fdir = os.path.join(out, f"{arch}_float")
        os.makedirs(fdir, exist_ok=True)
        fpath = os.path.join(fdir, "model.onnx")
        build_float(arch, fpath)
        pre = os.path.join(out, f"{arch}_pre.onnx")
        quant_pre_process(fpath, pre)
        for v in variants:
            d = os.path.join(out, f"{arch}_{v}")
            os.makedirs(d, exist_ok=True)
            q = os.path.join(d, "model.onnx")
            quantize_static(pre, q, Reader("input", calib), calibrate_method=CalibrationMethod.MinMax, **VARIANTS[v])
            np.save(os.path.join(d, "input_0.npy"), x)
            np.save(os.path.join(d, "expected_ort_opt.npy"), run(q, x, ort.GraphOptimizationLevel.ORT_ENABLE_ALL))
            np.save(os.path.join(d, "expected_ort_noopt.npy"), run(q, x, ort.GraphOptimizationLevel.ORT_DISABLE_ALL))
            hist = {}
            for n in onnx.load(q).graph.node:
                hist[n.op_type] = hist.get(n.op_type, 0) + 1
            json.dump({"model": arch, "variant": v, "op_histogram": hist}, open(os.path.join(d, "meta.json"), "w"), indent=1)
            print(arch, v, hist, flush=True)
        np.save(os.path.join(fdir, "input_0.npy"), x)
        np.save(os.path.join(fdir, "expected_ort_opt.npy"), run(fpath, x, ort.GraphOptimizationLevel.ORT_ENABLE_ALL))
        json.dump({"model": arch, "variant": "float"}, open(os.path.join(fdir, "meta.json"), "w"))


if __name__ == "__main__":
    main()
