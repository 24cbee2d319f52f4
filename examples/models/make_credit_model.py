#!/usr/bin/env python3
"""Generate the synthetic credit-default example model and its test fixtures.

Deterministic (fixed seed). Needs numpy + onnx; onnxruntime only for the fixture outputs.

Writes:
  examples/models/credit_default/1/model.onnx
  examples/models/credit_default/config.json
  Tests/Fixtures/credit_default.json

Run from anywhere:  python3 examples/models/make_credit_model.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED = 20240611

FEATURES = [
    ("annual_income", "thousands of USD per year"),
    ("debt_to_income", "ratio of monthly debt payments to monthly income (0-1.5)"),
    ("credit_utilisation", "fraction of revolving credit limit in use (0-1)"),
    ("age", "years"),
    ("months_since_last_delinquency", "months (120 = never delinquent)"),
    ("open_credit_lines", "count"),
    ("loan_amount", "thousands of USD requested"),
    ("employment_years", "years at current employer"),
    ("past_defaults", "count of previous defaults"),
    ("credit_inquiries_6m", "hard credit inquiries in the last 6 months (count)"),
]


def make_data(rng, n):
    income = np.exp(rng.normal(np.log(55.0), 0.5, n))
    dti = np.clip(rng.gamma(4.0, 0.08, n), 0.0, 1.5)
    util = np.clip(rng.beta(2.0, 3.0, n), 0.0, 1.0)
    age = np.clip(rng.normal(42.0, 12.0, n), 18.0, 85.0)
    delinquent = rng.random(n) < 0.35
    months = np.where(delinquent, np.clip(rng.exponential(24.0, n), 0.0, 119.0), 120.0)
    lines = rng.poisson(6.0, n).astype(np.float64)
    loan = np.exp(rng.normal(np.log(15.0), 0.7, n))
    emp = np.clip(rng.exponential(6.0, n), 0.0, 45.0)
    defaults = rng.poisson(0.25, n).astype(np.float64)
    inquiries = rng.poisson(1.2, n).astype(np.float64)
    x = np.stack([income, dti, util, age, months, lines, loan, emp, defaults, inquiries], axis=1)

    # Known nonlinear rule: risk rises with leverage, high utilisation (hinge), recent
    # delinquency (decaying), past defaults, inquiries and loan-to-income; falls with
    # income, age and job tenure. Noise makes the Bayes accuracy < 100 %.
    logit = (
        -1.6
        + 3.0 * (dti - 0.32)
        + 4.0 * np.maximum(util - 0.6, 0.0)
        + 1.6 * np.exp(-months / 12.0)
        + 0.9 * defaults
        + 0.25 * inquiries
        - 0.6 * np.log(income / 55.0)
        + 1.2 * (loan / income > 0.45)
        - 0.025 * (age - 42.0)
        - 0.06 * emp
        + 0.04 * (lines - 6.0) ** 2 / 6.0
        + rng.normal(0.0, 0.4, n)
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < p).astype(np.int64)
    return x.astype(np.float64), y


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def forward(params, x):
    w1, b1, w2, b2, w3, b3 = params
    h1 = np.maximum(x @ w1.T + b1, 0.0)
    h2 = np.maximum(h1 @ w2.T + b2, 0.0)
    z = h2 @ w3.T + b3
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return h1, h2, e / e.sum(axis=1, keepdims=True)


def train(rng, x, y, epochs=60, batch=128, lr=0.05, momentum=0.9, l2=1e-4):
    sizes = [(32, 10), (16, 32), (2, 16)]
    params = []
    for out_dim, in_dim in sizes:
        params.append(rng.normal(0.0, np.sqrt(2.0 / in_dim), (out_dim, in_dim)))
        params.append(np.zeros(out_dim))
    velocity = [np.zeros_like(p) for p in params]
    onehot = np.eye(2)[y]
    n = len(x)
    for epoch in range(epochs):
        perm = rng.permutation(n)
        step_lr = lr * (0.5 if epoch >= epochs * 2 // 3 else 1.0)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            xb, tb = x[idx], onehot[idx]
            w1, b1, w2, b2, w3, b3 = params
            h1, h2, prob = forward(params, xb)
            d3 = (prob - tb) / len(xb)
            g_w3, g_b3 = d3.T @ h2, d3.sum(0)
            d2 = (d3 @ w3) * (h2 > 0)
            g_w2, g_b2 = d2.T @ h1, d2.sum(0)
            d1 = (d2 @ w2) * (h1 > 0)
            g_w1, g_b1 = d1.T @ xb, d1.sum(0)
            grads = [g_w1 + l2 * w1, g_b1, g_w2 + l2 * w2, g_b2, g_w3 + l2 * w3, g_b3]
            for i in range(6):
                velocity[i] = momentum * velocity[i] - step_lr * grads[i]
                params[i] = params[i] + velocity[i]
    return params


def main():
    rng = np.random.default_rng(SEED)
    x, y = make_data(rng, 24000)
    x_train, y_train, x_test, y_test = x[:20000], y[:20000], x[20000:], y[20000:]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    params = train(rng, (x_train - mean) / std, y_train)

    _, _, prob_test = forward(params, (x_test - mean) / std)
    accuracy = float(((prob_test[:, 1] > 0.5) == y_test).mean())
    test_auc = float(auc(prob_test[:, 1], y_test))
    base_rate = float(y_test.mean())
    print(f"default rate (test) {base_rate:.3f}  accuracy {accuracy:.4f}  AUC {test_auc:.4f}")

    # Fold the standard scaler into the first layer so the model takes raw units:
    # W1 ((x - mean) / std) + b1 == (W1 / std) x + (b1 - (W1 / std) mean).
    w1, b1, w2, b2, w3, b3 = params
    w1_folded = w1 / std[None, :]
    b1_folded = b1 - w1_folded @ mean
    _, _, prob_check = forward([w1_folded, b1_folded, w2, b2, w3, b3], x_test)
    assert np.allclose(prob_check, prob_test, atol=1e-9)

    f32 = lambda a: np.asarray(a, dtype=np.float32)
    inits = [
        numpy_helper.from_array(f32(w1_folded), "fc1.weight"),
        numpy_helper.from_array(f32(b1_folded), "fc1.bias"),
        numpy_helper.from_array(f32(w2), "fc2.weight"),
        numpy_helper.from_array(f32(b2), "fc2.bias"),
        numpy_helper.from_array(f32(w3), "fc3.weight"),
        numpy_helper.from_array(f32(b3), "fc3.bias"),
    ]
    # Same node layout as torch.onnx.export (legacy exporter, opset 17) of an nn.Sequential MLP.
    nodes = [
        helper.make_node("Gemm", ["features", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"],
                         name="/fc1/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/act1/Relu_output_0"], name="/act1/Relu"),
        helper.make_node("Gemm", ["/act1/Relu_output_0", "fc2.weight", "fc2.bias"], ["/fc2/Gemm_output_0"],
                         name="/fc2/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/fc2/Gemm_output_0"], ["/act2/Relu_output_0"], name="/act2/Relu"),
        helper.make_node("Gemm", ["/act2/Relu_output_0", "fc3.weight", "fc3.bias"], ["/fc3/Gemm_output_0"],
                         name="/fc3/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["/fc3/Gemm_output_0"], ["probabilities"], name="/softmax/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "credit_default_mlp",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 10])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="tensorwire-examples", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.doc_string = (f"Synthetic credit-default MLP 10-32-16-2; held-out accuracy {accuracy:.4f}, "
                        f"AUC {test_auc:.4f}. Outputs [p(no default), p(default)].")
    onnx.checker.check_model(model)

    model_dir = os.path.join(ROOT, "examples", "models", "credit_default")
    os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
    model_path = os.path.join(model_dir, "1", "model.onnx")
    onnx.save(model, model_path)
    config = {
        "platform": "onnx",
        "description": ("Synthetic credit-default classifier (MLP 10-32-16-2, ReLU, softmax). "
                        "Input: raw applicant features (scaler folded into the first layer). "
                        "Output 'probabilities' = [p(no default), p(default)]. "
                        f"Held-out accuracy {accuracy:.4f}, AUC {test_auc:.4f}, "
                        f"test default rate {base_rate:.3f}."),
        "inputs_doc": {
            "features": {
                "shape": ["batch", 10],
                "order": [name for name, _ in FEATURES],
                "units": {name: unit for name, unit in FEATURES},
            }
        },
        "outputs_doc": {"probabilities": {"shape": ["batch", 2], "order": ["p_no_default", "p_default"]}},
    }
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    import onnxruntime as ort
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    cases = []
    for b in (1, 3, 64):
        xb = x_test[:b].astype(np.float32)
        (out,) = sess.run(["probabilities"], {"features": xb})
        cases.append({
            "inputs": {"features": {"shape": list(xb.shape), "data": [float(v) for v in xb.ravel()]}},
            "outputs": {"probabilities": {"shape": list(out.shape), "data": [float(v) for v in out.ravel()]}},
        })
    fixture = {"model": "examples/models/credit_default/1/model.onnx",
               "accuracy": accuracy, "auc": test_auc, "cases": cases}
    with open(os.path.join(ROOT, "Tests", "Fixtures", "credit_default.json"), "w") as f:
        json.dump(fixture, f)
        f.write("\n")


if __name__ == "__main__":
    main()
