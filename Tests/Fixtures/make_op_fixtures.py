#!/usr/bin/env python3
"""Build tiny single-op ONNX models, run them in onnxruntime and store the results.

Deterministic (fixed seed). Writes:
  Tests/Fixtures/ops/<case>.onnx + Tests/Fixtures/ops/cases.json
      cases.json = [{"name", "model", "inputs": {name: {shape, data}}, "outputs": {name: {shape, data}}}]
  Tests/Fixtures/broken/<case>.onnx + Tests/Fixtures/broken/cases.json
      cases.json = [{"name", "model", "expect": "<substring of the load error>"}]

Run: python3 Tests/Fixtures/make_op_fixtures.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OPS = os.path.join(HERE, "ops")
BROKEN = os.path.join(HERE, "broken")
rng = np.random.default_rng(1234)


def rnd(*shape, positive=False):
    a = np.asarray(rng.standard_normal(shape), dtype=np.float32)
    if positive:
        a = np.asarray(np.abs(a) + 0.5, dtype=np.float32)
    return a


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def model_of(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, producer_name="tensorwire-fixtures", opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def enc(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


cases = []


def case(name, nodes, feeds, out_names, inits=(), opset=17, input_shapes=None, output_shapes=None):
    """feeds: dict name -> array (model inputs). input_shapes may override declared shapes (symbolic)."""
    import onnxruntime as ort
    inputs = [vi(n, (input_shapes or {}).get(n, list(a.shape))) for n, a in feeds.items()]
    outputs = [vi(n, (output_shapes or {}).get(n)) for n in out_names]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in inits]
    m = model_of(nodes, inputs, outputs, inits, opset)
    # no onnx.checker here: outputs are declared without shapes on purpose (the engine infers them)
    path = os.path.join(OPS, name + ".onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    res = sess.run(out_names, feeds)
    cases.append({
        "name": name,
        "model": os.path.relpath(path, ROOT),
        "inputs": {n: enc(a) for n, a in feeds.items()},
        "outputs": {n: enc(r) for n, r in zip(out_names, res)},
    })


def N(op, ins, outs=("y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), name=op.lower() + "_node", **attrs)


# --- elementwise binary with numpy broadcasting
for op in ("Add", "Sub", "Mul", "Div"):
    pos = op == "Div"
    l = op.lower()
    case(f"{l}_same", [N(op, ["a", "b"])], {"a": rnd(2, 3), "b": rnd(2, 3, positive=pos)}, ["y"])
    case(f"{l}_bcast_last", [N(op, ["a", "b"])], {"a": rnd(2, 3, 4), "b": rnd(4, positive=pos)}, ["y"])
    case(f"{l}_bcast_both", [N(op, ["a", "b"])], {"a": rnd(2, 1, 4), "b": rnd(3, 1, positive=pos)}, ["y"])
    case(f"{l}_scalar", [N(op, ["a", "b"])], {"a": rnd(2, 3), "b": rnd(positive=pos)}, ["y"])
    case(f"{l}_bcast_mid", [N(op, ["a", "b"])], {"a": rnd(1, 3, 1), "b": rnd(2, 3, 5, positive=pos)}, ["y"])
case("add_initializer", [N("Add", ["a", "bias"])], {"a": rnd(4, 3)}, ["y"], inits=[("bias", rnd(3))])
case("add_symbolic_batch", [N("Add", ["a", "b"])], {"a": rnd(5, 3), "b": rnd(5, 3)}, ["y"],
     input_shapes={"a": ["batch", 3], "b": ["batch", 3]}, output_shapes={"y": ["batch", 3]})

# --- unary
for op in ("Relu", "Sigmoid", "Tanh", "Identity"):
    case(op.lower(), [N(op, ["x"])], {"x": rnd(2, 5) * 3}, ["y"])
case("sigmoid_large", [N("Sigmoid", ["x"])], {"x": np.array([-100, -20, 0, 20, 100], np.float32)}, ["y"])

# --- softmax
case("softmax_default", [N("Softmax", ["x"])], {"x": rnd(2, 3, 4)}, ["y"])
case("softmax_axis1", [N("Softmax", ["x"], axis=1)], {"x": rnd(2, 3, 4)}, ["y"])
case("softmax_axis0", [N("Softmax", ["x"], axis=0)], {"x": rnd(2, 3, 4)}, ["y"])
case("softmax_axis_neg2", [N("Softmax", ["x"], axis=-2)], {"x": rnd(2, 3, 4)}, ["y"])
case("softmax_large", [N("Softmax", ["x"])], {"x": rnd(3, 7) * 50}, ["y"])
case("softmax_opset11_axis1", [N("Softmax", ["x"], axis=1)], {"x": rnd(2, 3, 4)}, ["y"], opset=11)
case("softmax_opset11_default", [N("Softmax", ["x"])], {"x": rnd(2, 3, 4)}, ["y"], opset=11)

# --- flatten
for ax in (0, 1, 2, 3, -1):
    case(f"flatten_axis{ax}".replace("-", "neg"), [N("Flatten", ["x"], axis=ax)], {"x": rnd(2, 3, 4)}, ["y"])
case("flatten_default", [N("Flatten", ["x"])], {"x": rnd(2, 3, 4)}, ["y"])

# --- reshape (shape from initializer and from a Constant node)
def reshape_case(name, shape, x, **attrs):
    case(name, [N("Reshape", ["x", "shape"], **attrs)], {"x": x}, ["y"],
         inits=[("shape", np.array(shape, np.int64))])
reshape_case("reshape_zero_minus1", [0, -1], rnd(2, 3, 4))
reshape_case("reshape_minus1_mid", [4, -1, 2], rnd(2, 3, 4))
reshape_case("reshape_flat", [-1], rnd(2, 3, 4))
reshape_case("reshape_zero_keep", [0, 0, 2, 2], rnd(2, 3, 4))
reshape_case("reshape_allowzero", [3, 8], rnd(2, 3, 4), allowzero=1)
case("reshape_constant_node",
     [helper.make_node("Constant", [], ["shape"], name="shape_const",
                       value=numpy_helper.from_array(np.array([-1, 6], np.int64))),
      N("Reshape", ["x", "shape"])],
     {"x": rnd(2, 3, 4)}, ["y"])

# --- matmul
case("matmul_2d", [N("MatMul", ["a", "b"])], {"a": rnd(3, 4), "b": rnd(4, 5)}, ["y"])
case("matmul_batched", [N("MatMul", ["a", "b"])], {"a": rnd(2, 3, 4), "b": rnd(2, 4, 5)}, ["y"])
case("matmul_bcast", [N("MatMul", ["a", "b"])], {"a": rnd(2, 1, 3, 4), "b": rnd(3, 4, 5)}, ["y"])
case("matmul_bcast_2d_b", [N("MatMul", ["a", "b"])], {"a": rnd(2, 3, 4)}, ["y"], inits=[("b", rnd(4, 6))])
case("matmul_1d_left", [N("MatMul", ["a", "b"])], {"a": rnd(4), "b": rnd(4, 5)}, ["y"])
case("matmul_1d_right", [N("MatMul", ["a", "b"])], {"a": rnd(3, 4), "b": rnd(4)}, ["y"])
case("matmul_1d_both", [N("MatMul", ["a", "b"])], {"a": rnd(4), "b": rnd(4)}, ["y"])
case("matmul_1d_batched", [N("MatMul", ["a", "b"])], {"a": rnd(4), "b": rnd(2, 4, 3)}, ["y"])
case("matmul_3d_1d", [N("MatMul", ["a", "b"])], {"a": rnd(2, 3, 4), "b": rnd(4)}, ["y"])
case("matmul_big_edges", [N("MatMul", ["a", "b"])], {"a": rnd(37, 70)}, ["y"], inits=[("b", rnd(70, 45))])
case("matmul_big_square", [N("MatMul", ["a", "b"])], {"a": rnd(96, 130), "b": rnd(130, 67)}, ["y"])

# --- gemm
case("gemm_plain", [N("Gemm", ["a", "b"])], {"a": rnd(3, 4), "b": rnd(4, 5)}, ["y"])
case("gemm_transA", [N("Gemm", ["a", "b", "c"], transA=1)], {"a": rnd(4, 3), "b": rnd(4, 5), "c": rnd(3, 5)}, ["y"])
case("gemm_transB_init", [N("Gemm", ["a", "w", "c"], transB=1)], {"a": rnd(3, 4)}, ["y"],
     inits=[("w", rnd(5, 4)), ("c", rnd(5))])
case("gemm_transB_input", [N("Gemm", ["a", "w", "c"], transB=1)], {"a": rnd(3, 4), "w": rnd(5, 4), "c": rnd(5)}, ["y"])
case("gemm_transAB", [N("Gemm", ["a", "b"], transA=1, transB=1)], {"a": rnd(4, 3), "b": rnd(5, 4)}, ["y"])
case("gemm_alpha_beta_row", [N("Gemm", ["a", "b", "c"], alpha=0.5, beta=2.0)],
     {"a": rnd(3, 4), "b": rnd(4, 5), "c": rnd(5)}, ["y"])
case("gemm_c_column", [N("Gemm", ["a", "b", "c"], alpha=1.5, beta=-1.0)],
     {"a": rnd(3, 4), "b": rnd(4, 5), "c": rnd(3, 1)}, ["y"])
case("gemm_c_scalar", [N("Gemm", ["a", "b", "c"], beta=0.25)], {"a": rnd(3, 4), "b": rnd(4, 5), "c": rnd()}, ["y"])
case("gemm_c_full", [N("Gemm", ["a", "b", "c"])], {"a": rnd(3, 4), "b": rnd(4, 5), "c": rnd(3, 5)}, ["y"])
case("gemm_big_transB", [N("Gemm", ["a", "w", "c"], transB=1)], {"a": rnd(50, 33)}, ["y"],
     inits=[("w", rnd(70, 33)), ("c", rnd(70))], input_shapes={"a": ["batch", 33]})

# --- an initializer also listed as a graph input (old exporters, IR < 4): not a model input
def initializer_as_input():
    import onnxruntime as ort
    w = rnd(4, 3)
    g = helper.make_graph([N("MatMul", ["x", "w"])], "g", [vi("x", ["batch", 4]), vi("w", [4, 3])], [vi("y", ["batch", 3])],
                          initializer=[numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, producer_name="tensorwire-fixtures", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    path = os.path.join(OPS, "initializer_as_input.onnx")
    onnx.save(m, path)
    x = rnd(2, 4)
    (y,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(["y"], {"x": x})
    cases.append({"name": "initializer_as_input", "model": os.path.relpath(path, ROOT),
                  "inputs": {"x": enc(x)}, "outputs": {"y": enc(y)}})
initializer_as_input()

# --- small chain with symbolic batch
case("mlp_chain",
     [N("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["z"], name="add1"),
      helper.make_node("Relu", ["z"], ["r"], name="relu1"),
      helper.make_node("Flatten", ["r"], ["f"], name="flat1", axis=1),
      helper.make_node("Softmax", ["f"], ["y"], name="sm1")],
     {"x": rnd(4, 6)}, ["y"], inits=[("w", rnd(6, 8)), ("b", rnd(8))],
     input_shapes={"x": ["batch", 6]}, output_shapes={"y": ["batch", 8]})

os.makedirs(OPS, exist_ok=True)
with open(os.path.join(OPS, "cases.json"), "w") as f:
    json.dump(cases, f)
    f.write("\n")

# ---------------------------------------------------------------- broken models
broken = []


def save_broken(name, data, expect):
    path = os.path.join(BROKEN, name + ".onnx")
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.SerializeToString())
    broken.append({"name": name, "model": os.path.relpath(path, ROOT), "expect": expect})


x_in = [vi("x", [1, 3, 8, 8])]
save_broken("unsupported_op",
            model_of([helper.make_node("Conv", ["x", "w"], ["y"], name="conv1")], x_in, [vi("y", None)],
                     [numpy_helper.from_array(rnd(4, 3, 3, 3), "w")]),
            "unsupported operator 'Conv' (node 'conv1')")
save_broken("custom_domain_op",
            model_of([helper.make_node("FusedGemm", ["x"], ["y"], name="fg", domain="com.microsoft")],
                     [vi("x", [2, 2])], [vi("y", None)]),
            "unsupported operator 'com.microsoft.FusedGemm' (node 'fg')")
good = open(os.path.join(ROOT, "examples", "models", "credit_default", "1", "model.onnx"), "rb").read()
save_broken("truncated", good[: len(good) // 2], "truncated")
save_broken("garbage", bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)), "malformed ONNX protobuf")
save_broken("double_input",
            model_of([N("Relu", ["x"])], [vi("x", [2, 2], TensorProto.DOUBLE)], [vi("y", [2, 2], TensorProto.DOUBLE)]),
            "input 'x' has element type DOUBLE")
def raw_tensor(name, dims, raw):
    t = TensorProto()
    t.name, t.data_type, t.raw_data = name, TensorProto.FLOAT, raw
    t.dims.extend(dims)
    return t


absurd = raw_tensor("w", [1 << 40, 1 << 40], b"\0" * 16)
save_broken("absurd_dims",
            model_of([N("Add", ["x", "w"])], [vi("x", [2, 2])], [vi("y", None)], [absurd]),
            "initializer 'w'")
mismatch = raw_tensor("w", [10], b"\0" * 8)
save_broken("raw_size_mismatch",
            model_of([N("Add", ["x", "w"])], [vi("x", [10])], [vi("y", None)], [mismatch]),
            "raw_data has 8 bytes, expected 40")
nine = raw_tensor("w", [1] * 9, b"\0" * 4)
save_broken("too_many_dims",
            model_of([N("Add", ["x", "w"])], [vi("x", [1])], [vi("y", None)], [nine]),
            "dimensions")
ext = helper.make_tensor("w", TensorProto.FLOAT, [2], [0.0, 0.0])
ext.ClearField("float_data")
ext.data_location = TensorProto.EXTERNAL
e = ext.external_data.add(); e.key = "location"; e.value = "weights.bin"
save_broken("external_data",
            model_of([N("Add", ["x", "w"])], [vi("x", [2])], [vi("y", None)], [ext]),
            "external data")
save_broken("missing_producer",
            model_of([N("Relu", ["nowhere"])], [vi("x", [2])], [vi("y", None)]),
            "input 'nowhere' of node 'relu_node'")
save_broken("not_topological",
            model_of([helper.make_node("Relu", ["h"], ["y"], name="second"),
                      helper.make_node("Relu", ["x"], ["h"], name="first")],
                     [vi("x", [2])], [vi("y", None)]),
            "input 'h' of node 'second'")
save_broken("bad_attribute_value",
            model_of([N("Gemm", ["a", "b"], transA=2)], [vi("a", [2, 2]), vi("b", [2, 2])], [vi("y", None)]),
            "transA")
save_broken("softmax_axis_out_of_range",
            model_of([N("Softmax", ["x"], axis=3)], [vi("x", [2, 2])], [vi("y", None)]),
            "axis")
save_broken("matmul_inner_mismatch",
            model_of([N("MatMul", ["a", "b"])], [vi("a", [2, 3]), vi("b", [4, 5])], [vi("y", None)]),
            "MatMul")
save_broken("old_opset",
            model_of([N("Relu", ["x"])], [vi("x", [2])], [vi("y", None)], opset=6),
            "opset")
save_broken("missing_output",
            model_of([N("Relu", ["x"])], [vi("x", [2])], [vi("z", None)]),
            "output 'z'")
with open(os.path.join(BROKEN, "cases.json"), "w") as f:
    json.dump(broken, f, indent=1)
    f.write("\n")
print(f"{len(cases)} op cases, {len(broken)} broken models")
