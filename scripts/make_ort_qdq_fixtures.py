"""Builds small QDQ models around single ops and records ONNX Runtime's outputs.

Each fixture folder in tests/fixtures/ort-qdq/<name>/ holds model.onnx, input_K.npy and
expected_ort_opt.npy (ORT_ENABLE_ALL: the QDQ groups run as ORT's fused integer kernels)
and expected_ort_noopt.npy (ORT_DISABLE_ALL: the float computation as written), both with
one thread. The models are written by hand with onnx.helper so that each exercises one
kernel: int8 and uint8, broadcasting, pooling with and without padding.

Run: pip install onnx onnxruntime numpy; python3 scripts/make_ort_qdq_fixtures.py
"""

import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

OUT = os.environ.get("QCC_ORT_QDQ_OUT") or os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ort-qdq")
# QCC_ORT_QDQ_EXHAUSTIVE=1: binary ops see every pair of stored values (65536 elements).
EXHAUSTIVE = os.environ.get("QCC_ORT_QDQ_EXHAUSTIVE") == "1"
RNG = np.random.default_rng(7)


def qdq(name, src, scale, zp, dtype, nodes, inits):
    """Appends Q then DQ of `src`; returns the DQ output name."""
    s, z = f"{name}_s", f"{name}_z"
    inits.append(numpy_helper.from_array(np.array(scale, np.float32), s))
    inits.append(numpy_helper.from_array(np.array(zp, dtype), z))
    nodes.append(helper.make_node("QuantizeLinear", [src, s, z], [f"{name}_q"], name=f"{name}_Q"))
    nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", s, z], [f"{name}_dq"], name=f"{name}_DQ"))
    return f"{name}_dq"


def build(name, dtype, inputs, op_nodes, out_q, extra_inits=(), grid=None):
    """inputs: [(name, shape, scale, zp)]; op_nodes(dq_names) -> (nodes, result name).
    grid: optional stored values per input (arrays of the input's shape), fed exactly."""
    nodes, inits = [], list(extra_inits)
    dqs = [qdq(n, n, s, z, dtype, nodes, inits) for n, _, s, z in inputs]
    body, res = op_nodes(dqs)
    nodes += body
    out = qdq("y", res, out_q[0], out_q[1], dtype, nodes, inits)
    nodes.append(helper.make_node("Identity", [out], ["out"], name="out_id"))
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shp) for n, shp, _, _ in inputs],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    feeds = {}
    for k, (n, shp, s, z) in enumerate(inputs):
        if grid is not None:
            x = ((grid[k].astype(np.float32) - z) * np.float32(s)).astype(np.float32).reshape(shp)
        elif EXHAUSTIVE and len(inputs) == 2 and inputs[0][1] == inputs[1][1]:
            # Every stored value of a against every stored value of b, on the grid.
            lo = -128 if dtype == np.int8 else 0
            q = np.arange(lo, lo + 256, dtype=np.float32)
            grid = (q[:, None] if k == 0 else q[None, :]) + np.zeros((256, 256), np.float32)
            x = ((grid - z) * np.float32(s)).astype(np.float32).reshape(shp)
        else:
            x = (RNG.standard_normal(shp) * 40 * s).astype(np.float32)
        np.save(os.path.join(d, f"input_{k}.npy"), x)
        feeds[n] = x
    save_ort_outputs(d, m, feeds)


def build_shared_s8_pools(name, shape, pools, scale=0.05, zp=-3):
    """x -> Q(int8) -> DQ shared by several AveragePools -> Q -> DQ -> outputs. The shared
    DQ keeps the activation int8 (QDQS8ToU8Transformer skips it), so ONNX Runtime runs the
    pools in float, with its NCHWc kernel when the channels are a multiple of 16."""
    nodes, inits = [], []
    src = qdq("x", "x", scale, zp, np.int8, nodes, inits)
    outs = []
    for k, attrs in enumerate(pools):
        nodes.append(helper.make_node("AveragePool", [src], [f"p{k}"], name=f"pool{k}", **attrs))
        o = qdq(f"y{k}", f"p{k}", scale, zp, np.int8, nodes, inits)
        nodes.append(helper.make_node("Identity", [o], [f"out_{k}"], name=f"out_id{k}"))
        outs.append(f"out_{k}")
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    # Values on the grid, so sums of four land on halves (ties) often.
    q = RNG.integers(-100, 100, shape).astype(np.float32)
    x = ((q - zp) * np.float32(scale)).astype(np.float32)
    np.save(os.path.join(d, "input_0.npy"), x)
    save_ort_outputs(d, m, {"x": x}, indexed=True)


def save_ort_outputs(d, m, feeds, indexed=False):
    """Saves ONNX Runtime's outputs with ORT_ENABLE_ALL and ORT_DISABLE_ALL (one thread)."""
    for tag, level in [("opt", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                       ("noopt", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)]:
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
        if indexed:
            for k, r in enumerate(outs):
                np.save(os.path.join(d, f"expected_ort_{tag}_{k}.npy"), r)
        else:
            np.save(os.path.join(d, f"expected_ort_{tag}.npy"), outs[0])


def binary(op):
    return lambda d: ([helper.make_node(op, d, ["r"], name=op.lower())], "r")


def pool(**attrs):
    return lambda d: ([helper.make_node("AveragePool", d, ["r"], name="pool", **attrs)], "r")


def unary(op, **attrs):
    return lambda d: ([helper.make_node(op, d, ["r"], name=op.lower(), **attrs)], "r")


def main():
    for dt, tag, za, zb, zy in [(np.int8, "s8", -5, 10, -20), (np.uint8, "u8", 120, 135, 100)]:
        shp = [4, 64, 16, 16] if EXHAUSTIVE else [2, 3, 4, 5]
        build(f"add_{tag}", dt, [("a", shp, 0.031, za), ("b", shp, 0.017, zb)], binary("Add"), (0.043, zy))
        build(f"add_bcast_{tag}", dt, [("a", shp, 0.031, za), ("b", [1, shp[1], 1, 1], 0.017, zb)], binary("Add"), (0.043, zy))
        build(f"mul_{tag}", dt, [("a", shp, 0.031, za), ("b", shp, 0.017, zb)], binary("Mul"), (0.0071, zy))
        build(f"mul_bcast_{tag}", dt, [("a", shp, 0.031, za), ("b", [1, shp[1], 1, 1], 0.017, zb)], binary("Mul"), (0.0071, zy))
        # Scales whose ratios are (nearly) halves: the float graph lands on rounding ties,
        # where the fused kernels' arithmetic order decides.
        tie = shp if EXHAUSTIVE else [2, 8, 16, 16]
        build(f"add_tie_{tag}", dt, [("a", tie, 0.1, za), ("b", tie, 0.3, zb)], binary("Add"), (0.2, zy))
        build(f"mul_tie_{tag}", dt, [("a", tie, 0.1, za), ("b", tie, 0.3, zb)], binary("Mul"), (0.06, zy))
        img = [2, 3, 7, 9]
        if tag == "u8":
            # A float BatchNormalization between DQ and Q (DenseNet's norm before conv):
            # ONNX Runtime computes x * s + (bias - mean * s), s = scale / sqrt(var + eps);
            # these channels (found by search) round one input differently in ONNX's
            # reference order. Every stored value reaches every channel.
            bn = np.array([[0.873337984085083, 2.191554546356201, -0.45369797945022583, 0.3106590807437897],
                           [0.8354556560516357, 0.8608289957046509, 0.06743139773607254, 0.4991535544395447],
                           [1.8836222887039185, -0.7653142809867859, 0.6989232897758484, 0.671282172203064],
                           [0.6242997050285339, 1.0423882007598877, -0.6709083914756775, 1.5367404222488403]],
                          np.float32)
            bn_inits = [numpy_helper.from_array(bn[:, k].copy(), n) for k, n in enumerate(["g", "beta", "mu", "var"])]
            qx = np.arange(256)[None, None, :] + np.zeros((1, 4, 1), np.int64)
            # Q -> DQ -> Q -> DQ with two parameter sets: ONNX Runtime's DoubleQDQPairsRemover
            # quantizes once with parameters covering the intersection of the two ranges.
            build("double_qdq_u8", dt, [("x", [4, 256], 0.05, 30)], lambda d: ([], d[0]), (0.02, 140),
                  grid=[np.arange(256)[None, :] + np.zeros((4, 1), np.int64)])
            build("batchnorm_u8", dt, [("x", [1, 4, 256], 0.03, 128)],
                  lambda d: ([helper.make_node("BatchNormalization", d + ["g", "beta", "mu", "var"], ["r"],
                                               name="bn", epsilon=1e-5)], "r"),
                  (0.04, 10), extra_inits=bn_inits, grid=[qx])
            # Parameters (from an ORT-quantized RegNet) where QLinearAdd's constant
            # z_y - (r_a z_a + r_b z_b) must be computed with MLAS's fused multiply-add:
            # every a against 16 b values, 4 of which hit the last-bit difference.
            qa = np.arange(256)[None, :] + np.zeros((16, 1), np.int64)
            qb = np.array([239, 186, 133, 80, 0, 1, 17, 64, 99, 127, 128, 129, 160, 200, 254, 255])
            qb = qb[:, None] + np.zeros((1, 256), np.int64)
            build("add_fma_u8", dt, [("a", [16, 256], 0.046234682, 133), ("b", [16, 256], 0.048696805, 132)],
                  binary("Add"), (0.032633755, 0), grid=[qa, qb])
        build(f"avgpool_tie_{tag}", dt, [("x", [2, 8, 16, 16], 0.1, za)], pool(kernel_shape=[2, 2], strides=[1, 1]), (0.2, zy))
        build(f"avgpool_tie3_{tag}", dt, [("x", [2, 8, 16, 16], 0.1, za)], pool(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (0.3, zy))
        build(f"avgpool_{tag}", dt, [("x", img, 0.02, za)], pool(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (0.011, zy))
        build(f"avgpool_incpad_{tag}", dt, [("x", img, 0.02, za)], pool(kernel_shape=[3, 2], strides=[1, 2], pads=[1, 0, 1, 1], count_include_pad=1), (0.011, zy))
        build(f"avgpool_global_{tag}", dt, [("x", img, 0.02, za)], pool(kernel_shape=[7, 9]), (0.005, zy))
        build(f"leakyrelu_{tag}", dt, [("x", shp, 0.05, za)], unary("LeakyRelu", alpha=0.1), (0.03, zy))
        sm = lambda axis: unary("Softmax", axis=axis)
        build(f"softmax_{tag}", dt, [("x", [8, 10], 0.1, za)], sm(-1), (1 / 256, 0 if tag == "u8" else -128))
        build(f"softmax_axis1_{tag}", dt, [("x", [2, 5, 3, 4], 0.07, za)], sm(1), (1 / 256, 0 if tag == "u8" else -128))
        build(f"softmax_wide_{tag}", dt, [("x", [3, 1000], 0.2, za)], sm(-1), (1 / 256, 0 if tag == "u8" else -128))
        # An output scale that is not 1/256: QLinearSoftmax scales by floor(1 / s_y).
        build(f"softmax_odd_{tag}", dt, [("x", [16, 40], 0.05, za)], sm(-1), (0.0047, 3 if tag == "u8" else -120))
        build(f"concat_{tag}", dt, [("a", [2, 3], 0.031, za), ("b", [2, 4], 0.017, zb)],
              lambda d: ([helper.make_node("Concat", d, ["r"], name="concat", axis=1)], "r"), (0.04, zy))


if __name__ == "__main__":
    main()
    # Float pools ONNX Runtime keeps between int8 Q/DQ: 32 channels take its NCHWc kernel
    # at ORT_ENABLE_ALL, 8 channels its MlasPool kernels.
    pools = [dict(kernel_shape=[2, 2], strides=[2, 2]),
             dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)]
    OUT = os.environ.get("QCC_ORT_QDQ_UNFUSED_OUT") or os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx_extra")
    build_shared_s8_pools("avgpool_shared_s8_nchwc", [2, 32, 12, 12], pools)
    build_shared_s8_pools("avgpool_shared_s8_nchw", [2, 8, 12, 12], pools)
