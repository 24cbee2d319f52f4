#!/usr/bin/env python3
"""Export small Keras models with tf2onnx (opset 17) and store onnxruntime outputs.

Needs tensorflow-cpu and tf2onnx (tf2onnx.convert.from_keras fails with Keras 3, so the models are
converted through tf.function with from_function). Deterministic. Writes
Tests/Fixtures/zoo_tf/<name>.onnx, cases.json (zoo format, exporter "tf2onnx", batch 1 and 4) and
unsupported.json: models that convert and run in onnxruntime but use operators the engine does
not implement yet ({"name", "model", "operators"}), which the tests check are refused by name.

Run: python3 Tests/Fixtures/make_tf_fixtures.py
"""
import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "zoo_tf")
L = tf.keras.layers


def enc(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return {"shape": list(a.shape), "data": [float(v) for v in a.astype(np.float32).ravel()]}
    return {"shape": list(a.shape), "data": [int(v) for v in a.ravel()], "dtype": str(a.dtype)}


def transformer_block():
    x = tf.keras.Input((6, 16))
    h = L.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    h = L.LayerNormalization()(x + h)
    f = L.Dense(32, activation="relu")(h)   # Keras' gelu becomes an unconverted Erfc that onnxruntime cannot load
    return tf.keras.Model(x, L.LayerNormalization()(h + L.Dense(16)(f)))


def models():
    return [
        ("keras_mlp", tf.keras.Sequential([tf.keras.Input((10,)), L.Dense(32, activation="relu"), L.Dropout(0.2),
                                           L.LayerNormalization(), L.Dense(16, activation="tanh"), L.Dense(3, activation="softmax")]), (10,)),
        ("keras_lstm", tf.keras.Sequential([tf.keras.Input((7, 5)), L.LSTM(12, return_sequences=True), L.LSTM(6),
                                            L.Dense(2)]), (7, 5)),
        ("keras_bidirectional_lstm", tf.keras.Sequential([tf.keras.Input((7, 5)), L.Bidirectional(L.LSTM(6)), L.Dense(2)]), (7, 5)),
        ("keras_gru", tf.keras.Sequential([tf.keras.Input((7, 5)), L.GRU(6), L.Dense(2)]), (7, 5)),
        ("keras_conv1d", tf.keras.Sequential([tf.keras.Input((32, 4)), L.Conv1D(8, 5, padding="same", activation="relu"),
                                              L.MaxPooling1D(2), L.Conv1D(8, 3, dilation_rate=2, activation="relu"),
                                              L.GlobalAveragePooling1D(), L.Dense(3)]), (32, 4)),
        ("keras_conv2d", tf.keras.Sequential([tf.keras.Input((16, 16, 3)), L.Conv2D(8, 3, padding="same"), L.BatchNormalization(),
                                              L.ReLU(), L.DepthwiseConv2D(3, strides=2, padding="same"), L.AveragePooling2D(2),
                                              L.Conv2D(16, 1, activation="relu"), L.Flatten(), L.Dense(4)]), (16, 16, 3)),
        ("keras_transformer_block", transformer_block(), (6, 16)),
    ]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tf.keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    cases, unsupported = [], []
    engine_ops = open(os.path.join(ROOT, "Sources/InferenceEngine/Runtime/OperatorCompiler.swift")).read()
    for name, model, shape in models():
        for layer in model.layers:   # non-trivial BatchNorm statistics
            if isinstance(layer, L.BatchNormalization):
                w = layer.get_weights()
                layer.set_weights([w[0] * 1.2, w[1] + 0.1, rng.standard_normal(w[2].shape).astype(np.float32) * 0.3,
                                   rng.uniform(0.5, 2, w[3].shape).astype(np.float32)])
        spec = (tf.TensorSpec((None,) + shape, tf.float32, name="x"),)
        fn = tf.function(lambda x, m=model: m(x, training=False))
        proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
        path = os.path.join(OUT, name + ".onnx")
        onnx.save(proto, path)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        ops = sorted({n.op_type for n in proto.graph.node})
        missing = [op for op in ops if f'"{op}"' not in engine_ops]
        if missing:
            unsupported.append({"name": name, "model": os.path.relpath(path, ROOT), "operators": missing})
        for batch in (1, 4):
            x = rng.standard_normal((batch,) + shape).astype(np.float32)
            outs = sess.run(None, {"x": x})
            if not missing:
                cases.append({"name": f"{name}_batch{batch}", "family": name, "exporter": "tf2onnx", "model": os.path.relpath(path, ROOT),
                              "inputs": {"x": enc(x)}, "outputs": {o.name: enc(v) for o, v in zip(sess.get_outputs(), outs)},
                              "rtol": 1e-4, "atol": 1e-5})
        print(name, ops, "MISSING " + str(missing) if missing else "")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    with open(os.path.join(OUT, "unsupported.json"), "w") as f:
        json.dump(unsupported, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases, {len(unsupported)} models with unsupported operators; tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}")


if __name__ == "__main__":
    main()
