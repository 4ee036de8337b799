"""Quantizes small PyTorch nets the way PyTorch users do (FX PTQ, PT2E PTQ) and exports them
with torch.onnx (dynamo exporter, opset 18), in the layout of the corpus's onnx-torch folder:
model.onnx, input_0.npy, expected_ort_opt.npy, expected_ort_noopt.npy, meta.json.

The net has the patterns that folder's README describes beyond seed_cnn: ReLU6 / Hardtanh
after convs (not fused by the quantizers), a Split into three branches (conv + relu,
maxpool, hardtanh) joined by Concat, a residual block (one activation read by a conv and
an add), a squeeze-and-excite block (a spatial mean feeding convs), AdaptiveAvgPool2d
(ReduceMean with axes as an input), flatten, dropout and Linear.

Run: pip install torch torchvision torchao onnxscript onnx onnxruntime numpy;
     python3 scripts/make_torch_flow_models.py OUT_DIR [torchvision architecture ...]
(without architectures it builds the branch net; torchvision nets get random weights,
10 classes, 64x64 inputs)
Then: ../shared/bin/corpus-check OUT_DIR
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn


class BranchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 3, padding=1)
        self.bn = nn.BatchNorm2d(24)
        self.act = nn.ReLU6()
        self.conv_a = nn.Conv2d(8, 8, 3, padding=1)
        self.relu_a = nn.ReLU()
        self.pool_b = nn.MaxPool2d(3, 1, 1)
        self.act_c = nn.Hardtanh(0.0, 6.0)
        self.mix = nn.Conv2d(24, 32, 1)
        self.relu = nn.ReLU()
        self.res = nn.Conv2d(32, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.se_pool = nn.AdaptiveAvgPool2d(1)
        self.se_fc1 = nn.Conv2d(32, 8, 1)
        self.se_fc2 = nn.Conv2d(8, 32, 1)
        self.drop = nn.Dropout(0.2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.act(self.bn(self.stem(x)))
        a, b, c = torch.split(x, 8, dim=1)
        x = torch.cat([self.relu_a(self.conv_a(a)), self.pool_b(b), self.act_c(c)], dim=1)
        x = self.relu(self.mix(x))
        # A residual: the activation feeds a conv and the add (a shared DequantizeLinear).
        x = self.relu2(self.res(x) + x)
        # Squeeze-and-excite: a spatial mean that feeds a conv.
        s = torch.sigmoid(self.se_fc2(torch.relu(self.se_fc1(self.se_pool(x)))))
        x = x * s
        x = torch.flatten(self.gap(x), 1)
        return self.fc(self.drop(x))


def run(path, x, level):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = level
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def fx_ptq(net, example, calib):
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver, QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import _convert_to_reference_decomposed_fx, prepare_fx
    qc = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
                 weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    m = prepare_fx(net.eval(), QConfigMapping().set_global(qc), example)
    with torch.no_grad():
        for c in calib:
            m(c)
    return _convert_to_reference_decomposed_fx(m)


def pt2e_ptq(net, example, calib):
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
    dyn = {"x": {0: torch.export.Dim("N", min=1, max=64)}}
    m = torch.export.export(net.eval(), example, dynamic_shapes=dyn).module()
    q = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    m = prepare_pt2e(m, q)
    for c in calib:
        m(c)
    return convert_pt2e(m)


def build(out, name):
    torch.manual_seed(0)
    if name == "branchnet":
        net, res = BranchNet(), 32
    else:
        import torchvision
        net, res = getattr(torchvision.models, name)(weights=None, num_classes=10), 64
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.randn(16, 3, res, res) * 2)
    net.eval()
    calib = [torch.randn(8, 3, res, res) * 2 for _ in range(4)]
    example = (torch.randn(2, 3, res, res),)
    x = (np.random.default_rng(3).standard_normal((4, 3, res, res)) * 2).astype(np.float32)
    for flow, fn in [("fx_ptq", fx_ptq), ("pt2e_ptq", pt2e_ptq)]:
        d = os.path.join(out, f"{name}_{flow}")
        os.makedirs(d, exist_ok=True)
        q = fn(net, example, calib)
        path = os.path.join(d, "model.onnx")
        torch.onnx.export(q, example, path, dynamo=True, opset_version=18, input_names=["input"],
                          output_names=["logits"], dynamic_shapes=({0: "N"},))
        np.save(os.path.join(d, "input_0.npy"), x)
        np.save(os.path.join(d, "expected_ort_opt.npy"), run(path, x, ort.GraphOptimizationLevel.ORT_ENABLE_ALL))
        np.save(os.path.join(d, "expected_ort_noopt.npy"), run(path, x, ort.GraphOptimizationLevel.ORT_DISABLE_ALL))
        json.dump({"model": name, "flow": flow}, open(os.path.join(d, "meta.json"), "w"))
        print(name, flow, "ok", flush=True)


def main():
    for name in sys.argv[2:] or ["branchnet"]:
        build(sys.argv[1], name)


if __name__ == "__main__":
    main()
