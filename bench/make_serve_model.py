"""One Hugging Face checkpoint of GPT-2 small's shape (seeded random weights) and its ONNX
export, so that Lithe and llama.cpp serve the very same weights.

    python3 bench/make_serve_model.py /work/serve-models [--seed 0]

writes
    OUT/hf/          config.json, model.safetensors, GPT-2 tokenizer files (from shared/data)
    OUT/model.onnx   TorchScript export, opset 17, with past (as examples/gpt2/make_gpt2_small.py)
The GGUF is made from OUT/hf by llama.cpp's convert_hf_to_gguf.py (bench/serve_peers.sh).

Shape and init are those of examples/gpt2/make_gpt2_small.py: 12 layers, 12 heads, n_embd
768, vocab 50257, n_positions 1024, tied embeddings, gelu_new, transformers' GPT-2 init under
torch.manual_seed(seed). The ONNX is exported from the model re-loaded from OUT/hf, not from
the in-memory one, so both files provably come from the saved checkpoint. Idempotent: an
existing OUT/hf or OUT/model.onnx is kept (--force remakes them).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "examples" / "gpt2"))
import export_util as E  # noqa: E402


def find_tokenizer_dir() -> Path:
    for p in (REPO.parent / "shared" / "data" / "gpt2-tokenizer",
              Path("/work/shared/data/gpt2-tokenizer")):
        if (p / "encoder.json").exists():
            return p
    sys.exit("GPT-2 tokenizer files (shared/data/gpt2-tokenizer) not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--no-constant-folding", action="store_true")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    hf = args.out / "hf"
    onnx_path = args.out / "model.onnx"
    if args.force:
        shutil.rmtree(hf, ignore_errors=True)
        onnx_path.unlink(missing_ok=True)
    if not (hf / "config.json").exists():
        cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                         activation_function="gelu_new", tie_word_embeddings=True,
                         bos_token_id=50256, eos_token_id=50256)
        torch.manual_seed(args.seed)
        model = GPT2LMHeadModel._from_config(cfg, attn_implementation="eager").eval()
        tmp = hf.with_name(hf.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        # transformers 5 no longer writes n_ctx; GPT-2's published config.json has it and
        # llama.cpp's convert_hf_to_gguf.py (GPT2Model) reads it.
        cj = json.loads((tmp / "config.json").read_text())
        cj.setdefault("n_ctx", cfg.n_positions)
        (tmp / "config.json").write_text(json.dumps(cj, indent=2, sort_keys=True) + "\n")
        tok_dir = find_tokenizer_dir()
        # encoder.json / vocab.bpe are HF's vocab.json / merges.txt (shared/data/README.md)
        shutil.copy(tok_dir / "encoder.json", tmp / "vocab.json")
        shutil.copy(tok_dir / "vocab.bpe", tmp / "merges.txt")
        # transformers 5 renamed the constructor's file arguments (vocab/merges): load the
        # directory instead, as examples/gpt2/common.py does, and check the vocabulary.
        tok = GPT2Tokenizer.from_pretrained(str(tmp), local_files_only=True)
        tok.model_max_length = 1024
        if len(tok) != 50257 or tok("Hello world")["input_ids"] != [15496, 995]:
            sys.exit(f"tokenizer in {tmp} is not GPT-2's ({len(tok)} entries)")
        tok.save_pretrained(tmp)
        (tmp / "SEED").write_text(f"torch.manual_seed({args.seed})\n")
        tmp.rename(hf)
        n = sum(p.numel() for p in model.parameters())
        print(f"wrote {hf} ({n / 1e6:.1f}M params, seed {args.seed})")
    if not onnx_path.exists():
        model = GPT2LMHeadModel.from_pretrained(hf, attn_implementation="eager").eval()
        t = time.time()
        tmp = onnx_path.with_name("model.tmp.onnx")
        E.export_torchscript(model, tmp, args.opset, True,
                             do_constant_folding=not args.no_constant_folding)
        tmp.rename(onnx_path)
        print(f"exported {onnx_path} in {time.time() - t:.0f}s, "
              f"{onnx_path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
