"""Reference outputs for the single-op TFLite fixtures (tests/fixtures/tflite/op_*).

The models are written by qcc's own flatbuffer builder:
    QCC_WRITE_TFLITE_FIXTURES=1 cargo test -p qcc-frontends --test tflite_ops litert_fixture
Then this script runs each with LiteRT's reference kernels (BUILTIN_REF, the kernels the
corpus's expected_tf.npy come from) and writes input_0.npy, input_1.npy (operand a takes
every int8 value once, b is random) and expected_tf.npy next to it.

    python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert==2.3.0 numpy
    /tmp/litert/bin/python scripts/make_litert_op_fixtures.py
"""

import glob
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tflite")


def main():
    rng = np.random.default_rng(3)
    for d in sorted(glob.glob(os.path.join(ROOT, "op_*"))):
        it = Interpreter(model_path=os.path.join(d, "model.tflite"),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        ins = it.get_input_details()
        a = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
        b = rng.integers(-128, 128, size=(1, 256)).astype(np.int8)
        it.set_tensor(ins[0]["index"], a)
        it.set_tensor(ins[1]["index"], b)
        it.invoke()
        y = it.get_tensor(it.get_output_details()[0]["index"])
        np.save(os.path.join(d, "input_0.npy"), a)
        np.save(os.path.join(d, "input_1.npy"), b)
        np.save(os.path.join(d, "expected_tf.npy"), y)
        print(os.path.basename(d), y.shape, y.dtype)


if __name__ == "__main__":
    main()
