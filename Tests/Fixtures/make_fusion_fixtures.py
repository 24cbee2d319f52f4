#!/usr/bin/env python3
"""Graphs written the way exporters decompose them, for the optimizer's pattern passes.

Each case is run in onnxruntime with its graph optimizations disabled (so the reference is
the graph as written) and stored with the fused operator the engine must produce at level
`all`. Deterministic (fixed seed). Writes Tests/Fixtures/fusion/<case>.onnx and cases.json:
  [{"name", "model", "inputs", "outputs", "expect_fused": [op types], "fused_nodes": nodes left at
    level all, "rtol", "atol"}]

Run: python3 Tests/Fixtures/make_fusion_fixtures.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fusion")
rng = np.random.default_rng(2026)


def rnd(*shape, scale=1.0):
    return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def enc(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) if np.isfinite(v) else str(float(v)) for v in a.ravel()]}


cases = []


def add_case(name, nodes, inputs, outputs, inits, feeds, expect, opset=17, rtol=1e-4, atol=1e-5, fused_nodes=1):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, producer_name="tensorwire-fusion-fixtures",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(model, path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    results = session.run(None, feeds)
    cases.append({
        "name": name, "model": os.path.relpath(path, os.path.join(HERE, "..", "..")),
        "inputs": {k: enc(v) for k, v in feeds.items()},
        "outputs": {o.name: enc(r) for o, r in zip(outputs, results)},
        "expect_fused": expect, "fused_nodes": fused_nodes, "rtol": rtol, "atol": atol,
    })


def layernorm_decomposed():
    d = 24
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1], keepdims=1),
        helper.make_node("Sub", ["x", "mean"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["std"]),
        helper.make_node("Div", ["d", "std"], ["n"]),
        helper.make_node("Mul", ["n", "gamma"], ["s"]),
        helper.make_node("Add", ["s", "beta"], ["y"]),
    ]
    inits = [const("two", 2.0), const("eps", 1e-5), const("gamma", rnd(d)), const("beta", rnd(d))]
    add_case("layernorm_decomposed", nodes, [vi("x", ["batch", 5, d])], [vi("y", ["batch", 5, d])], inits,
             {"x": rnd(3, 5, d, scale=3.0)}, ["LayerNormalization"], opset=17)


def gelu_tanh():
    # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x*x*x))), halving first.
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["x2"]),
        helper.make_node("Mul", ["x2", "x"], ["x3"]),
        helper.make_node("Mul", ["c", "x3"], ["cx3"]),
        helper.make_node("Add", ["x", "cx3"], ["inner"]),
        helper.make_node("Mul", ["inner", "k"], ["scaled"]),
        helper.make_node("Tanh", ["scaled"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["onePlus"]),
        helper.make_node("Mul", ["half", "x"], ["hx"]),
        helper.make_node("Mul", ["hx", "onePlus"], ["y"]),
    ]
    inits = [const("c", 0.044715), const("k", np.sqrt(2 / np.pi)), const("one", 1.0), const("half", 0.5)]
    add_case("gelu_tanh", nodes, [vi("x", ["n", 40])], [vi("y", ["n", 40])], inits,
             {"x": rnd(4, 40, scale=2.0)}, ["Gelu"])


def gelu_erf_mul_form():
    # x * 0.5 * (1 + erf(x * 0.70710678)), halving last, Pow-free.
    nodes = [
        helper.make_node("Mul", ["x", "r"], ["xs"]),
        helper.make_node("Erf", ["xs"], ["e"]),
        helper.make_node("Add", ["one", "e"], ["onePlus"]),
        helper.make_node("Mul", ["onePlus", "x"], ["p"]),
        helper.make_node("Mul", ["p", "half"], ["y"]),
    ]
    inits = [const("r", 0.70710678), const("one", 1.0), const("half", 0.5)]
    add_case("gelu_erf_mul_form", nodes, [vi("x", [3, 33])], [vi("y", [3, 33])], inits,
             {"x": rnd(3, 33, scale=2.0)}, ["Gelu"])


def elementwise_chain_broadcast():
    # ((x * scale_row) + bias_col) -> Sigmoid -> * x -> Max with a scalar, over [2, 3, 17].
    nodes = [
        helper.make_node("Mul", ["x", "row"], ["a"]),
        helper.make_node("Add", ["a", "col"], ["b"]),
        helper.make_node("Sigmoid", ["b"], ["c"]),
        helper.make_node("Mul", ["c", "x"], ["d"]),
        helper.make_node("Max", ["d", "floor"], ["e"]),
        helper.make_node("Sqrt", ["e"], ["y"]),
    ]
    inits = [const("row", rnd(17)), const("col", rnd(3, 1)), const("floor", 0.01)]
    add_case("elementwise_chain_broadcast", nodes, [vi("x", [2, 3, 17])], [vi("y", [2, 3, 17])], inits,
             {"x": rnd(2, 3, 17)}, ["FusedElementwise"])


def attention_4d_mask():
    # Q·Kᵀ with K transposed by a Transpose node, scaled after the MatMul by Div, a 4-D mask
    # with fully masked rows for one batch, Softmax, ·V. 70 keys: two key tiles.
    b, h, s, dh = 2, 3, 70, 8
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"]),
        helper.make_node("Div", ["scores", "sqrt_d"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mask"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    mask = np.zeros((b, 1, s, s), dtype=np.float32)
    mask[0, 0, :, 50:] = -1e9                      # padding: the last keys of batch 0
    mask[1, 0, np.triu_indices(s, 1)[0], np.triu_indices(s, 1)[1]] = -np.inf   # causal
    inits = [const("sqrt_d", np.sqrt(dh))]
    add_case("attention_4d_mask", nodes,
             [vi("q", [b, h, s, dh]), vi("k", [b, h, s, dh]), vi("v", [b, h, s, dh]), vi("mask", [b, 1, s, s])],
             [vi("y", [b, h, s, dh])], inits,
             {"q": rnd(b, h, s, dh), "k": rnd(b, h, s, dh), "v": rnd(b, h, s, dh), "mask": mask}, ["Attention"])


def attention_prescaled():
    # PyTorch legacy style: Q and Kᵀ each multiplied by d^-1/4, no mask, 3-D [batch·heads, s, d].
    n, s, dh = 4, 9, 16
    quarter = float(dh ** -0.25)
    nodes = [
        helper.make_node("Mul", ["q", "qs"], ["q2"]),
        helper.make_node("Mul", ["kt", "ks"], ["kt2"]),
        helper.make_node("MatMul", ["q2", "kt2"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["p"], axis=2),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    inits = [const("qs", quarter), const("ks", quarter)]
    add_case("attention_prescaled", nodes, [vi("q", [n, s, dh]), vi("kt", [n, dh, s]), vi("v", [n, s, dh])],
             [vi("y", [n, s, dh])], inits,
             {"q": rnd(n, s, dh), "kt": rnd(n, dh, s), "v": rnd(n, s, dh)}, ["Attention"])


def attention_rising_scores():
    # A 1-D additive mask that rises along the keys, so each later key tile has a larger
    # maximum: the running softmax state must be rescaled at every tile (130 keys, 3 tiles).
    n, sq, sk, dh = 2, 5, 130, 8
    nodes = [
        helper.make_node("MatMul", ["q", "kt"], ["scores"]),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
        helper.make_node("Add", ["bias", "scaled"], ["biased"]),
        helper.make_node("Softmax", ["biased"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    inits = [const("scale", 1 / np.sqrt(dh)), const("bias", np.linspace(0, 12, sk))]
    add_case("attention_rising_scores", nodes, [vi("q", [n, sq, dh]), vi("kt", [n, dh, sk]), vi("v", [n, sk, dh])],
             [vi("y", [n, sq, dh])], inits,
             {"q": rnd(n, sq, dh), "kt": rnd(n, dh, sk), "v": rnd(n, sk, dh)}, ["Attention"])


def attention_short_causal():
    # Short rows (12 keys, 8-wide heads) take the in-register path: a causal -inf mask as one
    # [s, s] matrix shared by every batch and head, and K given untransposed (Transpose absorbed).
    b, h, s, dh = 2, 2, 12, 8
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"]),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mask"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["p"], axis=3),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    mask = np.triu(np.full((s, s), -np.inf, dtype=np.float32), 1)
    inits = [const("scale", 1 / np.sqrt(dh)), const("mask", mask)]
    add_case("attention_short_causal", nodes, [vi("q", [b, h, s, dh]), vi("k", [b, h, s, dh]), vi("v", [b, h, s, dh])],
             [vi("y", [b, h, s, dh])], inits,
             {"q": rnd(b, h, s, dh), "k": rnd(b, h, s, dh), "v": rnd(b, h, s, dh)}, ["Attention"])


def attention_views():
    # Multi-head attention's data movement around the core, in the forms the fused kernel must
    # follow without a copy and the ones it cannot: Q is a transpose reshaped across its strides
    # ([n, 6, 4] read as [n, 4, 6], copied first), K and V are Gathers of one packed tensor
    # (views), Kᵀ a Transpose, the scale a per-shape scalar (1/sqrt of the symbolic key count),
    # the mask an Expand to a shape built from Shape nodes, and the output goes through a
    # Reshape and a Transpose whose inverse is no view (written to scratch, then copied).
    n, a, b, sk = 3, 4, 6, 5
    i64 = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)
    nodes = [
        helper.make_node("Transpose", ["q0"], ["q_t"], perm=[0, 2, 1]),
        helper.make_node("Reshape", ["q_t", "q_shape"], ["q"]),
        helper.make_node("Shape", ["kv"], ["kv_shape"]),
        helper.make_node("Slice", ["kv_shape", "two", "three"], ["keys"]),
        helper.make_node("Cast", ["keys"], ["keys_f"], to=TensorProto.FLOAT),
        helper.make_node("Sqrt", ["keys_f"], ["root"]),
        helper.make_node("Div", ["one", "root"], ["factor"]),
        helper.make_node("Mul", ["q", "factor"], ["q_scaled"]),
        helper.make_node("Gather", ["kv", "zero"], ["k"], axis=0),
        helper.make_node("Gather", ["kv", "one_i"], ["v"], axis=0),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q_scaled", "kt"], ["scores"]),
        helper.make_node("Shape", ["q0"], ["q0_shape"]),
        helper.make_node("Slice", ["q0_shape", "zero_1", "one_1"], ["batch"]),
        helper.make_node("Concat", ["batch", "one_1", "keys"], ["mask_shape"], axis=0),
        helper.make_node("Expand", ["m", "mask_shape"], ["mask"]),
        helper.make_node("Add", ["scores", "mask"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["o"]),
        helper.make_node("Reshape", ["o", "o_shape"], ["o_r"]),
        helper.make_node("Transpose", ["o_r"], ["y"], perm=[0, 2, 1]),
    ]
    inits = [i64("q_shape", [0, a, b]), i64("o_shape", [0, b, a]), i64("two", [2]), i64("three", [3]),
             i64("zero", 0), i64("one_i", 1), i64("zero_1", [0]), i64("one_1", [1]), const("one", 1.0)]
    m = np.zeros(sk, dtype=np.float32)
    m[3] = -np.inf
    m[1] = -1.5
    add_case("attention_views", nodes,
             [vi("q0", ["n", a, b]), vi("kv", [2, "n", "keys", b]), vi("m", ["keys"])],
             [vi("y", ["n", a, b])], inits,
             {"q0": rnd(n, a, b), "kv": rnd(2, n, sk, b), "m": m}, ["Attention"], fused_nodes=8)


def residual_layernorm_keeps_sum():
    # Pre-norm block: the sum feeds LayerNormalization and the next residual.
    d = 32
    nodes = [
        helper.make_node("Add", ["x", "r"], ["sum"]),
        helper.make_node("LayerNormalization", ["sum", "gamma", "beta"], ["n"], axis=-1, epsilon=1e-5),
        helper.make_node("Mul", ["n", "sum"], ["y"]),
    ]
    inits = [const("gamma", rnd(d)), const("beta", rnd(d))]
    add_case("residual_layernorm_keeps_sum", nodes, [vi("x", ["b", 6, d]), vi("r", ["b", 6, d])], [vi("y", ["b", 6, d])],
             inits, {"x": rnd(2, 6, d), "r": rnd(2, 6, d)}, ["AddLayerNormalization"], fused_nodes=2)


def gemm_epilogue_transformer():
    # Feed-forward sublayer on [batch, seq, d]: (x·W1 + b1) → Tanh → ·W2 + b2 → + x.
    d, h = 16, 48
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["b1", "h0"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"]),
        helper.make_node("Add", ["o0", "b2"], ["o1"]),
        helper.make_node("Add", ["x", "o1"], ["y"]),
    ]
    inits = [const("w1", rnd(d, h, scale=0.3)), const("b1", rnd(h)), const("w2", rnd(h, d, scale=0.3)), const("b2", rnd(1, 1, d))]
    add_case("gemm_epilogue_transformer", nodes, [vi("x", ["batch", 7, d])], [vi("y", ["batch", 7, d])], inits,
             {"x": rnd(3, 7, d)}, ["FusedGemm"], fused_nodes=2)


def gemm_residual_relu():
    # ResNet-style: relu(x·Wᵀ + b + r), the residual before the activation.
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1),
        helper.make_node("Add", ["g", "r"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = [const("w", rnd(40, 24, scale=0.3)), const("b", rnd(40))]
    add_case("gemm_residual_relu", nodes, [vi("x", [5, 24]), vi("r", [5, 40])], [vi("y", [5, 40])], inits,
             {"x": rnd(5, 24), "r": rnd(5, 40)}, ["FusedGemm"])


def gemm_transposed_operand():
    # A arrives as [K, M] and is transposed first; Clip after (constant bounds).
    nodes = [
        helper.make_node("Transpose", ["xt"], ["x"], perm=[1, 0]),
        helper.make_node("Gemm", ["x", "w"], ["g"], alpha=0.5),
        helper.make_node("Clip", ["g", "lo", "hi"], ["y"]),
    ]
    inits = [const("w", rnd(20, 33)), const("lo", -1.0), const("hi", 1.5)]
    add_case("gemm_transposed_operand", nodes, [vi("xt", [20, 6])], [vi("y", [6, 33])], inits,
             {"xt": rnd(20, 6)}, ["FusedGemm"])


def conv_batchnorm():
    c, m = 3, 8
    nodes = [
        helper.make_node("Conv", ["x", "w", "bias"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["y"]),
    ]
    inits = [const("w", rnd(m, c, 3, 3)), const("bias", rnd(m)), const("scale", rnd(m)), const("shift", rnd(m)),
             const("mean", rnd(m)), const("var", np.abs(rnd(m)) + 0.5)]
    add_case("conv_batchnorm", nodes, [vi("x", ["n", c, 10, 10])], [vi("y", ["n", m, 10, 10])], inits,
             {"x": rnd(2, c, 10, 10)}, ["FusedConv"])


def conv_residual_relu():
    # ResNet block tail: relu(conv(x) + x), and a 1-D conv with LeakyRelu after it.
    c = 4
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "x"], ["s"]),
        helper.make_node("Relu", ["s"], ["r"]),
        helper.make_node("Reshape", ["r", "flat"], ["seq"]),
        helper.make_node("Conv", ["seq", "w1", "b1"], ["c1"], kernel_shape=[5], strides=[2]),
        helper.make_node("LeakyRelu", ["c1"], ["y"], alpha=0.2),
    ]
    inits = [const("w", rnd(c, c, 3, 3, scale=0.3)), const("w1", rnd(6, c, 5)), const("b1", rnd(6)),
             numpy_helper.from_array(np.array([0, c, -1], dtype=np.int64), "flat")]
    add_case("conv_residual_relu", nodes, [vi("x", ["n", c, 6, 6])], [vi("y", ["n", 6, 16])], inits,
             {"x": rnd(2, c, 6, 6)}, ["FusedConv"], fused_nodes=3)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    layernorm_decomposed()
    gelu_tanh()
    gelu_erf_mul_form()
    elementwise_chain_broadcast()
    attention_4d_mask()
    attention_prescaled()
    attention_rising_scores()
    attention_short_causal()
    residual_layernorm_keeps_sum()
    gemm_epilogue_transformer()
    gemm_residual_relu()
    gemm_transposed_operand()
    conv_batchnorm()
    conv_residual_relu()
    attention_views()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"wrote {len(cases)} cases to {OUT}")
