#!/usr/bin/env bash
# README command (a): install what is missing, build, compile the bundled
# GPT-2 (lithe-tiny) ahead of time and answer a prompt.
#   scripts/demo.sh ["your prompt"]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh >/dev/null
PROMPT=${1:-"The history of the United States"}
MODEL=examples/gpt2/lithe-tiny/model.onnx
OUT="$BUILD_DIR/demo/lithe-tiny"
mkdir -p "$BUILD_DIR/demo"
if [ ! -x "$OUT" ] || [ "$MODEL" -nt "$OUT" ] || [ "$BUILD_DIR/bin/lithec" -nt "$OUT" ]; then
  echo "== lithec $MODEL -o $OUT"
  "$BUILD_DIR/bin/lithec" --describe "$MODEL" | sed -n '1,12p'
  "$BUILD_DIR/bin/lithec" "$MODEL" -o "$OUT"
fi
echo "== $OUT -p \"$PROMPT\" -n 48    (greedy)"
"$OUT" -p "$PROMPT" -n 48
# Greedy decoding of a small model loops; sampling with a repeat penalty reads better.
SAMPLE=(--temp 0.7 --top-k 40 --top-p 0.9 --repeat-penalty 1.1 --seed 1)
echo "== $OUT -p \"$PROMPT\" -n 48 ${SAMPLE[*]}"
"$OUT" -p "$PROMPT" -n 48 "${SAMPLE[@]}"
