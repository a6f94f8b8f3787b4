#!/usr/bin/env python3
"""Compile one model for the CPU and for CUDA (lithec --target=cuda) with the
same --pipeline and compare the two executables: logits on every case of the
fixture, and greedy continuations.

usage: check_cuda_vs_cpu.py --lithec BIN --fixture DIR --workdir DIR [--pipeline P]
                            [--tolerance T] [--generate N --greedy-prefix K]

Where the CUDA executable runs: on a GPU, or on the CPU through the host
emulation of the CUDA ops when LITHE_CUDA_LINK names it (test/CMakeLists.txt).
The tolerance is absolute, for the CUDA target's f16 weights and KV cache.
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
ap.add_argument("--pipeline", default="")
ap.add_argument("--precision", default="", help="lithec --precision for both (fp32 or bf16: each target's own)")
ap.add_argument("--name", default="")
ap.add_argument("--tolerance", type=float, default=0.03)
ap.add_argument("--generate", type=int, default=0, help="greedy tokens to compare after each case's ids")
ap.add_argument("--greedy-prefix", type=int, default=0,
                help="the first K generated tokens must agree (default: all of them)")
args = ap.parse_args()

os.makedirs(args.workdir, exist_ok=True)
name = args.name or os.path.basename(os.path.normpath(args.fixture))
model = os.path.join(args.fixture, "model.onnx")
exes = {}
for target in ("cpu", "cuda"):
    exe = os.path.join(args.workdir, f"{name}-{target}")
    cmd = [args.lithec, model, "-o", exe, "--target", target]
    if args.pipeline:
        cmd += ["--pipeline", args.pipeline]
    if args.precision:
        cmd += ["--precision", args.precision]
    subprocess.run(cmd, check=True)
    exes[target] = exe

cases_dir = os.path.join(args.fixture, "cases")
worst = 0.0
for case in sorted(os.listdir(cases_dir)):
    meta = json.load(open(os.path.join(cases_dir, case, "case.json")))
    files = {e["name"]: os.path.join(cases_dir, case, e["file"]) for e in meta["inputs"] + meta.get("extra", [])}
    ids = np.load(files.get("full_input_ids", files["input_ids"]))
    for b in range(ids.shape[0]):
        row = ",".join(str(int(t)) for t in ids[b])
        logits = {}
        for target, exe in exes.items():
            out = os.path.join(args.workdir, f"{name}-{target}-{case}-{b}.bin")
            subprocess.run([exe, "--ids", row, "--dump-logits", out, "-t", "2"], check=True)
            logits[target] = np.fromfile(out, dtype=np.float32)
        diff = float(np.abs(logits["cuda"] - logits["cpu"]).max())
        worst = max(worst, diff)
        ok = diff <= args.tolerance
        print(f"{'ok  ' if ok else 'FAIL'} {name}/{case} row {b}: {ids.shape[1]} tokens, "
              f"max|cuda - cpu| = {diff:.2e} (tolerance {args.tolerance})")
        if not ok:
            sys.exit(1)
        if args.generate:
            gen = {}
            for target, exe in exes.items():
                r = subprocess.run([exe, "--ids", row, "--generate", str(args.generate), "-t", "2"],
                                   check=True, capture_output=True, text=True)
                gen[target] = [int(t) for t in r.stdout.replace(",", " ").split()]
            same = next((i for i, (a, c) in enumerate(zip(gen["cpu"], gen["cuda"])) if a != c),
                        min(len(gen["cpu"]), len(gen["cuda"])))
            need = args.greedy_prefix or args.generate
            ok = same >= need and len(gen["cuda"]) == len(gen["cpu"])
            print(f"{'ok  ' if ok else 'FAIL'} {name}/{case} row {b}: greedy continuations agree for "
                  f"{same} of {args.generate} tokens (at least {need} required)")
            if not ok:
                sys.exit(1)
print(f"CUDA and CPU agree (worst max|diff| {worst:.2e})")
