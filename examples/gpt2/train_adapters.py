"""Train LoRA, IA3 and BitFit adapters for lithe-tiny on Grimm's Fairy Tales.

    python3 examples/gpt2/train_adapters.py            # all three
    python3 examples/gpt2/train_adapters.py --only lora
    python3 examples/gpt2/train_adapters.py --base lnfree --only lora   # LN-free base

Base: examples/gpt2/_work/lithe-tiny-hf (from train_lithe_tiny.py, or rebuilt
bit-exactly from the ONNX file by `python3 examples/gpt2/onnx_to_hf.py`).
Data: grimm-tales.txt, first 80 % (cut at a line start) for training, last
20 % held out (see common.py).  Writes examples/gpt2/lithe-tiny/adapters/
{lora,ia3,bitfit}/ and adapters/results.json (held-out Grimm perplexity with
and without each adapter; torch, sliding window context 256 / stride 128).

--base lnfree trains on the LN-free lithe-tiny instead: lithe-tiny/lnfree/
model-bigeps.onnx is an ordinary GPT-2 graph (LayerNormalization epsilon 1e12,
rescaled LN weights, initializers `m.<HF name>`), so a GPT2LMHeadModel with the
lithe-tiny config, layer_norm_epsilon=1e12 and those initializers IS the
LN-free model (see make_lnfree.py).  Outputs go to adapters/lnfree-<kind>/,
results.json keys "lnfree" (no adapter) and "lnfree_<kind>", and
adapters/lnfree_base_reference_logits_last.npy; everything else in
results.json is kept (the file is merged, not rewritten).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from train_lithe_tiny import batches  # noqa: E402

OUT = C.TINY_DIR / "adapters"
REF_PROMPT = "The king said to his daughter"

KINDS = {
    # kind: (lr, description)
    "lora": (2e-3, "LoRA r=8, lora_alpha=16, dropout 0, on attn.c_attn, attn.c_proj and mlp.c_proj "
                   "(target_modules ['c_attn', 'c_proj'], fan_in_fan_out=True: GPT-2 Conv1D)"),
    "ia3": (5e-3, "IA3 on attn.c_attn (output scaling, 288) and mlp.c_proj (feed-forward: input "
                  "scaling, 384); feedforward_modules=['mlp.c_proj'], fan_in_fan_out=True"),
    "bitfit": (3e-3, "BitFit: only the bias vectors are trained (attn.c_attn, attn.c_proj, mlp.c_fc, "
                     "mlp.c_proj, ln_1, ln_2 biases of every layer and ln_f.bias); everything else frozen"),
}


BASES = {
    # base: (results.json key of the no-adapter numbers, prefix of dir / key, base_model_name_or_path)
    "lithe-tiny": ("base", "", "lithe-tiny"),
    "lnfree": ("lnfree", "lnfree", "lithe-tiny-lnfree"),
}
LNFREE_ONNX = C.TINY_DIR / "lnfree" / "model-bigeps.onnx"


def load_base(base, hf_path):
    """A fresh torch copy of the base model (eval mode)."""
    if base == "lnfree":
        from onnx_to_hf import hf_from_onnx
        return hf_from_onnx(LNFREE_ONNX, config=C.lithe_tiny_config(layer_norm_epsilon=1e12))
    return C.load_hf(hf_path, attn="eager")


def lnfree_case_diff(model):
    """max |torch logits - logits recorded in lnfree/cases/noln/prompt4_past0| (no past)."""
    case = C.TINY_DIR / "lnfree" / "cases" / "noln" / "prompt4_past0"
    ids = np.load(case / "inputs" / "input_ids.npy")
    want = np.load(case / "outputs" / "logits.npy")
    with torch.no_grad():
        got = model(input_ids=torch.from_numpy(ids)).logits.float().numpy()
    return float(np.abs(got - want).max())


def build(kind, load):
    model = load()
    if kind == "lora":
        from peft import LoraConfig, get_peft_model
        cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["c_attn", "c_proj"],
                         fan_in_fan_out=True, bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, cfg)
    elif kind == "ia3":
        from peft import IA3Config, get_peft_model
        cfg = IA3Config(target_modules=["c_attn", "mlp.c_proj"], feedforward_modules=["mlp.c_proj"],
                        fan_in_fan_out=True, task_type="CAUSAL_LM")
        model = get_peft_model(model, cfg)
    elif kind == "bitfit":
        for n, p in model.named_parameters():
            p.requires_grad_(n.endswith(".bias"))
    return model


def last_logits(model, tok):
    ids = tok(REF_PROMPT)["input_ids"]
    with torch.no_grad():
        lg = model(input_ids=torch.tensor([ids])).logits[0, -1].float().numpy()
    return ids, lg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", default=str(C.WORK_DIR / "lithe-tiny-hf"))
    ap.add_argument("--only", nargs="*", choices=list(KINDS))
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--base", choices=list(BASES), default="lithe-tiny",
                    help="lnfree: the LN-free lithe-tiny (lnfree/model-bigeps.onnx); writes "
                         "adapters/lnfree-<kind>/ and results.json keys lnfree, lnfree_<kind>")
    args = ap.parse_args()
    base_key, prefix, base_name = BASES[args.base]

    def load():
        return load_base(args.base, args.hf)

    def out_name(kind, sep):
        return f"{prefix}{sep}{kind}" if prefix else kind
    torch.set_num_threads(args.threads)
    tok = C.get_tokenizer()
    train_txt, held_txt = C.grimm_texts()
    train_ids = C.encode(train_txt)
    held_ids = C.encode(held_txt)
    print(f"grimm train tokens {len(train_ids)}, held-out tokens {len(held_ids)}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    res_path = OUT / "results.json"
    results = json.loads(res_path.read_text()) if res_path.exists() else {}
    base = load()
    if args.base == "lnfree":
        diff = lnfree_case_diff(base)
        print(f"lnfree torch vs recorded lnfree/cases/noln/prompt4_past0 logits: max |diff| {diff:.3g}",
              flush=True)
        assert diff < 1e-4, diff
        results[base_key] = {
            "model": "lithe-tiny/lnfree/model-bigeps.onnx as GPT2LMHeadModel (lithe-tiny config, "
                     "layer_norm_epsilon=1e12, initializers m.<HF name>), no adapter",
            "max_abs_diff_vs_recorded_case_logits": diff,
            "grimm_heldout": C.perplexity(base, held_ids, 256, 128)}
    elif base_key not in results:
        results[base_key] = {"grimm_heldout": C.perplexity(base, held_ids, 256, 128)}
    results["split"] = {"file": C.GRIMM_FILE, "train": f"first {C.GRIMM_TRAIN_FRAC:.0%} of the "
                        "characters (cut at the next line start)", "held_out": "the rest",
                        "train_tokens": int(len(train_ids)), "held_out_tokens": int(len(held_ids))}
    print(f"{base_key} held-out grimm ppl", results[base_key]["grimm_heldout"]["ppl"], flush=True)
    base_ids, base_last = last_logits(base, tok)
    base_ref = out_name("base_reference_logits_last.npy", "_")

    for kind, (lr, desc) in KINDS.items():
        if args.only and kind not in args.only:
            continue
        C.seed_all(args.seed)
        model = build(kind, load)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        n_train = sum(p.numel() for p in params)
        print(f"{kind}: {n_train} trainable parameters", flush=True)
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
        warm = 20

        def lr_at(s):
            if s < warm:
                return lr * (s + 1) / warm
            p = (s - warm) / max(1, args.steps - warm)
            return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
        gen = torch.Generator().manual_seed(args.seed)
        t0 = time.time()
        log = []
        for s in range(args.steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(s)
            x = batches(train_ids, args.batch, args.seq, gen)
            logits = model(input_ids=x[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     x[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if s % 40 == 0 or s == args.steps - 1:
                print(f"  {kind} step {s} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
                log.append({"step": s, "loss": loss.item()})
        train_time = time.time() - t0
        model.eval()
        ppl = C.perplexity(model, held_ids, 256, 128)
        print(f"{kind}: held-out grimm ppl {ppl['ppl']:.3f}", flush=True)
        d = OUT / out_name(kind, "-")
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        if kind in ("lora", "ia3"):
            model.peft_config["default"].base_model_name_or_path = base_name
            model.save_pretrained(str(d), safe_serialization=True)
            (d / "README.md").unlink(missing_ok=True)   # PEFT's empty model-card template
            # reload check
            from peft import PeftModel
            re = PeftModel.from_pretrained(load(), str(d)).eval()
            ids, lg = last_logits(re, tok)
        else:
            from safetensors.torch import save_file
            tensors = {n: p.detach().clone().contiguous() for n, p in model.named_parameters()
                       if n.endswith(".bias")}
            save_file(tensors, str(d / "bitfit.safetensors"),
                      metadata={"format": "pt", "adapter": "bitfit", "base_model": base_name})
            (d / "bitfit.json").write_text(json.dumps({
                "adapter_type": "bitfit",
                "base_model": base_name,
                "file": "bitfit.safetensors",
                "how_to_apply": "replace: for every tensor in bitfit.safetensors, the base model "
                                "parameter with the same Hugging Face name (GPT2LMHeadModel "
                                "state_dict naming, e.g. transformer.h.0.attn.c_attn.bias) is "
                                "REPLACED by the stored tensor (these are full trained biases, not "
                                "deltas). In the lithe-tiny ONNX export the initializer is named "
                                "'m.' + name.",
                "tensors": {n: list(t.shape) for n, t in tensors.items()},
                "n_parameters": int(sum(t.numel() for t in tensors.values())),
                "dtype": "float32",
                "trained": desc,
            }, indent=1) + "\n")
            re = load()
            sd = re.state_dict()
            from safetensors.torch import load_file
            for n, t in load_file(str(d / "bitfit.safetensors")).items():
                sd[n].copy_(t)
            ids, lg = last_logits(re.eval(), tok)
        _, lg_trained = last_logits(model, tok)
        reload_diff = float(np.abs(lg - lg_trained).max())
        np.save(d / "reference_logits_last.npy", lg.astype(np.float32), allow_pickle=False)
        (d / "reference.json").write_text(json.dumps({
            "prompt": REF_PROMPT, "input_ids": ids,
            "file": "reference_logits_last.npy",
            "what": "torch logits at the LAST position of the prompt with the adapter applied "
                    f"(float32, shape [50257]); ../{base_ref} is the base model",
            "top5_with_adapter": [tok.decode([i]) for i in np.argsort(-lg)[:5]],
            "top5_base": [tok.decode([i]) for i in np.argsort(-base_last)[:5]],
        }, indent=1) + "\n")
        entry = {"description": desc, "lr": lr, "steps": args.steps, "batch": args.batch,
                 "seq": args.seq, "seed": args.seed, "trainable_params": n_train,
                 "train_time_s": train_time, "grimm_heldout": ppl,
                 "reload_max_abs_diff_last_logits": reload_diff, "log": log,
                 "files": {p.name: p.stat().st_size for p in sorted(d.iterdir())}}
        if prefix:
            entry["base"] = f"{base_key} (see results.json key '{base_key}')"
        results[out_name(kind, "_")] = entry
        res_path.write_text(json.dumps(results, indent=1) + "\n")
    np.save(OUT / base_ref, base_last.astype(np.float32), allow_pickle=False)
    res_path.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: (v.get("grimm_heldout", {}).get("ppl") if isinstance(v, dict) else v)
                      for k, v in results.items() if k != "split"}, indent=1))


if __name__ == "__main__":
    main()
