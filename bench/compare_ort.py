#!/usr/bin/env python3
"""Lithe vs ONNX Runtime on one model, side by side, in one run.

    python3 bench/compare_ort.py --model gpt2-small.onnx [--threads 2]
        [--context 128] [--decode 64] [--prefill 896] [--lithec build/bin/lithec]

Compiles the model with lithec, then measures, with the same thread count:
  * decode at batch 1 after a `--context`-token prompt: tokens/s, p50/p95 ms
  * prefill of `--prefill` tokens: tokens/s
  * peak resident memory of each engine (each runs in its own process)
and prints both and the ratios (Lithe / ORT; >1 means Lithe is better, for
memory the ratio is ORT / Lithe). `--sweep 128,256,512,1024` also records how
decode time grows with context. `--json FILE` writes the numbers.

The model must take input_ids and past_key_values.* and return logits and
present.* (examples/gpt2/make_gpt2_small.py makes GPT-2 small's shape).
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ORT_WORKER = r'''
import json, resource, sys, time
import numpy as np
import onnxruntime as ort
path, threads, context, decode, prefill = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inputs = {i.name: i for i in sess.get_inputs()}
past_names = [n for n in inputs if n.startswith("past_key_values")]
def empty_past():
    out = {}
    for n in past_names:
        shape = [1 if d in ("batch", "batch_size") or d is None else (0 if isinstance(d, str) else d) for d in inputs[n].shape]
        shape = [1, shape[1], 0, shape[3]]
        out[n] = np.zeros(shape, np.float32)
    return out
out_names = [o.name for o in sess.get_outputs()]
def run(ids, past):
    feed = {"input_ids": ids[None, :].astype(np.int64)}
    feed.update(past)
    res = sess.run(None, feed)
    new_past = {}
    for name, val in zip(out_names, res):
        if name.startswith("present"):
            new_past[name.replace("present", "past_key_values")] = val
    return res[0], new_past
rng = np.random.default_rng(0)
vocab = 50257
ids = rng.integers(0, vocab, size=context).astype(np.int64)
# decode after `context` tokens
run(ids[:8], empty_past())  # warm up
best_prefill_ctx = None
lat = []
for rep in range(2):
    logits, past = run(ids, empty_past())
    tok = int(np.argmax(logits[0, -1]))
    for i in range(decode):
        t0 = time.perf_counter()
        logits, past = run(np.array([tok]), past)
        lat.append(time.perf_counter() - t0)
        tok = int(np.argmax(logits[0, -1]))
pids = rng.integers(0, vocab, size=prefill).astype(np.int64)
pre = []
for rep in range(2):
    t0 = time.perf_counter()
    run(pids, empty_past())
    pre.append(time.perf_counter() - t0)
lat = np.array(lat)
print(json.dumps({"decode_tokens_per_s": 1.0 / lat.mean(), "decode_ms_p50": 1e3 * float(np.percentile(lat, 50)),
                  "decode_ms_p95": 1e3 * float(np.percentile(lat, 95)), "prefill_tokens_per_s": prefill / min(pre),
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
'''


def lithe_bench(exe, threads, context, decode, prefill):
    def run(prompt, tokens):
        r = subprocess.run([exe, "--bench", "--json", "-t", str(threads), "--bench-prompt", str(prompt),
                            "--bench-tokens", str(tokens), "--bench-runs", "2"],
                           check=True, capture_output=True, text=True)
        return json.loads(r.stdout)
    d = run(context, decode)
    p = run(prefill, 1)
    return {"decode_tokens_per_s": d["decode_tokens_per_s"], "decode_ms_p50": d["decode_ms_p50"],
            "decode_ms_p95": d["decode_ms_p95"], "prefill_tokens_per_s": p["prefill_tokens_per_s"],
            "peak_rss_bytes": max(d["peak_rss_bytes"], p["peak_rss_bytes"]), "kv_cache_bytes": d["kv_cache_bytes"]}


def ort_bench(model, threads, context, decode, prefill):
    r = subprocess.run([sys.executable, "-c", ORT_WORKER, model, str(threads), str(context), str(decode), str(prefill)],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--lithec", default="build/bin/lithec")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--prefill", type=int, default=896)
    ap.add_argument("--sweep", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--pipeline", default="", help="lithec --pipeline for the Lithe side (e.g. lithe-quantize-weights)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="lithe-bench-")
    exe = os.path.join(work, "model")
    t0 = time.time()
    subprocess.run([args.lithec, args.model, "-o", exe] + (["--pipeline", args.pipeline] if args.pipeline else []),
                   check=True)
    compile_s = time.time() - t0
    lithe = lithe_bench(exe, args.threads, args.context, args.decode, args.prefill)
    ort = ort_bench(args.model, args.threads, args.context, args.decode, args.prefill)
    import onnxruntime
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "onnxruntime": onnxruntime.__version__, "threads": args.threads, "model": args.model,
        "compile_seconds": compile_s, "pipeline": args.pipeline, "lithe": lithe, "ort": ort,
        "ratios": {
            "decode_tokens_per_s": lithe["decode_tokens_per_s"] / ort["decode_tokens_per_s"],
            "prefill_tokens_per_s": lithe["prefill_tokens_per_s"] / ort["prefill_tokens_per_s"],
            "decode_p95": ort["decode_ms_p95"] / lithe["decode_ms_p95"],
            "peak_rss": ort["peak_rss_bytes"] / lithe["peak_rss_bytes"],
        },
    }
    print(f"{'':24}{'Lithe':>12}{'ORT':>12}{'ratio':>8}")
    for key, label, scale in (("decode_tokens_per_s", f"decode tok/s @{args.context}", 1),
                              ("decode_ms_p50", "decode p50 ms", 1), ("decode_ms_p95", "decode p95 ms", 1),
                              ("prefill_tokens_per_s", f"prefill tok/s ({args.prefill})", 1),
                              ("peak_rss_bytes", "peak RSS MiB", 1 / 1048576)):
        lv, ov = lithe[key] * scale, ort[key] * scale
        ratio = lv / ov if "per_s" in key else ov / lv
        print(f"{label:24}{lv:12.2f}{ov:12.2f}{ratio:8.2f}")
    if args.sweep:
        # Decode 32 tokens ending at each context length.
        result["sweep"] = []
        print(f"{'decode ms/token, context':24}{'Lithe':>12}{'ORT':>12}{'ratio':>8}")
        for ctx in [int(c) for c in args.sweep.split(",")]:
            lv = lithe_bench(exe, args.threads, ctx - 32, 32, 8)
            ov = ort_bench(args.model, args.threads, ctx - 32, 32, 8)
            lm, om = 1e3 / lv["decode_tokens_per_s"], 1e3 / ov["decode_tokens_per_s"]
            result["sweep"].append({"context": ctx, "lithe_ms_per_token": lm, "ort_ms_per_token": om})
            print(f"{ctx:24d}{lm:12.2f}{om:12.2f}{om / lm:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
