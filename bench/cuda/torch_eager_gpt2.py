#!/usr/bin/env python3
"""PyTorch eager baseline on GPT-2 small's shape, batch 1, on a CUDA GPU.

The bar that issue 13's CUDA backend is measured against: HF transformers'
GPT2LMHeadModel with GPT2Config() defaults (12 layers, width 768, 12 heads,
vocab 50257), random weights (seeded; nothing is downloaded), SDPA attention.

For each precision (fp16, fp32):
  decode  : per-token latency after a 128-token prompt, HF KV cache,
            model(input_ids=next, past_key_values=cache, use_cache=True) plus a
            greedy argmax, torch.cuda.synchronize() per token; median over
            --decode tokens after --warmup tokens.
  prefill : one forward over 896 tokens with use_cache=True (all 896 rows of
            logits, as HF computes by default; also with logits_to_keep=1),
            median of --prefill-reps after 3 warm-ups.
  memory  : torch.cuda.max_memory_allocated after loading, over prefill 896,
            over prompt + decode.

Usage: python3 torch_eager_gpt2.py --json out.json
"""
import argparse
import contextlib
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel


def build(dtype):
    """Random-weight GPT-2 small, SDPA attention, on the GPU in `dtype`."""
    torch.manual_seed(0)
    config = GPT2Config()
    try:
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    except Exception as e:  # older/newer keyword sets: fall back to the plain constructor
        print(f"from_config(attn_implementation='sdpa') failed ({e!r}); using GPT2LMHeadModel(config)")
        model = GPT2LMHeadModel(config)
    model = model.to(device="cuda", dtype=dtype).eval()
    return model, config


def sync_time(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, (time.perf_counter() - t0) * 1e3


def measure(dtype, args):
    name = {torch.float16: "fp16", torch.float32: "fp32", torch.bfloat16: "bf16"}[dtype]
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model, config = build(dtype)
    torch.cuda.synchronize()
    res = {
        "precision": name,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "params": sum(p.numel() for p in model.parameters()),
        "weights_mib": torch.cuda.max_memory_allocated() / 2**20,
    }
    gen = torch.Generator(device="cpu").manual_seed(1)
    V = config.vocab_size

    with torch.inference_mode():
        # ---- prefill 896 ----
        ids = torch.randint(0, V, (1, args.prefill), generator=gen).cuda()
        for keep_all in (True, False):
            kw = {} if keep_all else {"logits_to_keep": 1}
            try:
                for _ in range(3):
                    sync_time(lambda: model(input_ids=ids, use_cache=True, **kw))
                torch.cuda.reset_peak_memory_stats()
                times = [sync_time(lambda: model(input_ids=ids, use_cache=True, **kw))[1]
                         for _ in range(args.prefill_reps)]
                key = "prefill" if keep_all else "prefill_last_logits"
                res[key] = {
                    "tokens": args.prefill, "reps": len(times),
                    "median_ms": statistics.median(times), "min_ms": min(times),
                    "tokens_per_s": args.prefill / statistics.median(times) * 1e3,
                    "peak_mib": torch.cuda.max_memory_allocated() / 2**20,
                }
            except Exception as e:  # logits_to_keep may be missing in some versions
                res["prefill" if keep_all else "prefill_last_logits"] = {"error": repr(e)}

        # ---- decode after a 128-token prompt ----
        def decode_run(n_tokens, ctx=None):
            prompt = torch.randint(0, V, (1, args.context), generator=gen).cuda()
            out = model(input_ids=prompt, use_cache=True)
            cache = out.past_key_values
            nxt = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            times = []
            with ctx or contextlib.nullcontext():
                for _ in range(n_tokens):
                    t0 = time.perf_counter()
                    out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
                    cache = out.past_key_values
                    nxt = out.logits[:, -1:].argmax(-1)
                    torch.cuda.synchronize()
                    times.append((time.perf_counter() - t0) * 1e3)
            return times

        decode_run(args.warmup)  # warm-up on its own prompt and cache
        torch.cuda.reset_peak_memory_stats()
        times = decode_run(args.warmup + args.decode)[args.warmup:]
        res["decode"] = {
            "context": args.context, "warmup_tokens": args.warmup, "tokens": len(times),
            "positions": [args.context + args.warmup, args.context + args.warmup + len(times) - 1],
            "median_ms": statistics.median(times), "min_ms": min(times),
            "p90_ms": sorted(times)[int(0.9 * len(times))],
            "tokens_per_s": 1e3 / statistics.median(times),
            "peak_mib": torch.cuda.max_memory_allocated() / 2**20,
            "times_ms": [round(t, 3) for t in times],
        }
        if args.profile:  # where the time of a few decode tokens goes (log only)
            from torch.profiler import ProfilerActivity, profile
            prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
            decode_run(args.profile, ctx=prof)  # profiles the token loop only
            for key in ("self_cpu_time_total", "self_device_time_total"):
                print(f"--- {name}: profile of {args.profile} decode tokens, by {key}")
                try:
                    print(prof.key_averages().table(sort_by=key, row_limit=12))
                except Exception as e:  # the key's name differs between torch versions
                    print(f"(no table: {e!r})")
    del model
    torch.cuda.empty_cache()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--decode", type=int, default=100)
    ap.add_argument("--prefill", type=int, default=896)
    ap.add_argument("--prefill-reps", type=int, default=10)
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--profile", type=int, default=0, help="profile this many decode tokens per precision")
    args = ap.parse_args()

    dtypes = {"fp16": torch.float16, "fp32": torch.float32, "bf16": torch.bfloat16}
    report = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "model": "GPT2LMHeadModel(GPT2Config()) random weights, seed 0",
        "batch": 1, "results": [],
    }
    for p in args.precisions.split(","):
        try:
            r = measure(dtypes[p], args)
        except Exception as e:
            r = {"precision": p, "error": repr(e)}
        report["results"].append(r)
        print(json.dumps(r, indent=1), flush=True)
        if args.json:  # rewrite after each precision: a later failure keeps the earlier numbers
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)

    print("\nprecision | decode ms/token (median) | prefill 896 ms (all logits / last) | peak MiB decode / prefill")
    for r in report["results"]:
        if "error" in r:
            print(f"{r['precision']}: ERROR {r['error']}")
            continue
        d, p, pl = r["decode"], r.get("prefill", {}), r.get("prefill_last_logits", {})
        print(f"{r['precision']} | {d['median_ms']:.3f} | {p.get('median_ms', float('nan')):.2f} / "
              f"{pl.get('median_ms', float('nan')):.2f} | {d['peak_mib']:.0f} / {p.get('peak_mib', float('nan')):.0f}")
    return 0 if all("error" not in r for r in report["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
