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


DTYPES = {np.dtype(np.float32): ("float32", TensorProto.FLOAT), np.dtype(np.int64): ("int64", TensorProto.INT64),
          np.dtype(np.int32): ("int32", TensorProto.INT32), np.dtype(np.bool_): ("bool", TensorProto.BOOL)}


def enc(a):
    a = np.asarray(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    name = DTYPES[a.dtype][0]
    if name == "float32":
        # JSON has no inf/nan: those travel as the strings "inf", "-inf", "nan"
        data = [float(v) if np.isfinite(v) else str(float(v)) for v in a.ravel()]
    elif name == "bool":
        data = [bool(v) for v in a.ravel()]
    else:
        data = [int(v) for v in a.ravel()]
    out = {"shape": list(a.shape), "data": data}
    if name != "float32":
        out["dtype"] = name
    return out


cases = []


def case(name, nodes, feeds, out_names, inits=(), opset=17, input_shapes=None, output_shapes=None, out_types=None):
    """feeds: dict name -> array (model inputs). input_shapes may override declared shapes (symbolic).
    out_types: dict output name -> TensorProto type (default FLOAT)."""
    import onnxruntime as ort
    inputs = [vi(n, (input_shapes or {}).get(n, list(a.shape)), DTYPES[np.asarray(a).dtype][1]) for n, a in feeds.items()]
    outputs = [vi(n, (output_shapes or {}).get(n), (out_types or {}).get(n, TensorProto.FLOAT)) for n in out_names]
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

# =============================================================== v1 operators
I64, I32, B = np.int64, np.int32, np.bool_
BOOL_T, I64_T, I32_T = TensorProto.BOOL, TensorProto.INT64, TensorProto.INT32


def ints(*v, dtype=np.int64):
    return np.array(v, dtype)


# --- unary float
for op in ("Erf", "Exp", "Neg", "Abs", "Floor", "Ceil", "Sign", "Softplus", "Sin", "Cos", "Elu", "HardSigmoid"):
    case(op.lower(), [N(op, ["x"])], {"x": rnd(3, 4) * 2}, ["y"])
for op in ("Sqrt", "Log", "Reciprocal"):
    case(op.lower(), [N(op, ["x"])], {"x": rnd(3, 4, positive=True)}, ["y"])
case("leakyrelu_default", [N("LeakyRelu", ["x"])], {"x": rnd(3, 4)}, ["y"])
case("leakyrelu_alpha", [N("LeakyRelu", ["x"], alpha=0.2)], {"x": rnd(3, 4)}, ["y"])
case("elu_alpha", [N("Elu", ["x"], alpha=0.5)], {"x": rnd(3, 4)}, ["y"])
case("gelu_exact", [N("Gelu", ["x"])], {"x": rnd(3, 5) * 3}, ["y"], opset=20)
case("gelu_tanh", [N("Gelu", ["x"], approximate="tanh")], {"x": rnd(3, 5) * 3}, ["y"], opset=20)
case("neg_int64", [N("Neg", ["x"])], {"x": ints(3, -4, 0, 7)}, ["y"], out_types={"y": I64_T})
case("abs_int64", [N("Abs", ["x"])], {"x": ints(3, -4, 0, -7)}, ["y"], out_types={"y": I64_T})
case("abs_int32", [N("Abs", ["x"])], {"x": ints(3, -4, 0, -7, dtype=I32)}, ["y"], out_types={"y": I32_T})
case("not", [N("Not", ["x"])], {"x": np.array([[True, False], [False, False]])}, ["y"], out_types={"y": BOOL_T})

# --- binary beyond Add/Sub/Mul/Div, with broadcasting
case("pow_bcast", [N("Pow", ["a", "b"])], {"a": rnd(2, 3, positive=True), "b": rnd(3)}, ["y"])
case("pow_square_const", [N("Pow", ["a", "b"])], {"a": rnd(2, 3)}, ["y"], inits=[("b", np.array(2.0, np.float32))])
case("pow_int_exponent", [N("Pow", ["a", "b"])], {"a": rnd(2, 3), "b": ints(3)}, ["y"])
case("mod_fmod_float", [N("Mod", ["a", "b"], fmod=1)], {"a": rnd(2, 4) * 5, "b": rnd(4, positive=True)}, ["y"])
case("mod_int64", [N("Mod", ["a", "b"])], {"a": ints(-7, -3, 5, 7, 9, -9), "b": ints(3, -3, 3, -2, 4, 4)}, ["y"],
     out_types={"y": I64_T})
case("mod_int64_fmod", [N("Mod", ["a", "b"], fmod=1)], {"a": ints(-7, -3, 5, 7), "b": ints(3, -3, 3, -2)}, ["y"],
     out_types={"y": I64_T})
case("max_bcast", [N("Max", ["a", "b"])], {"a": rnd(2, 3), "b": rnd(3)}, ["y"])
case("min_bcast", [N("Min", ["a", "b"])], {"a": rnd(2, 3), "b": rnd(2, 1)}, ["y"])
case("add_int64_bcast", [N("Add", ["a", "b"])], {"a": ints(1, 2, 3, 4, 5, 6).reshape(2, 3), "b": ints(10, 20, 30)}, ["y"],
     out_types={"y": I64_T})
case("sub_int64_scalar", [N("Sub", ["a", "b"])], {"a": ints(1, 2, 3)}, ["y"], inits=[("b", np.array(5, np.int64))],
     out_types={"y": I64_T})
case("mul_int32", [N("Mul", ["a", "b"])], {"a": ints(1, -2, 3, dtype=I32), "b": ints(4, 5, -6, dtype=I32)}, ["y"],
     out_types={"y": I32_T})
case("div_int64_trunc", [N("Div", ["a", "b"])], {"a": ints(7, -7, 7, -7, 0), "b": ints(2, 2, -2, -2, 3)}, ["y"],
     out_types={"y": I64_T})
for op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
    a = np.array([[1, 2, 3], [3, 2, 1]], np.float32)
    case(op.lower() + "_float_bcast", [N(op, ["a", "b"])], {"a": a, "b": np.array([2, 2, 1], np.float32)}, ["y"],
         out_types={"y": BOOL_T})
    case(op.lower() + "_int64", [N(op, ["a", "b"])], {"a": ints(1, 5, 3), "b": ints(3)}, ["y"], out_types={"y": BOOL_T},
         opset=17)
case("equal_bool", [N("Equal", ["a", "b"])], {"a": np.array([True, False, True]), "b": np.array([True, True, False])},
     ["y"], out_types={"y": BOOL_T}, opset=19)
for op in ("And", "Or", "Xor"):
    case(op.lower() + "_bcast", [N(op, ["a", "b"])],
         {"a": np.array([[True, False], [False, True]]), "b": np.array([True, False])}, ["y"], out_types={"y": BOOL_T})

# --- Clip
case("clip_min_max", [N("Clip", ["x", "lo", "hi"])], {"x": rnd(3, 4) * 2}, ["y"],
     inits=[("lo", np.array(-0.5, np.float32)), ("hi", np.array(0.7, np.float32))])
case("clip_max_only", [N("Clip", ["x", "", "hi"])], {"x": rnd(3, 4) * 2}, ["y"], inits=[("hi", np.array(0.7, np.float32))])
case("clip_none", [N("Clip", ["x"])], {"x": rnd(3, 4)}, ["y"])
case("clip_int64", [N("Clip", ["x", "lo", "hi"])], {"x": ints(-5, 0, 3, 9)}, ["y"],
     inits=[("lo", np.array(-1, np.int64)), ("hi", np.array(4, np.int64))], out_types={"y": I64_T})

# --- Cast
case("cast_float_int64", [N("Cast", ["x"], to=I64_T)], {"x": np.array([1.7, -1.7, 0.2, -3.9, 100], np.float32)}, ["y"],
     out_types={"y": I64_T})
case("cast_int64_float", [N("Cast", ["x"], to=TensorProto.FLOAT)], {"x": ints(-3, 0, 12345)}, ["y"])
case("cast_float_bool", [N("Cast", ["x"], to=BOOL_T)], {"x": np.array([0, -0.5, 2, 0], np.float32)}, ["y"],
     out_types={"y": BOOL_T})
case("cast_bool_float", [N("Cast", ["x"], to=TensorProto.FLOAT)], {"x": np.array([True, False, True])}, ["y"])
case("cast_bool_int64", [N("Cast", ["x"], to=I64_T)], {"x": np.array([True, False])}, ["y"], out_types={"y": I64_T})
case("cast_int64_int32", [N("Cast", ["x"], to=I32_T)], {"x": ints(-3, 0, 70000)}, ["y"], out_types={"y": I32_T})
case("cast_int32_int64", [N("Cast", ["x"], to=I64_T)], {"x": ints(-3, 0, 7, dtype=I32)}, ["y"], out_types={"y": I64_T})
case("cast_int64_bool", [N("Cast", ["x"], to=BOOL_T)], {"x": ints(-3, 0, 7)}, ["y"], out_types={"y": BOOL_T})

# --- Where
case("where_bcast", [N("Where", ["c", "a", "b"])], {"c": np.array([[True], [False]]), "a": rnd(2, 3), "b": rnd(3)}, ["y"])
case("where_mask_scalar", [N("Where", ["c", "a", "b"])], {"c": np.array([True, False, True, False]), "a": rnd(2, 4)}, ["y"],
     inits=[("b", np.array(-np.inf, np.float32))])
case("where_int64", [N("Where", ["c", "a", "b"])], {"c": np.array([True, False]), "a": ints(1, 2), "b": ints(7)}, ["y"],
     out_types={"y": I64_T})

# --- Shape, Size
case("shape", [N("Shape", ["x"])], {"x": rnd(2, 3, 4)}, ["y"], out_types={"y": I64_T})
case("shape_start_end", [N("Shape", ["x"], start=1, end=-1)], {"x": rnd(2, 3, 4, 5)}, ["y"], out_types={"y": I64_T})
case("shape_start_neg", [N("Shape", ["x"], start=-2)], {"x": rnd(2, 3, 4, 5)}, ["y"], out_types={"y": I64_T})
case("size", [N("Size", ["x"])], {"x": rnd(2, 3, 4)}, ["y"], out_types={"y": I64_T})

# --- Gather
case("gather_axis0_2d_indices", [N("Gather", ["x", "i"])], {"x": rnd(5, 3), "i": ints(0, 4, 2, 2).reshape(2, 2)}, ["y"])
case("gather_axis1_negative", [N("Gather", ["x", "i"], axis=1)], {"x": rnd(2, 4, 3), "i": ints(-1, 0)}, ["y"])
case("gather_scalar_index", [N("Gather", ["x", "i"], axis=-1)], {"x": rnd(2, 4)}, ["y"], inits=[("i", np.array(2, np.int64))])
case("gather_int32_indices", [N("Gather", ["x", "i"])], {"x": rnd(4, 2), "i": ints(3, 1, dtype=I32)}, ["y"])
case("gather_int64_data", [N("Gather", ["x", "i"])], {"x": ints(10, 20, 30, 40), "i": ints(3, 0)}, ["y"], out_types={"y": I64_T})
case("gather_embedding", [N("Gather", ["emb", "ids"])], {"ids": ints(1, 7, 3, 0, 0, 2).reshape(2, 3)}, ["y"],
     inits=[("emb", rnd(8, 5))], input_shapes={"ids": ["batch", "seq"]})

# --- Concat
case("concat_axis1", [N("Concat", ["a", "b"], axis=1)], {"a": rnd(2, 3, 2), "b": rnd(2, 1, 2)}, ["y"])
case("concat_axis_neg1_three", [N("Concat", ["a", "b", "c"], axis=-1)], {"a": rnd(2, 3), "b": rnd(2, 1), "c": rnd(2, 2)}, ["y"])
case("concat_axis0_int64", [N("Concat", ["a", "b"], axis=0)], {"a": ints(1, 2), "b": ints(3)}, ["y"], out_types={"y": I64_T})

# --- Slice
def slice_case(name, x, starts, ends, axes=None, steps=None, opset=17):
    ins = ["x", "s", "e"]
    inits = [("s", ints(*starts)), ("e", ints(*ends))]
    if axes is not None:
        ins.append("a"); inits.append(("a", ints(*axes)))
    if steps is not None:
        if axes is None:
            ins.append("")
        ins.append("st"); inits.append(("st", ints(*steps)))
    case(name, [N("Slice", ins)], {"x": x}, ["y"], inits=inits, opset=opset)
slice_case("slice_basic", rnd(4, 5), [1, 0], [3, 5])
slice_case("slice_axes_negative", rnd(3, 4, 5), [1], [-1], axes=[-1])
slice_case("slice_steps", rnd(6, 5), [0, 4], [6, 0], axes=[0, 1], steps=[2, -1])
slice_case("slice_neg_step_full", rnd(5), [-1], [-(2 ** 63)], steps=[-1])
slice_case("slice_clamped", rnd(3, 4), [-100, 1], [100, 2 ** 62], axes=[0, 1])
slice_case("slice_empty", rnd(3, 4), [2], [1], axes=[1])
case("slice_dynamic_ends", [N("Slice", ["x", "s", "e", "a"])], {"x": rnd(4, 6), "e": ints(3)}, ["y"],
     inits=[("s", ints(1)), ("a", ints(1))])

# --- Split
case("split_input_sizes", [N("Split", ["x", "s"], ["y0", "y1", "y2"], axis=1)], {"x": rnd(2, 6)}, ["y0", "y1", "y2"],
     inits=[("s", ints(1, 2, 3))])
case("split_equal", [N("Split", ["x"], ["y0", "y1"])], {"x": rnd(4, 3)}, ["y0", "y1"])
case("split_num_outputs_uneven", [N("Split", ["x"], ["y0", "y1", "y2"], axis=-1, num_outputs=3)], {"x": rnd(2, 7)},
     ["y0", "y1", "y2"], opset=18)
case("split_attr_opset11", [N("Split", ["x"], ["y0", "y1"], axis=0, split=[1, 3])], {"x": rnd(4, 2)}, ["y0", "y1"], opset=11)

# --- Squeeze / Unsqueeze
case("squeeze_axes_input", [N("Squeeze", ["x", "a"])], {"x": rnd(1, 3, 1, 2)}, ["y"], inits=[("a", ints(0, -2))])
case("squeeze_all", [N("Squeeze", ["x"])], {"x": rnd(1, 3, 1, 2)}, ["y"])
case("squeeze_attr_opset11", [N("Squeeze", ["x"], axes=[2])], {"x": rnd(3, 2, 1)}, ["y"], opset=11)
case("unsqueeze_axes_input", [N("Unsqueeze", ["x", "a"])], {"x": rnd(3, 2)}, ["y"], inits=[("a", ints(0, -1))])
case("unsqueeze_middle", [N("Unsqueeze", ["x", "a"])], {"x": rnd(3, 2)}, ["y"], inits=[("a", ints(1, 3))])
case("unsqueeze_attr_opset11", [N("Unsqueeze", ["x"], axes=[0])], {"x": rnd(3)}, ["y"], opset=11)
case("unsqueeze_scalar_int64", [N("Unsqueeze", ["x", "a"])], {"x": np.array(5, np.int64)}, ["y"], inits=[("a", ints(0))],
     out_types={"y": I64_T})

# --- Transpose
case("transpose_default", [N("Transpose", ["x"])], {"x": rnd(2, 3, 4)}, ["y"])
case("transpose_perm", [N("Transpose", ["x"], perm=[0, 2, 1, 3])], {"x": rnd(2, 3, 4, 5)}, ["y"])
case("transpose_bool", [N("Transpose", ["x"])], {"x": np.array([[True, False, True], [False, False, True]])}, ["y"],
     out_types={"y": BOOL_T})

# --- Expand
case("expand_both_ways", [N("Expand", ["x", "s"])], {"x": rnd(3, 1)}, ["y"], inits=[("s", ints(2, 1, 4))])
case("expand_smaller_rank_shape", [N("Expand", ["x", "s"])], {"x": rnd(2, 3)}, ["y"], inits=[("s", ints(3))])
case("expand_dynamic_shape", [N("Expand", ["x", "s"])], {"x": rnd(1, 3), "s": ints(4, 1)}, ["y"])

# --- ConstantOfShape
case("constantofshape_default", [N("ConstantOfShape", ["s"])], {"s": ints(2, 3)}, ["y"])
case("constantofshape_int64", [N("ConstantOfShape", ["s"], value=numpy_helper.from_array(np.array([7], np.int64)))],
     {"s": ints(4)}, ["y"], out_types={"y": I64_T})
case("constantofshape_float", [N("ConstantOfShape", ["s"], value=numpy_helper.from_array(np.array([1.5], np.float32)))],
     {"s": ints(1, 2, 2)}, ["y"])

# --- Range
case("range_float", [N("Range", ["a", "b", "c"])], {"a": np.array(1.0, np.float32), "b": np.array(3.2, np.float32),
                                                    "c": np.array(0.5, np.float32)}, ["y"])
case("range_int64_negative", [N("Range", ["a", "b", "c"])], {"a": np.array(10, np.int64), "b": np.array(1, np.int64),
                                                            "c": np.array(-3, np.int64)}, ["y"], out_types={"y": I64_T})

# --- Trilu
case("trilu_upper", [N("Trilu", ["x"])], {"x": rnd(4, 5)}, ["y"])
case("trilu_lower_k_neg1", [N("Trilu", ["x", "k"], upper=0)], {"x": rnd(2, 4, 4)}, ["y"], inits=[("k", np.array(-1, np.int64))])
case("trilu_upper_k1", [N("Trilu", ["x", "k"], upper=1)], {"x": rnd(3, 5)}, ["y"], inits=[("k", np.array(1, np.int64))])
case("trilu_int64", [N("Trilu", ["x"], upper=0)], {"x": np.arange(1, 10, dtype=np.int64).reshape(3, 3)}, ["y"],
     out_types={"y": I64_T})

# --- Tile
case("tile", [N("Tile", ["x", "r"])], {"x": rnd(2, 3)}, ["y"], inits=[("r", ints(2, 3))])

# --- reductions (axes attribute up to opset 17, input from 18; ReduceSum input from 13)
case("reducemean_keepdims", [N("ReduceMean", ["x"], axes=[-1])], {"x": rnd(2, 3, 4)}, ["y"])
case("reducemean_no_keepdims", [N("ReduceMean", ["x"], axes=[0, 2], keepdims=0)], {"x": rnd(2, 3, 4)}, ["y"])
case("reducemean_all", [N("ReduceMean", ["x"])], {"x": rnd(2, 3, 4)}, ["y"])
case("reducemean_opset18_input", [N("ReduceMean", ["x", "a"])], {"x": rnd(2, 3, 4)}, ["y"], inits=[("a", ints(1))], opset=18)
case("reducesum_opset13_input", [N("ReduceSum", ["x", "a"], keepdims=0)], {"x": rnd(2, 3, 4)}, ["y"], inits=[("a", ints(-1))])
case("reducesum_noop_empty", [N("ReduceSum", ["x"], noop_with_empty_axes=1)], {"x": rnd(2, 3)}, ["y"])
case("reducesum_int64", [N("ReduceSum", ["x", "a"], keepdims=0)], {"x": ints(1, 0, 1, 1, 1, 0).reshape(2, 3)}, ["y"],
     inits=[("a", ints(1))], out_types={"y": I64_T})
case("reducemax", [N("ReduceMax", ["x"], axes=[1])], {"x": rnd(2, 3, 4)}, ["y"])
case("reducemin_opset18", [N("ReduceMin", ["x", "a"], keepdims=0)], {"x": rnd(2, 3, 4)}, ["y"], inits=[("a", ints(0, 2))],
     opset=18)
case("reduceprod", [N("ReduceProd", ["x"], axes=[1])], {"x": rnd(2, 3)}, ["y"])
case("reducesumsquare", [N("ReduceSumSquare", ["x"], axes=[1])], {"x": rnd(2, 3)}, ["y"])
case("reducel2", [N("ReduceL2", ["x"], axes=[1])], {"x": rnd(2, 3)}, ["y"])

# --- dynamic Reshape and a shape subgraph (Shape → Gather → Unsqueeze → Concat → Reshape)
case("reshape_dynamic_shape_input", [N("Reshape", ["x", "s"])], {"x": rnd(2, 3, 4), "s": ints(4, -1, 3)}, ["y"])
case("reshape_int64_data", [N("Reshape", ["x", "s"])], {"x": ints(1, 2, 3, 4, 5, 6)}, ["y"], inits=[("s", ints(3, 2))],
     out_types={"y": I64_T})
case("shape_subgraph_reshape",
     [helper.make_node("Shape", ["x"], ["sh"], name="shape1"),
      helper.make_node("Gather", ["sh", "zero"], ["b"], name="gather1", axis=0),
      helper.make_node("Unsqueeze", ["b", "zero_axes"], ["bu"], name="unsq1"),
      helper.make_node("Concat", ["bu", "minus1"], ["target"], name="concat1", axis=0),
      helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape1")],
     {"x": rnd(3, 2, 4)}, ["y"],
     inits=[("zero", np.array(0, np.int64)), ("zero_axes", ints(0)), ("minus1", ints(-1))],
     input_shapes={"x": ["batch", 2, 4]})

# --- identity / dropout on other types
case("identity_int64", [N("Identity", ["x"])], {"x": ints(5, 6)}, ["y"], out_types={"y": I64_T})
case("dropout_inference", [N("Dropout", ["x"])], {"x": rnd(2, 3)}, ["y"], opset=13)
case("flatten_int64", [N("Flatten", ["x"])], {"x": np.arange(24, dtype=np.int64).reshape(2, 3, 4)}, ["y"], out_types={"y": I64_T})

# --- normalizations
case("layernorm_last", [N("LayerNormalization", ["x", "g", "b"])], {"x": rnd(2, 3, 8)}, ["y"],
     inits=[("g", rnd(8)), ("b", rnd(8))])
case("layernorm_axis1_nobias", [N("LayerNormalization", ["x", "g"], axis=1, epsilon=1e-3)], {"x": rnd(2, 3, 4)}, ["y"],
     inits=[("g", rnd(3, 4))])
case("layernorm_symbolic", [N("LayerNormalization", ["x", "g", "b"])], {"x": rnd(3, 6)}, ["y"],
     inits=[("g", rnd(6)), ("b", rnd(6))], input_shapes={"x": ["batch", 6]})
case("batchnorm_4d", [N("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)], {"x": rnd(2, 3, 4, 5)}, ["y"],
     inits=[("s", rnd(3)), ("b", rnd(3)), ("m", rnd(3)), ("v", rnd(3, positive=True))])
case("batchnorm_3d", [N("BatchNormalization", ["x", "s", "b", "m", "v"])], {"x": rnd(2, 4, 6)}, ["y"],
     inits=[("s", rnd(4)), ("b", rnd(4)), ("m", rnd(4)), ("v", rnd(4, positive=True))])


# --- Conv (1-D/2-D, pads, auto_pad, strides, dilations, groups, depthwise) and pooling
def conv_case(name, x, w, b=None, opset=17, **attrs):
    ins = ["x", "w"] + (["b"] if b is not None else [])
    inits = [("w", w)] + ([("b", b)] if b is not None else [])
    case(name, [N("Conv", ins, **attrs)], {"x": x}, ["y"], inits=inits, opset=opset)
conv_case("conv2d_basic", rnd(1, 3, 6, 6), rnd(4, 3, 3, 3), rnd(4))
conv_case("conv2d_pads_strides", rnd(2, 3, 7, 6), rnd(5, 3, 3, 2), rnd(5), pads=[1, 0, 2, 1], strides=[2, 1])
conv_case("conv2d_dilation", rnd(1, 2, 9, 9), rnd(3, 2, 3, 3), dilations=[2, 3], pads=[2, 2, 2, 2])
conv_case("conv2d_group", rnd(1, 4, 5, 5), rnd(6, 2, 3, 3), rnd(6), group=2, pads=[1, 1, 1, 1])
conv_case("conv2d_depthwise", rnd(2, 4, 6, 6), rnd(4, 1, 3, 3), rnd(4), group=4, pads=[1, 1, 1, 1])
conv_case("conv2d_same_upper", rnd(1, 2, 7, 7), rnd(3, 2, 4, 4), auto_pad="SAME_UPPER", strides=[2, 2])
conv_case("conv2d_same_lower", rnd(1, 2, 6, 5), rnd(3, 2, 2, 3), auto_pad="SAME_LOWER")
conv_case("conv2d_valid", rnd(1, 2, 6, 5), rnd(3, 2, 3, 3), auto_pad="VALID", strides=[2, 2])
conv_case("conv2d_1x1", rnd(2, 8, 4, 4), rnd(16, 8, 1, 1), rnd(16))
conv_case("conv2d_kernel_shape_attr", rnd(1, 3, 5, 5), rnd(2, 3, 3, 3), kernel_shape=[3, 3])
conv_case("conv1d_basic", rnd(2, 3, 10), rnd(4, 3, 3), rnd(4), pads=[1, 1])
conv_case("conv1d_stride_dilation", rnd(1, 2, 15), rnd(3, 2, 3), strides=[2], dilations=[2])
conv_case("conv1d_depthwise", rnd(1, 4, 8), rnd(4, 1, 5), rnd(4), group=4, pads=[2, 2])
case("conv2d_symbolic_batch", [N("Conv", ["x", "w", "b"], pads=[1, 1, 1, 1])], {"x": rnd(3, 2, 5, 5)}, ["y"],
     inits=[("w", rnd(4, 2, 3, 3)), ("b", rnd(4))], input_shapes={"x": ["batch", 2, 5, 5]})

def pool_case(name, op, x, opset=17, **attrs):
    case(name, [N(op, ["x"], **attrs)], {"x": x}, ["y"], opset=opset)
pool_case("maxpool2d", "MaxPool", rnd(1, 2, 6, 6), kernel_shape=[2, 2], strides=[2, 2])
pool_case("maxpool2d_pads", "MaxPool", rnd(1, 2, 5, 5), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
pool_case("maxpool2d_ceil", "MaxPool", rnd(1, 2, 6, 6), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
pool_case("maxpool2d_dilation", "MaxPool", rnd(1, 1, 7, 7), kernel_shape=[2, 2], dilations=[2, 2])
pool_case("maxpool2d_same_upper", "MaxPool", rnd(1, 2, 5, 5), kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")
pool_case("maxpool1d", "MaxPool", rnd(2, 3, 9), kernel_shape=[3], strides=[2], pads=[1, 1])
pool_case("avgpool2d", "AveragePool", rnd(1, 2, 6, 6), kernel_shape=[2, 2], strides=[2, 2])
pool_case("avgpool2d_pads_exclude", "AveragePool", rnd(1, 2, 5, 5), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
pool_case("avgpool2d_pads_include", "AveragePool", rnd(1, 2, 5, 5), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
          count_include_pad=1)
pool_case("avgpool2d_ceil", "AveragePool", rnd(1, 2, 6, 6), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
pool_case("avgpool2d_ceil_include", "AveragePool", rnd(1, 1, 6, 6), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1,
          pads=[1, 1, 1, 1], count_include_pad=1)
pool_case("avgpool2d_same_lower", "AveragePool", rnd(1, 2, 5, 5), kernel_shape=[2, 2], auto_pad="SAME_LOWER")
pool_case("avgpool1d", "AveragePool", rnd(2, 3, 9), kernel_shape=[3], strides=[2], pads=[1, 1])
pool_case("avgpool1d_include", "AveragePool", rnd(2, 3, 9), kernel_shape=[4], strides=[3], pads=[2, 1], count_include_pad=1)
pool_case("globalavgpool", "GlobalAveragePool", rnd(2, 3, 4, 5))
pool_case("globalavgpool_1d", "GlobalAveragePool", rnd(2, 3, 7))
pool_case("globalmaxpool", "GlobalMaxPool", rnd(2, 3, 4, 5))

# --- LSTM / GRU (ONNX semantics: gate order i,o,f,c and z,r,h; layouts; sequence_lens; states)
def rnn_case(name, op, seq=4, batch=2, inp=3, hidden=5, dirs=1, bias=True, lens=None, init=False, peep=False,
             outs=("Y", "Y_h", "Y_c"), layout=0, opset=17, **attrs):
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    inits = [("W", rnd(dirs, gates * hidden, inp) * 0.5), ("R", rnd(dirs, gates * hidden, hidden) * 0.5)]
    ins = ["X", "W", "R"]
    feeds = {"X": rnd(*((seq, batch, inp) if layout == 0 else (batch, seq, inp)))}
    def opt(name_, present):
        ins.append(name_ if present else "")
    opt("B", bias)
    if bias:
        inits.append(("B", rnd(dirs, 2 * gates * hidden) * 0.5))
    opt("L", lens is not None)
    if lens is not None:
        feeds["L"] = np.array(lens, np.int32)
    state_shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
    opt("H0", init)
    if init:
        feeds["H0"] = rnd(*state_shape)
    if op == "LSTM":
        opt("C0", init)
        if init:
            feeds["C0"] = rnd(*state_shape)
        opt("P", peep)
        if peep:
            inits.append(("P", rnd(dirs, 3 * hidden) * 0.5))
    while ins and ins[-1] == "":
        ins.pop()
    node_outs = list(outs) if op == "LSTM" else [o for o in outs if o != "Y_c"]
    names = [o for o in node_outs if o]
    if layout == 0:
        case(name, [helper.make_node(op, ins, node_outs, name=op.lower() + "_node", hidden_size=hidden, **attrs)],
             feeds, names, inits=inits, opset=opset)
        return
    # onnxruntime refuses layout=1 ("batchwise recurrent operations are not supported"): the
    # reference comes from the same weights at layout 0 with transposed inputs and outputs.
    import onnxruntime as ort
    ref_feeds = dict(feeds)
    ref_feeds["X"] = np.ascontiguousarray(feeds["X"].transpose(1, 0, 2))
    for k in ("H0", "C0"):
        if k in feeds:
            ref_feeds[k] = np.ascontiguousarray(feeds[k].transpose(1, 0, 2))
    ref_nodes = [helper.make_node(op, ins, node_outs, name=op.lower() + "_node", hidden_size=hidden, **attrs)]
    ref = model_of(ref_nodes, [vi(n, list(a.shape), DTYPES[a.dtype][1]) for n, a in ref_feeds.items()], [vi(n, None) for n in names],
                   [numpy_helper.from_array(np.asarray(a), n) for n, a in inits], opset)
    res = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"]).run(names, ref_feeds)
    res = [r.transpose(2, 0, 1, 3) if n == "Y" else r.transpose(1, 0, 2) for n, r in zip(names, res)]
    nodes = [helper.make_node(op, ins, node_outs, name=op.lower() + "_node", hidden_size=hidden, layout=1, **attrs)]
    m = model_of(nodes, [vi(n, list(a.shape), DTYPES[a.dtype][1]) for n, a in feeds.items()], [vi(n, None) for n in names],
                 [numpy_helper.from_array(np.asarray(a), n) for n, a in inits], opset)
    path = os.path.join(OPS, name + ".onnx")
    onnx.save(m, path)
    cases.append({"name": name, "model": os.path.relpath(path, ROOT), "inputs": {n: enc(a) for n, a in feeds.items()},
                  "outputs": {n: enc(r) for n, r in zip(names, res)}})
rnn_case("lstm_forward", "LSTM")
rnn_case("lstm_bidirectional_initial_states", "LSTM", dirs=2, init=True, direction="bidirectional")
rnn_case("lstm_reverse_seqlens", "LSTM", lens=[4, 2], direction="reverse")
rnn_case("lstm_bidirectional_seqlens", "LSTM", dirs=2, lens=[3, 1], batch=2, direction="bidirectional")
rnn_case("lstm_peepholes", "LSTM", peep=True, init=True)
rnn_case("lstm_layout1", "LSTM", layout=1, init=True, dirs=2, direction="bidirectional")
rnn_case("lstm_clip", "LSTM", clip=0.5)
rnn_case("lstm_input_forget", "LSTM", input_forget=1)
rnn_case("lstm_no_bias_yh_only", "LSTM", bias=False, outs=("", "Y_h"))
rnn_case("lstm_batch1_seq1", "LSTM", seq=1, batch=1)
rnn_case("gru_forward", "GRU")
rnn_case("gru_linear_before_reset_bidirectional", "GRU", dirs=2, init=True, direction="bidirectional", linear_before_reset=1)
rnn_case("gru_reverse_seqlens", "GRU", lens=[1, 4], direction="reverse", linear_before_reset=1)
rnn_case("gru_seqlens_lbr0", "GRU", lens=[2, 4], init=True)
rnn_case("gru_layout1", "GRU", layout=1, linear_before_reset=1)
rnn_case("gru_clip", "GRU", clip=0.3)

# --- LogSoftmax, ArgMax/ArgMin, Pad, CumSum, PRelu, HardSwish, Selu
case("logsoftmax_default", [N("LogSoftmax", ["x"])], {"x": rnd(2, 3, 4) * 5}, ["y"])
case("logsoftmax_axis1", [N("LogSoftmax", ["x"], axis=1)], {"x": rnd(2, 3, 4)}, ["y"])
case("logsoftmax_opset11", [N("LogSoftmax", ["x"], axis=1)], {"x": rnd(2, 3, 4)}, ["y"], opset=11)
case("argmax_keepdims", [N("ArgMax", ["x"], axis=1)], {"x": rnd(2, 5, 3)}, ["y"], out_types={"y": I64_T})
case("argmax_last_no_keepdims", [N("ArgMax", ["x"], axis=-1, keepdims=0, select_last_index=1)],
     {"x": np.array([[1, 3, 3], [2, 2, 0]], np.float32)}, ["y"], out_types={"y": I64_T})
case("argmin_int64", [N("ArgMin", ["x"], axis=0, keepdims=0)], {"x": ints(5, 1, 3, 1, 7, 0).reshape(3, 2)}, ["y"],
     out_types={"y": I64_T})
case("pad_constant", [N("Pad", ["x", "p", "v"])], {"x": rnd(2, 3)}, ["y"],
     inits=[("p", ints(0, 1, 1, 2)), ("v", np.array(1.5, np.float32))])
case("pad_constant_default_zero", [N("Pad", ["x", "p"])], {"x": rnd(1, 2, 3, 3)}, ["y"], inits=[("p", ints(0, 0, 1, 1, 0, 0, 1, 1))])
case("pad_reflect", [N("Pad", ["x", "p"], mode="reflect")], {"x": rnd(1, 2, 5)}, ["y"], inits=[("p", ints(0, 0, 2, 0, 0, 3))])
case("pad_edge", [N("Pad", ["x", "p"], mode="edge")], {"x": rnd(3, 4)}, ["y"], inits=[("p", ints(1, 2, 2, 1))])
case("pad_negative", [N("Pad", ["x", "p"])], {"x": rnd(4, 5)}, ["y"], inits=[("p", ints(-1, 1, 0, -2))])
case("pad_axes_opset18", [N("Pad", ["x", "p", "", "a"])], {"x": rnd(2, 3, 4)}, ["y"], inits=[("p", ints(1, 2)), ("a", ints(-1))],
     opset=18)
case("pad_int64", [N("Pad", ["x", "p"])], {"x": ints(1, 2, 3)}, ["y"], inits=[("p", ints(1, 1))], out_types={"y": I64_T})
case("cumsum", [N("CumSum", ["x", "a"])], {"x": rnd(2, 4)}, ["y"], inits=[("a", np.array(1, np.int64))])
case("cumsum_exclusive_reverse", [N("CumSum", ["x", "a"], exclusive=1, reverse=1)], {"x": rnd(3, 2)}, ["y"],
     inits=[("a", np.array(0, np.int32))])
case("cumsum_int64", [N("CumSum", ["x", "a"])], {"x": ints(1, 1, 0, 1)}, ["y"], inits=[("a", np.array(0, np.int64))],
     out_types={"y": I64_T})
case("prelu_channel", [N("PRelu", ["x", "s"])], {"x": rnd(2, 3, 4)}, ["y"], inits=[("s", rnd(3, 1))])
case("prelu_scalar", [N("PRelu", ["x", "s"])], {"x": rnd(2, 3)}, ["y"], inits=[("s", np.array([0.25], np.float32))])
case("sum_three_bcast", [N("Sum", ["a", "b", "c"])], {"a": rnd(2, 3), "b": rnd(3), "c": rnd(2, 1)}, ["y"])
case("mean_two", [N("Mean", ["a", "b"])], {"a": rnd(2, 3), "b": rnd(2, 3)}, ["y"])
case("max_three_int64", [N("Max", ["a", "b", "c"])], {"a": ints(1, 5), "b": ints(3, 2), "c": ints(0)}, ["y"], out_types={"y": I64_T})
case("min_one_input", [N("Min", ["a"])], {"a": rnd(4)}, ["y"])
# --- extreme attribute values must neither trap nor overflow
slice_case("slice_extreme_steps_negative", rnd(5), [2 ** 63 - 1], [-(2 ** 63)], steps=[-(2 ** 63)])
slice_case("slice_extreme_steps_positive", rnd(5), [-(2 ** 63)], [2 ** 63 - 1], steps=[2 ** 63 - 1])
case("cumsum_int64_wraps", [N("CumSum", ["x", "a"])], {"x": ints(2 ** 63 - 1, 1, 1)}, ["y"], inits=[("a", np.array(0, np.int64))],
     out_types={"y": I64_T})
case("add_symbolic_outer", [N("Add", ["a", "b"])], {"a": rnd(3, 1), "b": rnd(1, 4)}, ["y"],
     input_shapes={"a": ["n", 1], "b": [1, "m"]})
case("hardswish", [N("HardSwish", ["x"])], {"x": rnd(3, 4) * 4}, ["y"])
case("selu", [N("Selu", ["x"])], {"x": rnd(3, 4)}, ["y"])

# --- more unary math, CastLike, IsNaN/IsInf, GatherElements, Scatter*, TopK, OneHot, Hardmax, EyeLike, Depth/Space
for op in ("Atan", "Asinh", "Sinh", "Cosh", "Tan", "Round", "Softsign", "Celu", "ThresholdedRelu", "Shrink"):
    case(op.lower(), [N(op, ["x"])], {"x": rnd(3, 4) * 1.5}, ["y"])
case("round_halves", [N("Round", ["x"])], {"x": np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4], np.float32)}, ["y"])
case("mish", [N("Mish", ["x"])], {"x": rnd(3, 4) * 3}, ["y"], opset=18)
for op in ("Acos", "Asin", "Atanh"):
    case(op.lower(), [N(op, ["x"])], {"x": np.tanh(rnd(3, 4)).astype(np.float32) * 0.9}, ["y"])
case("acosh", [N("Acosh", ["x"])], {"x": rnd(3, 4, positive=True) + 1}, ["y"])
case("castlike_float_to_int64", [N("CastLike", ["x", "like"])], {"x": np.array([1.9, -2.5], np.float32)}, ["y"],
     inits=[("like", ints(0))], out_types={"y": I64_T}, opset=15)
case("isnan", [N("IsNaN", ["x"])], {"x": np.array([1, np.nan, np.inf], np.float32)}, ["y"], out_types={"y": BOOL_T})
case("isinf_positive_only", [N("IsInf", ["x"], detect_negative=0)], {"x": np.array([1, -np.inf, np.inf, np.nan], np.float32)},
     ["y"], out_types={"y": BOOL_T})
case("gatherelements_axis1", [N("GatherElements", ["x", "i"], axis=1)], {"x": rnd(3, 4), "i": ints(0, 3, -1, 2, 1, 1).reshape(3, 2)}, ["y"])
case("scatterelements_add", [N("ScatterElements", ["x", "i", "u"], axis=0, reduction="add")],
     {"x": rnd(3, 2), "i": ints(0, 2, 0, 0).reshape(2, 2), "u": rnd(2, 2)}, ["y"], opset=18)
case("scatternd", [N("ScatterND", ["x", "i", "u"])], {"x": rnd(4, 3), "i": ints(3, 1).reshape(2, 1), "u": rnd(2, 3)}, ["y"])
case("topk_largest", [N("TopK", ["x", "k"], ["v", "i"], axis=1)], {"x": rnd(2, 6)}, ["v", "i"], inits=[("k", ints(3))],
     out_types={"i": I64_T})
case("topk_smallest_axis0", [N("TopK", ["x", "k"], ["v", "i"], axis=0, largest=0)], {"x": rnd(5, 2)}, ["v", "i"],
     inits=[("k", ints(2))], out_types={"i": I64_T})
case("onehot", [N("OneHot", ["i", "d", "v"])], {"i": ints(0, 2, -1, 5)}, ["y"],
     inits=[("d", np.array(4, np.int64)), ("v", np.array([0.0, 1.0], np.float32))])
case("hardmax", [N("Hardmax", ["x"])], {"x": rnd(3, 5)}, ["y"])
case("eyelike_k1", [N("EyeLike", ["x"], k=1)], {"x": rnd(3, 4)}, ["y"])
case("depthtospace_dcr", [N("DepthToSpace", ["x"], blocksize=2)], {"x": rnd(1, 8, 2, 3)}, ["y"])
case("depthtospace_crd", [N("DepthToSpace", ["x"], blocksize=2, mode="CRD")], {"x": rnd(1, 8, 2, 3)}, ["y"])
case("spacetodepth", [N("SpaceToDepth", ["x"], blocksize=2)], {"x": rnd(1, 2, 4, 6)}, ["y"])
case("reducel1", [N("ReduceL1", ["x"], axes=[1])], {"x": rnd(2, 3)}, ["y"])
case("reducelogsum", [N("ReduceLogSum", ["x"], axes=[1])], {"x": rnd(2, 3, positive=True)}, ["y"])
case("reducelogsumexp", [N("ReduceLogSumExp", ["x"], axes=[-1], keepdims=0)], {"x": rnd(2, 3) * 30}, ["y"])

# --- RNN, InstanceNormalization, GroupNormalization, ConvTranspose, Pad wrap, runtime Squeeze/Unsqueeze axes
rnn_case("rnn_forward", "RNN")
rnn_case("rnn_bidirectional_seqlens_states", "RNN", dirs=2, init=True, lens=[3, 1], direction="bidirectional")
case("instancenorm", [N("InstanceNormalization", ["x", "s", "b"], epsilon=1e-3)], {"x": rnd(2, 3, 4, 5)}, ["y"],
     inits=[("s", rnd(3)), ("b", rnd(3))])
case("groupnorm_opset21", [N("GroupNormalization", ["x", "s", "b"], num_groups=2)], {"x": rnd(2, 4, 3, 3)}, ["y"],
     inits=[("s", rnd(4)), ("b", rnd(4))], opset=21)
case("convtranspose2d", [N("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 1])],
     {"x": rnd(1, 3, 4, 4)}, ["y"], inits=[("w", rnd(3, 2, 3, 3)), ("b", rnd(2))])
case("convtranspose1d_group_dilation", [N("ConvTranspose", ["x", "w"], group=2, dilations=[2], strides=[3])],
     {"x": rnd(2, 4, 5)}, ["y"], inits=[("w", rnd(4, 1, 3))])
case("convtranspose2d_output_shape", [N("ConvTranspose", ["x", "w"], strides=[3, 2], output_shape=[10, 8])],
     {"x": rnd(1, 1, 3, 3)}, ["y"], inits=[("w", rnd(1, 2, 3, 3))])
case("maxpool_indices", [N("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 0, 0])],
     {"x": rnd(2, 2, 5, 5)}, ["y", "i"], out_types={"i": I64_T})
case("maxpool_indices_storage_order1", [N("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 3], strides=[2, 2], storage_order=1)],
     {"x": rnd(1, 2, 6, 5)}, ["y", "i"], out_types={"i": I64_T})
case("pad_wrap", [N("Pad", ["x", "p"], mode="wrap")], {"x": rnd(3, 4)}, ["y"], inits=[("p", ints(1, 2, 2, 1))], opset=19)
case("squeeze_runtime_axes", [N("Squeeze", ["x", "a"])], {"x": rnd(1, 3, 1), "a": ints(0, -1)}, ["y"])
case("unsqueeze_runtime_axes", [N("Unsqueeze", ["x", "a"])], {"x": rnd(3, 2), "a": ints(2, 0)}, ["y"])

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
            model_of([helper.make_node("Einsum", ["x", "w"], ["y"], name="einsum1", equation="ij,jk->ik")],
                     [vi("x", [2, 3])], [vi("y", None)], [numpy_helper.from_array(rnd(3, 4), "w")]),
            "unsupported operator 'Einsum' (node 'einsum1')")
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
# --- v1 refusals
save_broken("gelu_before_opset20",
            model_of([N("Gelu", ["x"])], [vi("x", [2])], [vi("y", None)], opset=17),
            "Gelu is an opset 20 operator")
save_broken("cast_to_double",
            model_of([N("Cast", ["x"], to=TensorProto.DOUBLE)], [vi("x", [2])], [vi("y", None, TensorProto.DOUBLE)]),
            "cast to DOUBLE is not supported")
save_broken("mod_float_without_fmod",
            model_of([N("Mod", ["a", "b"])], [vi("a", [2]), vi("b", [2])], [vi("y", None)]),
            "fmod=0 is not defined for FLOAT")
save_broken("where_float_condition",
            model_of([N("Where", ["c", "a", "b"])], [vi("c", [2]), vi("a", [2]), vi("b", [2])], [vi("y", None)]),
            "input 'c' has element type FLOAT; expected BOOL")
save_broken("layernorm_unknown_attribute",
            model_of([N("LayerNormalization", ["x", "g"], bogus=1)], [vi("x", [2, 3])], [vi("y", None)],
                     [numpy_helper.from_array(rnd(3), "g")]),
            "unsupported attribute 'bogus'")
save_broken("batchnorm_training",
            model_of([N("BatchNormalization", ["x", "s", "b", "m", "v"], training_mode=1)], [vi("x", [1, 2, 3])],
                     [vi("y", None)], [numpy_helper.from_array(rnd(2), n) for n in "sbmv"]),
            "training_mode=1 is not supported")
save_broken("conv_channel_mismatch",
            model_of([N("Conv", ["x", "w"])], [vi("x", [1, 3, 5, 5])], [vi("y", None)], [numpy_helper.from_array(rnd(2, 2, 3, 3), "w")]),
            "X has 3 channels but W expects 2")
save_broken("conv3d",
            model_of([N("Conv", ["x", "w"])], [vi("x", [1, 1, 3, 3, 3])], [vi("y", None)], [numpy_helper.from_array(rnd(1, 1, 2, 2, 2), "w")]),
            "only 1-D and 2-D inputs are supported")
save_broken("averagepool_indices",
            model_of([N("AveragePool", ["x"], ["y", "idx"], kernel_shape=[2, 2])], [vi("x", [1, 1, 4, 4])], [vi("y", None)]),
            "only MaxPool has an Indices output")
save_broken("lstm_custom_activation",
            model_of([helper.make_node("LSTM", ["x", "w", "r"], ["y"], name="lstm1", hidden_size=2,
                                       activations=["Relu", "Tanh", "Tanh"])],
                     [vi("x", [1, 1, 2])], [vi("y", None)],
                     [numpy_helper.from_array(rnd(1, 8, 2), "w"), numpy_helper.from_array(rnd(1, 8, 2), "r")]),
            "activations")
save_broken("gru_weight_shape",
            model_of([helper.make_node("GRU", ["x", "w", "r"], ["y"], name="gru1", hidden_size=2)],
                     [vi("x", [1, 1, 2])], [vi("y", None)],
                     [numpy_helper.from_array(rnd(1, 8, 2), "w"), numpy_helper.from_array(rnd(1, 6, 2), "r")]),
            "W has shape")
save_broken("two_unsupported_ops",
            model_of([helper.make_node("NonZero", ["x"], ["nz"], name="nonzero1"),
                      helper.make_node("Relu", ["x"], ["r"], name="relu1"),
                      helper.make_node("FusedGemm", ["r"], ["y"], name="fg1", domain="com.microsoft")],
                     [vi("x", [2, 2])], [vi("y", None)]),
            "unsupported operator 'NonZero' (node 'nonzero1'), unsupported operator 'com.microsoft.FusedGemm' (node 'fg1')")
def tree_model(true_ids):
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["y"], name="trees", domain="ai.onnx.ml",
                            nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
                            nodes_values=[0.0, 0.0, 0.0], nodes_modes=["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"],
                            nodes_truenodeids=true_ids, nodes_falsenodeids=[2, 2, 0],
                            target_treeids=[0], target_nodeids=[2], target_ids=[0], target_weights=[1.0])
    g = helper.make_graph([node], "g", [vi("x", [1, 1])], [vi("y", None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    m.ir_version = 8
    return m
save_broken("tree_cycle", tree_model([1, 0, 0]), "cycle")
save_broken("tree_shared_subtree", tree_model([2, 2, 0]), "is not a tree")
save_broken("pad_huge",
            model_of([N("Pad", ["x", "p"])], [vi("x", [2])], [vi("y", None)], [numpy_helper.from_array(np.array([2 ** 62, 0], np.int64), "p")]),
            "too large")
save_broken("output_type_mismatch",
            model_of([N("Shape", ["x"])], [vi("x", [2])], [vi("y", None, TensorProto.FLOAT)]),
            "declared as FLOAT but computes INT64")
save_broken("gather_index_out_of_range_constant",
            model_of([N("Gather", ["w", "i"])], [vi("x", [1])], [vi("y", None)],
                     [numpy_helper.from_array(rnd(3, 2), "w"), numpy_helper.from_array(np.array([5], np.int64), "i")]),
            "index 5 is out of range")
with open(os.path.join(BROKEN, "cases.json"), "w") as f:
    json.dump(broken, f, indent=1)
    f.write("\n")
# ---------------------------------------------------------------- external data
EXT = os.path.join(HERE, "external")
os.makedirs(os.path.join(EXT, "data"), exist_ok=True)
ext_cases = []
w_ext = np.array([1.5, -2.0], np.float32)
with open(os.path.join(EXT, "weights.bin"), "wb") as f:
    f.write(w_ext.tobytes())
with open(os.path.join(EXT, "data", "weights.bin"), "wb") as f:
    f.write(np.array([9, 9], np.float32).tobytes() + w_ext.tobytes())


def ext_model(name, location, offset=None, length=None, expect=None):
    t = helper.make_tensor("w", TensorProto.FLOAT, [2], [0.0, 0.0])
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add(); e.key = k; e.value = str(v)
    m = model_of([N("Add", ["x", "w"])], [vi("x", [2])], [vi("y", [2])], [t])
    path = os.path.join(EXT, name + ".onnx")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    ext_cases.append({"name": name, "model": os.path.relpath(path, ROOT), "expect": expect})


ext_model("ok", "weights.bin", 0, 8)
ext_model("ok_no_offset_length", "weights.bin")
ext_model("ok_subdirectory_offset", "data/weights.bin", 8, 8)
ext_model("absolute_path", "/etc/passwd", expect="is an absolute path")
ext_model("dotdot", "../external/weights.bin", expect="contains a '..' component")
ext_model("dotdot_middle", "data/../weights.bin", expect="contains a '..' component")
ext_model("backslash", "data\\..\\weights.bin", expect="contains a backslash")
ext_model("beyond_end", "weights.bin", 4, 8, expect="lies beyond the end")
ext_model("huge_offset", "weights.bin", 2 ** 62, 8, expect="lies beyond the end")
ext_model("length_mismatch", "weights.bin", 0, 4, expect="length 4 does not match the tensor's 8 bytes")
ext_model("missing_file", "nope.bin", expect="does not exist")
ext_model("negative_offset", "weights.bin", -1, 8, expect="invalid offset '-1'")
ext_model("directory", "data", expect="is not a regular file")
ext_model("symlink_escape", "link.bin", expect="resolves outside the model directory")   # the test makes link.bin
with open(os.path.join(EXT, "cases.json"), "w") as f:
    json.dump(ext_cases, f, indent=1)
    f.write("\n")
# ---------------------------------------------------------------- .npy files for the CLI's `model run`
NPY = os.path.join(HERE, "npy")
os.makedirs(NPY, exist_ok=True)
np.save(os.path.join(NPY, "f32_2x3.npy"), np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5)
np.save(os.path.join(NPY, "i64_scalar.npy"), np.array(-7, np.int64))
np.save(os.path.join(NPY, "i32_vec.npy"), np.array([1, -2, 3], np.int32))
np.save(os.path.join(NPY, "bool_2x2.npy"), np.array([[True, False], [False, True]]))
np.save(os.path.join(NPY, "f64.npy"), np.zeros(2, np.float64))
np.save(os.path.join(NPY, "fortran.npy"), np.asfortranarray(np.zeros((2, 3), np.float32)))
np.save(os.path.join(NPY, "big_endian.npy"), np.zeros(2, ">f4"))
with open(os.path.join(NPY, "v2_f32.npy"), "wb") as f:
    np.lib.format.write_array(f, np.array([[1.5], [2.5]], np.float32), version=(2, 0))
with open(os.path.join(NPY, "truncated.npy"), "wb") as f:
    f.write(open(os.path.join(NPY, "f32_2x3.npy"), "rb").read()[:-4])
print(f"{len(cases)} op cases, {len(broken)} broken models, {len(ext_cases)} external-data models")
