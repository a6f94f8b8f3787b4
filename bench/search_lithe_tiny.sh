#!/usr/bin/env bash
# The lithe-tiny searches of docs/benchmarks.md: `lithec --search` over the
# default space (LayerNorm removal, heads pruned 0..50%, 6..3 blocks kept,
# KV sharing 1/2, int8; LayerNorm folded), budget +2% on held-out Grimm,
# without adapters and with the LoRA adapter fused (budget then relative to
# the LoRA-fused model). Same text split as bench/report_lithe_tiny.sh: the
# last 20% of grimm-tales.txt held out, calibration from 40%..80%.
#   bench/search_lithe_tiny.sh [OUT_DIR]     (default docs/reports/search-lithe-tiny)
# Writes OUT_DIR/{plain,lora}/search.{md,json,svg} (binaries stay in a
# temporary directory). BUDGET, RUNS (default 5), THREADS (default 1) and
# SPACE (--search-space) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/reports/search-lithe-tiny}
DATA=${LITHE_DATA:-../shared/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 bench/grimm_split.py "$DATA/grimm-tales.txt" "$TMP"
T=examples/gpt2/lithe-tiny
for run in plain lora; do
  ADAPT=()
  [ "$run" = lora ] && ADAPT=(--adapters="$T/adapters/lora")
  mkdir -p "$TMP/$run"
  SECONDS=0
  build/bin/lithec $T/model.onnx --search --budget="${BUDGET:-+2%}" "${ADAPT[@]}" \
    --calibration="$TMP/grimm-calibration.txt" --search-calibration-tokens=2048 \
    --eval="$TMP/grimm-heldout.txt" --search-eval-tokens=4096 \
    --search-runs="${RUNS:-5}" --search-threads="${THREADS:-1}" ${SPACE:+--search-space="$SPACE"} \
    -o "$TMP/$run/model"
  echo "search_lithe_tiny: $run: ${SECONDS} s wall" >&2
  mkdir -p "$OUT/$run"
  for f in search.md search.json; do
    # The temporary paths mean nothing to a reader.
    sed "s|$TMP/||g" "$TMP/$run/$f" > "$OUT/$run/$f"
  done
  python3 bench/plot_search.py "$OUT/$run/search.json" -o "$OUT/$run/search.svg"
done
