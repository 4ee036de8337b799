#!/usr/bin/env python3
"""Writes tests/fixtures/malformed/*: broken models and .npy files, each of which qcc must
reject with a one-line error (never a panic). Needs `pip install onnx numpy`.

Each file's name says what is wrong with it; tests/malformed.rs lists the expected error text.
"""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "malformed")
os.makedirs(OUT, exist_ok=True)


def vi(name, dtype=TensorProto.FLOAT, shape=(1, 4)):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def save(name, nodes, inputs, outputs, inits=(), opset=17, check=False):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if check:
        onnx.checker.check_model(m)
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def w(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


# A valid base: y = Relu(x @ W), used for truncation.
save("valid_matmul_relu",
     [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"), helper.make_node("Relu", ["h"], ["y"], name="relu")],
     [vi("x")], [vi("y")], [w("W", np.ones((4, 4), np.float32))], check=True)
base = open(os.path.join(OUT, "valid_matmul_relu.onnx"), "rb").read()
open(os.path.join(OUT, "truncated_protobuf.onnx"), "wb").write(base[: len(base) // 2])
open(os.path.join(OUT, "truncated_first_bytes.onnx"), "wb").write(base[:7])
open(os.path.join(OUT, "empty_file.onnx"), "wb").write(b"")
open(os.path.join(OUT, "garbage_bytes.onnx"), "wb").write(bytes((i * 37 + 11) % 256 for i in range(512)))
open(os.path.join(OUT, "text_not_protobuf.onnx"), "w").write("this is not an ONNX model\n")

save("unsupported_op", [helper.make_node("Foo", ["x"], ["y"], name="foo_1")], [vi("x")], [vi("y")])
save("missing_initializer", [helper.make_node("MatMul", ["x", "W_missing"], ["y"], name="mm")], [vi("x")], [vi("y")])
save("cyclic_graph",
     [helper.make_node("Add", ["x", "b"], ["a"], name="add_a"), helper.make_node("Relu", ["a"], ["b"], name="relu_b")],
     [vi("x")], [vi("b")])
save("bad_attribute_type",
     [helper.make_node("Conv", ["x", "W"], ["y"], name="conv_0", strides=[1.5, 1.5])],
     [vi("x", shape=(1, 1, 4, 4))], [vi("y", shape=(1, 1, 4, 4))], [w("W", np.ones((1, 1, 1, 1), np.float32))])
save("conv_channel_mismatch",
     [helper.make_node("Conv", ["x", "W"], ["y"], name="conv_0")],
     [vi("x", shape=(1, 3, 4, 4))], [vi("y", shape=(1, 2, 4, 4))], [w("W", np.ones((2, 5, 1, 1), np.float32))])
save("matmul_shape_mismatch", [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
     [vi("x")], [vi("y")], [w("W", np.ones((3, 4), np.float32))])
bad_raw = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[4, 4], raw_data=b"\x00" * 10)
save("raw_data_wrong_length", [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
     [vi("x")], [vi("y")], [bad_raw])
save("unsupported_dtype_float16", [helper.make_node("Relu", ["x"], ["y"], name="relu")],
     [vi("x", TensorProto.FLOAT16)], [vi("y", TensorProto.FLOAT16)])
ext = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[4, 4], data_location=TensorProto.EXTERNAL)
ext.external_data.add(key="location", value="weights.bin")
save("external_data", [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], [vi("x")], [vi("y")], [ext])
save("reshape_impossible", [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape_0")],
     [vi("x")], [vi("y", shape=(3,))], [w("s", np.array([3], np.int64))])
save("quantize_zero_scale", [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="q0")],
     [vi("x")], [vi("y", TensorProto.UINT8)], [w("s", np.float32(0.0)), w("z", np.uint8(0))])
save("quantize_negative_scale", [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="q0")],
     [vi("x")], [vi("y", TensorProto.UINT8)], [w("s", np.float32(-0.5)), w("z", np.uint8(0))])
save("per_axis_scale_length_mismatch",
     [helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["y"], name="dq_w", axis=0)],
     [], [vi("y", shape=(4, 4))],
     [w("Wq", np.ones((4, 4), np.int8)), w("s", np.ones(3, np.float32)), w("z", np.zeros(3, np.int8))])
save("duplicate_definition",
     [helper.make_node("Relu", ["x"], ["y"], name="r1"), helper.make_node("Relu", ["x"], ["y"], name="r2")],
     [vi("x")], [vi("y")])
save("undefined_graph_output", [helper.make_node("Relu", ["x"], ["y"], name="r1")], [vi("x")], [vi("z")])
save("opset_too_new", [helper.make_node("Relu", ["x"], ["y"], name="r1")], [vi("x")], [vi("y")], opset=99)
save("concat_axis_out_of_range", [helper.make_node("Concat", ["x", "x"], ["y"], name="cat", axis=5)],
     [vi("x")], [vi("y", shape=(2, 4))])
save("gather_index_out_of_range", [helper.make_node("Gather", ["x", "i"], ["y"], name="gather_0", axis=1)],
     [vi("x")], [vi("y", shape=(1,))], [w("i", np.array(5, np.int64))])
save("expand_incompatible_shape", [helper.make_node("Expand", ["x", "s"], ["y"], name="expand_0")],
     [vi("x")], [vi("y", shape=(3, 5))], [w("s", np.array([3, 5], np.int64))])
save("transpose_bad_perm", [helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])],
     [vi("x")], [vi("y")])
save("split_sizes_do_not_sum", [helper.make_node("Split", ["x", "sp"], ["a", "b"], name="split_0", axis=1)],
     [vi("x")], [vi("a", shape=(1, 1)), vi("b", shape=(1, 1))], [w("sp", np.array([1, 1], np.int64))])
save("gemm_rank3", [helper.make_node("Gemm", ["x", "W"], ["y"], name="gemm_0")],
     [vi("x", shape=(1, 2, 4))], [vi("y", shape=(1, 4))], [w("W", np.ones((4, 4), np.float32))])
save("conv_missing_weight_operand", [helper.make_node("Conv", ["x"], ["y"], name="conv_0")],
     [vi("x", shape=(1, 1, 4, 4))], [vi("y", shape=(1, 1, 4, 4))])
save("maxpool_missing_kernel", [helper.make_node("MaxPool", ["x"], ["y"], name="pool_0")],
     [vi("x", shape=(1, 1, 4, 4))], [vi("y", shape=(1, 1, 4, 4))])
save("no_graph_outputs", [helper.make_node("Relu", ["x"], ["y"], name="r1")], [vi("x")], [])
save("declared_output_shape_mismatch", [helper.make_node("Relu", ["x"], ["y"], name="r1")],
     [vi("x", shape=(1, 4))], [vi("y", shape=(1, 5))])
save("negative_input_dim", [helper.make_node("Relu", ["x"], ["y"], name="r1")],
     [vi("x", shape=(1, -4))], [vi("y", shape=(1, 4))])

# .npy files for the valid model's input x: float32 (1, 4).
np.save(os.path.join(OUT, "input_ok.npy"), np.ones((1, 4), np.float32))
np.save(os.path.join(OUT, "input_wrong_dtype.npy"), np.ones((1, 4), np.int32))
np.save(os.path.join(OUT, "input_wrong_rank.npy"), np.ones((4,), np.float32))
np.save(os.path.join(OUT, "input_wrong_dim.npy"), np.ones((1, 5), np.float32))
np.save(os.path.join(OUT, "input_fortran.npy"), np.asfortranarray(np.ones((2, 4), np.float32)))
np.save(os.path.join(OUT, "input_complex.npy"), np.ones((1, 4), np.complex64))
ok = open(os.path.join(OUT, "input_ok.npy"), "rb").read()
open(os.path.join(OUT, "input_truncated.npy"), "wb").write(ok[:-5])
open(os.path.join(OUT, "input_garbage.npy"), "wb").write(b"\x93NUMPY garbage")
open(os.path.join(OUT, "bad_ir.qir"), "w").write("module @m\nfunc @main(%x: tensor<4xf32>) {\n  %y = relu %undefined : tensor<4xf32>\n  return %y\n}\n")
print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
