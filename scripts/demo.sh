#!/usr/bin/env bash
# README command (a): install what is missing, build, and run the main job on
# the bundled example. Until the ONNX importer lands, the end-to-end job is the
# lithe-level pipeline: print a GPT-2-small-shaped module and summarize it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh >/dev/null
BIN="$BUILD_DIR/bin"
ir="$BUILD_DIR/gpt2-small-shape.mlir"
python3 test/Inputs/gen_gpt2_ir.py --layers 12 --heads 12 --width 768 --vocab 50257 --ctx 1024 > "$ir"
echo "== lithe-opt: GPT-2 small's shape at the transformer level ($ir)"
"$BIN/lithe-opt" "$ir" --lithe-summarize -o /dev/null
