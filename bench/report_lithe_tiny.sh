#!/usr/bin/env bash
# The lithe-tiny simplification report of docs/benchmarks.md: every
# simplification (and the LN-free variant, and the adapters) side by side on
# held-out Grimm, written to docs/reports/lithe-tiny (or $1).
#   bench/report_lithe_tiny.sh [OUT_DIR]
# Speed: median of RUNS (default 7) --bench runs (TOKENS decoded, default
# 128, after a 128-token prompt) per row, interleaved across
# rows after a warm-up round, on THREADS threads (default 1: this is a shared
# 2-core VM, and one thread is the least disturbed by a neighbour's job).
# SPEED_MODEL=FILE takes speed from that model instead (e.g. GPT-2 small's
# shape with random weights, examples/gpt2/make_gpt2_small.py or
# examples/gpt2/scale_gpt2.py): perplexity stays lithe-tiny's, and the
# data-driven rows are timed with the explicit choice of the same size.
# ROWS=NAME,NAME,... keeps only those rows. The plot (report.png, report.svg)
# is drawn by bench/plot_report.py. docs/reports/lithe-tiny-gpt2-small-speed
# is this script with SPEED_MODEL and ROWS set (its report.md says how).
# Text: the last 20% of grimm-tales.txt (cut at a line start), which the
# adapters never saw; calibration (for the data-driven passes): 2048 tokens
# of the adapters' training part from its middle (40%..80%: the first pages
# are Project Gutenberg's licence and contents, which lithe-tiny saw in
# training and which misrepresent the tales). Context 256, stride 128.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/reports/lithe-tiny}
DATA=${LITHE_DATA:-../shared/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 bench/grimm_split.py "$DATA/grimm-tales.txt" "$TMP"
T=examples/gpt2/lithe-tiny
A=$T/adapters
CAL="calibration=$TMP/grimm-calibration.txt calibration-tokens=2048"
P="lnfree@$T/lnfree/model-noln.onnx"
P+="|lnfree+lora@$T/lnfree/model-noln.onnx=lithe-fuse-adapters{adapters=$A/lnfree-lora}"
P+="|lora=lithe-fuse-adapters{adapters=$A/lora}"
P+="|ia3=lithe-fuse-adapters{adapters=$A/ia3}"
P+="|bitfit=lithe-fuse-adapters{adapters=$A/bitfit}"
P+="|lora+int8=lithe-fuse-adapters{adapters=$A/lora},lithe-quantize-weights"
P+="|int8=lithe-quantize-weights"
P+="|ln-removed-calibrated=lithe-remove-layernorm{$CAL},lithe-fold-layernorm"
P+="|prune-25%-explicit=lithe-prune-heads{heads=0:0,1/1:0,1/2:0,1/3:0,1/4:0,1/5:0,1}"
P+="|prune-25%-importance=lithe-prune-heads{fraction=0.25 $CAL}"
P+="|drop-1-explicit=lithe-drop-layers{layers=4}"
P+="|drop-1-bi=lithe-drop-layers{keep=5 $CAL}"
P+="|drop-1-loss=lithe-drop-layers{keep=5 metric=loss $CAL}"
P+="|share-kv=lithe-share-kv{group=2}"
P+="|simplify=lithe-simplify{adapters=$A/lora remove-layernorm=true prune-heads=0.25 quantize=true $CAL}"
P+="|lnfree+lora+simplify@$T/lnfree/model-bigeps.onnx=lithe-simplify{adapters=$A/lnfree-lora remove-layernorm=true prune-heads=0.25 quantize=true $CAL}"
# ROWS=a,b,c keeps only those rows (the baseline always stays).
keep_rows() {
  local out="" e n
  IFS='|' read -r -a ENTRIES <<< "$1"
  for e in "${ENTRIES[@]}"; do
    n=${e%%[=@]*}
    case ",$ROWS," in *",$n,"*) out+="${out:+|}$e" ;; esac
  done
  echo "$out"
}
[ -n "${ROWS:-}" ] && P=$(keep_rows "$P")
SPEED=()
if [ -n "${SPEED_MODEL:-}" ]; then
  # Calibrated choices would take hours on GPT-2 small here; what matters
  # for speed is the shape, so those rows are timed with an explicit choice
  # of the same size (3 of 12 heads per layer, one block; LayerNorm removal
  # calibrated on 64 tokens).
  C64="calibration=$TMP/grimm-calibration.txt calibration-tokens=64"
  H=$(python3 -c "print('/'.join(f'{l}:0,1,2' for l in range(12)))")
  S="prune-25%-explicit=lithe-prune-heads{heads=$H}"
  S+="|prune-25%-importance=lithe-prune-heads{heads=$H}"
  S+="|drop-1-bi=lithe-drop-layers{layers=8}|drop-1-loss=lithe-drop-layers{layers=8}|drop-1-explicit=lithe-drop-layers{layers=8}"
  S+="|ln-removed-calibrated=lithe-remove-layernorm{$C64},lithe-fold-layernorm"
  S+="|simplify=lithe-remove-layernorm{$C64},lithe-prune-heads{heads=$H},lithe-quantize-weights"
  S+="|lnfree+lora+simplify=lithe-remove-layernorm{$C64},lithe-prune-heads{heads=$H},lithe-quantize-weights"
  [ -n "${ROWS:-}" ] && S=$(keep_rows "$S")
  SPEED=(--report-speed-model "$SPEED_MODEL" --report-speed-pipelines "$S")
fi
# The binaries go to the temporary directory; the report files to OUT.
build/bin/lithec $T/model.onnx --report "$TMP/report" --report-text "$TMP/grimm-heldout.txt" \
  --report-ctx 256 --report-stride 128 --report-runs "${RUNS:-7}" --report-threads "${THREADS:-1}" \
  --report-bench-tokens "${TOKENS:-128}" \
  "${SPEED[@]}" --report-pipelines "$P"
mkdir -p "$OUT"
for f in report.md report.json; do
  # The temporary text paths mean nothing to a reader.
  sed "s|$TMP/||g" "$TMP/report/$f" > "$OUT/$f"
done
python3 bench/plot_report.py "$OUT/report.json" -o "$OUT/report"
