#!/usr/bin/env python3
"""Build If / Loop / Scan models with onnx.helper (plus one scripted PyTorch model whose legacy
export has a data-dependent If), run them in onnxruntime and store the results.

Deterministic (fixed seed). Writes:
  Tests/Fixtures/controlflow/<model>.onnx
  Tests/Fixtures/controlflow/cases.json   [{"name", "model", "inputs", "outputs"}] (the ops/ format;
                                          one model may have several cases, e.g. both If branches)
  Tests/Fixtures/controlflow/broken.json  [{"name", "model", "expect"}] (the broken/ format): models
                                          the engine must refuse at load, with a substring of the error
  Tests/Fixtures/controlflow/runtime.json [{"name", "model", "inputs", "expect"}]: models that load
                                          but whose run must fail with an invalid-input error

Run: python3 Tests/Fixtures/make_controlflow_fixtures.py   (needs onnx, onnxruntime, numpy, torch)
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "controlflow")
rng = np.random.default_rng(4321)

DTYPES = {np.dtype(np.float32): ("float32", T.FLOAT), np.dtype(np.int64): ("int64", T.INT64),
          np.dtype(np.int32): ("int32", T.INT32), np.dtype(np.bool_): ("bool", T.BOOL)}


def enc(a):
    a = np.asarray(a)
    name = DTYPES[a.dtype][0]
    if name == "float32":
        data = [float(v) for v in a.ravel()]
    elif name == "bool":
        data = [bool(v) for v in a.ravel()]
    else:
        data = [int(v) for v in a.ravel()]
    out = {"shape": list(a.shape), "data": data}
    if name != "float32":
        out["dtype"] = name
    return out


def rnd(*shape):
    return np.asarray(rng.standard_normal(shape), dtype=np.float32)


def vi(name, shape=None, dtype=T.FLOAT):
    return h.make_tensor_value_info(name, dtype, shape)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def graph(nodes, name, inputs, outputs, inits=()):
    return h.make_graph(nodes, name, inputs, outputs, initializer=list(inits))


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    m = h.make_model(graph(nodes, "g", inputs, outputs, inits), producer_name="tensorwire-fixtures",
                     opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    return path


cases, broken, runtime = [], [], []


def run_cases(name, path, feeds_list):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    for suffix, feeds in feeds_list:
        outs = sess.run(None, feeds)
        cases.append({"name": name + suffix, "model": os.path.relpath(path, ROOT),
                      "inputs": {n: enc(a) for n, a in feeds.items()},
                      "outputs": {n: enc(v) for n, v in zip(out_names, outs)}})


def case(name, nodes, inputs, outputs, feeds_list, inits=(), opset=17):
    run_cases(name, save(name, nodes, inputs, outputs, inits, opset), feeds_list)


def refuse(name, nodes, inputs, outputs, expect, inits=(), opset=17):
    path = save(name, nodes, inputs, outputs, inits, opset)
    broken.append({"name": name, "model": os.path.relpath(path, ROOT), "expect": expect})


B = np.array(True), np.array(False)

# ------------------------------------------------------------------------------------------ If
x23 = rnd(2, 3)
then_g = graph([h.make_node("Mul", ["x", "two"], ["t"])], "then", [], [vi("t")], [const("two", np.float32(2))])
else_g = graph([h.make_node("Sub", ["x", "one"], ["e"])], "else", [], [vi("e")], [const("one", np.float32(1))])
for opset in (11, 13, 16, 19, 21):
    case(f"if_outer_scope_opset{opset}", [h.make_node("If", ["c"], ["y"], name="if1", then_branch=then_g, else_branch=else_g)],
         [vi("c", [], T.BOOL), vi("x", ["batch", 3])], [vi("y")],
         [("_then", {"c": B[0], "x": x23}), ("_else", {"c": B[1], "x": x23})], opset=opset)

# Outputs whose shape differs between branches (onnxruntime refuses a branch that returns an
# outer value directly, hence the Identity).
case("if_branch_shapes_differ",
     [h.make_node("If", ["c"], ["y", "n"], name="if1",
                  then_branch=graph([h.make_node("Constant", [], ["k"], value=h.make_tensor("k", T.INT64, [], [1])),
                                     h.make_node("Identity", ["x"], ["xi"])],
                                    "then", [], [vi("xi"), vi("k", [], T.INT64)]),
                  else_branch=graph([h.make_node("Concat", ["x", "x", "x"], ["cat"], axis=0),
                                     h.make_node("Constant", [], ["k3"], value=h.make_tensor("k3", T.INT64, [], [3]))],
                                    "else", [], [vi("cat"), vi("k3", [], T.INT64)]))],
     [vi("c", [1], T.BOOL), vi("x", [2, 3])], [vi("y"), vi("n", None, T.INT64)],
     [("_then", {"c": np.array([True]), "x": x23}), ("_else", {"c": np.array([False]), "x": x23})])

# A condition computed from data, and an If nested in a branch that reads the outermost graph.
inner_if = h.make_node("If", ["c2"], ["z"], name="inner",
                       then_branch=graph([h.make_node("Relu", ["x"], ["r"])], "t2", [], [vi("r")]),
                       else_branch=graph([h.make_node("Neg", ["x"], ["q"])], "e2", [], [vi("q")]))
case("if_nested_data_condition",
     [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
      h.make_node("Greater", ["s", "zero"], ["c"]),
      h.make_node("Less", ["s", "ten"], ["c2"]),
      h.make_node("If", ["c"], ["y"], name="outer",
                  then_branch=graph([inner_if, h.make_node("Add", ["z", "w"], ["o"])], "t1", [], [vi("o")]),
                  else_branch=graph([h.make_node("Mul", ["x", "w"], ["m"])], "e1", [], [vi("m")]))],
     [vi("x", [2, 3])], [vi("y")],
     [("_positive", {"x": np.abs(x23)}), ("_negative", {"x": -np.abs(x23)}), ("_large", {"x": np.abs(x23) + 5})],
     inits=[const("zero", np.float32(0)), const("ten", np.float32(10)), const("w", rnd(3))])

# ---------------------------------------------------------------------------------------- Loop
def body(nodes, carried, scans, inits=(), cond_in="cin", cond_out="cin"):
    """carried: [(in_name, out_name, dtype)], scans: [(name, dtype)]"""
    return graph(nodes, "body",
                 [vi("i", [], T.INT64), vi(cond_in, [], T.BOOL)] + [vi(a, None, t) for a, _, t in carried],
                 [vi(cond_out, [], T.BOOL)] + [vi(b, None, t) for _, b, t in carried] + [vi(s, None, t) for s, t in scans],
                 inits)


# Trip count only: acc += x * i, the scan output collects acc, the body keeps its condition.
acc_body = body([h.make_node("Cast", ["i"], ["fi"], to=T.FLOAT), h.make_node("Mul", ["x", "fi"], ["xi"]),
                 h.make_node("Add", ["acc", "xi"], ["acc2"]), h.make_node("Identity", ["acc2"], ["snap"])],
                [("acc", "acc2", T.FLOAT)], [("snap", T.FLOAT)])
for opset in (11, 13, 16, 19, 21):
    case(f"loop_trip_count_opset{opset}", [h.make_node("Loop", ["M", "", "a0"], ["acc_final", "history"], name="loop1", body=acc_body)],
         [vi("x", ["batch", 3]), vi("a0", ["batch", 3])], [vi("acc_final"), vi("history")],
         [("", {"x": x23, "a0": rnd(2, 3)})], inits=[const("M", np.int64(4))], opset=opset)

# Trip count from the request, including zero iterations. With no iteration the scan output's
# shape is [0] + its per-iteration shape as known at load; onnxruntime falls back to [0] when its
# own inference has no shape for the body output, so the body declares it here.
declared_body = graph(list(acc_body.node), "body", list(acc_body.input),
                      [acc_body.output[0], vi("acc2", [2, 3]), vi("snap", [2, 3])])
case("loop_dynamic_trip_count", [h.make_node("Loop", ["M", "", "a0"], ["acc_final", "history"], name="loop1", body=declared_body)],
     [vi("M", [], T.INT64), vi("x", [2, 3]), vi("a0", [2, 3])], [vi("acc_final"), vi("history")],
     [("_zero", {"M": np.array(0, np.int64), "x": x23, "a0": rnd(2, 3)}),
      ("_three", {"M": np.array(3, np.int64), "x": x23, "a0": rnd(2, 3)})])

# Condition only (a while loop): double v until its sum exceeds the limit; counts iterations too.
while_body = body([h.make_node("Mul", ["v", "two"], ["v2"]), h.make_node("ReduceSum", ["v2"], ["s"], keepdims=0),
                   h.make_node("Less", ["s", "limit"], ["go"]), h.make_node("Add", ["n", "one"], ["n2"])],
                  [("v", "v2", T.FLOAT), ("n", "n2", T.INT64)], [("s", T.FLOAT)],
                  inits=[const("two", np.float32(2)), const("one", np.int64(1))], cond_out="go")
case("loop_condition_only",
     [h.make_node("ReduceSum", ["v0"], ["s0"], keepdims=0), h.make_node("Less", ["s0", "limit"], ["c0"]),
      h.make_node("Loop", ["", "c0", "v0", "n0"], ["v_final", "count", "sums"], name="while1", body=while_body)],
     [vi("v0", [3]), vi("limit", [])], [vi("v_final"), vi("count", None, T.INT64), vi("sums")],
     [("_runs", {"v0": np.array([0.5, 0.25, 1], np.float32), "limit": np.array(100, np.float32)}),
      ("_never", {"v0": np.array([50, 60, 1], np.float32), "limit": np.array(100, np.float32)})],
     inits=[const("n0", np.int64(0))])

# Both: whichever ends the loop first.
case("loop_trip_count_and_condition",
     [h.make_node("ReduceSum", ["v0"], ["s0"], keepdims=0), h.make_node("Less", ["s0", "limit"], ["c0"]),
      h.make_node("Loop", ["M", "c0", "v0", "n0"], ["v_final", "count", "sums"], name="loop1", body=while_body)],
     [vi("M", [], T.INT64), vi("v0", [3]), vi("limit", [])], [vi("v_final"), vi("count", None, T.INT64), vi("sums")],
     [("_trip_count_ends", {"M": np.array(2, np.int64), "v0": np.array([0.5, 0.25, 1], np.float32), "limit": np.array(100, np.float32)}),
      ("_condition_ends", {"M": np.array(50, np.int64), "v0": np.array([0.5, 0.25, 1], np.float32), "limit": np.array(100, np.float32)})],
     inits=[const("n0", np.int64(0))])

# A loop-carried value that grows every iteration (its shape is only known at run time), two
# scan outputs (float and int64), and a loop-invariant weight threaded through as a carried value.
grow_body = body([h.make_node("MatMul", ["row", "W"], ["next"]), h.make_node("Concat", ["seq", "next"], ["seq2"], axis=0),
                  h.make_node("Tanh", ["next"], ["row2"]), h.make_node("Shape", ["seq2"], ["shp"]),
                  h.make_node("Identity", ["W"], ["W_out"])],
                 [("seq", "seq2", T.FLOAT), ("row", "row2", T.FLOAT), ("W", "W", T.FLOAT)], [("row2", T.FLOAT), ("shp", T.INT64)])
# The body returns W itself (a loop-invariant carried value); "W_out" is computed but unused.
case("loop_growing_state",
     [h.make_node("Loop", ["M", "", "r0", "r0", "W0"], ["seq", "last", "W_final", "rows", "shapes"], name="loop1", body=grow_body)],
     [vi("r0", [1, 4])], [vi("seq"), vi("last"), vi("W_final"), vi("rows"), vi("shapes", None, T.INT64)],
     [("", {"r0": rnd(1, 4)})], inits=[const("M", np.int64(3)), const("W0", rnd(4, 4) * 0.5)])

# ---------------------------------------------------------------------------------------- Scan
# Running sum over the first axis (the ONNX documentation's example, opset 9+ semantics).
sum_body = graph([h.make_node("Add", ["s", "xt"], ["s2"]), h.make_node("Identity", ["s2"], ["y"])], "body",
                 [vi("s", [2]), vi("xt", [2])], [vi("s2", [2]), vi("y", [2])])
for opset in (11, 16, 19, 21):
    case(f"scan_running_sum_opset{opset}", [h.make_node("Scan", ["s0", "x"], ["s_final", "ys"], name="scan1", body=sum_body, num_scan_inputs=1)],
         [vi("s0", [2]), vi("x", ["seq", 2])], [vi("s_final"), vi("ys")],
         [("", {"s0": rnd(2), "x": rnd(5, 2)})], opset=opset)

# Two scan inputs along different axes, one reversed; two scan outputs along axes 1 and -1, one
# prepended; a state and an outer-scope read.
axes_body = graph([h.make_node("Mul", ["a", "b"], ["ab"]), h.make_node("Add", ["ab", "bias"], ["o1"]),
                   h.make_node("Add", ["st", "o1"], ["st2"]), h.make_node("ReduceMax", ["a"], ["o2"], keepdims=1, axes=[0]),
                   ], "body", [vi("st", [3]), vi("a", [3]), vi("b", [3])], [vi("st2"), vi("o1"), vi("o2")])
case("scan_axes_directions",
     [h.make_node("Scan", ["st0", "A", "Bt"], ["st_final", "O1", "O2"], name="scan1", body=axes_body, num_scan_inputs=2,
                  scan_input_axes=[0, 1], scan_input_directions=[0, 1], scan_output_axes=[1, -1], scan_output_directions=[1, 0])],
     [vi("st0", [3]), vi("A", [4, 3]), vi("Bt", [3, 4]), vi("bias", [3])], [vi("st_final"), vi("O1"), vi("O2")],
     [("", {"st0": rnd(3), "A": rnd(4, 3), "Bt": rnd(3, 4), "bias": rnd(3)})], opset=16)

# A Scan inside a Loop body, reading both the loop's carried value and the model input.
scan_in_loop = graph([h.make_node("Scan", ["acc", "X"], ["acc2", "ys"], name="inner_scan", num_scan_inputs=1,
                                  body=graph([h.make_node("Add", ["s", "xt"], ["s1"]), h.make_node("Mul", ["s1", "k"], ["s2"])], "sb",
                                             [vi("s", [3]), vi("xt", [3])], [vi("s2", [3]), vi("s1", [3])]))],
                     "body", [vi("i", [], T.INT64), vi("cin", [], T.BOOL), vi("acc", [3])], [vi("cin", [], T.BOOL), vi("acc2"), vi("ys")])
case("loop_with_nested_scan",
     [h.make_node("Loop", ["M", "", "acc0"], ["acc", "all"], name="loop1", body=scan_in_loop)],
     [vi("X", [4, 3]), vi("acc0", [3])], [vi("acc"), vi("all")],
     [("", {"X": rnd(4, 3) * 0.3, "acc0": rnd(3)})], inits=[const("M", np.int64(2)), const("k", np.float32(0.5))])

# --------------------------------------------------------------------- refused at load / at run
refuse("loop_unsupported_op_in_body",
       [h.make_node("Loop", ["M", "", "a0"], ["a"], name="loop1",
                    body=body([h.make_node("Foo", ["acc"], ["acc2"], name="n3", domain="")], [("acc", "acc2", T.FLOAT)], []))],
       [vi("a0", [2])], [vi("a")], "unsupported operator 'Foo' (node Loop 'loop1' > body > Foo 'n3')",
       inits=[const("M", np.int64(3))])
refuse("loop_bad_attribute_in_body",
       [h.make_node("Loop", ["M", "", "a0"], ["a"], name="loop1",
                    body=body([h.make_node("Relu", ["acc"], ["acc2"], name="r1", alpha=0.5)], [("acc", "acc2", T.FLOAT)], []))],
       [vi("a0", [2])], [vi("a")], "Loop 'loop1' > body: Relu (node 'r1'): unsupported attribute 'alpha'",
       inits=[const("M", np.int64(3))])
refuse("if_missing_else_branch",
       [h.make_node("If", ["c"], ["y"], name="if1", then_branch=then_g)],
       [vi("c", [], T.BOOL), vi("x", [2, 3])], [vi("y")], "If (node 'if1'): missing required attribute 'else_branch'")
refuse("if_branch_not_a_graph",
       [h.make_node("If", ["c"], ["y"], name="if1", then_branch=then_g, else_branch=3)],
       [vi("c", [], T.BOOL), vi("x", [2, 3])], [vi("y")], "attribute 'else_branch' must be a GRAPH")
refuse("if_rank_depends_on_condition",
       [h.make_node("If", ["c"], ["y"], name="if1", then_branch=graph([h.make_node("Identity", ["x"], ["xi"])], "t", [], [vi("xi")]),
                    else_branch=graph([h.make_node("Flatten", ["x"], ["f"], axis=0)], "e", [], [vi("f")]))],
       [vi("c", [], T.BOOL), vi("x", [2, 3, 2])], [vi("y")], "outputs whose rank depends on the condition are not supported")
keep_going = body([], [("acc", "acc", T.FLOAT)], [])
refuse("loop_absurd_trip_count", [h.make_node("Loop", ["M", "", "a0"], ["a"], name="loop1", body=keep_going)],
       [vi("a0", [2])], [vi("a")], "constant trip count 1000000000000 exceeds the engine's limit",
       inits=[const("M", np.int64(10**12))])
refuse("loop_never_ends", [h.make_node("Loop", ["", "", "a0"], ["a"], name="loop1", body=keep_going)],
       [vi("a0", [2])], [vi("a")], "the loop never ends")
refuse("loop_sequence_state",
       [h.make_node("SequenceEmpty", [], ["s0"], name="se"),
        h.make_node("Loop", ["M", "", "s0"], ["s"], name="loop1",
                    body=graph([h.make_node("SequenceInsert", ["seq", "x"], ["seq2"], name="ins")], "body",
                               [vi("i", [], T.INT64), vi("cin", [], T.BOOL),
                                h.make_tensor_sequence_value_info("seq", T.FLOAT, None)],
                               [vi("cin", [], T.BOOL), h.make_tensor_sequence_value_info("seq2", T.FLOAT, None)]))],
       [vi("x", [2])], [h.make_tensor_sequence_value_info("s", T.FLOAT, None)],
       "unsupported operator 'SequenceInsert' (node Loop 'loop1' > body > SequenceInsert 'ins')",
       inits=[const("M", np.int64(3))])
refuse("scan_missing_num_scan_inputs", [h.make_node("Scan", ["s0", "x"], ["s_final", "ys"], name="scan1", body=sum_body)],
       [vi("s0", [2]), vi("x", [5, 2])], [vi("s_final"), vi("ys")], "missing required attribute 'num_scan_inputs'")
refuse("scan_length_mismatch",
       [h.make_node("Scan", ["st0", "A", "Bt"], ["st_final", "O1", "O2"], name="scan1", body=axes_body, num_scan_inputs=2,
                    scan_input_axes=[0, 0])],
       [vi("st0", [3]), vi("A", [4, 3]), vi("Bt", [3, 4]), vi("bias", [3])], [vi("st_final"), vi("O1"), vi("O2")],
       "scan inputs have different sequence lengths (4 and 3)", opset=16)
# Subgraphs nested deeper than the limit (6): If inside If inside ... (8 levels).
deep = graph([h.make_node("Identity", ["x"], ["d"])], "leaf", [], [vi("d")])
for level in range(8):
    deep = graph([h.make_node("If", ["c"], [f"o{level}"], name=f"if{level}", then_branch=deep, else_branch=deep)],
                 f"level{level}", [], [vi(f"o{level}")])
refuse("if_nested_too_deep", list(deep.node), [vi("c", [], T.BOOL), vi("x", [2])], [vi("o7")], "subgraphs nested deeper than 6 levels")

# Several problems at once, for Model.inspect: an unsupported attribute and an unsupported
# operator in the model's graph and again inside a Loop body.
refuse("inspect_many_problems",
       [h.make_node("Relu", ["x"], ["y1"], name="r1", alpha=0.5),
        h.make_node("Foo", ["x"], ["y2"], name="f1"),
        h.make_node("Loop", ["M", "", "x"], ["y3"], name="loop1",
                    body=body([h.make_node("Sigmoid", ["acc"], ["s"], name="s1", beta=2.0),
                               h.make_node("Bar", ["s"], ["acc2"], name="b1")], [("acc", "acc2", T.FLOAT)], []))],
       [vi("x", [2])], [vi("y1"), vi("y2"), vi("y3")], "unsupported operator 'Foo' (node 'f1')",
       inits=[const("M", np.int64(2))])

# Loads (the trip count comes from the request) but a huge M with an always-true condition
# must stop at the engine's iteration limit.
path = save("loop_runs_into_limit", [h.make_node("Loop", ["M", "", "a0"], ["a"], name="loop1", body=keep_going)],
            [vi("M", [], T.INT64), vi("a0", [2])], [vi("a")])
runtime.append({"name": "loop_runs_into_limit", "model": os.path.relpath(path, ROOT),
                "inputs": {"M": enc(np.array(10**12, np.int64)), "a0": enc(np.zeros(2, np.float32))},
                "expect": "did not end within"})

# Nested loops share one budget: 1000 x 1000 iterations, each within the per-loop count, exceed
# it together (a per-node cap alone would multiply with every level of nesting).
inner_loop = h.make_node("Loop", ["M", "", "acc"], ["acc2"], name="inner", body=keep_going)
path = save("nested_loops_share_the_limit",
            [h.make_node("Loop", ["M", "", "a0"], ["a"], name="loop1",
                         body=body([inner_loop], [("acc", "acc2", T.FLOAT)], []))],
            [vi("M", [], T.INT64), vi("a0", [2])], [vi("a")])
runtime.append({"name": "nested_loops_share_the_limit", "model": os.path.relpath(path, ROOT),
                "inputs": {"M": enc(np.array(1000, np.int64)), "a0": enc(np.zeros(2, np.float32))},
                "expect": "did not end within"})

# ------------------------------------------------------------------ PyTorch: data-dependent If
def torch_if():
    import torch

    class Gate(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)

        def forward(self, x):
            h = self.lin(x)
            if bool(h.sum() > 0):
                return torch.relu(h) * 2.0
            return torch.tanh(h) - 1.0

    torch.manual_seed(0)
    gate = Gate().eval()
    module = torch.jit.script(gate)
    path = os.path.join(OUT, "torch_scripted_if.onnx")
    torch.onnx.export(module, (torch.randn(2, 4),), path, dynamo=False, opset_version=17, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    m = onnx.load(path)
    assert any(n.op_type == "If" for n in m.graph.node), [n.op_type for n in m.graph.node]
    # Inputs that take each branch, at batch 1 and 3.
    feeds = []
    for batch in (1, 3):
        found = {}
        while len(found) < 2:
            x = rnd(batch, 4)
            with torch.no_grad():
                positive = bool(gate.lin(torch.from_numpy(x)).sum() > 0)
            found.setdefault("then" if positive else "else", x)
        feeds += [(f"_{branch}_batch{batch}", {"x": found[branch]}) for branch in ("then", "else")]
    run_cases("torch_scripted_if", path, feeds)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch_if()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    with open(os.path.join(OUT, "broken.json"), "w") as f:
        json.dump(broken, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "runtime.json"), "w") as f:
        json.dump(runtime, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases, {len(broken)} refusals, {len(runtime)} run-time refusals")


if __name__ == "__main__":
    main()
