#!/usr/bin/env bash
# Prompt reuse on a shared beginning: 32 batch-mode requests (--batch 8,
# greedy, 32 tokens each) whose prompts share a ~400-token beginning (a
# passage of Grimm standing in for a system prompt) and end in different
# questions, run with --prompt-cache 0 and with the default, in alternating
# rounds; prints wall time, tokens/s and whether the completions agree.
#
# usage: bench/prompt_cache_bench.sh EXECUTABLE [ROUNDS] [TOKENIZER_DIR]
#        (EXECUTABLE: a lithec-compiled model, e.g. GPT-2 small's shape)
set -euo pipefail
exe=$1 rounds=${2:-2}
tok=${3:-$(dirname "$0")/../examples/gpt2/lithe-tiny/tokenizer}
data=$(dirname "$0")/../../shared/data/grimm-tales.txt
[ -f "$data" ] || data=/work/shared/data/grimm-tales.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$data" "$work/in.jsonl" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
shared = text[20000:21400]
qs = [q.strip() for q in text[60000:80000].split("\n") if len(q.strip()) > 60][:32]
with open(sys.argv[2], "w") as f:
    for i, q in enumerate(qs):
        f.write(json.dumps({"id": i, "prompt": shared + "\n\nQuestion: " + q[:100] + "\nAnswer:",
                            "max_tokens": 32, "temperature": 0}) + "\n")
PY
for r in $(seq "$rounds"); do
  for pc in 0 8; do
    t0=$(date +%s.%N)
    "$exe" --prompts "$work/in.jsonl" --out "$work/out$pc.jsonl" --batch 8 -t 2 --prompt-cache $pc \
      --tokenizer "$tok" 2>/dev/null
    t1=$(date +%s.%N)
    python3 - "$work/out$pc.jsonl" "$pc" "$t0" "$t1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
wall = float(sys.argv[4]) - float(sys.argv[3])
gen = sum(r["completion_tokens"] for r in rows)
lat = sorted(r["latency_ms"] for r in rows)
print(f"--prompt-cache {sys.argv[2]}: wall {wall:.2f} s, {gen / wall:.1f} generated tok/s, latency p50 "
      f"{lat[len(lat) // 2]:.0f} ms p95 {lat[int(len(lat) * 0.95)]:.0f} ms, prompt tokens "
      f"{sum(r['prompt_tokens'] for r in rows)}, reused {sum(r.get('prompt_tokens_cached', 0) for r in rows)}")
PY
  done
done
python3 -c "
import json, sys
a, b = ([json.loads(l)['completion'] for l in open(p)] for p in sys.argv[1:])
print('completions identical with and without reuse:', a == b)" "$work/out0.jsonl" "$work/out8.jsonl"
