#!/usr/bin/env python3
"""Compile a fixture with lithec and compare the executable's logits with the
fixture's recorded ONNX Runtime outputs.

usage: check_compiled.py --lithec BIN --fixture DIR --workdir DIR [--capacity N]

Every case under DIR/cases is run through the compiled binary with --ids and,
for cases with past key/values, --past (the prefix is run as one step, as the
recorded past was made by the model itself on that prefix). Batched cases are
run one row at a time (the binary serves one sequence).

Tolerance: |lithe - ort| <= 1e-4 + 1e-4 * |ort|. Both sides compute in fp32
with different summation orders (blocked/vectorised GEMMs, online softmax);
for these models the observed differences are ~1e-6, and ORT itself agrees
with torch to ~1e-6 (recorded in each case.json), so 1e-4 leaves two orders
of magnitude of headroom while still catching any real error (a wrong mask,
scale or weight layout moves logits by >1e-2).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--lithec", required=True)
ap.add_argument("--fixture", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--capacity", type=int, default=0)
ap.add_argument("--pipeline", default="")
ap.add_argument("--model", default="", help="model file (default: FIXTURE/model.onnx)")
ap.add_argument("--cases", default="", help="cases directory (default: FIXTURE/cases)")
ap.add_argument("--name", default="")
ap.add_argument("--precision", default="", help="lithec --precision (e.g. bf16)")
ap.add_argument("--target", default="", help="lithec --target (cuda: on a GPU, or the host emulation "
                "when LITHE_CUDA_LINK names it)")
ap.add_argument("--tolerance", type=float, default=0.0,
                help="absolute tolerance instead of the default 1e-4 + 1e-4*|x| (a lower precision's)")
args = ap.parse_args()

os.makedirs(args.workdir, exist_ok=True)
name = args.name or os.path.basename(os.path.normpath(args.fixture))
exe = os.path.join(args.workdir, name)
cmd = [args.lithec, args.model or os.path.join(args.fixture, "model.onnx"), "-o", exe]
if args.capacity:
    cmd += ["--capacity", str(args.capacity)]
if args.pipeline:
    cmd += ["--pipeline", args.pipeline]
if args.precision:
    cmd += ["--precision", args.precision]
if args.target:
    cmd += ["--target", args.target]
subprocess.run(cmd, check=True)

ATOL, RTOL = (args.tolerance, 0.0) if args.tolerance else (1e-4, 1e-4)
# A fixture computed by ONNX Runtime in float16 records its own rounding
# error: the max |ORT fp16 - torch fp32| over its cases (times 1.5), as
# "tolerance". Lithe computes the same fp16 weights in float32, so its
# distance from ORT's logits is bounded by ORT's own rounding error.
meta_path = os.path.join(args.fixture, "fixture.json")
if os.path.exists(meta_path):
    fixture_tolerance = json.load(open(meta_path)).get("tolerance")
    if fixture_tolerance and fixture_tolerance > ATOL:
        ATOL, RTOL = float(fixture_tolerance), 0.0
cases_dir = args.cases or os.path.join(args.fixture, "cases")


def load_case(case):
    cdir = os.path.join(cases_dir, case)
    meta = json.load(open(os.path.join(cdir, "case.json")))
    return {e["name"]: os.path.join(cdir, e["file"]) for e in meta["inputs"] + meta["outputs"] + meta.get("extra", [])}


def past_length(files):
    keys = [n for n in files if n.startswith("past_key_values") and n.endswith("key")]
    return np.load(files[keys[0]]).shape[2] if keys else 0


all_cases = sorted(os.listdir(cases_dir))
worst, checked = 0.0, 0
for case in all_cases:
    files = load_case(case)
    logits = np.load(files["logits"])
    new_ids = np.load(files["input_ids"])
    past = past_length(files)
    if "full_input_ids" in files:
        full = np.load(files["full_input_ids"])
    elif past == 0:
        full = new_ids
    else:
        # The past was made by the model on another case's tokens: the case
        # without past whose ids are exactly `past` long.
        prefix = [c for c in all_cases if past_length(load_case(c)) == 0 and
                  np.load(load_case(c)["input_ids"]).shape[1] == past]
        if not prefix:
            sys.exit(f"{case}: past of {past} tokens but no full_input_ids and no matching prefix case")
        full = np.concatenate([np.load(load_case(prefix[0])["input_ids"]), new_ids], axis=1)
    past = full.shape[1] - new_ids.shape[1]
    for b in range(full.shape[0]):
        out = os.path.join(args.workdir, f"{name}-{case}-{b}.bin")
        ids = ",".join(str(int(t)) for t in full[b])
        subprocess.run([exe, "--ids", ids, "--past", str(past), "--dump-logits", out, "-t", "2"], check=True)
        got = np.fromfile(out, dtype=np.float32).reshape(logits.shape[1], logits.shape[2])
        want = logits[b]
        diff = np.abs(got - want)
        bad = diff > ATOL + RTOL * np.abs(want)
        worst = max(worst, float(diff.max()))
        checked += 1
        status = "FAIL" if bad.any() else "ok  "
        print(f"{status} {name}/{case} row {b}: past {past}, {want.shape[0]} new tokens, max|diff| = {diff.max():.2e}")
        if bad.any():
            sys.exit(1)
print(f"{checked} sequences match ONNX Runtime (worst max|diff| {worst:.2e}, tolerance {ATOL} + {RTOL}*|x|)")
