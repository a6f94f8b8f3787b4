#!/usr/bin/env python3
"""Writes the inputs of test/Import/reliability.test into DIR: ONNX text the
parser throws on, a valid model with an out-of-range Slice start, opsets
outside lithec's range, non-finite weights, and an external-data offset near
2^63. Usage: make_reliability_models.py DIR FIXTURE_MODEL"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d, fixture = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
F = TensorProto.FLOAT


def write(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def text_model(init):
    return ('<ir_version: 8, opset_import: ["" : 17]>\n'
            'g (float[n, 2] x) => (float[n, 2] y) <%s> {\n'
            '  y = MatMul(x, w)\n}\n' % init)


# ONNX's text parser throws (std::out_of_range / invalid_argument) on these.
write("trailing-comma.onnxtext", text_model("float[2, 2] w = {1.0, 2.0, 3.0, 4.0,}"))
write("huge-float.onnxtext", text_model("float[2, 2] w = {1e999, 2.0, 3.0, 4.0}"))
write("huge-dim.onnxtext", text_model("float[2, 99999999999999999999] w = {1.0}"))


def save(name, nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, name))
    return m


# A valid model (onnx.checker and ONNX Runtime accept it): Slice of a shape
# with a start far before its first element, which ONNX clamps to 0.
x = helper.make_tensor_value_info("x", F, ["n", 4])
y = helper.make_tensor_value_info("y", TensorProto.INT64, [None])
ints = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
m = save("slice-clamp.onnx",
         [helper.make_node("Shape", ["x"], ["s"], name="shape"),
          helper.make_node("Slice", ["s", "starts", "ends"], ["y"], name="slice")],
         [x], [y], [ints("starts", [-100000]), ints("ends", [100000])])
onnx.checker.check_model(m)

# Opsets outside the supported range.
xo = helper.make_tensor_value_info("x", F, ["n", 4])
yo = helper.make_tensor_value_info("y", F, ["n", 4])
relu = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
save("opset30.onnx", relu, [xo], [yo], [], opset=30)
save("opset7.onnx", relu, [xo], [yo], [], opset=7)

# Non-finite weights: a NaN in one linear weight and an Inf in the token
# table of a GPT-2 fixture.
for name, pick, value in (("nan-weight.onnx", "attn.c_attn.weight", np.nan),
                          ("inf-wte.onnx", "wte.weight", np.inf)):
    model = onnx.load(fixture)
    for t in model.graph.initializer:
        if t.name.endswith(pick) or pick in t.name:
            a = numpy_helper.to_array(t).copy()
            a.flat[3] = value
            t.CopyFrom(numpy_helper.from_array(a, t.name))
            break
    else:
        raise SystemExit("no initializer named like " + pick)
    onnx.save(model, os.path.join(d, name))

# External data whose offset is near 2^63 (offset + length overflows int64).
with open(os.path.join(d, "data.bin"), "wb") as f:
    f.write(b"\0" * 64)
t = TensorProto()
t.name = "w"
t.data_type = F
t.dims.extend([4, 4])
t.data_location = TensorProto.EXTERNAL
for k, v in (("location", "data.bin"), ("offset", str((1 << 63) - 10)), ("length", "64")):
    e = t.external_data.add()
    e.key, e.value = k, v
save("offset-overflow.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [xo], [yo], [t])

# A LayerNorm whose scale and bias are narrower than its input.
vec = lambda name, v: numpy_helper.from_array(np.full(3, v, np.float32), name)
save("layernorm-width.onnx",
     [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], name="ln", axis=-1)],
     [xo], [yo], [vec("s", 1.0), vec("b", 0.0)])
# A Reshape to [-5, 4] (only -1 may be negative).
save("reshape-negative.onnx", [helper.make_node("Reshape", ["x", "shp"], ["y"], name="rs")],
     [xo], [yo], [ints("shp", [-5, 4])])

# Found by fuzzing (fuzz/onnx-reader, fuzz/onnxtext-reader), each once an
# abort or a segfault:
# - a Constant node with no output (shape inference wrote output 0 of a
#   node that has none);
save("constant-no-output.onnx",
     [helper.make_node("Constant", [], [], name="lonely", value=numpy_helper.from_array(np.ones(2, np.float32))),
      helper.make_node("Relu", ["x"], ["y"], name="relu")],
     [xo], [yo], [])
# - a Mul with three outputs (the extra ones have no element type: emitting
#   them built a tensor type of no element type).
write("mul-three-outputs.onnxtext",
      '<ir_version: 8, opset_import: ["" : 17]>\n'
      'g (float[n, 2] x) => (float[n, 2] z) {\n'
      '  y, extra, more = Mul(x, x)\n'
      '  z = Add(y, x)\n}\n')
# - integer arithmetic on an empty shape vector and a one-element one
#   (Shape of a scalar plus [1]: the content evaluator read element 0 of
#   the empty vector).
xs = helper.make_tensor_value_info("x", F, [])
ys = helper.make_tensor_value_info("y", TensorProto.INT64, [None])
save("empty-shape-arith.onnx",
     [helper.make_node("Shape", ["x"], ["s"], name="shape"),
      helper.make_node("Add", ["s", "one"], ["y"], name="add")],
     [xs], [ys], [ints("one", [1])])
