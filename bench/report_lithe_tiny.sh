#!/usr/bin/env bash
# The lithe-tiny simplification report of docs/benchmarks.md: every
# simplification (and the LN-free variant, and the adapters) side by side on
# held-out Grimm, written to docs/reports/lithe-tiny (or $1).
#   bench/report_lithe_tiny.sh [OUT_DIR]
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
python3 - "$DATA/grimm-tales.txt" "$TMP" <<'PY'
import sys
t = open(sys.argv[1], encoding="utf-8").read()
c = t.find("\n", int(len(t) * 0.8)) + 1
a = t.find("\n", int(len(t) * 0.4)) + 1
open(sys.argv[2] + "/grimm-heldout.txt", "w", encoding="utf-8").write(t[c:])
open(sys.argv[2] + "/grimm-calibration.txt", "w", encoding="utf-8").write(t[a:c])
PY
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
# The binaries go to the temporary directory; the report files to OUT.
build/bin/lithec $T/model.onnx --report "$TMP/report" --report-text "$TMP/grimm-heldout.txt" \
  --report-ctx 256 --report-stride 128 --report-pipelines "$P"
mkdir -p "$OUT"
for f in report.md report.json report.svg; do
  # The temporary text paths mean nothing to a reader.
  sed "s|$TMP/||g" "$TMP/report/$f" > "$OUT/$f"
done
