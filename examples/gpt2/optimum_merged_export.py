"""Run INSIDE the optimum-onnx venv (make_optimum_fixtures.sh).  optimum-onnx 0.1.0 exports a
decoder as ONE with-past model.onnx and no longer offers the legacy decoder_model /
decoder_with_past_model split whose post-processing merged them; this reproduces that path with
optimum's own pieces:
  1. main_export(task="text-generation-with-past", custom_onnx_configs={"model":
     GPT2OnnxConfig(use_past=True, use_past_in_inputs=False)})  -> decoder_model.onnx
     (no past inputs, present outputs; what the legacy export called decoder_model.onnx)
  2. optimum.onnx.merge_decoders(decoder_model.onnx, <default with-past model.onnx>)
     -> decoder_model_merged.onnx (If on use_cache_branch), as optimum's
     TextDecoderOnnxConfig.post_process_exported_models does.

    python optimum_merged_export.py HF_DIR WITH_PAST_ONNX OUT_DIR
"""
import shutil
import sys
from pathlib import Path

from transformers import AutoConfig
from optimum.exporters.onnx import main_export
from optimum.exporters.onnx.model_configs import GPT2OnnxConfig
from optimum.onnx import merge_decoders

hf, with_past, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
cfg = AutoConfig.from_pretrained(hf)
tmp = out / "_decoder"
main_export(hf, output=tmp, task="text-generation-with-past",
            custom_onnx_configs={"model": GPT2OnnxConfig(cfg, task="text-generation", use_past=True,
                                                         use_past_in_inputs=False)})
shutil.copy(tmp / "model.onnx", out / "decoder_model.onnx")
shutil.rmtree(tmp)
merge_decoders(decoder=out / "decoder_model.onnx", decoder_with_past=with_past,
               save_path=out / "decoder_model_merged.onnx")
print("wrote", out / "decoder_model_merged.onnx")
