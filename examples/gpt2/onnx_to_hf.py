"""Rebuild the lithe-tiny Hugging Face checkpoint from the committed ONNX model.

    python3 examples/gpt2/onnx_to_hf.py [--onnx examples/gpt2/lithe-tiny/model.onnx]
                                        [--out examples/gpt2/_work/lithe-tiny-hf]

The HF checkpoint (config.json + model.safetensors, 22 MB) is not committed to
stay within the size budget.  lithe-tiny/model.onnx was exported with
do_constant_folding=False, so every parameter is an initializer named
`m.<HF parameter name>` holding the exact float32 values; this script copies
them back into a GPT2LMHeadModel with the lithe-tiny config (bit-exact).
(Alternatively re-run train_lithe_tiny.py: seeded, but CPU training is only
bit-reproducible on the same machine/thread count.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def hf_from_onnx(onnx_path, config=None):
    import onnx
    from onnx import numpy_helper
    from transformers import GPT2LMHeadModel
    m = onnx.load(str(onnx_path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    # The TorchScript exporter de-duplicates byte-identical parameters (e.g.
    # all-zero biases of an untrained model): the duplicate becomes an
    # Identity node whose output carries the parameter's name.
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            inits.setdefault(n.output[0], inits[n.input[0]])
    model = GPT2LMHeadModel._from_config(config or C.lithe_tiny_config(), attn_implementation="eager")
    sd = model.state_dict()
    new = {}
    for k in sd:
        src = "m." + k
        if src not in inits:
            if k == "lm_head.weight":       # tied to transformer.wte.weight
                continue
            raise KeyError(f"{src} not in ONNX initializers")
        a = inits[src]
        assert tuple(a.shape) == tuple(sd[k].shape), (k, a.shape, sd[k].shape)
        new[k] = torch.from_numpy(np.array(a))
    missing, unexpected = model.load_state_dict(new, strict=False)
    assert set(missing) <= {"lm_head.weight"} and not unexpected, (missing, unexpected)
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default=str(C.TINY_DIR / "model.onnx"))
    ap.add_argument("--out", default=str(C.WORK_DIR / "lithe-tiny-hf"))
    args = ap.parse_args()
    model = hf_from_onnx(args.onnx)
    model.save_pretrained(args.out, safe_serialization=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
