#!/usr/bin/env bash
# int8 that computes in integers (issue 14, item 3): prefill of 896 tokens and
# decode on GPT-2 small's shape, fp32 vs weight-only int8 vs integer int8, on
# the AVX-512 and AVX2 code paths (and AVX-512 with VNNI turned off),
# interleaved rounds, one JSON line per run; summarize with the median.
#   bench/int8_dot_bench.sh MODEL.onnx OUTDIR [ROUNDS] [OLD_INT8_BINARY]
# OLD_INT8_BINARY: an int8 binary compiled by an earlier lithec (the
# weight-only kernels before this change), measured beside the others.
set -euo pipefail
model=$1 out=$2 rounds=${3:-3} old=${4:-}
lithec=${LITHEC:-$(dirname "$0")/../build/bin/lithec}
mkdir -p "$out"
"$lithec" "$model" -o "$out/f32" >&2
"$lithec" "$model" --pipeline=lithe-quantize-weights -o "$out/q8" >&2
configs=("f32 avx512 auto 1" "q8 avx512 float 1" "q8 avx512 auto 1" "q8 avx512 auto 0"
         "f32 avx2 auto 1" "q8 avx2 float 1" "q8 avx2 auto 1")
if [ -n "$old" ]; then
  cp "$old" "$out/q8old"; cp "$old.lwt" "$out/q8old.lwt"
  configs+=("q8old avx512 auto 1" "q8old avx2 auto 1")
fi
for rep in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    set -- $c
    r=$(env LITHE_ISA=$2 LITHE_Q8=$3 LITHE_VNNI=$4 "$out/$1" --bench --bench-prompt 896 \
        --bench-tokens 48 -t 2 --json 2>/dev/null | tail -1)
    echo "{\"bin\":\"$1\",\"isa\":\"$2\",\"q8\":\"$3\",\"vnni\":$4,\"rep\":$rep,\"r\":$r}"
  done
done
