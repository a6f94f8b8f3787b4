"""Train lithe-tiny (GPT-2 architecture, 6 layers, 8 heads, n_embd 96) on CPU.

    python3 examples/gpt2/train_lithe_tiny.py            # train + evaluate + save
    python3 examples/gpt2/train_lithe_tiny.py --eval-only

Training text: first 95 % of wikitext-2-valid.tokens.txt and of gutenberg-big.txt
(see common.py); the last 5 % of each is the validation split.  Writes the HF
checkpoint to examples/gpt2/_work/lithe-tiny-hf (not committed) and
examples/gpt2/lithe-tiny/{train_log.json,eval.json,generations.json}.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

PROMPTS = [
    "The history of the United States",
    "Sherlock Holmes looked at me and said",
    "In 1998, the band released their second album",
    "Once upon a time, there was a",
]


def batches(data: np.ndarray, bsz: int, seq: int, gen: torch.Generator):
    n = len(data) - seq - 1
    starts = torch.randint(0, n, (bsz,), generator=gen).numpy()
    x = np.stack([data[s:s + seq + 1] for s in starts])
    return torch.from_numpy(x)


def evaluate_loss(model, data, seq=128, bsz=16):
    model.eval()
    tot, cnt = 0.0, 0
    with torch.no_grad():
        nwin = (len(data) - 1) // seq
        for i in range(0, nwin, bsz):
            xs = [data[j * seq:(j + 1) * seq + 1] for j in range(i, min(i + bsz, nwin))]
            x = torch.from_numpy(np.stack(xs))
            out = model(input_ids=x[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(
                out.reshape(-1, out.shape[-1]).float(), x[:, 1:].reshape(-1), reduction="sum")
            tot += loss.item()
            cnt += x[:, 1:].numel()
    model.train()
    return tot / cnt


def greedy(model, tok, prompts, new_tokens=32):
    res = []
    model.eval()
    for p in prompts:
        ids = tok(p)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            for _ in range(new_tokens):
                nxt = model(input_ids=x).logits[0, -1].argmax().item()
                x = torch.cat([x, torch.tensor([[nxt]])], dim=1)
        out = x[0].tolist()
        res.append({"prompt": p, "prompt_ids": ids, "new_ids": out[len(ids):],
                    "continuation": tok.decode(out[len(ids):]),
                    "text": tok.decode(out)})
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(C.WORK_DIR / "lithe-tiny-hf"))
    ap.add_argument("--bench", type=int, default=0, help="time N steps and exit")
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    C.seed_all(args.seed)
    tok = C.get_tokenizer()
    train_ids, valid_ids = C.train_valid_ids()
    print(f"train tokens {len(train_ids)}  valid tokens {len(valid_ids)}", flush=True)

    out = Path(args.out)
    if args.eval_only:
        model = C.load_hf(out, attn="sdpa")
    else:
        from transformers import GPT2LMHeadModel
        cfg = C.lithe_tiny_config()
        model = GPT2LMHeadModel._from_config(cfg, attn_implementation="sdpa")
        model.train()
        nparams = sum(p.numel() for p in model.parameters())
        print(f"params {nparams}", flush=True)
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": nodecay, "weight_decay": 0.0}],
                                lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
        steps = args.bench or args.steps

        def lr_at(s):
            if s < args.warmup:
                return args.lr * (s + 1) / args.warmup
            p = (s - args.warmup) / max(1, steps - args.warmup)
            return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

        gen = torch.Generator().manual_seed(args.seed)
        log = []
        t0 = time.time()
        ema = None
        for s in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(s)
            x = batches(train_ids, args.batch, args.seq, gen)
            logits = model(input_ids=x[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
            if s % 50 == 0 or s == steps - 1:
                el = time.time() - t0
                print(f"step {s} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(s):.2e} "
                      f"elapsed {el:.0f}s ({el / (s + 1):.3f}s/step)", flush=True)
                log.append({"step": s, "loss": loss.item(), "ema": ema, "elapsed_s": el})
            if s > 0 and s % 400 == 0:
                print(f"  valid loss {evaluate_loss(model, valid_ids):.4f}", flush=True)
        train_time = time.time() - t0
        if args.bench:
            print(f"bench: {train_time / steps:.3f}s/step")
            return
        model.eval()
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out), safe_serialization=True)
        C.TINY_DIR.mkdir(parents=True, exist_ok=True)
        with open(C.TINY_DIR / "train_log.json", "w") as f:
            json.dump({"args": vars(args), "train_tokens": int(len(train_ids)),
                       "valid_tokens": int(len(valid_ids)), "params": nparams,
                       "train_time_s": train_time, "torch_threads": args.threads,
                       "log": log}, f, indent=1)

    torch.set_num_threads(max(args.threads, 1))
    model.eval()
    vloss = evaluate_loss(model, valid_ids)
    print(f"valid loss {vloss:.4f} (ppl {math.exp(vloss):.2f})", flush=True)
    t = time.time()
    wt = C.perplexity(model, C.encode(C.wikitext_test_text()), 256, 128)
    wt["eval_time_s"] = time.time() - t
    print(f"wikitext-2 raw test ppl {wt['ppl']:.3f}", flush=True)
    gens = greedy(model, tok, PROMPTS, 32)
    for g in gens:
        print(repr(g["text"]), flush=True)
    with open(C.TINY_DIR / "eval.json", "w") as f:
        json.dump({"valid_split_loss": vloss, "valid_split_ppl": math.exp(vloss),
                   "valid_split_tokens": int(len(valid_ids)),
                   "wikitext2_raw_test": wt}, f, indent=1)
    with open(C.TINY_DIR / "generations.json", "w") as f:
        json.dump({"decoding": "greedy (argmax), 32 new tokens, torch",
                   "generations": gens}, f, indent=1)


if __name__ == "__main__":
    main()
