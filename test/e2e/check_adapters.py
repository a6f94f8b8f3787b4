#!/usr/bin/env python3
"""lithe-fuse-adapters is exact: lithe-tiny compiled with an adapter fused in
gives torch's logits with the adapter applied (recorded by
examples/gpt2/train_adapters.py), and with scale=0 the base model's.

usage: check_adapters.py --lithec LITHEC --workdir DIR --model-dir examples/gpt2/lithe-tiny ADAPTER...
           [--model MODEL.onnx --base-logits FILE.npy]   (another base: the LN-free variant)
Tolerance 1e-4 + 1e-4 |x|, as check_compiled.py (the adapters move these
logits by 1.5 to 3, so a wrong fold cannot hide in it).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--lithec", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--model-dir", required=True)
ap.add_argument("--model", help="base model (default: MODEL_DIR/model.onnx)")
ap.add_argument("--base-logits", help="the base's reference logits (default: adapters/base_reference_logits_last.npy)")
ap.add_argument("adapters", nargs="+")
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)
adir = os.path.join(args.model_dir, "adapters")
model = args.model or os.path.join(args.model_dir, "model.onnx")
base = np.load(args.base_logits or os.path.join(adir, "base_reference_logits_last.npy"))


def run(name, pipeline, ids):
    exe = os.path.join(args.workdir, "adapter-" + name)
    subprocess.run([args.lithec, model, "-o", exe, "--pipeline", pipeline],
                   check=True)
    out = exe + ".logits"
    subprocess.run([exe, "--ids", ",".join(map(str, ids)), "--dump-logits", out, "-t", "2"], check=True)
    return np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)[-1]


def check(label, got, want):
    diff = np.abs(got - want)
    ok = bool((diff <= 1e-4 + 1e-4 * np.abs(want)).all())
    print(f"{'ok  ' if ok else 'FAIL'} {label}: max|diff| {diff.max():.2e}")
    return ok


good = True
for a in args.adapters:
    ref = json.load(open(os.path.join(adir, a, "reference.json")))
    want = np.load(os.path.join(adir, a, ref["file"]))
    path = os.path.join(adir, a)
    good &= check(f"{a} fused vs torch with {a}", run(a, f"lithe-fuse-adapters{{adapters={path}}}", ref["input_ids"]), want)
    good &= check(f"{a} at scale 0 vs base", run(a + "-0", f"lithe-fuse-adapters{{adapters={path} scale=0}}",
                                                  ref["input_ids"]), base)
sys.exit(0 if good else 1)
