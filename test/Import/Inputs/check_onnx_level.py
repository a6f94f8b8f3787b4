#!/usr/bin/env python3
"""--emit=onnx is one lithe.onnx op per ONNX node (Constant nodes become
lithe.constant or lithe.weight): compare op-type counts with the model file.

usage: check_onnx_level.py LITHEC MODEL
"""
import collections
import re
import subprocess
import sys

import onnx

lithec, path = sys.argv[1], sys.argv[2]
model = onnx.load(path, load_external_data=False)
want = collections.Counter(n.op_type for n in model.graph.node if n.op_type != "Constant")
ir = subprocess.run([lithec, path, "--emit=onnx"], check=True, capture_output=True, text=True).stdout
got = collections.Counter(re.findall(r'lithe\.onnx "([A-Za-z]+)"', ir))
if got != want:
    print("mismatch:", {k: (want[k], got[k]) for k in set(want) | set(got) if want[k] != got[k]})
    sys.exit(1)
print(f"{sum(got.values())} lithe.onnx ops match {len(model.graph.node)} ONNX nodes")
