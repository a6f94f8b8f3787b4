#!/usr/bin/env python3
"""The compiled lithe-tiny reproduces torch's recorded greedy continuations
token for token, and its --perplexity matches torch's WikiText-2 number.

usage: check_generation.py --lithec LITHEC --workdir DIR --model-dir examples/gpt2/lithe-tiny
           [--wikitext FILE] [--tolerance 0.005] [--precision P] [--pipeline PASSES --name N]
           [--greedy-prefix N]
"""
import argparse
import json
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--lithec", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--model-dir", required=True)
ap.add_argument("--wikitext", default="")
ap.add_argument("--tolerance", type=float, default=0.005)
ap.add_argument("--precision", default="", help="lithec --precision (e.g. bf16)")
ap.add_argument("--target", default="", help="lithec --target (e.g. cuda)")
ap.add_argument("--pipeline", default="", help="lithec --pipeline (e.g. lithe-kv-precision)")
ap.add_argument("--name", default="", help="suffix of the compiled binary's name (default: the precision)")
ap.add_argument("--greedy-prefix", type=int, default=0,
                help="compare token ids and require only the first N to agree (a lower precision "
                     "may break a near-tie later); default: the whole text")
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)
suffix = args.name or args.precision
args.exe = os.path.join(args.workdir, os.path.basename(os.path.normpath(args.model_dir)) +
                        ("-" + suffix if suffix else ""))
subprocess.run([args.lithec, os.path.join(args.model_dir, "model.onnx"), "-o", args.exe] +
               (["--precision", args.precision] if args.precision else []) +
               (["--pipeline", args.pipeline] if args.pipeline else []) +
               (["--target", args.target] if args.target else []), check=True)

gens = json.load(open(os.path.join(args.model_dir, "generations.json")))
for g in gens["generations"]:
    n = len(g["new_ids"])
    if args.greedy_prefix:
        r = subprocess.run([args.exe, "--ids", ",".join(map(str, g["prompt_ids"])), "--generate", str(n),
                            "-t", "2"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"FAIL: {args.exe} exited {r.returncode}: {r.stderr}")
        got = [int(t) for t in r.stdout.replace(",", " ").split()]
        same = next((i for i, (a, b) in enumerate(zip(got, g["new_ids"])) if a != b), min(len(got), n))
        need = min(args.greedy_prefix, n)
        status = "ok  " if same >= need else "FAIL"
        print(f"{status} greedy after {g['prompt']!r}: the first {same} of {n} tokens as torch's "
              f"(at least {need} required)")
        if status == "FAIL":
            sys.exit(1)
        continue
    r = subprocess.run([args.exe, "-p", g["prompt"], "-n", str(n), "-t", "2"], capture_output=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {args.exe} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
    got = r.stdout.decode("utf-8")
    want = g["text"] + "\n"
    if got != want:
        print(f"FAIL greedy continuation of {g['prompt']!r}:\n  got  {got!r}\n  want {want!r}")
        sys.exit(1)
    print(f"ok   greedy {n} tokens after {g['prompt']!r}")

if args.wikitext:
    ev = json.load(open(os.path.join(args.model_dir, "eval.json")))["wikitext2_raw_test"]
    r = subprocess.run([args.exe, "--perplexity", args.wikitext, "--ctx", str(ev["context"]),
                        "--stride", str(ev["stride"]), "--json", "-t", "2"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: perplexity run exited {r.returncode}: {r.stderr}")
    got = json.loads(r.stdout)
    rel = abs(got["perplexity"] - ev["ppl"]) / ev["ppl"]
    status = "ok  " if rel <= args.tolerance and got["tokens_scored"] == ev["tokens_scored"] else "FAIL"
    print(f"{status} WikiText-2 perplexity {got['perplexity']:.4f} vs torch {ev['ppl']:.4f} "
          f"(rel. diff {rel:.2e}, {got['tokens_scored']} tokens scored vs {ev['tokens_scored']}; "
          f"context {ev['context']}, stride {ev['stride']}; {got['seconds']:.1f} s)")
    if status == "FAIL":
        sys.exit(1)
