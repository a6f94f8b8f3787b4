#!/usr/bin/env python3
"""int8 weights are approximate: measure their cost, check it is small.

usage: check_quantized.py --lithec LITHEC --workdir DIR --model MODEL.onnx
           --text FILE [--ctx 256 --stride 128] [--max-ppl-increase 0.02]

Compiles MODEL twice (fp32, and with --pipeline=lithe-quantize-weights),
runs --perplexity on TEXT with both, and fails if the int8 perplexity is more
than --max-ppl-increase (relative) above the fp32 one. The published
measurement for GPT-2 small is +2.8% (29.96 -> 30.81 on WikiText-2); lithe-tiny
should do no worse.
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
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)

ppl = {}
for name, pipe in (("fp32", []), ("int8", ["--pipeline", "lithe-quantize-weights"])):
    exe = os.path.join(args.workdir, "quant-" + name)
    subprocess.run([args.lithec, args.model, "-o", exe] + pipe, check=True)
    r = subprocess.run([exe, "--perplexity", args.text, "--ctx", str(args.ctx), "--stride", str(args.stride),
                        "--json", "-t", "2"], check=True, capture_output=True, text=True)
    ppl[name] = json.loads(r.stdout)["perplexity"]
rel = ppl["int8"] / ppl["fp32"] - 1
ok = rel <= args.max_ppl_increase
print(f"{'ok  ' if ok else 'FAIL'} perplexity fp32 {ppl['fp32']:.4f}, int8 {ppl['int8']:.4f} "
      f"({rel:+.3%}; allowed {args.max_ppl_increase:+.1%})")
sys.exit(0 if ok else 1)
