"""Extra ORT-quantized ONNX models for validating qcc, mirroring /work/shared/corpus/onnx layout.

Float graphs are written with onnx.helper (numpy random weights, He-scaled; BatchNorm running
stats re-estimated on the calibration data so activations are O(1)), then quantized with
onnxruntime.quantization (quant_pre_process + quantize_static QDQ / QOperator, quantize_dynamic).
Each folder: model.onnx, input_0.npy, expected_ort_opt.npy (ORT_ENABLE_ALL, 1 thread),
expected_ort_noopt.npy (ORT_DISABLE_ALL, 1 thread), meta.json.

Run: python3 scripts/make_onnx_extra_fixtures.py [name-filter]   (QCC_ONNX_EXTRA_OUT overrides the folder)
"""

import collections
import json
import os
import platform
import shutil
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

OUT = os.environ.get("QCC_ONNX_EXTRA_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx_extra")
FILTER = sys.argv[1] if len(sys.argv) > 1 else None


class G:
    """Tiny graph builder."""

    def __init__(self, seed):
        self.nodes, self.inits, self.n = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def const(self, arr, p="c"):
        nm = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def op(self, op, ins, nout=1, p=None, **attrs):
        outs = [self.name(p or op.lower()) for _ in range(nout)]
        self.nodes.append(helper.make_node(op, ins, outs, name=self.name(op), **attrs))
        return outs[0] if nout == 1 else outs

    def conv(self, x, cin, cout, k, stride=1, pad=None, group=1, bias=True, dil=1, dims=2):
        ks = [k] * dims
        if pad is None:
            pad = (k // 2) * dil
        w = (self.rng.standard_normal([cout, cin // group] + ks) * np.sqrt(2.0 / (cin // group * k ** dims))).astype(np.float32)
        ins = [x, self.const(w, "W")]
        if bias:
            ins.append(self.const((self.rng.standard_normal(cout) * 0.1).astype(np.float32), "B"))
        return self.op("Conv", ins, kernel_shape=ks, strides=[stride] * dims, pads=[pad] * (2 * dims),
                       group=group, dilations=[dil] * dims)

    def bn(self, x, c):
        r = self.rng
        return self.op("BatchNormalization", [x,
                       self.const((1 + 0.2 * r.standard_normal(c)).astype(np.float32), "gamma"),
                       self.const((0.1 * r.standard_normal(c)).astype(np.float32), "beta"),
                       self.const(np.zeros(c, np.float32), "mean"),
                       self.const(np.ones(c, np.float32), "var")], epsilon=1e-5)

    def cbr(self, x, cin, cout, k, act="Relu", **kw):
        y = self.bn(self.conv(x, cin, cout, k, bias=False, **kw), cout)
        if act == "Relu":
            y = self.op("Relu", [y])
        elif act == "HardSwish":
            y = self.op("HardSwish", [y])
        elif act == "SiLU":
            y = self.op("Mul", [y, self.op("Sigmoid", [y])])
        elif act == "Relu6":
            y = self.op("Clip", [y, self.const(np.float32(0)), self.const(np.float32(6))])
        elif act == "LeakyRelu":
            y = self.op("LeakyRelu", [y], alpha=0.1)
        return y

    def gemm(self, x, cin, cout, transB=1):
        w = (self.rng.standard_normal((cout, cin) if transB else (cin, cout)) * np.sqrt(1.0 / cin)).astype(np.float32)
        return self.op("Gemm", [x, self.const(w, "W"), self.const((0.1 * self.rng.standard_normal(cout)).astype(np.float32), "B")], transB=transB)

    def matmul(self, x, cin, cout, bias=True):
        w = (self.rng.standard_normal((cin, cout)) * np.sqrt(1.0 / cin)).astype(np.float32)
        y = self.op("MatMul", [x, self.const(w, "W")])
        if bias:
            y = self.op("Add", [y, self.const((0.1 * self.rng.standard_normal(cout)).astype(np.float32), "B")])
        return y

    def model(self, name, inp, in_shape, out, opset, extra_opsets=()):
        g = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info(inp, TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] + list(extra_opsets))
        m.ir_version = 8 if opset <= 17 else (9 if opset <= 20 else 10)
        m.producer_name = "qcc-extra"
        inf = onnx.shape_inference.infer_shapes(m)
        m.graph.output[0].CopyFrom(inf.graph.output[0])
        return m


# ---------------------------------------------------------------- architectures

def m_resnet():
    g = G(10)
    x = "input"
    y = g.cbr(x, 3, 16, 3, stride=2)
    y = g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for _ in range(2):
        z = g.cbr(y, 16, 16, 3)
        z = g.bn(g.conv(z, 16, 16, 3, bias=False), 16)
        y = g.op("Relu", [g.op("Add", [z, y])])
    # downsample block with projection shortcut
    z = g.cbr(y, 16, 32, 3, stride=2)
    z = g.bn(g.conv(z, 32, 32, 3, bias=False), 32)
    s = g.bn(g.conv(y, 16, 32, 1, stride=2, bias=False), 32)
    y = g.op("Relu", [g.op("Add", [z, s])])
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 32, 10)
    return g.model("resnet_block", "input", ["N", 3, 32, 32], y, 13), (1, 3, 32, 32)


def se(g, x, c, cr, gate="HardSigmoid", use_gemm=False):
    p = g.op("GlobalAveragePool", [x])
    if use_gemm:
        p = g.op("Flatten", [p], axis=1)
        p = g.op("Relu", [g.gemm(p, c, cr)])
        p = g.gemm(p, cr, c)
        p = g.op("Unsqueeze", [p, g.const(np.array([2, 3], np.int64))])
    else:
        p = g.op("Relu", [g.conv(p, c, cr, 1)]) if gate != "Sigmoid" else None or g.conv(p, c, cr, 1)
        if gate == "Sigmoid":
            p = g.op("Mul", [p, g.op("Sigmoid", [p])])
        p = g.conv(p, cr, c, 1)
    if gate == "HardSigmoid":
        p = g.op("HardSigmoid", [p], alpha=1.0 / 6, beta=0.5)
    else:
        p = g.op("Sigmoid", [p])
    return g.op("Mul", [x, p])


def m_mobilenetv3(use_gemm=False):
    g = G(11)
    y = g.cbr("input", 3, 16, 3, act="HardSwish", stride=2)
    # inverted residual with SE, residual
    z = g.cbr(y, 16, 48, 1, act="HardSwish")
    z = g.cbr(z, 48, 48, 3, act="HardSwish", group=48)
    z = se(g, z, 48, 12, use_gemm=use_gemm)
    z = g.bn(g.conv(z, 48, 16, 1, bias=False), 16)
    y = g.op("Add", [y, z])
    # stride-2 block, relu, 5x5 dw
    z = g.cbr(y, 16, 64, 1, act="Relu")
    z = g.cbr(z, 64, 64, 5, act="Relu", group=64, stride=2)
    z = se(g, z, 64, 16, use_gemm=use_gemm)
    y = g.bn(g.conv(z, 64, 24, 1, bias=False), 24)
    y = g.cbr(y, 24, 96, 1, act="HardSwish")
    y = g.op("GlobalAveragePool", [y])
    y = g.op("HardSwish", [g.conv(y, 96, 64, 1)])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 64, 10)
    return g.model("mobilenetv3", "input", ["N", 3, 32, 32], y, 17 if not use_gemm else 14), (1, 3, 32, 32)


def m_efficientnet():
    g = G(12)
    y = g.cbr("input", 3, 16, 3, act="SiLU", stride=2)
    z = g.cbr(y, 16, 16, 3, act="SiLU", group=16)
    z = se(g, z, 16, 4, gate="Sigmoid")
    y = g.bn(g.conv(z, 16, 16, 1, bias=False), 16)
    z = g.cbr(y, 16, 64, 1, act="SiLU")
    z = g.cbr(z, 64, 64, 3, act="SiLU", group=64)
    z = se(g, z, 64, 4, gate="Sigmoid")
    z = g.bn(g.conv(z, 64, 16, 1, bias=False), 16)
    y = g.op("Add", [y, z])
    y = g.cbr(y, 16, 64, 1, act="SiLU")
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 64, 10)
    return g.model("efficientnet_silu", "input", ["N", 3, 32, 32], y, 18), (1, 3, 32, 32)


def m_inception():
    g = G(13)
    y = g.cbr("input", 3, 16, 3, stride=2)
    b1 = g.cbr(y, 16, 8, 1)
    b2 = g.cbr(g.cbr(y, 16, 8, 1), 8, 12, 3)
    b3 = g.cbr(g.cbr(y, 16, 4, 1), 4, 8, 5)
    b4 = g.cbr(g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]), 16, 8, 1)
    y = g.op("Concat", [b1, b2, b3, b4], axis=1)  # 36
    # squeezenet fire
    s = g.op("Relu", [g.conv(y, 36, 8, 1)])
    e1 = g.op("Relu", [g.conv(s, 8, 16, 1)])
    e3 = g.op("Relu", [g.conv(s, 8, 16, 3)])
    y = g.op("Concat", [e1, e3], axis=1)
    y = g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    y = g.op("Relu", [g.conv(y, 32, 10, 1)])
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    return g.model("inception_fire", "input", ["N", 3, 32, 32], y, 15), (1, 3, 32, 32)


def shuffle_branches(g, y):
    """A ShuffleNet unit before its channel shuffle: split, 1x1 / depthwise / 1x1, concat."""
    a, b = g.op("Split", [y, g.const(np.array([12, 12], np.int64))], nout=2, axis=1)
    b = g.cbr(b, 12, 12, 1)
    b = g.bn(g.conv(b, 12, 12, 3, group=12, bias=False), 12)
    b = g.cbr(b, 12, 12, 1)
    return g.op("Concat", [a, b], axis=1)


def m_shufflenet():
    g = G(14)
    y = g.cbr("input", 3, 24, 3, stride=2)
    for _ in range(2):
        y = shuffle_branches(g, y)
        # channel shuffle groups=2
        y = g.op("Reshape", [y, g.const(np.array([0, 2, 12, 16, 16], np.int64))])
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3, 4])
        y = g.op("Reshape", [y, g.const(np.array([0, 24, 16, 16], np.int64))])
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 24, 10)
    return g.model("shufflenet", "input", ["N", 3, 32, 32], y, 13), (1, 3, 32, 32)


def m_shufflenet_dyn():
    """ShuffleNet as torch.onnx exports it with a dynamic batch: the channel shuffle's and
    the head's reshape targets are computed from Shape (Gather, Div, Unsqueeze, Concat)."""
    g = G(15)

    def dims(x, *idx):
        s = g.op("Shape", [x])
        return [g.op("Gather", [s, g.const(np.array(i, np.int64))], axis=0) for i in idx]

    def vec(v):
        return g.op("Unsqueeze", [v, g.const(np.array([0], np.int64))])

    y = g.cbr("input", 3, 24, 3, stride=2)
    for _ in range(2):
        y = shuffle_branches(g, y)
        n, c, h, w = dims(y, 0, 1, 2, 3)
        cpg = g.op("Div", [c, g.const(np.array(2, np.int64))])
        t = g.op("Concat", [vec(n), g.const(np.array([2], np.int64)), vec(cpg), vec(h), vec(w)], axis=0)
        y = g.op("Reshape", [y, t])
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3, 4])
        t = g.op("Concat", [vec(n), g.const(np.array([-1], np.int64)), vec(h), vec(w)], axis=0)
        y = g.op("Reshape", [y, t])
    y = g.op("GlobalAveragePool", [y])
    (n,) = dims(y, 0)
    y = g.op("Reshape", [y, g.op("Concat", [vec(n), g.const(np.array([-1], np.int64))], axis=0)])
    y = g.gemm(y, 24, 10)
    return g.model("shufflenet_dyn", "input", ["N", 3, 32, 32], y, 13), (2, 3, 32, 32)


def m_pools():
    g = G(15)
    y = g.cbr("input", 3, 16, 3)
    a = g.op("AveragePool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    b = g.op("AveragePool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    c = g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = g.op("Concat", [a, b, c], axis=1)
    y = g.cbr(y, 48, 16, 3, act="Relu6")
    y = g.op("AveragePool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 16 * 3 * 3, 10)
    return g.model("pools", "input", ["N", 3, 20, 20], y, 19), (1, 3, 20, 20)


def m_transformer(decomposed=False, gelu_op=False):
    g = G(16 + decomposed + 2 * gelu_op)
    S, D, H, F = 16, 32, 4, 64
    hd = D // H

    def ln(x):
        gamma = g.const((1 + 0.1 * g.rng.standard_normal(D)).astype(np.float32), "ln_g")
        beta = g.const((0.1 * g.rng.standard_normal(D)).astype(np.float32), "ln_b")
        if not decomposed:
            return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)
        ax = g.const(np.array([-1], np.int64))
        mu = g.op("ReduceMean", [x, ax]) if g.opset >= 18 else g.op("ReduceMean", [x], axes=[-1])
        d = g.op("Sub", [x, mu])
        v = g.op("Pow", [d, g.const(np.float32(2))])
        v = g.op("ReduceMean", [v, ax]) if g.opset >= 18 else g.op("ReduceMean", [v], axes=[-1])
        v = g.op("Sqrt", [g.op("Add", [v, g.const(np.float32(1e-5))])])
        return g.op("Add", [g.op("Mul", [g.op("Div", [d, v]), gamma]), beta])

    def gelu(x):
        if gelu_op:
            return g.op("Gelu", [x])
        e = g.op("Erf", [g.op("Div", [x, g.const(np.float32(np.sqrt(2.0)))])])
        return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, g.const(np.float32(1.0))])]), g.const(np.float32(0.5))])

    g.opset = 17 if not decomposed else 13
    if gelu_op:
        g.opset = 20
    x = "input"
    h = ln(x)

    def heads(t):
        t = g.op("Reshape", [t, g.const(np.array([0, S, H, hd], np.int64))])
        return g.op("Transpose", [t], perm=[0, 2, 1, 3])

    q, k, v = heads(g.matmul(h, D, D)), heads(g.matmul(h, D, D)), heads(g.matmul(h, D, D))
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    s = g.op("Div", [g.op("MatMul", [q, kt]), g.const(np.float32(np.sqrt(hd)))])
    p = g.op("Softmax", [s], axis=-1)
    o = g.op("MatMul", [p, v])
    o = g.op("Reshape", [g.op("Transpose", [o], perm=[0, 2, 1, 3]), g.const(np.array([0, S, D], np.int64))])
    x = g.op("Add", [x, g.matmul(o, D, D)])
    h = ln(x)
    f = g.matmul(gelu(g.matmul(h, D, F)), F, D)
    x = g.op("Add", [x, f])
    # classifier on mean token
    y = g.op("ReduceMean", [x], axes=[1], keepdims=0) if g.opset < 18 else g.op("ReduceMean", [x, g.const(np.array([1], np.int64))], keepdims=0)
    y = g.gemm(y, D, 10)
    nm = "transformer" + ("_decomp" if decomposed else "") + ("_geluop" if gelu_op else "")
    return g.model(nm, "input", ["N", S, D], y, g.opset), (1, S, D)


def m_conv1d():
    g = G(19)
    y = g.cbr("input", 4, 16, 5, dims=1)
    y = g.op("MaxPool", [y], kernel_shape=[3], strides=[2], pads=[1, 1])
    z = g.cbr(y, 16, 16, 3, dims=1, dil=2, act="LeakyRelu")
    z = g.bn(g.conv(z, 16, 16, 3, dims=1, bias=False), 16)
    y = g.op("Add", [y, z])
    y = g.cbr(y, 16, 32, 3, stride=2, dims=1, act="Relu6")
    y = g.op("AveragePool", [y], kernel_shape=[3], strides=[1], pads=[1, 1], count_include_pad=0)
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.op("Tanh", [g.gemm(y, 32, 6)])
    return g.model("conv1d", "input", ["N", 4, 64], y, 19), (1, 4, 64)


def m_unet():
    g = G(20)
    e1 = g.cbr("input", 3, 8, 3, act="LeakyRelu")
    p = g.op("MaxPool", [e1], kernel_shape=[2, 2], strides=[2, 2])
    e2 = g.cbr(p, 8, 16, 3, act="LeakyRelu")
    u = g.op("Resize", [e2, "", g.const(np.array([1, 1, 2, 2], np.float32))], mode="nearest")
    y = g.op("Concat", [u, e1], axis=1)
    y = g.cbr(y, 24, 8, 3, act="Relu6")
    y = g.op("Sigmoid", [g.conv(y, 8, 1, 1)])
    return g.model("unet_resize", "input", ["N", 3, 16, 16], y, 21), (1, 3, 16, 16)


def m_heads():
    """Split + different activation heads + Clip + LeakyRelu + Tanh, summed."""
    g = G(21)
    y = g.cbr("input", 3, 16, 3, stride=2, act="Relu6")
    a, b = g.op("Split", [y, g.const(np.array([8, 8], np.int64))], nout=2, axis=1)
    a = g.op("LeakyRelu", [g.conv(a, 8, 8, 3)], alpha=0.2)
    b = g.op("Tanh", [g.conv(b, 8, 8, 3)])
    y = g.op("Add", [a, b])
    y = g.op("Clip", [g.conv(y, 8, 8, 1), g.const(np.float32(-1.0)), g.const(np.float32(1.0))])
    y = g.op("Mul", [y, g.const(np.float32(3.0))])
    y = g.op("GlobalAveragePool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.op("Sigmoid", [g.gemm(y, 8, 5)])
    return g.model("split_heads", "input", ["N", 3, 16, 16], y, 16), (1, 3, 16, 16)


def batch8(r):
    m, shape = r
    return m, (8,) + tuple(shape[1:])


def m_mlp():
    g = G(22)
    y = g.op("Flatten", ["input"], axis=1)
    y = g.op("Relu", [g.matmul(y, 64, 128, bias=False)])
    y = g.op("Relu", [g.gemm(y, 128, 64)])
    y = g.gemm(y, 64, 10)
    return g.model("mlp2", "input", ["N", 1, 8, 8], y, 17), (8, 1, 8, 8)


def m_segsoftmax(opset=11):
    """Segmentation-style head: Conv -> Softmax over channels (opset 11: coerced-2D semantics)."""
    g = G(23)
    y = g.cbr("input", 3, 16, 3)
    y = g.conv(y, 16, 6, 1)
    y = g.op("Softmax", [y], axis=1)
    return g.model(f"seg_softmax{opset}", "input", ["N", 3, 8, 8], y, opset), (1, 3, 8, 8)


def m_transformer18():
    """opset 18: fused QKV MatMul + Split(num_outputs=3), ReduceMean with axes input, decomposed LN, tanh-gelu."""
    g = G(24)
    S, D, H = 8, 32, 4
    hd = D // H
    ax = g.const(np.array([-1], np.int64))

    def ln(x):
        mu = g.op("ReduceMean", [x, ax])
        d = g.op("Sub", [x, mu])
        v = g.op("ReduceMean", [g.op("Mul", [d, d]), ax])
        r = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [v, g.const(np.float32(1e-5))])])])
        return g.op("Add", [g.op("Mul", [g.op("Mul", [d, r]), g.const((1 + 0.1 * g.rng.standard_normal(D)).astype(np.float32))]),
                            g.const((0.1 * g.rng.standard_normal(D)).astype(np.float32))])

    h = ln("input")
    qkv = g.matmul(h, D, 3 * D)
    q, k, v = g.op("Split", [qkv], nout=3, axis=-1, num_outputs=3)
    heads = lambda t: g.op("Transpose", [g.op("Reshape", [t, g.const(np.array([0, S, H, hd], np.int64))])], perm=[0, 2, 1, 3])
    q, k, v = heads(q), heads(k), heads(v)
    s_ = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), g.const(np.float32(1 / np.sqrt(hd)))])
    o = g.op("MatMul", [g.op("Softmax", [s_], axis=-1), v])
    o = g.op("Reshape", [g.op("Transpose", [o], perm=[0, 2, 1, 3]), g.const(np.array([0, S, D], np.int64))])
    x = g.op("Add", ["input", g.matmul(o, D, D)])
    h = g.matmul(ln(x), D, 64)
    # tanh gelu: 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))
    x3 = g.op("Mul", [g.op("Mul", [h, h]), h])
    t = g.op("Tanh", [g.op("Mul", [g.op("Add", [h, g.op("Mul", [x3, g.const(np.float32(0.044715))])]), g.const(np.float32(np.sqrt(2 / np.pi)))])])
    h = g.op("Mul", [g.op("Mul", [h, g.const(np.float32(0.5))]), g.op("Add", [t, g.const(np.float32(1.0))])])
    x = g.op("Add", [x, g.matmul(h, 64, D)])
    y = g.op("Flatten", [g.op("Slice", [x, g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64)), g.const(np.array([1], np.int64))])], axis=1)
    y = g.gemm(y, D, 4)
    return g.model("transformer18", "input", ["N", S, D], y, 18), (1, S, D)


def m_padmix():
    """Pad(reflect) before an unpadded conv, Clip with only min (opset 13), Sub/Div preprocessing."""
    g = G(25)
    x = g.op("Div", [g.op("Sub", ["input", g.const(np.float32(0.5))]), g.const(np.float32(0.25))])
    y = g.op("Pad", [x, g.const(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], mode="reflect")
    y = g.bn(g.conv(y, 3, 16, 3, pad=0, bias=False), 16)
    y = g.op("Clip", [y, g.const(np.float32(-0.5))])
    y = g.op("Pad", [y, g.const(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), g.const(np.float32(0.0))], mode="constant")
    y = g.op("Relu", [g.conv(y, 16, 16, 3, pad=0, stride=2)])
    y = g.op("GlobalMaxPool", [y])
    y = g.op("Flatten", [y], axis=1)
    y = g.gemm(y, 16, 10)
    return g.model("padmix", "input", ["N", 3, 16, 16], y, 13), (1, 3, 16, 16)


ARCHS = {
    "seg_softmax11": lambda: m_segsoftmax(11),
    "seg_softmax13": lambda: m_segsoftmax(13),
    "transformer18": m_transformer18,
    "padmix": m_padmix,
    "resnet_block": m_resnet,
    "mobilenetv3": m_mobilenetv3,
    "mobilenetv3_segemm": lambda: m_mobilenetv3(True),
    "efficientnet_silu": m_efficientnet,
    "inception_fire": m_inception,
    "shufflenet": m_shufflenet,
    "shufflenet_dyn": m_shufflenet_dyn,
    "pools": m_pools,
    "transformer": m_transformer,
    "transformer_decomp": lambda: m_transformer(decomposed=True),
    "transformer_geluop": lambda: m_transformer(gelu_op=True),
    "conv1d": m_conv1d,
    "unet_resize": m_unet,
    "split_heads": m_heads,
    "mlp2": m_mlp,
    "mobilenetv3_b8": lambda: batch8(m_mobilenetv3()),
    "transformer_decomp_b8": lambda: batch8(m_transformer(decomposed=True)),
    "conv1d_b8": lambda: batch8(m_conv1d()),
}

# variant -> (format, act, weight, per_channel)
VARIANTS = {
    "qdq_u8s8_pc": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8, True),
    "qdq_s8s8_pt": (QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, False),
    "qdq_u8s8_pt": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8, False),
    "qdq_s8s8_pc": (QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, True),
    "qop_u8s8": (QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, False),
    "qop_s8s8": (QuantFormat.QOperator, QuantType.QInt8, QuantType.QInt8, False),
    "qop_u8s8_pc": (QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, True),
    "qdq_u16s8_pc": (QuantFormat.QDQ, QuantType.QUInt16, QuantType.QInt8, True),
    "qdq_s16s8_pc": (QuantFormat.QDQ, QuantType.QInt16, QuantType.QInt8, True),
    "qdq_u8s4_pc": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt4, True),
    "qdq_u8u8_pt": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QUInt8, False),
    "qdq_u8s8_pc_sym": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8, True),
    "qdq_s8s8_pt_sym_rr": (QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, False),
}

PLAN = {
    "seg_softmax11": ["qdq_u8s8_pt", "qop_u8s8"],
    "seg_softmax13": ["qdq_u8s8_pt", "qop_u8s8"],
    "transformer18": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8", "dyn", "qdq_u16s8_pc"],
    "padmix": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8", "qdq_u8u8_pt"],
    "resnet_block": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8", "qdq_u8s8_pc_nopre", "qop_u8s8_pc", "dyn", "qdq_u16s8_pc", "qdq_s8s8_pt_sym_rr"],
    "mobilenetv3": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "mobilenetv3_segemm": ["qdq_u8s8_pc", "qdq_s8s8_pc"],
    "efficientnet_silu": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "inception_fire": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "shufflenet": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "shufflenet_dyn": ["qdq_u8s8_pc", "qop_u8s8"],
    "pools": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8", "qop_s8s8"],
    "transformer": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8", "dyn"],
    "transformer_decomp": ["qdq_u8s8_pt", "qdq_s8s8_pc", "dyn"],
    "transformer_geluop": ["qdq_u8s8_pc"],
    "conv1d": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "unet_resize": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "split_heads": ["qdq_u8s8_pc", "qdq_s8s8_pt", "qop_u8s8"],
    "mlp2": ["dyn", "qdq_u8s8_pt", "qdq_s16s8_pc", "qdq_u8s4_pc", "qdq_u8s8_pc_sym"],
    "mobilenetv3_b8": ["qdq_u8s8_pc", "qop_u8s8"],
    "transformer_decomp_b8": ["qdq_s8s8_pc"],
    "conv1d_b8": ["qdq_u8s8_pc"],
}


# ---------------------------------------------------------------- helpers

def sess(model_bytes_or_path, level, optimized_path=None):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return ort.InferenceSession(model_bytes_or_path, so, providers=["CPUExecutionProvider"])


def run(m, x, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL, outs=None):
    s = sess(m.SerializeToString(), level)
    return s.run(outs, {"input": x})


def fix_bn(m, calib):
    """Re-estimate BatchNorm running stats on calibration data, in graph order."""
    for node in m.graph.node:
        if node.op_type != "BatchNormalization":
            continue
        mm = onnx.ModelProto()
        mm.CopyFrom(m)
        mm.graph.output.append(helper.make_tensor_value_info(node.input[0], TensorProto.FLOAT, None))
        a = run(mm, calib[:64], outs=[node.input[0]])[0]
        axes = tuple(i for i in range(a.ndim) if i != 1)
        mean, var = a.mean(axis=axes), a.var(axis=axes)
        inits = {t.name: t for t in m.graph.initializer}
        inits[node.input[3]].CopyFrom(numpy_helper.from_array(mean.astype(np.float32), node.input[3]))
        inits[node.input[4]].CopyFrom(numpy_helper.from_array(var.astype(np.float32), node.input[4]))
    return m


class Reader(CalibrationDataReader):
    def __init__(self, data, bs=20):
        self.batches = [data[i:i + bs] for i in range(0, len(data), bs)]
        self.it = iter(self.batches)

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {"input": b}

    def rewind(self):
        self.it = iter(self.batches)


def hist(m):
    c = collections.Counter((n.domain + "." if n.domain and n.domain != "ai.onnx" else "") + n.op_type for n in m.graph.node)
    return dict(sorted(c.items()))


def signatures(m):
    inits = {t.name for t in m.graph.initializer}
    prod = {o: n for n in m.graph.node for o in n.output}
    cons = collections.defaultdict(list)
    for n in m.graph.node:
        for i in n.input:
            cons[i].append(n)
    sig = collections.Counter()
    for n in m.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        kinds = []
        for i in n.input:
            if not i:
                continue
            p = prod.get(i)
            if i in inits or (p is not None and p.op_type == "Constant"):
                kinds.append("const")
            elif p is not None and p.op_type == "DequantizeLinear":
                kinds.append("dq_const" if p.input[0] in inits else "dq_act")
            else:
                kinds.append("act")
        outk = []
        for o in n.output:
            cs = cons.get(o, [])
            if cs and all(c.op_type == "QuantizeLinear" for c in cs):
                outk.append("q")
            else:
                outk.append("float")
        sig[f"{n.op_type}({','.join(kinds)})->{'/'.join(outk)}"] += 1
    return dict(sorted(sig.items()))


def output_dq(m):
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    res = {}
    for o in m.graph.output:
        for n in m.graph.node:
            if o.name in n.output and n.op_type == "DequantizeLinear":
                res[o.name] = {"scale": float(inits[n.input[1]].ravel()[0]) if n.input[1] in inits else None,
                               "zero_point": int(inits[n.input[2]].ravel()[0]) if len(n.input) > 2 and n.input[2] in inits else 0}
    return res


def vi(v):
    t = v.type.tensor_type
    return {"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else None,
            "shape": [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim] if t.HasField("shape") else None}


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def build(arch, variants):
    fm, shape = ARCHS[arch]()
    onnx.checker.check_model(fm)
    calib = np.random.default_rng(1).standard_normal((200,) + shape[1:]).astype(np.float32)
    x0 = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    fm = fix_bn(fm, calib)
    float_out = run(fm, x0)[0]
    tmp = tempfile.mkdtemp()
    fpath = os.path.join(tmp, "float.onnx")
    onnx.save(fm, fpath)
    ppath = os.path.join(tmp, "pre.onnx")
    try:
        quant_pre_process(fpath, ppath, skip_symbolic_shape=False)
    except Exception:  # symbolic shape inference gives up on some graphs (Resize opset 21)
        quant_pre_process(fpath, ppath, skip_symbolic_shape=True)
    opset = [o.version for o in fm.opset_import if o.domain in ("", "ai.onnx")][0]
    for var in variants:
        name = f"{arch}_{var}"
        d = os.path.join(OUT, name)
        qpath = os.path.join(tmp, name + ".onnx")
        extra = {}
        if var.endswith("_sym"):
            extra = {"ActivationSymmetric": True}
        if var.endswith("_sym_rr"):
            extra = {"ActivationSymmetric": True, "WeightSymmetric": True}
        var = var.replace("_sym_rr", "_symrr") if False else var
        if var == "dyn":
            quantize_dynamic(fpath if "transformer" not in arch else ppath, qpath, weight_type=QuantType.QInt8)
            q = {"tool": "onnxruntime.quantization.quantize_dynamic", "preprocess": "quant_pre_process" if "transformer" in arch else None,
                 "weight_type": "QInt8", "per_channel": False}
            src = fpath if "transformer" not in arch else ppath
        else:
            base = var.replace("_nopre", "")
            fmt, at, wt, pc = VARIANTS[base]
            src = fpath if var.endswith("_nopre") else ppath
            quantize_static(src, qpath, Reader(calib), quant_format=fmt, activation_type=at, weight_type=wt,
                            per_channel=pc, extra_options=extra, reduce_range=var.endswith("_rr"))
            q = {"tool": "onnxruntime.quantization.quantize_static",
                 "preprocess": None if var.endswith("_nopre") else "quant_pre_process",
                 "quant_format": "QDQ" if fmt == QuantFormat.QDQ else "QOperator",
                 "activation_type": str(at).split(".")[-1], "weight_type": str(wt).split(".")[-1],
                 "per_channel": pc, "calibrate_method": "MinMax", "calibration_samples": len(calib),
                 "extra_options": extra, "reduce_range": var.endswith("_rr")}
        q["input_model_op_histogram"] = hist(onnx.load(src))
        qm = onnx.load(qpath)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        shutil.copy(qpath, os.path.join(d, "model.onnx"))
        np.save(os.path.join(d, "input_0.npy"), x0)
        optp = os.path.join(tmp, name + "_opt.onnx")
        res = {}
        errs = {}
        for tag, lvl in [("opt", ort.GraphOptimizationLevel.ORT_ENABLE_ALL), ("noopt", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)]:
            try:
                s = sess(qpath, lvl, optp if tag == "opt" else None)
                res[tag] = s.run(None, {"input": x0})[0]
                np.save(os.path.join(d, f"expected_ort_{tag}.npy"), res[tag])
            except Exception as e:  # noqa
                errs[tag] = str(e)[:300]
        meta = {
            "model": arch, "trained": False,
            "source": "onnx.helper float graph, numpy random He-scaled weights, BatchNorm stats re-estimated on calibration data (make_models.py)",
            "float_op_histogram_as_exported": hist(fm),
            "input_0_desc": f"standard normal, numpy default_rng(2), shape {list(shape)}",
            "calibration_data": "200 standard-normal samples, numpy default_rng(1), batches of 20",
            "batch_dim": f"dynamic ('N'); expected outputs at N={shape[0]}",
            "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "variant": var, "quantization": q,
            "files": {"model": "model.onnx", "inputs": ["input_0.npy"], "expected_ort_noopt": "expected_ort_noopt.npy",
                      "expected_ort_opt": "expected_ort_opt.npy"},
            "opset_imports": {(o.domain or "ai.onnx"): o.version for o in qm.opset_import},
            "float_opset": opset,
            "ir_version": qm.ir_version, "op_histogram": hist(qm), "node_signatures": signatures(qm),
            "output_dequantize": output_dq(qm),
            "inputs": [vi(v) for v in qm.graph.input if v.name not in {t.name for t in qm.graph.initializer}],
            "outputs": [vi(v) for v in qm.graph.output],
            "input_0": {"shape": list(shape), "dtype": "float32"},
        }
        if errs:
            meta["ort_errors"] = errs
        if "opt" in res:
            meta["expected_output"] = {"shape": list(res["opt"].shape), "dtype": str(res["opt"].dtype)}
        if len(res) == 2:
            meta["max_abs_diff_noopt_vs_opt"] = float(np.abs(res["opt"] - res["noopt"]).max())
        if os.path.exists(optp):
            meta["ort_enable_all_op_histogram"] = hist(onnx.load(optp))
        meta["vs_float_model_on_input_0"] = {"float_output_max_abs": float(np.abs(float_out).max())}
        for tag in res:
            meta["vs_float_model_on_input_0"][f"ort_{'enable' if tag == 'opt' else 'disable'}_all"] = {
                "max_abs_diff": float(np.abs(res[tag] - float_out).max()), "cosine": round(cosine(res[tag], float_out), 6)}
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"{name}: {hist(qm)}  diff={meta.get('max_abs_diff_noopt_vs_opt')} cos={meta['vs_float_model_on_input_0']} {errs}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    for arch, variants in PLAN.items():
        if FILTER and FILTER not in arch:
            continue
        build(arch, variants)
