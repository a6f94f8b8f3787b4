#!/usr/bin/env bash
# optimum-onnx exports of the tiny GPT-2 for the export matrix (make_export_matrix.py group B).
#
#   bash examples/gpt2/make_optimum_fixtures.sh HF_DIR OUT_DIR
#
# HF_DIR: the tiny model saved by make_export_matrix.save_hf() (save_pretrained, no tokenizer).
# optimum-onnx needs transformers < 4.58, so it gets its own venv:
# examples/gpt2/_work/venv-optimum (created on first use, pinned below).
# Writes OUT_DIR/{with-past,merged,no-past,with-past-nopost}/..., OUT_DIR/commands.json, OUT_DIR/versions.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
HF="$1"
OUT="$2"
VENV="${OPTIMUM_VENV:-$HERE/_work/venv-optimum}"
if [ ! -x "$VENV/bin/optimum-cli" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q torch==2.15.0 "optimum-onnx[onnxruntime]==0.1.0" "transformers<4.58" \
      onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6
fi
CLI="$VENV/bin/optimum-cli"
rm -rf "$OUT"
mkdir -p "$OUT"
C1="optimum-cli export onnx --model HF_DIR --task text-generation-with-past OUT/with-past"
C2="python examples/gpt2/optimum_merged_export.py HF_DIR OUT/with-past/model.onnx OUT/merged (optimum main_export(custom_onnx_configs={'model': GPT2OnnxConfig(use_past=True, use_past_in_inputs=False)}) -> decoder_model.onnx; optimum.onnx.merge_decoders(decoder_model.onnx, with-past model.onnx) -> decoder_model_merged.onnx)"
C4="optimum-cli export onnx --model HF_DIR --task text-generation-with-past --no-post-process OUT/with-past-nopost"
C3="optimum-cli export onnx --model HF_DIR --task text-generation OUT/no-past"
"$CLI" export onnx --model "$HF" --task text-generation-with-past "$OUT/with-past"
mkdir -p "$OUT/merged"
"$VENV/bin/python" "$HERE/optimum_merged_export.py" "$HF" "$OUT/with-past/model.onnx" "$OUT/merged"
"$CLI" export onnx --model "$HF" --task text-generation-with-past --no-post-process "$OUT/with-past-nopost"
"$CLI" export onnx --model "$HF" --task text-generation "$OUT/no-past"
cat > "$OUT/commands.json" <<JSON
{"with-past": "$C1", "merged": "$C2", "no-past": "$C3", "with-past-nopost": "$C4"}
JSON
"$VENV/bin/python" - "$OUT/versions.json" <<'PY'
import json, sys
from importlib.metadata import version
v = {p: version(p) for p in ("optimum-onnx", "optimum", "transformers", "torch", "onnx", "onnxruntime", "numpy")}
json.dump(v, open(sys.argv[1], "w"), indent=1)
print(v)
PY
