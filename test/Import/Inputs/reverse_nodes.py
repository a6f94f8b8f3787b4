"""Writes MODEL with its nodes in reverse order (not topological), as ORT's
float16 converter can leave a graph: usage reverse_nodes.py IN OUT."""
import sys

import onnx

m = onnx.load(sys.argv[1])
nodes = list(m.graph.node)[::-1]
del m.graph.node[:]
m.graph.node.extend(nodes)
onnx.save(m, sys.argv[2])
