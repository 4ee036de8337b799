#!/usr/bin/env python3
"""Generate extra int8 / int16x8 TFLite test models for qcc, like the corpus in
/work/shared/corpus/tflite.

Usage:  /tmp/tfv/bin/python make_models.py [name ...]      (default: all models)

Stage 1 (this process): build a Keras model with random weights (BatchNorm statistics
re-estimated on the calibration data so activations are O(1)), convert it with
TFLiteConverter full-integer PTQ (representative dataset), write model.tflite and input_0.npy.
Stage 2 (child process per model, `--ref DIR`): run tf.lite.Interpreter with BUILTIN_REF
(expected_tf.npy), ai_edge_litert with BUILTIN_REF (expected_litert_ref.npy) and with the
default resolver (expected_litert.npy), input resized to the file's batch via
resize_tensor_input; check that batch-N equals N batch-1 runs, else fall back to batch 1.
"""
import json
import os
import subprocess
import sys

OUT = os.environ.get("QCC_KERAS_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tflite_keras"))
BATCH = 8


# ----------------------------------------------------------------------------- references
def run_refs(d):
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert import interpreter as lrt

    model = os.path.join(d, "model.tflite")
    ins = []
    k = 0
    while os.path.exists(os.path.join(d, f"input_{k}.npy")):
        ins.append(np.load(os.path.join(d, f"input_{k}.npy")))
        k += 1

    def run(make, xs):
        it = make()
        det = it.get_input_details()
        for i, x in zip(det, xs):
            if list(i["shape"]) != list(x.shape):
                it.resize_tensor_input(i["index"], list(x.shape))
        it.allocate_tensors()
        for i, x in zip(det, xs):
            it.set_tensor(i["index"], x)
        it.invoke()
        return [it.get_tensor(o["index"]).copy() for o in it.get_output_details()]

    makers = {
        "expected_tf": lambda: tf.lite.Interpreter(
            model_path=model, num_threads=1,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF),
        "expected_litert_ref": lambda: lrt.Interpreter(
            model_path=model, num_threads=1,
            experimental_op_resolver_type=lrt.OpResolverType.BUILTIN_REF),
        "expected_litert": lambda: lrt.Interpreter(model_path=model, num_threads=1),
    }
    note = {}
    n = ins[0].shape[0]
    # batch-N vs N batch-1 runs with the reference kernels
    try:
        full = run(makers["expected_tf"], ins)
        singles = [run(makers["expected_tf"], [x[j:j + 1] for x in ins]) for j in range(n)]
        ok = all(np.array_equal(full[o], np.concatenate([s[o] for s in singles]))
                 for o in range(len(full)))
        note["batch"] = f"batch {n} == {n} batch-1 runs: {ok}"
        if not ok:
            raise RuntimeError("batch mismatch")
    except Exception as e:  # fall back to batch 1
        note["batch_fallback"] = repr(e)[:300]
        ins = [x[:1] for x in ins]
        for k, x in enumerate(ins):
            np.save(os.path.join(d, f"input_{k}.npy"), x)
    res = {}
    for name, mk in makers.items():
        try:
            outs = run(mk, ins)
            res[name] = outs
            if len(outs) == 1:
                np.save(os.path.join(d, name + ".npy"), outs[0])
            else:
                for o, y in enumerate(outs):
                    np.save(os.path.join(d, f"{name}_{o}.npy"), y)
        except Exception as e:
            note[name] = "FAILED " + repr(e)[:300]
    if "expected_tf" in res and "expected_litert" in res:
        note["max_abs_diff_tf_ref_vs_litert_default"] = [
            float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
            for a, b in zip(res["expected_tf"], res["expected_litert"])]
    if "expected_tf" in res and "expected_litert_ref" in res:
        note["tf_ref_eq_litert_ref"] = all(np.array_equal(a, b) for a, b in
                                           zip(res["expected_tf"], res["expected_litert_ref"]))
    # operator summary and quantisation of I/O
    it = tf.lite.Interpreter(model_path=model)
    it.allocate_tensors()
    ops = [o["op_name"] for o in it._get_ops_details()]
    note["ops"] = ops
    note["inputs"] = [(i["name"], str(i["dtype"].__name__), list(i["shape_signature"]),
                       [float(s) for s in i["quantization_parameters"]["scales"]],
                       [int(z) for z in i["quantization_parameters"]["zero_points"]])
                      for i in it.get_input_details()]
    note["outputs"] = [(i["name"], str(i["dtype"].__name__), list(i["shape_signature"]),
                        [float(s) for s in i["quantization_parameters"]["scales"]],
                        [int(z) for z in i["quantization_parameters"]["zero_points"]])
                       for i in it.get_output_details()]
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(note, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    print(d, json.dumps({k: v for k, v in note.items() if k not in ("inputs", "outputs")}, default=str))


if len(sys.argv) > 2 and sys.argv[1] == "--ref":
    run_refs(sys.argv[2])
    sys.exit(0)

# ----------------------------------------------------------------------------- models
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
    # Keras 2 (tf_keras): its LSTM converts to the fused UNIDIRECTIONAL_SEQUENCE_LSTM; a
    # Keras 3 LSTM becomes a WHILE loop whose calibration segfaults in TF 2.21.
    import tf_keras as keras  # noqa: E402
    from tf_keras import layers as L  # noqa: E402
else:
    import keras  # noqa: E402
    from keras import layers as L  # noqa: E402

INT16 = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8


def rng_for(name):
    return np.random.default_rng(abs(hash(name)) % (2 ** 31) if False else sum(map(ord, name)))


# ---- realistic data
def images(rng, n, h, w, c):
    """Smooth 'natural-ish' images in [0, 1]: low-frequency blobs + gradients + noise."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((n, h, w, c), np.float32)
    for i in range(n):
        for ch in range(c):
            a = rng.uniform(0.5, 3.0, 4)
            img = (0.5 + 0.25 * np.sin(2 * np.pi * (a[0] * xx + a[1] * yy) + rng.uniform(0, 6))
                   + 0.2 * np.cos(2 * np.pi * a[2] * xx * yy + rng.uniform(0, 6))
                   + 0.05 * rng.standard_normal((h, w)))
            out[i, :, :, ch] = np.clip(img, 0, 1)
    return out


def normalized_images(rng, n, h, w, c):
    return (images(rng, n, h, w, c) - 0.5) / 0.25   # ImageNet-like normalization, ~[-2, 2]


def series(rng, n, t, f):
    """Sensor-like time series: sum of sines + noise, ~[-2, 2]."""
    tt = np.arange(t)[None, :, None]
    fr = rng.uniform(0.02, 0.3, (n, 1, f))
    ph = rng.uniform(0, 6.3, (n, 1, f))
    amp = rng.uniform(0.3, 1.5, (n, 1, f))
    return (amp * np.sin(2 * np.pi * fr * tt + ph) + 0.1 * rng.standard_normal((n, t, f))
            ).astype(np.float32)


def features(rng, n, d):
    return (rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)).astype(np.float32)


# ---- weight / BN handling
def randomize(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.6, 1.6, g.shape).astype(np.float32),
                               rng.uniform(-0.4, 0.6, b.shape).astype(np.float32), m, v])
        elif isinstance(layer, (L.Dense, L.Conv2D, L.Conv1D, L.DepthwiseConv2D)):
            ws = layer.get_weights()
            if len(ws) == 2:  # random (nonzero) biases
                ws[1] = rng.uniform(-0.3, 0.3, ws[1].shape).astype(np.float32)
                layer.set_weights(ws)


def precise_bn(model, x):
    """Set BN moving statistics to the batch statistics of x (activations stay O(1))."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            sub = keras.Model(model.inputs, layer.input)
            a = sub.predict(x, verbose=0)
            ax = tuple(range(a.ndim - 1))
            g, b, _, _ = layer.get_weights()
            layer.set_weights([g, b, a.mean(axis=ax), a.var(axis=ax) + 1e-3])


def conv_bn(x, f, k, s=1, act=None, name=None):
    x = L.Conv2D(f, k, strides=s, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    if act:
        x = L.Activation(act)(x)
    return x


def hard_sigmoid(x):
    return L.Lambda(lambda t: tf.nn.relu6(t + 3.0) / 6.0)(x)


def hard_swish(x):
    return L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) / 6.0)(x)


# ---- model definitions: name -> (builder, data fn, io ('int8'|'float'|'int16'), mode)
def m_mnv3(se_gate="hard_sigmoid"):
    def build():
        inp = keras.Input((32, 32, 3))
        x = conv_bn(inp, 16, 3, 2)
        x = hard_swish(x)
        sc = x
        # expand -> depthwise -> SE -> project (MobileNetV3 bneck)
        y = conv_bn(x, 32, 1)
        y = hard_swish(y)
        y = L.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
        y = L.BatchNormalization()(y)
        y = hard_swish(y)
        s = L.GlobalAveragePooling2D(keepdims=True)(y)
        s = L.Dense(8, activation="relu")(s)
        s = L.Dense(32)(s)
        s = hard_sigmoid(s) if se_gate == "hard_sigmoid" else L.Activation("sigmoid")(s)
        y = L.Multiply()([y, s])
        y = conv_bn(y, 16, 1)
        x = L.Add()([sc, y])
        x = L.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(10)(x)
        out = L.Softmax()(x)
        return keras.Model(inp, out)
    return build


def m_reduce_mean():
    inp = keras.Input((12, 10, 8))
    x = conv_bn(inp, 16, 3, act="relu")
    a = L.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)   # [N,1,1,16]
    a = L.Flatten()(a)
    b = L.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=False))(x)  # [N,16]
    c = L.Lambda(lambda t: tf.reduce_mean(t, axis=-1, keepdims=False))(x)      # [N,12,10]
    c = L.Flatten()(c)
    d = L.Lambda(lambda t: tf.reduce_mean(t, axis=1, keepdims=True))(x)        # [N,1,10,16]
    d = L.Flatten()(d)
    x = L.Concatenate()([a, b, c, d])
    x = L.Dense(10)(x)
    return keras.Model(inp, x)


def m_activations():
    inp = keras.Input((20,))
    x = L.Dense(32)(inp)
    x = L.BatchNormalization()(x)
    s = L.Activation("sigmoid")(L.Dense(16)(x))
    t = L.Activation("tanh")(L.Dense(16)(x))
    x = L.Concatenate()([s, t])
    x = L.Dense(12)(x)
    x = L.BatchNormalization()(x)
    x = L.Lambda(lambda v: v * 2.0)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out)


def m_binary_branches():
    inp = keras.Input((16, 16, 4))
    x = conv_bn(inp, 8, 3, act="relu")
    a = conv_bn(x, 8, 3)
    b = conv_bn(x, 8, 1, act="relu")
    s = L.Add()([a, b])
    d = L.Subtract()([a, b])
    m = L.Multiply()([a, b])
    x = L.Concatenate(axis=-1)([s, d, m])
    x = L.MaxPooling2D(2)(x)
    x = L.Reshape((8 * 8 * 24,))(x)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, x)


def m_pad_pool():
    inp = keras.Input((24, 24, 3))
    x = L.ZeroPadding2D(((1, 2), (2, 1)))(inp)
    x = L.Conv2D(8, 3, strides=1, padding="valid")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.AveragePooling2D(2, strides=2, padding="valid")(x)
    x = L.ZeroPadding2D(1)(x)
    x = L.Conv2D(12, 3, strides=2, padding="valid")(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.AveragePooling2D(3, strides=1, padding="same")(x)
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    return keras.Model(inp, x)


def m_dense_seq():
    inp = keras.Input((6, 12))
    x = L.Dense(24, activation="relu")(inp)   # Dense on a 3-d input (batch dim + time)
    x = L.Dense(8)(x)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_lstm(unroll):
    def build():
        # fixed batch 1 when not unrolled: the converter's fused LSTM needs a static batch
        inp = keras.Input((10, 6), batch_size=None if unroll else 1)
        x = L.LSTM(16, unroll=unroll)(inp)
        x = L.Dense(4)(x)
        return keras.Model(inp, x)
    return build


def m_lstm_seq():
    inp = keras.Input((12, 4), batch_size=1)
    x = L.LSTM(12, return_sequences=True)(inp)
    x = L.LSTM(8)(x)
    x = L.Dense(3, activation="softmax")(x)
    return keras.Model(inp, x)


def m_conv1d():
    inp = keras.Input((64, 3))
    x = L.Conv1D(8, 5, padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(16, 3, dilation_rate=2, padding="valid")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Conv1D(16, 3, strides=2, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(6)(x)
    return keras.Model(inp, x)


def m_conv1d_plain():
    """Keras Conv1D without dilation: EXPAND_DIMS -> CONV_2D -> SQUEEZE."""
    inp = keras.Input((64, 3))
    x = L.Conv1D(8, 5, padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(16, 3, strides=2, padding="valid")(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(6)(x)
    return keras.Model(inp, x)


def m_cnn16_supported():
    inp = keras.Input((20, 20, 2))
    x = conv_bn(inp, 8, 3, 1, act="relu")
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling2D(2)(x)
    x = L.AveragePooling2D(2)(x)
    x = L.ZeroPadding2D(1)(x)
    x = conv_bn(x, 12, 3, 2, act="relu")
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10)(x)
    return keras.Model(inp, x)


def m_cnn16_full():
    inp = keras.Input((16, 16, 3))
    x = conv_bn(inp, 8, 3, 2, act="relu")
    a = conv_bn(x, 8, 3)
    x = L.Add()([x, a])
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Dense(8, activation="sigmoid")(s)
    x = L.Multiply()([x, s])
    x = L.Flatten()(x)
    x = L.Dense(6, activation="tanh")(x)
    x = L.Dense(4)(x)
    x = L.Softmax()(x)
    return keras.Model(inp, x)


def m_softmax_head():
    inp = keras.Input((24,))
    x = L.Dense(32, activation="relu")(inp)
    x = L.Dense(40)(x)
    return keras.Model(inp, L.Softmax()(x))


def m_flat_fc_int8():
    inp = keras.Input((28, 28, 1))
    x = conv_bn(inp, 8, 3, 2, act="relu")
    x = L.Flatten()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(10)(x)
    return keras.Model(inp, x)


# ---- second round: variants that avoid the ops qcc rejects, so the numerics get exercised
def m_mnv3_se_conv(gate):
    """keras.applications.MobileNetV3-style bneck: SE with 1x1 Conv2D (not Dense)."""
    def build():
        inp = keras.Input((32, 32, 3))
        x = conv_bn(inp, 16, 3, 2)
        x = hard_swish(x)
        sc = x
        y = conv_bn(x, 48, 1)
        y = hard_swish(y)
        y = L.DepthwiseConv2D(5, padding="same", use_bias=False)(y)
        y = L.BatchNormalization()(y)
        y = hard_swish(y)
        s = L.GlobalAveragePooling2D(keepdims=True)(y)
        s = L.Conv2D(12, 1, padding="same")(s)
        s = L.ReLU()(s)
        s = L.Conv2D(48, 1, padding="same")(s)
        if gate == "hard_sigmoid":   # exactly keras.applications.mobilenet_v3.hard_sigmoid
            s = L.ReLU(6.0)(L.Lambda(lambda t: t + 3.0)(s))
            s = L.Lambda(lambda t: t * (1.0 / 6.0))(s)
        else:
            s = L.Activation("sigmoid")(s)
        y = L.Multiply()([y, s])
        y = conv_bn(y, 16, 1)
        x = L.Add()([sc, y])
        x = conv_bn(x, 64, 1)
        x = hard_swish(x)
        x = L.GlobalAveragePooling2D(keepdims=True)(x)
        x = L.Conv2D(32, 1)(x)
        x = hard_swish(x)
        x = L.Flatten()(x)
        x = L.Dense(10)(x)
        out = L.Softmax()(x)
        return keras.Model(inp, out)
    return build


def m_act_multiout():
    inp = keras.Input((20,))
    x = L.Dense(32)(inp)
    x = L.BatchNormalization()(x)
    s = L.Activation("sigmoid")(L.Dense(16)(x))
    t = L.Activation("tanh")(L.Dense(16)(x))
    u = L.Dense(12)(x)
    u = L.BatchNormalization()(u)
    u = L.Lambda(lambda v: v * 2.0)(u)
    u = L.Softmax()(u)
    return keras.Model(inp, [s, t, u])


def m_act_add():
    inp = keras.Input((20,))
    x = L.Dense(32)(inp)
    x = L.BatchNormalization()(x)
    s = L.Activation("sigmoid")(L.Dense(16)(x))
    t = L.Activation("tanh")(L.Dense(16)(x))
    x = L.Add()([s, t])
    m = L.Multiply()([s, t])
    x = L.Subtract()([x, m])
    x = L.Dense(12)(x)
    x = L.BatchNormalization()(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out)


def m_lstm_unrolled_b1():
    inp = keras.Input((10, 6), batch_size=1)
    x = L.LSTM(16, unroll=True)(inp)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_conv1d_as_conv2d():
    inp = keras.Input((64, 3))
    x = L.Reshape((64, 1, 3))(inp)
    x = L.Conv2D(8, (5, 1), padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling2D((2, 1))(x)
    x = L.Conv2D(16, (3, 1), strides=(2, 1), padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Reshape((16, 16))(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(6)(x)
    return keras.Model(inp, x)


def m_lstm_retseq():
    """LSTM(return_sequences=True) + Flatten: no STRIDED_SLICE of the LSTM output."""
    inp = keras.Input((10, 6), batch_size=1)
    x = L.LSTM(16, return_sequences=True)(inp)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_lstm_only():
    inp = keras.Input((10, 6), batch_size=1)
    x = L.LSTM(16, return_sequences=True)(inp)
    return keras.Model(inp, x)


def m_leaky():
    inp = keras.Input((12, 12, 3))
    x = L.Conv2D(8, 3, padding="same")(inp)
    x = L.LeakyReLU(0.1)(x)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_upsample():
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    # keras UpSampling2D lowers to TILE v3, which LiteRT 2.3.0 cannot run: use resize
    x = L.Lambda(lambda t: tf.image.resize(t, (16, 16), method="nearest"))(x)
    x = L.Conv2D(4, 3, padding="same")(x)
    return keras.Model(inp, x)


def m_sepconv():
    inp = keras.Input((16, 16, 3))
    x = L.SeparableConv2D(16, 3, padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, x)


def m_cnn16_concat():
    inp = keras.Input((16, 16, 3))
    x = conv_bn(inp, 8, 3, 2, act="relu")
    a = L.MaxPooling2D(2)(x)
    b = L.Conv2D(8, 3, strides=2, padding="same")(x)
    b = L.BatchNormalization()(b)
    b = L.ReLU()(b)
    x = L.Concatenate()([a, b])
    x = L.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    return keras.Model(inp, x)


def m_avgpool_only():
    inp = keras.Input((16, 16, 3))
    x = conv_bn(inp, 8, 3, 1, act="relu")
    x = L.AveragePooling2D(2)(x)
    x = L.Conv2D(8, 3, padding="same")(x)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


# ---- third round: Keras layers beyond the corpus (bilinear resize, transposed and dilated
# convs, global max pooling, gelu / elu / PReLU, elementwise max / min)
def m_global_max():
    inp = keras.Input((16, 16, 3))
    x = conv_bn(inp, 8, 3, 2, act="relu")
    x = L.GlobalMaxPooling2D()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_bilinear():
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    a = L.Lambda(lambda t: tf.image.resize(t, (16, 16), method="bilinear"))(x)
    a = L.Conv2D(4, 3, padding="same")(a)
    b = L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (13, 11), align_corners=True))(x)
    b = L.Conv2D(4, 3, padding="same")(b)
    return keras.Model(inp, [a, b])


def m_transpose_conv():
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.Conv2DTranspose(6, 3, strides=2, padding="same")(x)
    x = L.ReLU()(x)
    x = L.Conv2DTranspose(4, 2, strides=2, padding="valid", use_bias=False)(x)
    return keras.Model(inp, x)


def m_dilated():
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same", activation="relu")(inp)
    x = L.Conv2D(8, 3, dilation_rate=(2, 3), padding="valid")(x)
    x = L.Flatten()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_dilated_conv1d():
    inp = keras.Input((64, 3))
    x = L.Conv1D(8, 3, dilation_rate=2, padding="causal", activation="relu")(inp)
    x = L.Conv1D(8, 3, dilation_rate=4, padding="same")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_acts2():
    """ELU is left out: LiteRT 2.3.0 cannot run the converter's int8 ELU."""
    inp = keras.Input((20,))
    x = L.Dense(32)(inp)
    g = L.Activation("gelu")(L.Dense(16)(x))
    w = L.Activation("swish")(L.Dense(16)(x))
    m = L.Maximum()([L.Dense(16)(x), L.Dense(16)(x)])
    n = L.Minimum()([L.Dense(16)(x), L.Dense(16)(x)])
    x = L.Concatenate()([g, w, m, n])
    x = L.Dense(8)(x)
    return keras.Model(inp, x)


def m_prelu():
    inp = keras.Input((12, 12, 3))
    x = L.Conv2D(8, 3, padding="same")(inp)
    x = L.PReLU(shared_axes=[1, 2])(x)
    x = L.Flatten()(x)
    x = L.Dense(16)(x)
    x = L.PReLU()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


def m_argmax():
    inp = keras.Input((20,))
    x = L.Dense(16, activation="relu")(inp)
    x = L.Dense(10)(x)
    return keras.Model(inp, L.Lambda(lambda t: tf.argmax(t, axis=-1))(x))


def m_embedding():
    inp = keras.Input((12,), dtype="int32")
    x = L.Embedding(50, 8)(inp)
    x = L.Conv1D(8, 3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(4)(x)
    return keras.Model(inp, x)


MODELS = {
    # name: (builder, data(rng, n), io, mode)
    "mnv3_block_int8io": (m_mnv3("hard_sigmoid"), lambda r, n: images(r, n, 32, 32, 3), "int8", "int8"),
    "mnv3_block_floatio": (m_mnv3("sigmoid"), lambda r, n: normalized_images(r, n, 32, 32, 3), "float", "int8"),
    "reduce_mean_int8io": (m_reduce_mean, lambda r, n: normalized_images(r, n, 12, 10, 8), "int8", "int8"),
    "activations_floatio": (m_activations, lambda r, n: features(r, n, 20), "float", "int8"),
    "activations_int8io": (m_activations, lambda r, n: features(r, n, 20), "int8", "int8"),
    "binary_branches_int8io": (m_binary_branches, lambda r, n: normalized_images(r, n, 16, 16, 4), "int8", "int8"),
    "pad_pool_floatio": (m_pad_pool, lambda r, n: images(r, n, 24, 24, 3), "float", "int8"),
    "dense_seq_int8io": (m_dense_seq, lambda r, n: series(r, n, 6, 12), "int8", "int8"),
    "lstm_int8io": (m_lstm(False), lambda r, n: series(r, n, 10, 6), "int8", "int8"),  # tf_keras
    "lstm_unrolled_int8io": (m_lstm(True), lambda r, n: series(r, n, 10, 6), "int8", "int8"),
    "lstm_stacked_floatio": (m_lstm_seq, lambda r, n: series(r, n, 12, 4), "float", "int8"),
    "conv1d_int8io": (m_conv1d, lambda r, n: series(r, n, 64, 3), "int8", "int8"),
    "conv1d_plain_int8io": (m_conv1d_plain, lambda r, n: series(r, n, 64, 3), "int8", "int8"),
    "cnn_int16x8": (m_cnn16_supported, lambda r, n: normalized_images(r, n, 20, 20, 2), "int16", "int16"),
    "cnn_full_int16x8": (m_cnn16_full, lambda r, n: normalized_images(r, n, 16, 16, 3), "int16", "int16"),
    "flat_fc_int8io": (m_flat_fc_int8, lambda r, n: images(r, n, 28, 28, 1), "int8", "int8"),
    # round 2
    "mnv3_seconv_int8io": (m_mnv3_se_conv("hard_sigmoid"), lambda r, n: images(r, n, 32, 32, 3), "int8", "int8"),
    "mnv3_seconv_floatio": (m_mnv3_se_conv("sigmoid"), lambda r, n: normalized_images(r, n, 32, 32, 3), "float", "int8"),
    "act_multiout_int8io": (m_act_multiout, lambda r, n: features(r, n, 20), "int8", "int8"),
    "act_add_floatio": (m_act_add, lambda r, n: features(r, n, 20), "float", "int8"),
    "lstm_unrolled_b1_int8io": (m_lstm_unrolled_b1, lambda r, n: series(r, n, 10, 6), "int8", "int8"),
    "conv1d_as_conv2d_int8io": (m_conv1d_as_conv2d, lambda r, n: series(r, n, 64, 3), "int8", "int8"),
    "leaky_relu_int8io": (m_leaky, lambda r, n: normalized_images(r, n, 12, 12, 3), "int8", "int8"),
    "upsample_int8io": (m_upsample, lambda r, n: images(r, n, 8, 8, 3), "int8", "int8"),
    "sepconv_int8io": (m_sepconv, lambda r, n: normalized_images(r, n, 16, 16, 3), "int8", "int8"),
    "cnn_concat_int16x8": (m_cnn16_concat, lambda r, n: normalized_images(r, n, 16, 16, 3), "int16", "int16"),
    "lstm_retseq_int8io": (m_lstm_retseq, lambda r, n: series(r, n, 10, 6), "int8", "int8"),  # tf_keras
    "lstm_only_int8io": (m_lstm_only, lambda r, n: series(r, n, 10, 6), "int8", "int8"),  # tf_keras
    "softmax_int16x8": (m_softmax_head, lambda r, n: features(r, n, 24) * 3, "int16", "int16"),
    "avgpool_conv_int8io": (m_avgpool_only, lambda r, n: images(r, n, 16, 16, 3), "int8", "int8"),
    "global_max_int8io": (m_global_max, lambda r, n: images(r, n, 16, 16, 3), "int8", "int8"),
    "bilinear_int8io": (m_bilinear, lambda r, n: images(r, n, 8, 8, 3), "int8", "int8"),
    "transpose_conv_int8io": (m_transpose_conv, lambda r, n: images(r, n, 8, 8, 3), "int8", "int8"),
    "dilated_int8io": (m_dilated, lambda r, n: images(r, n, 16, 16, 3), "int8", "int8"),
    "dilated_conv1d_int8io": (m_dilated_conv1d, lambda r, n: series(r, n, 64, 3), "int8", "int8"),
    "acts2_int8io": (m_acts2, lambda r, n: features(r, n, 20), "int8", "int8"),
    "acts2_int16x8": (m_acts2, lambda r, n: features(r, n, 20), "int16", "int16"),
    "prelu_int8io": (m_prelu, lambda r, n: normalized_images(r, n, 12, 12, 3), "int8", "int8"),
    "argmax_int8io": (m_argmax, lambda r, n: features(r, n, 20), "int8", "int8"),
    "bilinear_int16x8": (m_bilinear, lambda r, n: images(r, n, 8, 8, 3), "int16", "int16"),
    # keras.applications architectures (random weights, 10 classes, small inputs); too big
    # for the repository, run with QCC_KERAS_OUT pointing elsewhere.
    "app_mobilenetv2_int8io": (lambda: keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), alpha=0.35, weights=None, classes=10), lambda r, n: images(r, n, 64, 64, 3), "int8", "int8"),
    "app_mobilenetv3small_int8io": (lambda: keras.applications.MobileNetV3Small(
        input_shape=(64, 64, 3), weights=None, classes=10, include_preprocessing=False), lambda r, n: normalized_images(r, n, 64, 64, 3), "int8", "int8"),
    "app_efficientnetb0_floatio": (lambda: keras.applications.EfficientNetB0(
        input_shape=(64, 64, 3), weights=None, classes=10), lambda r, n: images(r, n, 64, 64, 3), "float", "int8"),
    "app_resnet50_int8io": (lambda: keras.applications.ResNet50(
        input_shape=(64, 64, 3), weights=None, classes=10), lambda r, n: images(r, n, 64, 64, 3), "int8", "int8"),
    "app_densenet121_int8io": (lambda: keras.applications.DenseNet121(
        input_shape=(64, 64, 3), weights=None, classes=10), lambda r, n: images(r, n, 64, 64, 3), "int8", "int8"),
    "app_mobilenetv2_int16x8": (lambda: keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), alpha=0.35, weights=None, classes=10), lambda r, n: normalized_images(r, n, 64, 64, 3), "int16", "int16"),
}


def make(name):
    build, data, io, mode = MODELS[name]
    rng = rng_for(name)
    keras.utils.set_random_seed(sum(map(ord, name)))
    model = build()
    randomize(model, rng)
    calib = data(rng, 128)
    precise_bn(model, calib)

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep():
        for i in range(0, 128):
            yield [calib[i:i + 1]]
    conv.representative_dataset = rep
    if mode == "int16":
        conv.target_spec.supported_ops = [INT16]
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if io == "int8":
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif io == "int16":
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    tfl = conv.convert()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, "model.tflite"), "wb") as f:
        f.write(tfl)

    x = data(np.random.default_rng(12345 + len(name)), BATCH)
    it = tf.lite.Interpreter(model_content=tfl)
    det = it.get_input_details()[0]
    if det["dtype"] != np.float32:
        s, z = det["quantization"]
        info = np.iinfo(det["dtype"])
        x = np.clip(np.round(x / s) + z, info.min, info.max).astype(det["dtype"])
    np.save(os.path.join(d, "input_0.npy"), x)
    # float Keras output for reference only
    fo = model.predict(data(np.random.default_rng(12345 + len(name)), BATCH), verbose=0)
    fo = fo if isinstance(fo, list) else [fo]
    np.savez(os.path.join(d, "keras_float_out.npz"), *fo)
    print(f"{name}: {len(tfl)} bytes", flush=True)
    return d


LEGACY = {"lstm_int8io", "lstm_stacked_floatio", "lstm_retseq_int8io", "lstm_only_int8io"}

if __name__ == "__main__":
    names = sys.argv[1:] or list(MODELS)
    for n in names:
        if n in LEGACY and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
            subprocess.run([sys.executable, os.path.abspath(__file__), n], check=False,
                           env=dict(os.environ, TF_USE_LEGACY_KERAS="1"))
            continue
        try:
            d = make(n)
        except Exception as e:
            print(f"{n}: CONVERSION FAILED {e!r}"[:2000], flush=True)
            continue
        subprocess.run([sys.executable, os.path.abspath(__file__), "--ref", d], check=False)
