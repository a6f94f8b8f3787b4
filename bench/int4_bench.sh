#!/usr/bin/env bash
# int4 weights (issue 14, item 4): decode (and a short prefill) on GPT-2
# small's shape with 2 threads, fp32 vs int8 vs int4 (groups of 64 and 128;
# LM head int8, or int4 too: "h"), on the AVX-512 path (VNNI where the CPU
# has it), AVX-512 without VNNI and AVX2; interleaved rounds, one JSON line
# per run; summarize with the median.
#   bench/int4_bench.sh MODEL.onnx OUTDIR [ROUNDS]
set -euo pipefail
model=$1 out=$2 rounds=${3:-5}
lithec=${LITHEC:-$(dirname "$0")/../build/bin/lithec}
mkdir -p "$out"
[ -x "$out/f32" ] || "$lithec" "$model" -o "$out/f32" >&2
[ -x "$out/q8" ] || "$lithec" "$model" --pipeline=lithe-quantize-weights -o "$out/q8" >&2
[ -x "$out/q4g64" ] || "$lithec" "$model" "--pipeline=lithe-quantize-weights{bits=4 group=64}" -o "$out/q4g64" >&2
[ -x "$out/q4g128" ] || "$lithec" "$model" "--pipeline=lithe-quantize-weights{bits=4 group=128}" -o "$out/q4g128" >&2
[ -x "$out/q4g64h" ] || "$lithec" "$model" "--pipeline=lithe-quantize-weights{bits=4 group=64 lm-head-bits=4}" \
  -o "$out/q4g64h" >&2
[ -x "$out/q4g128h" ] || "$lithec" "$model" "--pipeline=lithe-quantize-weights{bits=4 group=128 lm-head-bits=4}" \
  -o "$out/q4g128h" >&2
configs=("f32 avx512 1" "q8 avx512 1" "q4g64 avx512 1" "q4g128 avx512 1" "q4g64h avx512 1" "q4g128h avx512 1"
         "q8 avx512 0" "q4g64h avx512 0" "q8 avx2 1" "q4g64h avx2 1")
[ -n "${CONFIGS:-}" ] && IFS=';' read -r -a configs <<< "$CONFIGS"
for rep in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    set -- $c
    r=$(env LITHE_ISA=$2 LITHE_VNNI=$3 "$out/$1" --bench --bench-prompt 128 --bench-tokens 128 -t 2 --json \
        2>/dev/null | tail -1)
    echo "{\"bin\":\"$1\",\"isa\":\"$2\",\"vnni\":$3,\"rep\":$rep,\"r\":$r}"
  done
done
