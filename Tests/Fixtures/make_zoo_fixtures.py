#!/usr/bin/env python3
"""Export a zoo of small PyTorch models with both torch.onnx exporters and store onnxruntime outputs.

Needs torch (CPU build is enough) and, for the dynamo exporter, onnxscript. Deterministic (fixed
seeds). Writes, under Tests/Fixtures/zoo/:
  <family>_legacy.onnx                      torch.onnx.export(dynamo=False, opset_version=17)
  <family>_dynamo/model.onnx (+ model.onnx.data)   torch.onnx.export(dynamo=True, opset 20), weights as external data
  cases.json = [{"name", "family", "exporter", "model", "inputs", "outputs", "rtol", "atol"}]
Each family is recorded at batch 1 and batch 3 (dynamic batch; dynamic sequence where it applies).
Families with a sequence axis are also recorded at batch 2 with sequence length 4; where
onnxruntime itself cannot run that (the exporter baked the example's length into the graph), the
case is listed in failures.json instead. Exports that fail are listed there too.

Run: python3 Tests/Fixtures/make_zoo_fixtures.py
"""
import json
import os
import shutil
import sys
import traceback

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ZOO = os.path.join(HERE, "zoo")
sys.path.insert(0, HERE)


def enc(a):
    a = np.asarray(a)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return {"shape": list(a.shape), "data": [float(v) if np.isfinite(v) else str(float(v)) for v in a.astype(np.float32).ravel()]}
    if a.dtype == np.bool_:
        return {"shape": list(a.shape), "data": [bool(v) for v in a.ravel()], "dtype": "bool"}
    return {"shape": list(a.shape), "data": [int(v) for v in a.ravel()], "dtype": str(a.dtype)}


# ------------------------------------------------------------------ the families
class MLP(nn.Module):
    """Linear → LayerNorm → GELU (exact) → Dropout → Linear → GELU (tanh) → Linear → Softmax."""
    def __init__(self):
        super().__init__()
        self.l1, self.ln, self.l2, self.l3 = nn.Linear(12, 32), nn.LayerNorm(32), nn.Linear(32, 16), nn.Linear(16, 4)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        h = self.drop(nn.functional.gelu(self.ln(self.l1(x))))
        h = nn.functional.gelu(self.l2(h), approximate="tanh")
        return torch.softmax(self.l3(h), dim=-1)


class LSTMNet(nn.Module):
    """2-layer batch-first LSTM with explicit initial states, head on every step."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(6, 10, num_layers=2, batch_first=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x, h0, c0):
        y, (h, c) = self.rnn(x, (h0, c0))
        return self.head(y), h, c


class LSTMLast(nn.Module):
    """Single-layer sequence-first LSTM, zero initial state, last hidden state → logits."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(5, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.head(h[-1])


class GRUBi(nn.Module):
    """2-layer bidirectional batch-first GRU."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(6, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        y, h = self.rnn(x)
        return self.head(y[:, -1, :]), h


class CNN1D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(4, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm1d(8)
        self.c2 = nn.Conv1d(8, 8, 3, dilation=2, padding=2, groups=2)
        self.c3 = nn.Conv1d(8, 8, 3, stride=2, padding=1, groups=8)   # depthwise
        self.pool = nn.MaxPool1d(2)
        self.avg = nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn1(self.c1(x))))
        h = self.avg(torch.relu(self.c2(h)))
        h = torch.relu(self.c3(h))
        return self.head(h.mean(dim=-1))


class CNN2D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.bn2 = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avg = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=True)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        h = torch.relu(self.bn1(self.c1(x)))
        h = nn.functional.leaky_relu(self.bn2(self.dw(h)), 0.1)
        h = self.avg(self.pool(nn.functional.relu6(self.pw(h))))
        return self.head(torch.flatten(self.gap(h), 1))


class Encoder(nn.Module):
    """TransformerEncoderLayer (GELU, batch-first) with a key-padding mask input and a causal mask."""
    def __init__(self, causal):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.1, activation="gelu", batch_first=True)
        self.causal = causal

    def forward(self, x, padding_mask):
        mask = None
        if self.causal:
            n = x.shape[1]
            mask = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
        return self.layer(x, src_mask=mask, src_key_padding_mask=padding_mask)


class TokenClassifier(nn.Module):
    """Token ids (int64) → embedding + positions → encoder layer with padding mask from ids == 0 → mean pool."""
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.pos = nn.Embedding(32, 16)
        self.layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=24, dropout=0.0, batch_first=True, norm_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, ids):
        pad = ids == 0
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        h = self.layer(self.emb(ids) + self.pos(positions), src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(h.dtype)
        return self.head((h * keep).sum(1) / keep.sum(1).clamp(min=1.0))


class RNNNet(nn.Module):
    """2-layer batch-first tanh RNN (ONNX RNN op), head on the last step."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class ConvAutoencoder1D(nn.Module):
    """Time-series autoencoder: Conv1d down, ConvTranspose1d up (anomaly scores by reconstruction)."""
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv1d(3, 8, 4, stride=2, padding=1)
        self.norm = nn.InstanceNorm1d(8, affine=True)
        self.dec = nn.ConvTranspose1d(8, 3, 4, stride=2, padding=1)

    def forward(self, x):
        return self.dec(torch.relu(self.norm(self.enc(x))))


def families():
    g = torch.Generator().manual_seed(0)

    def r(*s):
        return torch.randn(*s, generator=g)

    def padding(batch, seq):
        m = torch.zeros(batch, seq, dtype=torch.bool)
        for b in range(batch):
            m[b, seq - b:] = True   # row b has b padded positions at the end
        return m

    def ids(batch, seq):
        t = torch.randint(1, 20, (batch, seq), generator=g)
        for b in range(batch):
            t[b, seq - b:] = 0
        return t

    return [
        ("mlp", MLP(), ["x"], ["probabilities"], lambda b, s=None: (r(b, 12),), {"x": {0: "batch"}}, 1e-4),
        ("lstm_stacked_states", LSTMNet(), ["x", "h0", "c0"], ["y", "h", "c"],
         lambda b, s=7: (r(b, s, 6), r(2, b, 10), r(2, b, 10)), {"x": {0: "batch", 1: "seq"}, "h0": {1: "batch"}, "c0": {1: "batch"}}, 1e-4),
        ("lstm_last_state", LSTMLast(), ["x"], ["logits"], lambda b, s=9: (r(s, b, 5),), {"x": {0: "seq", 1: "batch"}}, 1e-4),
        ("gru_bidirectional", GRUBi(), ["x"], ["logits", "h"], lambda b, s=6: (r(b, s, 6),), {"x": {0: "batch", 1: "seq"}}, 1e-4),
        ("cnn1d", CNN1D(), ["x"], ["logits"], lambda b, s=None: (r(b, 4, 32),), {"x": {0: "batch"}}, 1e-4),
        ("cnn2d", CNN2D(), ["x"], ["logits"], lambda b, s=None: (r(b, 3, 16, 16),), {"x": {0: "batch"}}, 1e-4),
        ("encoder_padding", Encoder(False), ["x", "padding_mask"], ["y"], lambda b, s=5: (r(b, s, 16), padding(b, s)),
         {"x": {0: "batch", 1: "seq"}, "padding_mask": {0: "batch", 1: "seq"}}, 1e-4),
        ("encoder_causal", Encoder(True), ["x", "padding_mask"], ["y"], lambda b, s=6: (r(b, s, 16), padding(b, s)),
         {"x": {0: "batch", 1: "seq"}, "padding_mask": {0: "batch", 1: "seq"}}, 1e-4),
        ("token_classifier", TokenClassifier(), ["ids"], ["logits"], lambda b, s=7: (ids(b, s),), {"ids": {0: "batch", 1: "seq"}}, 1e-4),
        ("rnn_tanh", RNNNet(), ["x"], ["logits"], lambda b, s=6: (r(b, s, 5),), {"x": {0: "batch", 1: "seq"}}, 1e-4),
        ("conv_autoencoder_1d", ConvAutoencoder1D(), ["x"], ["reconstruction"], lambda b, s=None: (r(b, 3, 16),), {"x": {0: "batch"}}, 1e-4),
    ]


def init_weights(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    model.eval()


def export_legacy(model, args, in_names, out_names, dyn, path):
    torch.onnx.export(model, args, path, dynamo=False, opset_version=17, input_names=in_names, output_names=out_names,
                      dynamic_axes={**dyn, **{o: {} for o in out_names}} if False else dyn, do_constant_folding=True)


def export_dynamo(model, args, in_names, out_names, dyn, path):
    from torch.export import Dim
    dims = {}
    shapes = []
    for name, a in zip(in_names, args):
        spec = {}
        for axis, sym in dyn.get(name, {}).items():
            if sym not in dims:
                dims[sym] = Dim(sym, min=1, max=64)
            spec[axis] = dims[sym]
        shapes.append(spec or None)
    program = torch.onnx.export(model, args, dynamo=True, opset_version=20, input_names=in_names, output_names=out_names,
                                dynamic_shapes=tuple(shapes), optimize=True, verbose=False)
    program.save(path, external_data=True)


def main():
    # The fused fast path (aten::_transformer_encoder_layer_fwd) has no ONNX export; use the plain ops.
    torch.backends.mha.set_fastpath_enabled(False)
    if os.path.isdir(ZOO):
        shutil.rmtree(ZOO)
    os.makedirs(ZOO)
    cases, failures = [], []
    for index, (family, model, in_names, out_names, make, dyn, rtol) in enumerate(families()):
        init_weights(model, index)
        torch.manual_seed(100 + index)
        example = make(2)
        with torch.no_grad():
            model(*example)
        for exporter in ("legacy", "dynamo"):
            if exporter == "legacy":
                path = os.path.join(ZOO, f"{family}_legacy.onnx")
            else:
                os.makedirs(os.path.join(ZOO, f"{family}_dynamo"), exist_ok=True)
                path = os.path.join(ZOO, f"{family}_dynamo", "model.onnx")
            try:
                with torch.no_grad():
                    (export_legacy if exporter == "legacy" else export_dynamo)(model, example, in_names, out_names, dyn, path)
                sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001 - recorded, not hidden
                failures.append({"family": family, "exporter": exporter, "error": "".join(traceback.format_exception_only(e))[-2000:]})
                print(f"FAILED {family}/{exporter}: {e}", file=sys.stderr)
                continue
            session_inputs = [i.name for i in sess.get_inputs()]
            has_seq = "seq" in json.dumps(dyn)
            for batch, seq in [(1, None), (3, None)] + ([(2, 4)] if has_seq else []):
                torch.manual_seed(1000 * index + batch)
                args = make(batch) if seq is None else make(batch, seq)
                feeds = {n: a.numpy() for n, a in zip(session_inputs, args)}
                try:
                    outs = sess.run(None, feeds)
                except Exception as e:  # noqa: BLE001 - the exporter fixed the sequence length: record it
                    failures.append({"family": family, "exporter": exporter, "batch": batch, "seq": seq,
                                     "error": "onnxruntime cannot run another sequence length (exporter baked it in): "
                                              + str(e).splitlines()[0][:300]})
                    continue
                suffix = f"batch{batch}" + (f"_seq{seq}" if seq is not None else "")
                cases.append({
                    "name": f"{family}_{exporter}_{suffix}", "family": family, "exporter": exporter,
                    "model": os.path.relpath(path, ROOT),
                    "inputs": {n: enc(a) for n, a in feeds.items()},
                    "outputs": {o.name: enc(v) for o, v in zip(sess.get_outputs(), outs)},
                    "rtol": rtol, "atol": 1e-5,
                })
            ops = sorted({n.op_type for n in onnx.load(path, load_external_data=False).graph.node})
            print(f"{family}/{exporter}: {', '.join(ops)}")
    with open(os.path.join(ZOO, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    with open(os.path.join(ZOO, "failures.json"), "w") as f:
        json.dump(failures, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} zoo cases, {len(failures)} entries in failures.json; torch {torch.__version__}")


if __name__ == "__main__":
    main()
