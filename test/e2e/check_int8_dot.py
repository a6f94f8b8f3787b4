#!/usr/bin/env python3
"""int8 that computes in integers, against fp32 and weight-only int8.

usage: check_int8_dot.py --lithec LITHEC --workdir DIR --model MODEL.onnx --text FILE
           [--ctx 256 --stride 128] [--max-ppl-increase 0.005] [--max-logit-diff 0.15]

Compiles MODEL as is and with lithe-quantize-weights, then, on every code
path this CPU has (LITHE_ISA=avx512, avx2; LITHE_VNNI=0 for AVX-512 without
VNNI), runs the int8 binary two ways with the same weights file:
LITHE_Q8=float (weight-only: weights widened to f32) and LITHE_Q8=int
(activations quantized per row, int32 dot products). Checks:
  * perplexity on TEXT: integer int8 at most --max-ppl-increase (relative)
    above weight-only int8 (issue 14's budget: +0.5%);
  * logits of one 96-token prompt (one prefill: the integer GEMM): the
    largest |integer - weight-only| and |integer - fp32| difference, relative
    to the standard deviation of the fp32 logits, at most --max-logit-diff
    (weight-only int8 alone is ~0.06 from fp32 on lithe-tiny, integer ~0.10);
  * greedy continuations (32 tokens): printed with how many leading tokens
    agree with fp32 (not bounded: one near-tie flips the rest).
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
ap.add_argument("--model", required=True)
ap.add_argument("--text", required=True)
ap.add_argument("--ctx", type=int, default=256)
ap.add_argument("--stride", type=int, default=128)
ap.add_argument("--max-ppl-increase", type=float, default=0.005)
ap.add_argument("--max-logit-diff", type=float, default=0.15)
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)

exe = {}
for name, pipe in (("f32", []), ("int8", ["--pipeline", "lithe-quantize-weights"])):
    exe[name] = os.path.join(args.workdir, "int8dot-" + name)
    subprocess.run([args.lithec, args.model, "-o", exe[name]] + pipe, check=True)


def run(binary, env, *a):
    e = dict(os.environ, **env)
    return subprocess.run([binary, "-t", "2", *a], check=True, capture_output=True, text=True, env=e).stdout


def has_isa(isa):
    flags = open("/proc/cpuinfo").read()
    if isa == "avx512":
        return all(f in flags for f in ("avx512f", "avx512bw", "avx512dq", "avx512vl"))
    return "avx2" in flags and "fma" in flags


paths = [({"LITHE_ISA": "avx512"}, "avx512")] if has_isa("avx512") else []
if paths and "avx512_vnni" in open("/proc/cpuinfo").read():
    paths.append(({"LITHE_ISA": "avx512", "LITHE_VNNI": "0"}, "avx512 without VNNI"))
if has_isa("avx2"):
    paths.append(({"LITHE_ISA": "avx2"}, "avx2"))
if not paths:
    paths.append(({"LITHE_ISA": "scalar"}, "scalar"))

rng = np.random.default_rng(14)
ids = ",".join(str(int(t)) for t in rng.integers(0, 5000, size=96))
ok = True


def logits(binary, env, tag):
    out = os.path.join(args.workdir, f"int8dot-{tag}.bin")
    run(binary, env, "--ids", ids, "--past", "0", "--dump-logits", out)
    return np.fromfile(out, dtype=np.float32)


def greedy(binary, env):
    return [int(t) for t in run(binary, env, "--ids", ids, "--generate", "32").split()[0].split(",")]


def ppl(binary, env):
    r = run(binary, env, "--perplexity", args.text, "--ctx", str(args.ctx), "--stride", str(args.stride),
            "--json")
    return json.loads(r)["perplexity"]


base_env = paths[0][0]
p32 = ppl(exe["f32"], base_env)
l32 = logits(exe["f32"], base_env, "f32")
g32 = greedy(exe["f32"], base_env)
sd = float(l32.std())
print(f"fp32: perplexity {p32:.4f}; logits std {sd:.3f}")
for env, label in paths:
    pf = ppl(exe["int8"], dict(env, LITHE_Q8="float"))
    pi = ppl(exe["int8"], dict(env, LITHE_Q8="int"))
    rel = pi / pf - 1
    lf = logits(exe["int8"], dict(env, LITHE_Q8="float"), "float")
    li = logits(exe["int8"], dict(env, LITHE_Q8="int"), "int")
    dfl = float(np.abs(li - lf).max()) / sd
    d32 = float(np.abs(li - l32).max()) / sd
    dwo = float(np.abs(lf - l32).max()) / sd
    gi = greedy(exe["int8"], dict(env, LITHE_Q8="int"))
    gf = greedy(exe["int8"], dict(env, LITHE_Q8="float"))
    agree = lambda a, b: next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    good = rel <= args.max_ppl_increase and dfl <= args.max_logit_diff and d32 <= args.max_logit_diff
    ok = ok and good
    print(f"{'ok  ' if good else 'FAIL'} {label}: perplexity weight-only {pf:.4f} ({pf / p32 - 1:+.3%} vs fp32), "
          f"integer {pi:.4f} ({rel:+.3%} vs weight-only, allowed {args.max_ppl_increase:+.1%}); "
          f"max|logit diff|/std: integer-weight-only {dfl:.4f}, integer-fp32 {d32:.4f}, "
          f"weight-only-fp32 {dwo:.4f} (allowed {args.max_logit_diff}); greedy tokens agreeing with fp32: "
          f"weight-only {agree(gf, g32)}/32, integer {agree(gi, g32)}/32")
# Prompts on AMX tiles add the same integers as VNNI: bitwise the same
# logits and perplexity, on the scalar tile model (any AVX-512 CPU with VNNI
# and AVX512-BF16) and on the real tiles where the CPU has them.
cpuinfo = open("/proc/cpuinfo").read()
if has_isa("avx512") and "avx512_vnni" in cpuinfo and "avx512_bf16" in cpuinfo:
    env0 = {"LITHE_ISA": "avx512", "LITHE_Q8": "int", "LITHE_AMX": "0"}
    l0, p0 = logits(exe["int8"], env0, "amx-off"), ppl(exe["int8"], env0)
    modes = [("emulate", "AMX tiles, emulated")]
    if "amx_int8" in cpuinfo and "amx_tile" in cpuinfo:
        modes.append(("1", "AMX tiles"))
    for mode, label in modes:
        env = dict(env0, LITHE_AMX=mode)
        la, pa = logits(exe["int8"], env, "amx-" + mode), ppl(exe["int8"], env)
        good = bool(np.array_equal(la, l0)) and pa == p0
        ok = ok and good
        print(f"{'ok  ' if good else 'FAIL'} {label}: perplexity {pa:.6f} (VNNI {p0:.6f}), "
              f"max|logit diff| {float(np.abs(la - l0).max()):.3g} (must be 0)")
sys.exit(0 if ok else 1)
