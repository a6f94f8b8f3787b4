#!/usr/bin/env bash
# f16 and int8 KV caches (issue 14, item 5): decode speed and peak memory
# with float32, f16 and int8 caches (lithe-kv-precision), fp32 and int8 weights, a short and a
# long context (PROMPTS, default "128 1000": decode runs after that many
# cached tokens, up to 1024), interleaved rounds; prints one JSON line per
# run, then the medians and f16/f32 ratios.
#   bench/kv_cache_bench.sh MODEL.onnx OUTDIR [ROUNDS]
set -euo pipefail
model=$1 out=$2 rounds=${3:-3}
prompts=${PROMPTS:-"128 1000"} tokens=${TOKENS:-24} threads=${THREADS:-2}
lithec=${LITHEC:-$(dirname "$0")/../build/bin/lithec}
mkdir -p "$out"
"$lithec" "$model" -o "$out/f32" >&2
"$lithec" "$model" --pipeline=lithe-kv-precision -o "$out/f32-kv16" >&2
"$lithec" "$model" --pipeline=lithe-quantize-weights -o "$out/q8" >&2
"$lithec" "$model" --pipeline=lithe-quantize-weights,lithe-kv-precision -o "$out/q8-kv16" >&2
"$lithec" "$model" --pipeline="lithe-kv-precision{type=int8}" -o "$out/f32-kv8" >&2
"$lithec" "$model" --pipeline="lithe-quantize-weights,lithe-kv-precision{type=int8}" -o "$out/q8-kv8" >&2
for rep in $(seq "$rounds"); do
  for p in $prompts; do
    for b in f32 f32-kv16 f32-kv8 q8 q8-kv16 q8-kv8; do
      r=$("$out/$b" --bench --bench-prompt "$p" --bench-tokens "$tokens" --bench-runs 1 -t "$threads" --json 2>/dev/null | tail -1)
      echo "{\"bin\":\"$b\",\"prompt\":$p,\"rep\":$rep,\"r\":$r}"
    done
  done
done | tee "$out/runs.jsonl"
python3 - "$out/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for key in sorted({(r["bin"], r["prompt"]) for r in runs}):
    rs = [r["r"] for r in runs if (r["bin"], r["prompt"]) == key]
    med[key] = {k: statistics.median(x[k] for x in rs) for k in ("decode_tokens_per_s", "peak_rss_bytes")}
    med[key]["spread"] = (min(x["decode_tokens_per_s"] for x in rs), max(x["decode_tokens_per_s"] for x in rs))
    med[key]["kv"] = rs[0]["kv_bytes_per_token"]
print("| weights | cached tokens | KV | decode tok/s (min-max) | vs f32 KV | peak RSS MiB | KV bytes/token |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
for (b, p), m in sorted(med.items(), key=lambda kv: (kv[0][0].split("-")[0], kv[0][1], kv[0][0])):
    w = b.split("-")[0]
    ratio = m["decode_tokens_per_s"] / med[(w, p)]["decode_tokens_per_s"]
    kv = 'f16' if b.endswith('kv16') else 'int8' if b.endswith('kv8') else 'f32'
    print(f"| {w} | {p} | {kv} | {m['decode_tokens_per_s']:.1f} "
          f"({m['spread'][0]:.1f}-{m['spread'][1]:.1f}) | {ratio:.2f} | {m['peak_rss_bytes'] / 2**20:.0f} | {m['kv']} |")
PY
