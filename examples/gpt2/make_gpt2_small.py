"""Build a GPT-2-small-shaped model (124M params) with random weights and export it to ONNX.

    python3 examples/gpt2/make_gpt2_small.py /tmp/gpt2-small.onnx [--check]

For benchmarks only: made on demand, never committed (~650 MB with the default
constant folding, which adds a transposed 50257x768 copy of the embedding as
the lm_head initializer; ~500 MB with --no-constant-folding).

Shape: 12 layers, 12 heads, n_embd 768, vocab 50257, n_positions 1024, tied
embeddings, gelu_new.  Weights: transformers' GPT-2 init (N(0, 0.02), residual
projections c_proj scaled by 1/sqrt(2*n_layer), LN gamma=1, beta=0, biases 0)
under torch.manual_seed(seed).  Export: TorchScript exporter, opset 17, with
past key/values (inputs input_ids, past_key_values.{i}.key/value; outputs
logits, present.{i}.key/value; dynamic batch/sequence/past_sequence), no
attention_mask input.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_util as E  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output", help="path of the .onnx file to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--no-constant-folding", action="store_true",
                    help="do_constant_folding=False: no transposed lm_head copy of the embedding")
    ap.add_argument("--external-data", action="store_true",
                    help="re-save with all weights in <output>.data")
    ap.add_argument("--no-past", action="store_true", help="export input_ids -> logits only")
    ap.add_argument("--check", action="store_true", help="compare ORT with torch on a short input")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     activation_function="gelu_new", tie_word_embeddings=True)
    torch.manual_seed(args.seed)
    model = GPT2LMHeadModel._from_config(cfg, attn_implementation="eager").eval()
    n = sum(p.numel() for p in model.parameters())
    print(f"params: {n / 1e6:.1f}M")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = time.time()
    E.export_torchscript(model, out, args.opset, not args.no_past,
                         do_constant_folding=not args.no_constant_folding)
    if args.external_data:
        import onnx
        m = onnx.load(str(out))
        onnx.save_model(m, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=out.name + ".data", size_threshold=1024)
    print(f"exported {out} in {time.time() - t:.0f}s, {out.stat().st_size / 2**20:.1f} MiB")

    if args.check:
        sess = E.ort_session(out, threads=args.threads)
        rng = np.random.default_rng(args.seed)
        ids = rng.integers(0, cfg.vocab_size, (1, 6), dtype=np.int64)
        if args.no_past:
            feeds = {"input_ids": ids}
            ref = E.NoPast(model)(torch.from_numpy(ids)).detach().numpy()
        else:
            pin, _ = E.past_names(cfg.n_layer)
            past = [t.numpy() for t in E.dummy_past(cfg, 1, 5, torch.Generator().manual_seed(1))]
            feeds = {"input_ids": ids, **dict(zip(pin, past))}
            with torch.no_grad():
                ref = E.WithPast(model)(torch.from_numpy(ids), *map(torch.from_numpy, past))[0].numpy()
        got = E.run_ort(sess, feeds)["logits"]
        d = float(np.abs(got - ref).max())
        print(f"ORT vs torch logits: max abs diff {d:.3g}")
        if d > 1e-3:
            sys.exit(1)


if __name__ == "__main__":
    main()
