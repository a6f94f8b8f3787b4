#!/usr/bin/env python3
"""Writes malformed ONNX models into DIR for test/Import/bad-input.test."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

d = sys.argv[1]
os.makedirs(os.path.join(d, "sub"), exist_ok=True)
F = TensorProto.FLOAT


def save(name, nodes, inputs, outputs, inits, folder=d, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(folder, name), "wb") as f:
        f.write(m.SerializeToString())


x = helper.make_tensor_value_info("x", F, ["n", 4])
y = helper.make_tensor_value_info("y", F, ["n", 4])


def external(name, location, folder=d):
    t = TensorProto()
    t.name = "w"
    t.data_type = F
    t.dims.extend([4, 4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(name, [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [x], [y], [t], folder)


# External data that escapes the model's directory, three ways.
with open(os.path.join(d, "outside.bin"), "wb") as f:
    f.write(np.zeros(16, np.float32).tobytes())
external("escape-dotdot.onnx", "../outside.bin", os.path.join(d, "sub"))
external("escape-absolute.onnx", os.path.join(d, "outside.bin"), os.path.join(d, "sub"))
link = os.path.join(d, "sub", "link.bin")
if os.path.lexists(link):
    os.remove(link)
os.symlink(os.path.join(d, "outside.bin"), link)
external("escape-symlink.onnx", "link.bin", os.path.join(d, "sub"))
# External data shorter than the tensor.
with open(os.path.join(d, "short.bin"), "wb") as f:
    f.write(b"\0" * 10)
external("short-external.onnx", "short.bin")

# A tensor of absurd size (declared, no data).
big = TensorProto()
big.name = "w"
big.data_type = F
big.dims.extend([1 << 20, 1 << 20])
big.raw_data = b""
save("absurd.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [x], [y], [big])

# Raw data that does not match the shape.
bad = numpy_helper.from_array(np.zeros((4, 4), np.float32), "w")
bad.raw_data = bad.raw_data[:20]
save("raw-size.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [x], [y], [bad])

# A node from an unknown domain, and an op Lithe does not handle.
save("custom-op.onnx", [helper.make_node("FancyAttention", ["x"], ["y"], name="my_attn", domain="com.example")],
     [x], [y], [], opset=17)
save("unsupported-op.onnx", [helper.make_node("NonMaxSuppression", ["x"], ["y"], name="nms")], [x], [y], [])

# Shapes that cannot work: [n,4] x [3,2].
save("bad-shapes.onnx",
     [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], [x],
     [helper.make_tensor_value_info("y", F, ["n", 2])],
     [numpy_helper.from_array(np.zeros((3, 2), np.float32), "w")])

# An input that nothing defines (a missing initializer).
save("missing-init.onnx", [helper.make_node("MatMul", ["x", "w_missing"], ["y"], name="proj")], [x], [y], [])
