#!/usr/bin/env python3
"""Builds examples/models/tick_transformer: a small transformer encoder over a window of
market ticks that predicts the direction of the next mid-price move (down, flat, up).

Synthetic but meaningful data: each window holds 32 ticks x 8 features (log return, spread,
bid/ask size imbalance, trade sign, volume, volatility proxy, time since last trade, queue
position). The next move is driven by order-book imbalance and short-term momentum with noise,
so a model that reads the sequence beats one that does not.

Deterministic (fixed seeds). Needs torch, onnx and onnxruntime (pip), only to build the model and
the fixture; the server never needs Python. Writes:
  examples/models/tick_transformer/1/model.onnx   (torch.onnx.export, legacy exporter, opset 17)
  examples/models/tick_transformer/config.json    (dynamic batching on)
  Tests/Fixtures/tick_transformer.json            (inputs and onnxruntime outputs, batch 1 and 5)
"""
import json
import os

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
SEQ, FEATURES, D_MODEL = 32, 8, 64


def make_data(n, rng):
    x = rng.normal(size=(n, SEQ, FEATURES)).astype(np.float32)
    x[:, :, 1] = np.abs(x[:, :, 1]) * 0.2 + 0.05          # spread
    x[:, :, 4] = np.abs(x[:, :, 4])                        # volume
    imbalance = x[:, -8:, 2].mean(axis=1)                  # recent book imbalance
    momentum = x[:, -16:, 0].sum(axis=1) / 4.0             # recent returns
    score = 1.2 * imbalance + 0.8 * momentum + rng.normal(scale=0.6, size=n)
    y = np.where(score > 0.45, 2, np.where(score < -0.45, 0, 1))
    return x, y.astype(np.int64)


class TickTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(FEATURES, D_MODEL)
        self.position = nn.Parameter(torch.randn(1, SEQ, D_MODEL) * 0.02)
        layer = nn.TransformerEncoderLayer(D_MODEL, 4, dim_feedforward=128, dropout=0.1, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(D_MODEL, 3)

    def forward(self, ticks):
        h = self.encoder(self.embed(ticks) + self.position)
        return torch.softmax(self.head(h.mean(dim=1)), dim=-1)


def main():
    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    x_train, y_train = make_data(12000, rng)
    x_test, y_test = make_data(3000, rng)

    model = TickTransformer()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    loss_fn = nn.NLLLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for epoch in range(6):
        model.train()
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), 128):
            idx = order[start:start + 128]
            optimizer.zero_grad()
            loss = loss_fn(torch.log(model(xt[idx]) + 1e-9), yt[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
    accuracy = float((predictions == y_test).mean())
    majority = float(np.bincount(y_test).max() / len(y_test))
    print("held-out accuracy %.3f (majority class %.3f)" % (accuracy, majority))

    directory = os.path.join(ROOT, "tick_transformer")
    os.makedirs(os.path.join(directory, "1"), exist_ok=True)
    path = os.path.join(directory, "1", "model.onnx")
    # The fused fast path (aten::_transformer_encoder_layer_fwd) has no ONNX export.
    torch.backends.mha.set_fastpath_enabled(False)
    torch.onnx.export(model, (torch.from_numpy(x_test[:2]),), path, dynamo=False, opset_version=17,
                      input_names=["ticks"], output_names=["probabilities"],
                      dynamic_axes={"ticks": {0: "batch"}, "probabilities": {0: "batch"}})

    config = {
        "platform": "onnx",
        "description": "Transformer encoder over the last 32 ticks (8 features each) predicting the next "
                       "mid-price move [p(down), p(flat), p(up)]; synthetic data, held-out accuracy %.3f "
                       "(majority class %.3f)." % (accuracy, majority),
        "max_batch_size": 64,
        "dynamic_batching": {"max_queue_delay_us": 0, "max_queue_size": 1024},
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    cases = []
    for batch in (1, 5):
        inputs = x_test[10:10 + batch]
        outputs = session.run(None, {"ticks": inputs})[0]
        cases.append({"inputs": {"ticks": {"shape": list(inputs.shape), "data": inputs.ravel().tolist()}},
                      "outputs": {"probabilities": {"shape": list(outputs.shape), "data": outputs.ravel().tolist()}}})
    with open(os.path.join(REPO, "Tests", "Fixtures", "tick_transformer.json"), "w") as f:
        json.dump({"model": "examples/models/tick_transformer/1/model.onnx", "cases": cases}, f)
    print("wrote", path)


if __name__ == "__main__":
    main()
