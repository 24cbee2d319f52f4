#!/usr/bin/env python3
"""Export scikit-learn models with skl2onnx (integer labels, zipmap disabled) and store onnxruntime outputs.

Needs scikit-learn and skl2onnx. Deterministic. Writes Tests/Fixtures/zoo_sklearn/<name>.onnx and
cases.json in the zoo format ({"name", "family", "exporter": "skl2onnx", "model", "inputs", "outputs",
"rtol", "atol"}), each model at batch 1 and batch 5.

Run: python3 Tests/Fixtures/make_sklearn_fixtures.py
"""
import json
import os
import shutil
import warnings

import numpy as np
import onnxruntime as ort
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "zoo_sklearn")


def enc(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return {"shape": list(a.shape), "data": [float(v) if np.isfinite(v) else str(float(v)) for v in a.astype(np.float32).ravel()]}
    return {"shape": list(a.shape), "data": [int(v) for v in a.ravel()], "dtype": str(a.dtype)}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    y2 = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(np.int64)
    y3 = np.digitize(X[:, 0] + X[:, 4], [-0.7, 0.7]).astype(np.int64) + 10   # labels 10, 11, 12
    yr = (X @ rng.standard_normal(8) + np.sin(X[:, 0])).astype(np.float32)
    yr2 = np.stack([yr, X[:, 1] * 2 - X[:, 5]], axis=1).astype(np.float32)
    models = [
        ("logreg_binary", make_pipeline(StandardScaler(), LogisticRegression()), X, y2, False),
        ("logreg_multiclass", make_pipeline(StandardScaler(), LogisticRegression()), X, y3, False),
        ("linear_svc_binary", LinearSVC(), X, y2, False),
        ("normalizer_logreg", make_pipeline(Normalizer(norm="l2"), LogisticRegression()), X, y3, False),
        ("ridge", Ridge(alpha=0.5), X, yr, False),
        ("linear_regression_2_targets", LinearRegression(), X, yr2, False),
        ("mlp_classifier_binary", MLPClassifier(hidden_layer_sizes=(16,), max_iter=400, random_state=0), X, y2, False),
        ("mlp_classifier_multiclass", MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=400, random_state=0), X, y3, False),
        ("mlp_regressor", MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, random_state=0), X, yr, False),
        ("gradient_boosting_binary", GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0), X, y2, False),
        ("gradient_boosting_multiclass", GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0), X, y3, False),
        ("gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0), X, yr, False),
        ("random_forest_binary", RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0), X, y2, False),
        ("random_forest_multiclass", RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0), X, y3, False),
        ("random_forest_regressor", RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0), X, yr, False),
        ("decision_tree_multiclass", DecisionTreeClassifier(max_depth=6, random_state=0), X, y3, False),
        # HistGradientBoosting* is left out: skl2onnx 1.20's converter fails with scikit-learn 1.9
        # ("Field onnx.AttributeProto.ints: Expected an int, got a boolean").
    ]
    cases = []
    for name, model, data, target, _ in models:
        model.fit(data, target)
        options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") or hasattr(model, "decision_function") and hasattr(model, "classes_") else None
        try:
            onx = to_onnx(model, data[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3})
        except Exception:   # noqa: BLE001 - some converters take no zipmap option
            onx = to_onnx(model, data[:1], target_opset={"": 17, "ai.onnx.ml": 3})
        path = os.path.join(OUT, name + ".onnx")
        with open(path, "wb") as f:
            f.write(onx.SerializeToString())
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for batch, start in ((1, 0), (5, 40)):
            feeds = {sess.get_inputs()[0].name: data[start:start + batch]}
            outs = sess.run(None, feeds)
            cases.append({"name": f"{name}_batch{batch}", "family": name, "exporter": "skl2onnx",
                          "model": os.path.relpath(path, ROOT), "inputs": {k: enc(v) for k, v in feeds.items()},
                          "outputs": {o.name: enc(v) for o, v in zip(sess.get_outputs(), outs)}, "rtol": 1e-4, "atol": 1e-5})
        print(name, sorted({(n.domain or "ai.onnx") + "." + n.op_type for n in onx.graph.node}))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    print(f"{len(cases)} cases; scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}")


if __name__ == "__main__":
    main()
