"""Reference outputs for the single-op TFLite fixtures (tests/fixtures/tflite/op_*).

The models are written by qcc's own flatbuffer builder:
    QCC_WRITE_TFLITE_FIXTURES=1 cargo test -p qcc-frontends --test tflite_ops litert_fixture
Then this script runs each with LiteRT's reference kernels (BUILTIN_REF, the kernels the
corpus's expected_tf.npy come from) and writes input_K.npy (the first 256-element operand
takes every int8 value once, the others are random) and expected_tf.npy next to it.

    python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert==2.3.0 numpy
    /tmp/litert/bin/python scripts/make_litert_op_fixtures.py
"""

import glob
import os
import sys
import zlib

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tflite")


def operand(rng, k, detail):
    """Input k: the first 8-bit operand of 256 elements takes every stored value once (so
    each table entry and each operand value is checked), and so does every 16-bit operand
    of 65536 elements (in a fixed scrambled order after the first); the others are
    random."""
    shape, dtype = tuple(detail["shape"]), detail["dtype"]
    info = np.iinfo(dtype)
    if int(np.prod(shape)) == 65536 and info.bits == 16:
        # Every value: operand 0 in order, the others in a fixed scrambled order.
        v = np.arange(65536, dtype=np.int64)
        if k > 0:
            v = (v * (40503 + 2 * k)) % 65536
        return (v + info.min).astype(dtype).reshape(shape)
    if k == 0 and int(np.prod(shape)) == 256 and info.bits == 8:
        return np.arange(info.min, info.max + 1, dtype=dtype).reshape(shape)
    return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)


def main(names):
    """Every op_* fixture, or only `names`. Each fixture's random operands come from a
    generator seeded by its name, so one fixture can be regenerated alone. (The fixtures
    committed before this seeding drew from one generator seeded 3 in directory order.)"""
    for d in sorted(glob.glob(os.path.join(ROOT, "op_*"))):
        if names and os.path.basename(d) not in names:
            continue
        rng = np.random.default_rng(zlib.crc32(os.path.basename(d).encode()))
        it = Interpreter(model_path=os.path.join(d, "model.tflite"),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        for k, detail in enumerate(it.get_input_details()):
            x = operand(rng, k, detail)
            it.set_tensor(detail["index"], x)
            np.save(os.path.join(d, f"input_{k}.npy"), x)
        it.invoke()
        y = it.get_tensor(it.get_output_details()[0]["index"])
        np.save(os.path.join(d, "expected_tf.npy"), y)
        print(os.path.basename(d), y.shape, y.dtype)


if __name__ == "__main__":
    main(sys.argv[1:])
