#!/usr/bin/env python3
"""Approximate simplifications: measure their perplexity cost, bound it.

usage: check_approximate.py --lithec LITHEC --workdir DIR --model MODEL.onnx
           --text FILE --pipeline PASSES --name NAME [--ctx 256 --stride 128]
           [--max-ppl-increase 0.02] [--precision bf16]

Compiles MODEL twice (as is, and with --pipeline PASSES and/or --precision), runs --perplexity
on TEXT with both, prints both numbers and fails if the simplified model's
perplexity is more than --max-ppl-increase (relative) above the original's.
(For int8 weights the published GPT-2 small measurement is +2.8%.)
"""
import argparse
import json
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--lithec", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--text", required=True)
ap.add_argument("--ctx", type=int, default=256)
ap.add_argument("--stride", type=int, default=128)
ap.add_argument("--max-ppl-increase", type=float, default=0.02)
ap.add_argument("--pipeline", default="lithe-quantize-weights")
ap.add_argument("--name", default="int8")
ap.add_argument("--precision", default="", help="lithec --precision for the simplified model (e.g. bf16)")
ap.add_argument("--target", default="", help="lithec --target for the simplified model (e.g. cuda)")
ap.add_argument("--max-ppl-change", type=float, default=0.0,
                help="bound |change| instead of the increase (a second target, not a simplification)")
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)

ppl = {}
simplified = (["--pipeline", args.pipeline] if args.pipeline else []) + \
             (["--precision", args.precision] if args.precision else []) + \
             (["--target", args.target] if args.target else [])
what = " ".join(simplified)
for name, pipe in (("base", []), (args.name, simplified)):
    exe = os.path.join(args.workdir, "approx-" + name)
    subprocess.run([args.lithec, args.model, "-o", exe] + pipe, check=True)
    r = subprocess.run([exe, "--perplexity", args.text, "--ctx", str(args.ctx), "--stride", str(args.stride),
                        "--json", "-t", "2"], check=True, capture_output=True, text=True)
    ppl[name] = json.loads(r.stdout)["perplexity"]
rel = ppl[args.name] / ppl["base"] - 1
if args.max_ppl_change:
    ok = abs(rel) <= args.max_ppl_change
    allowed = f"within {args.max_ppl_change:.1%}"
else:
    ok = rel <= args.max_ppl_increase
    allowed = f"{args.max_ppl_increase:+.1%}"
print(f"{'ok  ' if ok else 'FAIL'} perplexity base {ppl['base']:.4f}, {args.name} ({what}) "
      f"{ppl[args.name]:.4f} ({rel:+.3%}; allowed {allowed})")
sys.exit(0 if ok else 1)
