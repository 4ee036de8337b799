"""Builds single-op float models and records ONNX Runtime's outputs bit for bit.

Each fixture folder in tests/fixtures/ort-float/<name>/ holds model.onnx, input_K.npy and
expected_ort_noopt.npy: ONNX Runtime's CPU provider with ORT_DISABLE_ALL and one thread.
The interpreter's float kernels for these ops mirror ORT's MLAS kernels and must match
every element exactly (tests/ort_float_kernels.rs). Inputs stress rounding: many elements,
magnitudes from 1e-6 to saturation, exact and negative zeros.

Run: pip install onnx onnxruntime numpy; python3 scripts/make_ort_float_fixtures.py
"""

import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

OUT = os.environ.get("QCC_ORT_FLOAT_OUT") or os.path.join(
    os.path.dirname(__file__), "..", "tests", "fixtures", "ort-float")
RNG = np.random.default_rng(11)


def wide(shape, lo=-3.0, hi=2.0):
    """Normal values times 10^U(lo, hi), with some exact / negative zeros and tiny values."""
    n = int(np.prod(shape))
    x = RNG.standard_normal(n) * 10.0 ** RNG.uniform(lo, hi, n)
    x[RNG.integers(0, n, n // 64)] = 0.0
    x[RNG.integers(0, n, n // 64)] = -0.0
    return x.astype(np.float32).reshape(shape)


def ramp(lo, hi, n, shape):
    """A dense sweep of [lo, hi] (with its endpoints and zero), then random values."""
    sweep = np.linspace(lo, hi, n // 2, dtype=np.float32)
    rest = RNG.uniform(lo, hi, n - n // 2).astype(np.float32)
    x = np.concatenate([sweep, rest])
    x[:8] = [0.0, -0.0, 1e-7, -1e-7, 1e-30, -1e-30, lo, hi]
    return x.astype(np.float32).reshape(shape)


def build(name, x, node, opset=17, inits=()):
    g = helper.make_graph(
        [node],
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "input_0.npy"), x)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    np.save(os.path.join(d, "expected_ort_noopt.npy"), sess.run(None, {"x": x})[0])


def op(t, **attrs):
    return helper.make_node(t, ["x"], ["y"], name=t.lower(), **attrs)


def main():
    # Pooling: the vector kernel (stride <= 2), the generic kernels (stride 3, big kernels,
    # 1-D), the 3-D vector kernel, and the global kernel (GlobalAveragePool and a kernel that
    # covers the input).
    img = wide([2, 8, 16, 16])
    odd = wide([2, 5, 13, 11])
    build("avgpool_2x2", img, op("AveragePool", kernel_shape=[2, 2]))
    build("avgpool_3x3_s2_p1", img, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    build("avgpool_3x3_s2_p1_incpad", odd, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1))
    build("avgpool_3x2_asym_incpad", odd, op("AveragePool", kernel_shape=[3, 2], strides=[1, 2], pads=[1, 0, 2, 1], count_include_pad=1))
    build("avgpool_5x4_asym", odd, op("AveragePool", kernel_shape=[5, 4], strides=[2, 1], pads=[2, 3, 1, 2]))
    build("avgpool_ceil", odd, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
    build("avgpool_ceil_pad_incpad", odd, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1))
    # ceil_mode with count_include_pad leaves MLAS for ORT's own loop (pool_functors.h).
    even = wide([2, 5, 12, 10])
    build("avgpool_ceil_overhang", even, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
    build("avgpool_ceil_overhang_incpad", even, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, count_include_pad=1))
    build("avgpool_ceil_overhang_pad_incpad", even, op("AveragePool", kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 0, 1], ceil_mode=1, count_include_pad=1))
    build("avgpool_1d_ceil_incpad", wide([2, 6, 50]), op("AveragePool", kernel_shape=[4], strides=[3], pads=[1, 1], ceil_mode=1, count_include_pad=1))
    build("avgpool_s3", odd, op("AveragePool", kernel_shape=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1]))
    build("avgpool_k7x9_whole", wide([2, 6, 7, 9]), op("AveragePool", kernel_shape=[7, 9]))
    build("avgpool_1d", wide([2, 6, 50]), op("AveragePool", kernel_shape=[4], strides=[2], pads=[1, 2]))
    build("avgpool_3d", wide([1, 3, 6, 7, 9]), op("AveragePool", kernel_shape=[2, 3, 3], strides=[1, 2, 1], pads=[0, 1, 1, 1, 1, 1]))
    build("avgpool_3d_incpad", wide([1, 3, 6, 7, 9]), op("AveragePool", kernel_shape=[3, 2, 3], strides=[2, 1, 2], pads=[1, 0, 1, 1, 1, 1], count_include_pad=1))
    build("globalavgpool_7x7", wide([2, 16, 7, 7]), op("GlobalAveragePool"))
    build("globalavgpool_13x11", wide([2, 8, 13, 11]), op("GlobalAveragePool"))
    build("globalavgpool_32x32", wide([1, 4, 32, 32]), op("GlobalAveragePool"))
    build("maxpool_3x3_s2_p1", img, op("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))

    # Activations: dense sweeps over the polynomial's domain plus the saturated tails.
    n = 16384
    build("sigmoid", ramp(-30.0, 30.0, n, [4, 4096]), op("Sigmoid"))
    build("sigmoid_wide", wide([4, 1000], -6, 2.5), op("Sigmoid"))
    build("tanh", ramp(-12.0, 12.0, n, [4, 4096]), op("Tanh"))
    build("tanh_wide", wide([4, 1000], -6, 2.5), op("Tanh"))
    build("erf", ramp(-5.0, 5.0, n, [4, 4096]), op("Erf"))
    build("erf_wide", wide([4, 1000], -6, 2.5), op("Erf"))
    build("exp", ramp(-104.0, 89.0, n, [4, 4096]), op("Exp"))
    build("exp_wide", wide([4, 1000], -6, 1.9), op("Exp"))
    # Softmax: last axis (rows of many lengths, incl. < 16 and not a multiple of 16) and a
    # non-last axis; logits from tiny to large.
    build("softmax_last", wide([64, 100], -2, 1.5), op("Softmax", axis=-1))
    build("softmax_last_short", wide([300, 7], -2, 1.5), op("Softmax", axis=-1))
    build("softmax_last_long", wide([4, 1037], -2, 1.7), op("Softmax", axis=-1))
    build("softmax_axis1", wide([4, 33, 5, 6], -2, 1.5), op("Softmax", axis=1))

    # Special values: NaN (both signs), infinities, signed zeros, subnormals, the clamp and
    # branch boundaries of the kernels.
    edges = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 3.4e38, -3.4e38, 1e-45, -1e-45,
                      1e-38, -1e-38, 88.72, 88.73, 89.0, -87.3, -103.9, -103.98, -104.0, -150.0,
                      18.0, -18.0, 18.5, 9.0, -9.0, 9.5, 3.925, 3.93, 0.921875, -0.921875,
                      0.92187494, 5.0, -5.0], np.float32).reshape(1, -1)
    for t in ["Sigmoid", "Tanh", "Erf", "Exp"]:
        build(f"{t.lower()}_edges", edges, op(t))
    rows = np.array([[-np.inf, 0, 1, 2], [np.inf, 1, 2, 3], [np.nan, 1, 2, 3], [-np.inf] * 4,
                     [3e38, -3e38, 0, 1], [1e-45, 0, -0.0, 5], [88, 89, 90, -200],
                     [-0.0, 0.0, -0.0, 0.0]], np.float32)
    build("softmax_edges", rows, op("Softmax", axis=-1))

    # AveragePool-19 runs ORT's own loop (pool_functors.h), dilated or not: each window summed
    # in f32 in row-major order, then divided (the IR's `row_major_sum`).
    dimg = wide([2, 4, 13, 11])
    # LayerNormalization: MLAS's AVX2 kernel for rows of 8 or more (f64 mean, centred f32
    # FMA variance, a 4-wide plain tail), the Welford fallback for shorter rows.
    seq = wide([2, 5, 48])
    rng = np.random.default_rng(7)
    g48 = rng.uniform(0.5, 1.5, 48).astype(np.float32)
    b48 = rng.uniform(-0.5, 0.5, 48).astype(np.float32)
    build("layernorm_last", seq, helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], name="ln", epsilon=1e-5), inits=[("g", g48), ("b", b48)])
    g240 = rng.uniform(0.5, 1.5, (5, 48)).astype(np.float32)
    build("layernorm_axis1_nobias", seq, helper.make_node("LayerNormalization", ["x", "g"], ["y"], name="ln", axis=1, epsilon=1e-3), inits=[("g", g240)])
    for n in (5, 13, 21):
        xs = (wide([3, 4, n]) * 7.0 + 300.0).astype(np.float32)
        gn = rng.uniform(0.5, 1.5, n).astype(np.float32)
        bn = rng.uniform(-0.5, 0.5, n).astype(np.float32)
        build(f"layernorm_row{n}", xs, helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], name="ln", epsilon=1e-5), inits=[("g", gn), ("b", bn)])
    # Gelu-20: MLAS's erf / tanh kernels around x * 0.70710677 and x * (C x^2 + B).
    gx = np.concatenate([np.linspace(-10, 10, 2001), np.linspace(-1, 1, 999),
                         [0.0, -0.0, 1e-30, -1e-30, 3e38, -3e38]]).astype(np.float32).reshape(1, -1)
    build("gelu_none", gx, op("Gelu"), opset=20)
    build("gelu_tanh", gx, op("Gelu", approximate="tanh"), opset=20)
    # Resize-13 nearest: every coordinate / nearest mode, up- and down-sampling by scales
    # (non-integer too) and by sizes.
    rimg = wide([1, 2, 7, 9])
    for cm in ("half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn", "align_corners"):
        for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
            for tag, sc in (("up", [1, 1, 2.0, 1.5]), ("down", [1, 1, 0.6, 0.45])):
                node = helper.make_node("Resize", ["x", "", "sc"], ["y"], name="rs", mode="nearest",
                                        coordinate_transformation_mode=cm, nearest_mode=nm)
                build(f"resize_{cm}_{nm}_{tag}", rimg, node, opset=13, inits=[("sc", np.array(sc, np.float32))])
    node = helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="rs", mode="nearest")
    build("resize_sizes_half_pixel", rimg, node, opset=13, inits=[("sz", np.array([1, 2, 11, 4], np.int64))])
    build("avgpool19_3x3_s2_p1", dimg, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), opset=19)
    build("avgpool19_2x2", dimg, op("AveragePool", kernel_shape=[2, 2], strides=[2, 2]), opset=19)
    build("avgpool19_3x3_s1_incpad", dimg, op("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1), opset=19)
    build("avgpool21_3x3_s2_p1", dimg, op("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), opset=21)
    build("avgpool19_dil2", dimg, op("AveragePool", kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 2, 2, 2]), opset=19)
    build("avgpool19_dil_incpad", dimg, op("AveragePool", kernel_shape=[2, 3], strides=[2, 1], dilations=[2, 1], pads=[1, 1, 1, 1], count_include_pad=1), opset=19)
    build("avgpool19_dil_ceil", dimg, op("AveragePool", kernel_shape=[2, 2], strides=[2, 2], dilations=[3, 2], ceil_mode=1), opset=19)

    # ReduceMean / ReduceSum over trailing axes (PyTorch exports AdaptiveAvgPool2d this way):
    # ORT's KR fast path sums each row with Eigen's SSE packets, starting at the row's first
    # 16-byte aligned element, so rows of 4, 49, 7 and 13 values exercise every alignment.
    for tag, shape in [("2x2", [4, 64, 2, 2]), ("7x7", [2, 37, 7, 7]), ("1x7", [3, 11, 1, 7]), ("13", [5, 9, 13])]:
        ax = [-1, -2] if len(shape) == 4 else [-1]
        for t in ["ReduceMean", "ReduceSum"]:
            node = helper.make_node(t, ["x", "ax"], ["y"], name=t.lower(), keepdims=1)
            build(f"{t.lower()}_{tag}", wide(shape), node, opset=18, inits=[("ax", np.array(ax, np.int64))])


if __name__ == "__main__":
    main()
