#!/usr/bin/env python3
"""Generates the malformed .tflite fixtures of tests/tflite_malformed.rs.

Each case mutates the bytes of a small valid model (hello_world_int8, or micro_speech_int8
for per-axis quantization) with a tiny stdlib-only flatbuffer walker: truncations, a bad
file identifier or root offset, out-of-range tensor / opcode / buffer indices, shortened
vectors, wrong quantization arrays, unsupported op codes and versions. In-place patches
only touch fields the converter wrote, so the rest of the file stays valid.

Usage: scripts/gen_malformed_tflite.py [CORPUS_DIR] [OUT_DIR]
  CORPUS_DIR defaults to ../shared/corpus/tflite (or tests/fixtures/tflite when the
  models were copied there), OUT_DIR to tests/fixtures/tflite_malformed.
"""

import os
import struct
import sys


class FB:
    """Minimal read/patch access to a flatbuffer held in a bytearray."""

    def __init__(self, data):
        self.b = bytearray(data)

    def u32(self, p):
        return struct.unpack_from("<I", self.b, p)[0]

    def i32(self, p):
        return struct.unpack_from("<i", self.b, p)[0]

    def root(self):
        return self.u32(0)

    def field(self, table, i):
        """Absolute position of field i of the table at `table`, or None when absent."""
        vt = table - self.i32(table)
        vt_len = struct.unpack_from("<H", self.b, vt)[0]
        if 4 + 2 * i >= vt_len:
            return None
        off = struct.unpack_from("<H", self.b, vt + 4 + 2 * i)[0]
        return table + off if off else None

    def deref(self, p):
        return p + self.u32(p)

    def table_field(self, table, i):
        p = self.field(table, i)
        return None if p is None else self.deref(p)

    def vector(self, table, i):
        """(length position, first element position) of vector field i."""
        v = self.table_field(table, i)
        if v is None:
            raise KeyError(f"vector field {i} absent")
        return v, v + 4

    def vec_len(self, table, i):
        lp, _ = self.vector(table, i)
        return self.u32(lp)

    def vec_table(self, table, i, k):
        _, e = self.vector(table, i)
        return self.deref(e + 4 * k)

    def put(self, fmt, p, v):
        struct.pack_into(fmt, self.b, p, v)


# Schema field numbers (tensorflow/lite/schema/schema.fbs).
M_VERSION, M_OPCODES, M_SUBGRAPHS, M_BUFFERS = 0, 1, 2, 4
OC_DEPRECATED, OC_VERSION, OC_BUILTIN = 0, 2, 3
SG_TENSORS, SG_INPUTS, SG_OUTPUTS, SG_OPERATORS = 0, 1, 2, 3
T_SHAPE, T_TYPE, T_BUFFER, T_QUANT = 0, 1, 2, 4
Q_SCALE, Q_ZP, Q_DIM = 2, 3, 6
OP_OPCODE, OP_INPUTS, OP_OPTIONS = 0, 1, 4
BUF_DATA = 0
CONV_STRIDE_W = 1


def sg0(fb):
    return fb.vec_table(fb.root(), M_SUBGRAPHS, 0)


def tensor(fb, t):
    return fb.vec_table(sg0(fb), SG_TENSORS, t)


def operator(fb, k):
    return fb.vec_table(sg0(fb), SG_OPERATORS, k)


def op_input_index(fb, k, j):
    _, e = fb.vector(operator(fb, k), OP_INPUTS)
    return fb.i32(e + 4 * j)


def set_op_input(fb, k, j, v):
    _, e = fb.vector(operator(fb, k), OP_INPUTS)
    fb.put("<i", e + 4 * j, v)


def opcode_of(fb, k):
    p = fb.field(operator(fb, k), OP_OPCODE)
    idx = fb.u32(p) if p is not None else 0
    return fb.vec_table(fb.root(), M_OPCODES, idx)


def cases(hello, speech):
    """Yields (name, bytes). hello: FC x3; speech: RESHAPE, DEPTHWISE_CONV_2D (per-axis),
    FULLY_CONNECTED, SOFTMAX."""
    yield "empty", b""
    yield "truncated_8_bytes", hello[:8]
    yield "truncated_half", hello[: len(hello) // 2]
    yield "truncated_tail", hello[: len(hello) - 200]
    bad = bytearray(hello)
    bad[4:8] = b"XXXX"
    yield "bad_identifier", bytes(bad)
    bad = bytearray(hello)
    struct.pack_into("<I", bad, 0, len(hello) + 1000)
    yield "root_offset_past_end", bytes(bad)
    garbage = bytearray((i * 7919 + 13) % 251 for i in range(512))
    garbage[4:8] = b"TFL3"
    yield "garbage_with_identifier", bytes(garbage)

    fb = FB(hello)
    fb.put("<I", fb.field(fb.root(), M_VERSION), 2)
    yield "schema_version_2", bytes(fb.b)

    fb = FB(hello)
    set_op_input(fb, 0, 0, 4242)
    yield "op_input_index_out_of_range", bytes(fb.b)

    fb = FB(hello)
    set_op_input(fb, 1, 1, -7)
    yield "op_input_index_negative", bytes(fb.b)

    fb = FB(hello)
    _, e = fb.vector(sg0(fb), SG_OUTPUTS)
    fb.put("<i", e, 99)
    yield "graph_output_index_out_of_range", bytes(fb.b)

    fb = FB(speech)
    p = next(p for p in (fb.field(operator(fb, k), OP_OPCODE) for k in range(4)) if p is not None)
    fb.put("<I", p, 77)
    yield "opcode_index_out_of_range", bytes(fb.b)

    fb = FB(hello)
    w = op_input_index(fb, 0, 1)
    fb.put("<I", fb.field(tensor(fb, w), T_BUFFER), 500)
    yield "buffer_index_out_of_range", bytes(fb.b)

    fb = FB(hello)
    w = op_input_index(fb, 1, 1)
    b = fb.u32(fb.field(tensor(fb, w), T_BUFFER))
    lp, _ = fb.vector(fb.vec_table(fb.root(), M_BUFFERS, b), BUF_DATA)
    fb.put("<I", lp, fb.u32(lp) - 3)
    yield "buffer_too_short_for_shape", bytes(fb.b)

    fb = FB(hello)
    w = op_input_index(fb, 1, 1)
    b = fb.u32(fb.field(tensor(fb, w), T_BUFFER))
    lp, _ = fb.vector(fb.vec_table(fb.root(), M_BUFFERS, b), BUF_DATA)
    fb.put("<I", lp, 0)
    yield "missing_weight_buffer", bytes(fb.b)

    fb = FB(hello)
    q = fb.table_field(tensor(fb, op_input_index(fb, 0, 0)), T_QUANT)
    lp, _ = fb.vector(q, Q_ZP)
    fb.put("<I", lp, 0)
    yield "scale_zero_point_count_mismatch", bytes(fb.b)

    fb = FB(hello)
    q = fb.table_field(tensor(fb, op_input_index(fb, 0, 0)), T_QUANT)
    _, e = fb.vector(q, Q_SCALE)
    fb.put("<f", e, 0.0)
    yield "zero_scale", bytes(fb.b)

    fb = FB(hello)
    q = fb.table_field(tensor(fb, op_input_index(fb, 0, 0)), T_QUANT)
    _, e = fb.vector(q, Q_ZP)
    fb.put("<q", e, 1000)
    yield "zero_point_out_of_range", bytes(fb.b)

    fb = FB(hello)
    t = tensor(fb, op_input_index(fb, 0, 1))
    fb.put("<b", fb.field(t, T_TYPE), 100)
    yield "unknown_tensor_type", bytes(fb.b)

    fb = FB(hello)
    _, e = fb.vector(tensor(fb, op_input_index(fb, 0, 1)), T_SHAPE)
    fb.put("<i", e, -5)
    yield "negative_dim", bytes(fb.b)

    fb = FB(hello)
    out = fb.vec_table(sg0(fb), SG_OPERATORS, 0)
    _, e = fb.vector(out, 2)  # operator outputs
    t = fb.i32(e)
    _, se = fb.vector(tensor(fb, t), T_SHAPE)
    fb.put("<i", se + 4, 17)
    yield "output_shape_mismatch", bytes(fb.b)

    fb = FB(hello)
    lp, _ = fb.vector(operator(fb, 0), OP_INPUTS)
    fb.put("<I", lp, 1)
    yield "too_few_op_inputs", bytes(fb.b)

    fb = FB(hello)
    oc = opcode_of(fb, 0)
    fb.put("<i", fb.field(oc, OC_BUILTIN), 27)  # SVDF
    fb.put("<b", fb.field(oc, OC_DEPRECATED), 27)
    yield "unsupported_op_svdf", bytes(fb.b)

    fb = FB(hello)
    oc = opcode_of(fb, 0)
    fb.put("<i", fb.field(oc, OC_VERSION), 99)
    yield "unsupported_op_version", bytes(fb.b)

    fb = FB(hello)
    oc = opcode_of(fb, 0)
    fb.put("<i", fb.field(oc, OC_BUILTIN), 0)  # ADD; deprecated_builtin_code stays 9
    yield "ok_deprecated_builtin_code_fallback", bytes(fb.b)

    # Per-axis quantization on micro_speech's depthwise filter (operator 1, input 1).
    fb = FB(speech)
    q = fb.table_field(tensor(fb, op_input_index(fb, 1, 1)), T_QUANT)
    fb.put("<i", fb.field(q, Q_DIM), 7)
    yield "quantized_dimension_out_of_range", bytes(fb.b)

    fb = FB(speech)
    q = fb.table_field(tensor(fb, op_input_index(fb, 1, 1)), T_QUANT)
    for f in (Q_SCALE, Q_ZP):
        lp, _ = fb.vector(q, f)
        fb.put("<I", lp, fb.u32(lp) - 1)
    yield "per_axis_scale_count_mismatch", bytes(fb.b)

    fb = FB(speech)
    opts = fb.table_field(operator(fb, 1), OP_OPTIONS)
    fb.put("<i", fb.field(opts, CONV_STRIDE_W), 0)
    yield "depthwise_stride_zero", bytes(fb.b)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    corpus = sys.argv[1] if len(sys.argv) > 1 else None
    if corpus is None:
        corpus = os.path.join(root, "tests", "fixtures", "tflite")
        if not os.path.exists(os.path.join(corpus, "hello_world_int8", "model.tflite")):
            corpus = os.path.join(root, "..", "shared", "corpus", "tflite")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "tests", "fixtures", "tflite_malformed")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(corpus, "hello_world_int8", "model.tflite"), "rb") as f:
        hello = f.read()
    with open(os.path.join(corpus, "micro_speech_int8", "model.tflite"), "rb") as f:
        speech = f.read()
    n = 0
    for name, data in cases(hello, speech):
        with open(os.path.join(out, name + ".tflite"), "wb") as f:
            f.write(data)
        n += 1
    print(f"wrote {n} files to {out}")


if __name__ == "__main__":
    main()
