#!/usr/bin/env python3
"""Extra benchmark models (not in the corpus) for `scripts/bench_compare.py --dirs OUT`.

`resnet_block`: a ResNet basic block at 56x56 with 64 channels (3x3 conv + relu, 3x3 conv,
residual add, relu) and a 3x3 stride-2 conv to 128 channels, quantized by ONNX Runtime's
`quantize_static` (QDQ, uint8 activations, int8 per-channel weights). It measures what the
corpus barely has: dense 3x3 convolutions with many channels.

    python3 scripts/make_bench_models.py /tmp/bench_models
    python3 scripts/bench_compare.py --dirs /tmp/bench_models --batches 1,8
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)


def resnet_block(out_dir):
    rng = np.random.default_rng(0)
    c = 64
    nodes, inits = [], []

    def conv(name, x, y, cin, cout, k=3, s=1, p=1):
        w = (rng.standard_normal((cout, cin, k, k)) * 0.05).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, name + "_w"),
                      numpy_helper.from_array(b, name + "_b")])
        nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [y],
                                      kernel_shape=[k, k], strides=[s, s], pads=[p] * 4))

    conv("c0", "x", "a0", c, c)
    nodes.append(helper.make_node("Relu", ["a0"], ["r0"]))
    conv("c1", "r0", "a1", c, c)
    nodes.append(helper.make_node("Add", ["a1", "x"], ["s1"]))
    nodes.append(helper.make_node("Relu", ["s1"], ["r1"]))
    conv("c2", "r1", "a2", c, 2 * c, 3, 2, 1)
    nodes.append(helper.make_node("Relu", ["a2"], ["y"]))
    graph = helper.make_graph(
        nodes, "resnet_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, 56, 56])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    d = os.path.join(out_dir, "resnet_block")
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "float.onnx")
    onnx.save(model, f)

    class Calib(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.standard_normal((1, c, 56, 56)).astype(np.float32)}
                            for _ in range(4)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(f, os.path.join(d, "model.onnx"), Calib(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    os.remove(f)


if __name__ == "__main__":
    resnet_block(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench_models")
