"""Builds corpus-style folders from small transformer models quantized by ONNX Runtime.

The shared corpus is regenerated with other models; transformers are the other family users
quantize with ONNX Runtime (static QDQ, QOperator, and above all quantize_dynamic). This script
makes such models so that qcc meets them before a user does:

- `tiny_bert`: 2 encoder layers (d=64, 4 heads, ff=128, GELU via Erf, LayerNormalization),
  input (N, 16, 64) float, output (N, 16, 64).
- `tiny_vit`: 4x4 patch conv on (N, 3, 32, 32), class token, 2 encoder layers, mean-free head
  on the class token, output (N, 10).
- `tiny_text`: token ids (N, T) int64 (both dims dynamic), word and position embeddings
  (`torch.arange(T)`: Range to the symbolic T, Gather with run-time indices), 2 encoder
  layers, mean over tokens, tanh, a 3-way head; tested at N = 2, T = 12.

Attention is written out (MatMul, Softmax, Transpose, Reshape), as Hugging Face exports look.
Random weights (seed 0); calibration and test inputs standard normal. Variants: qdq_u8s8_pc,
qdq_s8s8_pt, qop_u8s8 (quantize_static after quant_pre_process, MinMax) and dyn
(quantize_dynamic). Layout as the corpus: model.onnx, input_0.npy, expected_ort_opt.npy,
expected_ort_noopt.npy, meta.json.

Run: python3 scripts/make_transformer_corpus.py OUT_DIR [model ...]
Then: ../shared/bin/corpus-check OUT_DIR/*
"""

import json
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationMethod, QuantType, quantize_dynamic, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The static variants, the calibration reader and the ORT runner are the torchvision script's.
from make_torchvision_corpus import VARIANTS as STATIC, Reader, run  # noqa: E402


class Attention(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v = (torch.nn.Linear(d, d) for _ in range(3))
        self.o = torch.nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape

        def split(y):
            return y.reshape(n, t, self.h, self.dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh), dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(n, t, d))


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.att = Attention(d, heads)
        self.ff1, self.ff2 = torch.nn.Linear(d, ff), torch.nn.Linear(ff, d)

    def forward(self, x):
        x = self.ln1(x + self.att(x))
        return self.ln2(x + self.ff2(torch.nn.functional.gelu(self.ff1(x))))


class TinyBert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.Sequential(Block(64, 4, 128), Block(64, 4, 128))

    def forward(self, x):
        return self.blocks(x)


class TinyVit(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 64, 4, stride=4)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 64) * 0.1)
        self.pos = torch.nn.Parameter(torch.randn(1, 65, 64) * 0.1)
        self.blocks = torch.nn.Sequential(Block(64, 4, 128), Block(64, 4, 128))
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x):
        p = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(p.shape[0], -1, -1), p], dim=1) + self.pos
        return self.head(self.blocks(x)[:, 0])


class TinyText(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.pos = torch.nn.Embedding(100, 64), torch.nn.Embedding(32, 64)
        self.blocks = torch.nn.Sequential(Block(64, 4, 128), Block(64, 4, 128))
        self.head = torch.nn.Linear(64, 3)

    def forward(self, ids):
        p = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        h = self.blocks(self.emb(ids) + self.pos(p))
        return self.head(torch.tanh(h.mean(dim=1)))


def normal(shape):
    return lambda rng, n: rng.standard_normal((n, *shape)).astype(np.float32)


def tokens(t):
    return lambda rng, n: rng.integers(0, 100, (n, t)).astype(np.int64)


# name: (module, calibration / example input, test input, dynamic axes of the input)
MODELS = {
    "tiny_bert": (TinyBert, normal((16, 64)), normal((16, 64)), {0: "N"}),
    "tiny_vit": (TinyVit, normal((3, 32, 32)), normal((3, 32, 32)), {0: "N"}),
    "tiny_text": (TinyText, tokens(16), tokens(12), {0: "N", 1: "T"}),
}


def ort_histogram(path):
    """Op histogram of the graph ONNX Runtime runs at ORT_ENABLE_ALL (its fused kernels)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    so.optimized_model_filepath = path + ".ort_opt.onnx"
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    hist = {}
    for n in onnx.load(so.optimized_model_filepath).graph.node:
        k = f"{n.domain}.{n.op_type}" if n.domain else n.op_type
        hist[k] = hist.get(k, 0) + 1
    os.remove(so.optimized_model_filepath)
    return hist


def save(d, q, name, variant, x):
    np.save(os.path.join(d, "input_0.npy"), x)
    np.save(os.path.join(d, "expected_ort_opt.npy"), run(q, x, ort.GraphOptimizationLevel.ORT_ENABLE_ALL))
    np.save(os.path.join(d, "expected_ort_noopt.npy"), run(q, x, ort.GraphOptimizationLevel.ORT_DISABLE_ALL))
    hist = {}
    for n in onnx.load(q).graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    json.dump({"model": name, "variant": variant, "op_histogram": hist,
               "ort_enable_all_op_histogram": ort_histogram(q)},
              open(os.path.join(d, "meta.json"), "w"), indent=1)
    print(name, variant, hist, flush=True)


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    variants = os.environ.get("QCC_TF_VARIANTS", "qdq_u8s8_pc,qdq_s8s8_pt,qop_u8s8,dyn").split(",")
    for name in names:
        cls, make, make_test, axes = MODELS[name]
        torch.manual_seed(0)
        net = cls().eval()
        rng = np.random.default_rng(0)
        calib = [make(rng, 1) for _ in range(8)]
        x = make_test(rng, 2 if name == "tiny_text" else 1)
        fdir = os.path.join(out, f"{name}_float")
        os.makedirs(fdir, exist_ok=True)
        fpath = os.path.join(fdir, "model.onnx")
        torch.onnx.export(net, torch.from_numpy(calib[0]), fpath, opset_version=17, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": axes, "output": {0: "N"}},
                          dynamo=False)
        save(fdir, fpath, name, "float", x)
        pre = os.path.join(out, f"{name}_pre.onnx")
        quant_pre_process(fpath, pre)
        for v in variants:
            d = os.path.join(out, f"{name}_{v}")
            os.makedirs(d, exist_ok=True)
            q = os.path.join(d, "model.onnx")
            if v == "dyn":
                quantize_dynamic(pre, q, weight_type=QuantType.QInt8)
            else:
                quantize_static(pre, q, Reader("input", calib), calibrate_method=CalibrationMethod.MinMax,
                                **STATIC[v])
            save(d, q, name, v, x)


if __name__ == "__main__":
    main()
