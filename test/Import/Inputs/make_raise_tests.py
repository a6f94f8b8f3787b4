#!/usr/bin/env python3
"""Writes the small .onnxtext models of test/Import/raise-*.onnxtext.

Each model isolates one raising pattern (and near misses that must stay
generic). The RUN/CHECK lines live in HEADERS below so the tests and their
models are regenerated together:

    python3 test/Import/Inputs/make_raise_tests.py test/Import

Needs numpy and onnx (no torch). ONNX 1.12's text parser (what lithec links)
does not read node names, so they are stripped.
"""
import os
import re
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, printer

rng = np.random.default_rng(0)
F = TensorProto.FLOAT


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def text(m):
    return re.sub(r"^(\s*)\[[^\]\n]*\] ", r"\1", printer.to_text(m), flags=re.M)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def N(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


X = vi("x", ["batch", "sequence", 4])
models = {}

# --- linear layers ---------------------------------------------------------
models["raise-linear"] = model(
    [N("MatMul", ["x", "w"], ["t"]), N("Add", ["b", "t"], ["y"]),
     N("MatMul", ["y", "w2"], ["z"])],
    [X], [vi("z", ["batch", "sequence", 2])],
    [init("w", rand(4, 3)), init("b", rand(3)), init("w2", rand(3, 2))])

models["raise-linear-gemm"] = model(
    [N("Shape", ["x"], ["s"]), N("Slice", ["s", "zero", "two"], ["lead"]),
     N("Reshape", ["x", "flat"], ["x2"]),
     N("Gemm", ["x2", "w", "b"], ["g"]),
     N("Concat", ["lead", "three"], ["shape3"], axis=0),
     N("Reshape", ["g", "shape3"], ["y"]),
     # transB=1: weight stored [out, in]
     N("Reshape", ["y", "flat3"], ["y2"]),
     N("Gemm", ["y2", "wt"], ["g2"], transB=1),
     N("Concat", ["lead", "two1"], ["shape2"], axis=0),
     N("Reshape", ["g2", "shape2"], ["z"])],
    [X], [vi("z", ["batch", "sequence", 2])],
    [init("w", rand(4, 3)), init("b", rand(3)), init("wt", rand(2, 3)),
     init("zero", np.array([0], np.int64)), init("two", np.array([2], np.int64)),
     init("flat", np.array([-1, 4], np.int64)), init("flat3", np.array([-1, 3], np.int64)),
     init("three", np.array([3], np.int64)), init("two1", np.array([2], np.int64))])

# --- LayerNorm ---------------------------------------------------------------
models["raise-layernorm"] = model(
    [N("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=1e-5, axis=-1)],
    [X], [vi("y", ["batch", "sequence", 4])],
    [init("g", rand(4)), init("b", rand(4))])


def decomposed(x, out, g, b, eps, square="Pow", prefix=""):
    p = prefix
    nodes = [
        N("ReduceMean", [x], [p + "mean"], axes=[-1]),
        N("Sub", [x, p + "mean"], [p + "d"]),
    ]
    if square == "Pow":
        nodes.append(N("Pow", [p + "d", "two_f"], [p + "sq"]))
    else:
        nodes.append(N("Mul", [p + "d", p + "d"], [p + "sq"]))
    nodes += [
        N("ReduceMean", [p + "sq"], [p + "var"], axes=[-1]),
        N("Add", [p + "var", eps], [p + "ve"]),
        N("Sqrt", [p + "ve"], [p + "sd"]),
        N("Div", [p + "d", p + "sd"], [p + "n"]),
    ]
    if g:
        nodes.append(N("Mul", [p + "n", g], [p + "s"]))
        nodes.append(N("Add", [p + "s", b], [out]))
    else:
        nodes[-1] = N("Div", [p + "d", p + "sd"], [out])
    return nodes


models["raise-layernorm-decomposed"] = model(
    decomposed("x", "y", "g", "b", "eps") +
    decomposed("y", "z", None, None, "eps_big", square="Mul", prefix="n2_"),
    [X], [vi("z", ["batch", "sequence", 4])],
    [init("g", rand(4)), init("b", rand(4)), init("two_f", np.array(2.0, np.float32)),
     init("eps", np.array(1e-5, np.float32)), init("eps_big", np.array(1e12, np.float32))],
    opset=14)

# --- GELU --------------------------------------------------------------------
c = np.float32


def gelu_tanh_nodes(x, out, k=0.044715, p=""):
    return [
        N("Mul", [x, p + "half"], [p + "a"]),
        N("Pow", [x, p + "three"], [p + "x3"]),
        N("Mul", [p + "x3", p + "k"], [p + "kx3"]),
        N("Add", [x, p + "kx3"], [p + "inner"]),
        N("Mul", [p + "inner", p + "s2pi"], [p + "arg"]),
        N("Tanh", [p + "arg"], [p + "t"]),
        N("Add", [p + "t", p + "one"], [p + "t1"]),
        N("Mul", [p + "a", p + "t1"], [out]),
    ], [init(p + "half", c(0.5)), init(p + "three", c(3.0)), init(p + "k", c(k)),
        init(p + "s2pi", c(np.sqrt(2 / np.pi))), init(p + "one", c(1.0))]


gt_nodes, gt_inits = gelu_tanh_nodes("x", "y")
bad_nodes, bad_inits = gelu_tanh_nodes("y", "z", k=0.05, p="bad_")
models["raise-gelu-tanh"] = model(
    gt_nodes + bad_nodes, [X], [vi("z", ["batch", "sequence", 4])], gt_inits + bad_inits)

models["raise-gelu-erf"] = model(
    [N("Div", ["x", "sqrt2"], ["xs"]), N("Erf", ["xs"], ["e"]), N("Add", ["one", "e"], ["e1"]),
     N("Mul", ["x", "e1"], ["xe"]), N("Mul", ["xe", "half"], ["y"]),
     # a second form: x * sigmoid-free 0.5 * (1 + erf(x * 1/sqrt2))
     N("Mul", ["y", "rsqrt2"], ["ys"]), N("Erf", ["ys"], ["e2"]), N("Add", ["e2", "one"], ["e21"]),
     N("Mul", ["half", "y"], ["yh"]), N("Mul", ["yh", "e21"], ["z"])],
    [X], [vi("z", ["batch", "sequence", 4])],
    [init("sqrt2", c(np.sqrt(2.0))), init("one", c(1.0)), init("half", c(0.5)),
     init("rsqrt2", c(1 / np.sqrt(2.0)))])

# --- token embedding + tied / untied LM head --------------------------------
V, D = 6, 4
wte = rand(V, D)
ids = vi("input_ids", ["batch", "sequence"], TensorProto.INT64)
models["raise-lm-head-tied"] = model(
    [N("Gather", ["wte", "input_ids"], ["h"]), N("MatMul", ["h", "wte_t"], ["logits"])],
    [ids], [vi("logits", ["batch", "sequence", V])],
    [init("wte", wte), init("wte_t", wte.T.copy())])
wrong = wte.T.copy()
wrong[1, 2] += 1.0
models["raise-lm-head-untied"] = model(
    [N("Gather", ["wte", "input_ids"], ["h"]), N("MatMul", ["h", "head"], ["logits"])],
    [ids], [vi("logits", ["batch", "sequence", V])],
    [init("wte", wte), init("head", wrong)])

HEADERS = {
    "raise-linear": """\
# MatMul by a [in, out] initializer, then Add of a bias (either operand order).
# RUN: lithec %s --emit=lithe | FileCheck %s
# CHECK: %[[B:.*]] = lithe.weight "b" : tensor<3xf32>
# CHECK: %[[W:.*]] = lithe.weight "w" : tensor<4x3xf32>
# CHECK: %[[Y:.*]] = lithe.linear %arg0, %[[W]] bias %[[B]] : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<?x?x3xf32>
# CHECK: lithe.linear %[[Y]], %{{.*}} : (tensor<?x?x3xf32>, tensor<3x2xf32>) -> tensor<?x?x2xf32>
# CHECK-NOT: lithe.onnx
""",
    "raise-linear-gemm": """\
# GPT-2's Conv1D as exported by TorchScript: Reshape -> Gemm -> Reshape back.
# A Gemm with transB=1 gets its weight stored transposed ([in, out]).
# RUN: lithec %s --emit=lithe | FileCheck %s
# RUN: lithec %s --emit=lithe -o %t.mlir && lithe-weights list %t.lwt | FileCheck %s --check-prefix=WEIGHTS
# CHECK: %[[Y:.*]] = lithe.linear %arg0, %{{.*}} bias %{{.*}} : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<?x?x3xf32>
# CHECK: lithe.linear %[[Y]], %{{.*}} : (tensor<?x?x3xf32>, tensor<3x2xf32>) -> tensor<?x?x2xf32>
# CHECK-NOT: lithe.onnx
# WEIGHTS-DAG: wt.T f32 3x2 24
# WEIGHTS-DAG: w f32 4x3 48
""",
    "raise-layernorm": """\
# RUN: lithec %s --emit=lithe | FileCheck %s
# CHECK: lithe.layer_norm %arg0 scale %{{.*}} bias %{{.*}} eps 9.99999974E-6
# CHECK-NOT: lithe.onnx
""",
    "raise-layernorm-decomposed": """\
# Opset 14 exports decompose LayerNorm; x*x and Pow(x, 2) are both accepted.
# The second one has no affine part and a disabling epsilon (LN-free style).
# RUN: lithec %s --emit=lithe | FileCheck %s
# CHECK: %[[A:.*]] = lithe.layer_norm %arg0 scale %{{.*}} bias %{{.*}} eps 9.99999974E-6
# CHECK: lithe.layer_norm %[[A]] eps 9.99999995E+11 : (tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
# CHECK-NOT: lithe.onnx
""",
    "raise-gelu-tanh": """\
# GELU is recognised by evaluating the elementwise region numerically, so any
# algebraic arrangement matches; a wrong constant (0.05) stays generic.
# RUN: lithec %s --emit=lithe | FileCheck %s
# CHECK: %[[G:.*]] = lithe.gelu %arg0 tanh : tensor<?x?x4xf32>
# CHECK: lithe.onnx "Mul"(%[[G]]
# CHECK: lithe.onnx "Tanh"
""",
    "raise-gelu-erf": """\
# Two arrangements of the exact (erf) GELU.
# RUN: lithec %s --emit=lithe | FileCheck %s
# CHECK: %[[A:.*]] = lithe.gelu %arg0 none : tensor<?x?x4xf32>
# CHECK: lithe.gelu %[[A]] none : tensor<?x?x4xf32>
# CHECK-NOT: lithe.onnx
""",
    "raise-lm-head-tied": """\
# The head multiplies by a transposed copy of the embedding: detected, one
# copy kept, the duplicate dropped from the weights file.
# RUN: lithec %s --emit=lithe | FileCheck %s
# RUN: lithec %s --emit=lithe -o %t.mlir && lithe-weights list %t.lwt | FileCheck %s --check-prefix=WEIGHTS
# RUN: lithec --describe %s | FileCheck %s --check-prefix=DESCRIBE
# CHECK: func.func @forward(%arg0: tensor<?x?xi64>, %arg1: index) -> tensor<?x?x6xf32>
# CHECK: %[[WTE:.*]] = lithe.weight "wte" : tensor<6x4xf32>
# CHECK: %[[H:.*]] = lithe.embedding %[[WTE]][%arg0]
# CHECK: lithe.lm_head %[[H]], %[[WTE]] : (tensor<?x?x4xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32>
# WEIGHTS: wte f32 6x4 96
# WEIGHTS-NEXT: # 1 tensors
# DESCRIBE: tied_head: yes
# DESCRIBE: weight_bytes: 96 (0.1 KiB) after de-duplication, 192 (0.2 KiB) in the ONNX file
# DESCRIBE: note: lm_head weight 'wte_t' is the transposed token embedding 'wte': tied, one copy kept
""",
    "raise-lm-head-untied": """\
# One element differs from the transposed embedding: not tied. The head's
# [width, vocab] weight is stored as a [vocab, width] table.
# RUN: lithec %s --emit=lithe | FileCheck %s
# RUN: lithec --describe %s | FileCheck %s --check-prefix=DESCRIBE
# CHECK: %[[T:.*]] = lithe.weight "head.T" : tensor<6x4xf32>
# CHECK: lithe.lm_head %{{.*}}, %[[T]]
# DESCRIBE: tied_head: no
""",
}

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for name, m in models.items():
    with open(os.path.join(out_dir, name + ".onnxtext"), "w") as f:
        f.write(HEADERS[name] + "\n" + text(m) + "\n")
print(f"wrote {len(models)} models to {out_dir}")
