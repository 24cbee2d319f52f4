#!/usr/bin/env python3
"""Select the official ONNX backend node tests (onnx.backend.test, built in memory by onnx >= 1.23)
whose operators the engine implements and store them as fixtures. Tests stamped with an opset
above 21 are kept, re-stamped as opset 21, when none of their operators changed after opset 21.

Writes Tests/Fixtures/onnx_node/<test>.onnx and Tests/Fixtures/onnx_node/cases.json
  [{"name", "model", "inputs": {name: tensor}, "outputs": {name: tensor}, "rtol", "atol"}]
with the reference outputs computed by ONNX itself (not by onnxruntime). Only tests whose
default-domain opset is 11...21, whose inputs and outputs are FLOAT/INT64/INT32/BOOL tensors and
whose nodes (subgraphs included) all use supported operators are kept. Known differences are listed in
Tests/Fixtures/onnx_node/known_failures.json (maintained by hand, with reasons).

Run: python3 Tests/Fixtures/make_onnx_node_fixtures.py
"""
import json
import os
import re
import warnings

import numpy as np
import onnx
from onnx.backend.test.loader import load_model_tests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "onnx_node")
ENGINE = os.path.join(ROOT, "Sources", "InferenceEngine", "Runtime", "OperatorCompiler.swift")

src = open(ENGINE).read()
block = src[src.index("static let supportedOperators"):]
block = block[: block.index("]")]
SUPPORTED = set(re.findall(r'"([A-Za-z]+)"', block))
ml_src = open(os.path.join(ROOT, "Sources", "InferenceEngine", "Runtime", "Ops", "MLOps.swift")).read()
ml_block = ml_src[ml_src.index("static let supportedMLOperators"):]
ML_SUPPORTED = set(re.findall(r'"([A-Za-z]+)"', ml_block[: ml_block.index("]")]))
# Operators whose versions after opset 21 only added element types (bfloat16 in opset 22; 4/8-bit
# types in 23-25), so the float/int tests of the newer version exercise opset-21 semantics.
TYPE_ONLY_CHANGES = {
    "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "Conv", "ConvTranspose", "Cos", "Cosh", "Dropout",
    "Elu", "EyeLike", "GRU", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "InstanceNormalization",
    "LSTM", "MaxPool", "Mish", "RNN", "Round", "Selu", "Sin", "Sinh", "Softplus", "Softsign", "Tan", "ThresholdedRelu",
    "Cast", "CastLike", "Constant", "ConstantOfShape", "Flatten", "Identity", "Pad", "Reshape", "Shape", "Size", "Squeeze",
    "Transpose", "Unsqueeze", "If", "Loop", "Scan",
}


def all_nodes(g):
    """The nodes of `g` and of its subgraphs (If branches, Loop and Scan bodies)."""
    for n in g.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(a.g)
TYPES = {np.dtype(np.float32): None, np.dtype(np.int64): "int64", np.dtype(np.int32): "int32", np.dtype(np.bool_): "bool"}


def enc(a):
    a = np.asarray(a)
    kind = TYPES[a.dtype]
    if kind is None:
        return {"shape": list(a.shape), "data": [float(v) if np.isfinite(v) else str(float(v)) for v in a.ravel()]}
    if kind == "bool":
        return {"shape": list(a.shape), "data": [bool(v) for v in a.ravel()], "dtype": kind}
    return {"shape": list(a.shape), "data": [int(v) for v in a.ravel()], "dtype": kind}


def main():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = load_model_tests(kind="node")
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".onnx"):
            os.remove(os.path.join(OUT, f))
    cases = []
    for t in sorted(tests, key=lambda t: t.name):
        m = t.model
        opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
        if any(o.domain not in ("", "ai.onnx", "ai.onnx.ml") for o in m.opset_import):
            continue
        if opset and opset[0] < 11:
            continue
        if opset and opset[0] > 21:
            # Tests stamped with a newer opset whose operators have not changed since opset 21 are
            # re-stamped as opset 21 (the schema in force at 21 is the one the test exercises).
            try:
                same = all(onnx.defs.get_schema(n.op_type, opset[0], n.domain).since_version
                           == onnx.defs.get_schema(n.op_type, 21, n.domain).since_version or n.op_type in TYPE_ONLY_CHANGES
                           for n in all_nodes(m.graph))
            except Exception:  # noqa: BLE001 - operator unknown at 21
                same = False
            if not same:
                continue
            m = onnx.ModelProto.FromString(m.SerializeToString())
            for o in m.opset_import:
                if o.domain in ("", "ai.onnx"):
                    o.version = 21
            m.ir_version = min(m.ir_version, 10)

        def supported(n):
            if n.domain in ("", "ai.onnx"):
                return n.op_type in SUPPORTED
            return n.domain == "ai.onnx.ml" and n.op_type in ML_SUPPORTED
        if not all(supported(n) for n in all_nodes(m.graph)):
            continue
        if len(t.data_sets) == 0:
            continue
        inputs, outputs = t.data_sets[0]
        arrays = list(inputs) + list(outputs)
        if not all(isinstance(a, np.ndarray) and a.dtype in TYPES for a in arrays):
            continue
        if sum(a.size for a in arrays) > 6000:   # keeps the committed fixtures small
            continue
        names_in = [i.name for i in m.graph.input if i.name not in {x.name for x in m.graph.initializer}]
        names_out = [o.name for o in m.graph.output]
        if len(names_in) != len(inputs) or len(names_out) != len(outputs):
            continue
        path = os.path.join(OUT, t.name + ".onnx")
        onnx.save(m, path)
        cases.append({"name": t.name, "model": os.path.relpath(path, ROOT),
                      "inputs": {n: enc(a) for n, a in zip(names_in, inputs)},
                      "outputs": {n: enc(a) for n, a in zip(names_out, outputs)},
                      "rtol": float(t.rtol), "atol": float(t.atol)})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    print(f"{len(cases)} ONNX node tests selected")


if __name__ == "__main__":
    main()
