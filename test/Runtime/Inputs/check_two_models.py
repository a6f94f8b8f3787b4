"""Runs two_models on fixture A and lithe-tiny B and compares each model's
logits with its recorded ONNX Runtime outputs (tolerance 1e-4 + 1e-4*|x|, as
test/e2e/check_compiled.py).

usage: check_two_models.py EXE A.lwt A_CASE B.lwt B_CASE OUT_DIR"""
import json
import os
import subprocess
import sys

import numpy as np

exe, lwt_a, case_a, lwt_b, case_b, out = sys.argv[1:7]


def load(case):
    meta = json.load(open(os.path.join(case, "case.json")))
    files = {e["name"]: os.path.join(case, e["file"]) for e in meta["inputs"] + meta["outputs"]}
    ids = np.load(files["input_ids"])[0]
    return ids, np.load(files["logits"])[0]


ids_a, want_a = load(case_a)
ids_b, want_b = load(case_b)
fa, fb = os.path.join(out, "a.bin"), os.path.join(out, "b.bin")
r = subprocess.run([exe, lwt_a, ",".join(map(str, ids_a)), lwt_b, ",".join(map(str, ids_b)), fa, fb],
                   capture_output=True, text=True)
print(r.stdout, end="")
if r.returncode != 0:
    sys.exit(f"two_models failed ({r.returncode}): {r.stderr}")
for name, f, want in (("A", fa, want_a), ("B", fb, want_b)):
    got = np.fromfile(f, dtype=np.float32).reshape(want.shape)
    diff = np.abs(got - want)
    bad = diff > 1e-4 + 1e-4 * np.abs(want)
    print(f"{name}: {want.shape[0]} rows, max|diff| = {diff.max():.2e}", "FAIL" if bad.any() else "ok")
    if bad.any():
        sys.exit(1)
