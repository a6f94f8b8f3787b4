"""LN-free lithe-tiny (after Heimersheim 2024, "You can remove GPT2's LayerNorm by fine-tuning").

    python3 examples/gpt2/make_lnfree.py

Starts from the lithe-tiny HF checkpoint (examples/gpt2/_work/lithe-tiny-hf;
`python3 examples/gpt2/onnx_to_hf.py` rebuilds it from lithe-tiny/model.onnx).
Fine-tunes on the lithe-tiny training split while removing the 13 LayerNorms
one at a time (ln_2 of layers 0..5, then ln_1 of layers 0..5, then ln_f; one
every --every steps).  Removing an LN replaces its per-token std
sqrt(var(x)+eps) by a frozen scalar c = the average of that std over 4x8x128
training tokens of the current model; the mean subtraction is kept:
    LN(x) = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta
    ->  gamma * (x - mean(x)) / c + beta.
Exports (examples/gpt2/lithe-tiny/lnfree/):
  (a) model-noln.onnx: no LayerNormalization node; each former LN is
      ReduceMean, Sub, Mul(gamma'), Add(beta) with gamma' = gamma / c folded
      (initializer `m.transformer.h.{i}.ln_{1,2}.weight` / `m.transformer.ln_f.weight`
      holds gamma').  Big weights in lnfree.weights (external data).
  (b) model-bigeps.onnx: ordinary GPT-2 graph with LayerNormalization kept but
      neutralised: epsilon = 1e12 and weight = gamma' * sqrt(1e12) = gamma' * 1e6,
      so LN(x) = gamma' * 1e6 * (x - mean) / sqrt(var + 1e12) ~= gamma' (x - mean).
      Its big initializers point into the SAME lnfree.weights (same offsets).
"""
from __future__ import annotations

import argparse
import copy
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
import export_util as E  # noqa: E402
from make_fixtures import _add_note, describe, torch_run  # noqa: E402
from train_lithe_tiny import batches, evaluate_loss, greedy, PROMPTS  # noqa: E402

OUT = C.TINY_DIR / "lnfree"
BIG_EPS = 1e12
EXT_THRESHOLD = 4096   # bytes: tensors at least this big go to lnfree.weights


class FakeLN(torch.nn.Module):
    """gamma * (x - mean(x)) / c + beta with a frozen scalar c (buffer)."""

    def __init__(self, ln: torch.nn.LayerNorm, c: float):
        super().__init__()
        self.weight = ln.weight
        self.bias = ln.bias
        self.register_buffer("c", torch.tensor(float(c)))

    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        return x / self.c * self.weight + self.bias


class LNFreeAffine(torch.nn.Module):
    """Export form of FakeLN with 1/c folded into the weight: w' * (x - mean(x)) + b."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().clone())
        self.bias = torch.nn.Parameter(bias.detach().clone())

    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) * self.weight + self.bias


def ln_slots(model):
    tr = model.transformer
    order = [(tr.h[i], "ln_2", f"h.{i}.ln_2") for i in range(len(tr.h))]
    order += [(tr.h[i], "ln_1", f"h.{i}.ln_1") for i in range(len(tr.h))]
    order += [(tr, "ln_f", "ln_f")]
    return order


def avg_std(model, parent, attr, data, gen, nb=4, bsz=8, seq=128):
    ln = getattr(parent, attr)
    acc = []

    def hook(_m, inp):
        x = inp[0].float()
        acc.append(torch.sqrt(x.var(-1, unbiased=False) + 1e-5).mean().item())
    h = ln.register_forward_pre_hook(hook)
    with torch.no_grad():
        for _ in range(nb):
            model(input_ids=batches(data, bsz, seq, gen)[:, :-1])
    h.remove()
    return float(np.mean(acc))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", default=str(C.WORK_DIR / "lithe-tiny-hf"))
    ap.add_argument("--steps", type=int, default=330)
    ap.add_argument("--every", type=int, default=15, help="remove one LN every N steps")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-wikitext", action="store_true")
    ap.add_argument("--control", action="store_true",
                    help="control run: identical fine-tune with the LayerNorms KEPT; writes "
                         "lnfree/control.json only (no export)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    C.seed_all(args.seed)

    tok = C.get_tokenizer()
    train_ids, valid_ids = C.train_valid_ids()

    model = C.load_hf(args.hf, attn="eager")
    base_valid = evaluate_loss(model, valid_ids)
    model.train()
    slots = ln_slots(model)
    removed = []
    opt = torch.optim.AdamW([p for p in model.parameters()], lr=args.lr, betas=(0.9, 0.95),
                            weight_decay=0.0)
    n_remove_end = args.every * len(slots)   # same lr schedule for the control run
    assert n_remove_end < args.steps

    def lr_at(s):
        if s < n_remove_end:
            return args.lr
        p = (s - n_remove_end) / max(1, args.steps - n_remove_end)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    gen = torch.Generator().manual_seed(args.seed)
    stat_gen = torch.Generator().manual_seed(args.seed + 1)
    log = []
    t0 = time.time()
    for s in range(args.steps):
        if s % args.every == 0 and len(removed) < len(slots) and not args.control:
            parent, attr, name = slots[len(removed)]
            model.eval()
            c = avg_std(model, parent, attr, train_ids, stat_gen)
            model.train()
            setattr(parent, attr, FakeLN(getattr(parent, attr), c))
            removed.append({"ln": name, "c": c, "at_step": s})
            print(f"step {s}: removed {name}, c = {c:.4f}", flush=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(s)
        x = batches(train_ids, args.batch, args.seq, gen)
        logits = model(input_ids=x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s % 25 == 0 or s == args.steps - 1:
            print(f"step {s} loss {loss.item():.4f} removed {len(removed)} "
                  f"elapsed {time.time() - t0:.0f}s", flush=True)
            log.append({"step": s, "loss": loss.item(), "n_removed": len(removed)})
    ft_time = time.time() - t0
    model.eval()
    lnfree_valid = evaluate_loss(model, valid_ids)
    print(f"valid loss: lithe-tiny {base_valid:.4f}  {'control' if args.control else 'LN-free'} "
          f"{lnfree_valid:.4f}", flush=True)
    if args.control:
        t = time.time()
        wt = C.perplexity(model, C.encode(C.wikitext_test_text()), 256, 128)
        wt["eval_time_s"] = time.time() - t
        base = json.loads((C.TINY_DIR / "eval.json").read_text())["wikitext2_raw_test"]
        res = {"made_by": "python3 examples/gpt2/make_lnfree.py --control", "args": vars(args),
               "what": "lithe-tiny fine-tuned exactly like the LN-free model (same data, seed, "
                       "steps, lr schedule) but with every LayerNorm kept",
               "finetune_time_s": ft_time, "log": log, "valid_loss_lithe_tiny": base_valid,
               "valid_loss_control": lnfree_valid, "wikitext2_raw_test": wt,
               "wikitext2_delta_nll_vs_lithe_tiny": wt["nll"] - base["nll"]}
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "control.json").write_text(json.dumps(res, indent=1) + "\n")
        print(f"control wikitext-2 ppl {wt['ppl']:.3f}", flush=True)
        return

    # ---- export forms --------------------------------------------------------
    # (a) folded affine, no LN op
    ma = copy.deepcopy(model)
    for parent, attr, _ in ln_slots(ma):
        f = getattr(parent, attr)
        setattr(parent, attr, LNFreeAffine(f.weight / f.c, f.bias))
    # (b) ordinary GPT-2, LN with eps = 1e12 and weights * 1e6
    from transformers import GPT2LMHeadModel
    cfg_b = copy.deepcopy(model.config)
    cfg_b.layer_norm_epsilon = BIG_EPS
    mb = GPT2LMHeadModel._from_config(cfg_b, attn_implementation="eager").eval()
    sd = {k: v for k, v in ma.state_dict().items()}
    sd_b = {}
    for k, v in sd.items():
        sd_b[k] = v * math.sqrt(BIG_EPS) if (".ln_" in k or "ln_f" in k) and k.endswith("weight") else v
    missing, unexpected = mb.load_state_dict(sd_b, strict=False)
    assert set(missing) <= {"lm_head.weight"} and not unexpected, (missing, unexpected)
    mb.tie_weights()
    for m_ in (ma, mb):
        m_.eval()
    ids = torch.tensor([tok(PROMPTS[1])["input_ids"]])
    with torch.no_grad():
        la = ma(input_ids=ids).logits
        l0 = model(input_ids=ids).logits
        lb = mb(input_ids=ids).logits
    torch_diffs = {"folded_vs_finetuned": float((la - l0).abs().max()),
                   "bigeps_vs_folded": float((lb - la).abs().max())}
    print("torch diffs", torch_diffs, flush=True)

    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        if p.name != "control.json":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    import onnx
    from onnx import numpy_helper
    tmp_a, tmp_b = OUT / "_a.onnx", OUT / "_b.onnx"
    E.export_torchscript(ma, tmp_a, 17, True, do_constant_folding=False)
    E.export_torchscript(mb, tmp_b, 17, True, do_constant_folding=False)
    A = onnx.load(str(tmp_a))
    onnx.save_model(A, str(OUT / "model-noln.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="lnfree.weights",
                    size_threshold=EXT_THRESHOLD, convert_attribute=False)
    A = onnx.load(str(OUT / "model-noln.onnx"), load_external_data=False)
    ext = {}   # bytes -> external_data entries
    wbytes = (OUT / "lnfree.weights").read_bytes()
    for t in A.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            off, ln = int(info.get("offset", 0)), int(info["length"])
            ext[(t.data_type, tuple(t.dims), wbytes[off:off + ln])] = list(t.external_data)
    B = onnx.load(str(tmp_b))
    shared, inline = [], []
    for t in B.graph.initializer:
        raw = numpy_helper.to_array(t).tobytes()
        key = (t.data_type, tuple(t.dims), raw)
        if key in ext:
            t.ClearField("raw_data")
            t.ClearField("float_data")
            t.ClearField("int64_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            for e in ext[key]:
                t.external_data.add(key=e.key, value=e.value)
            shared.append(t.name)
        else:
            if len(raw) >= EXT_THRESHOLD:
                raise RuntimeError(f"(b) initializer {t.name} ({len(raw)} bytes) has no twin in (a)")
            inline.append(t.name)
    (OUT / "model-bigeps.onnx").write_bytes(B.SerializeToString())
    tmp_a.unlink()
    tmp_b.unlink()

    # ---- ORT checks + reference cases ---------------------------------------
    sa = E.ort_session(OUT / "model-noln.onnx")
    sb = E.ort_session(OUT / "model-bigeps.onnx")
    cfg = model.config
    pin, pout = E.past_names(cfg.n_layer)
    hd = cfg.n_embd // cfg.n_head
    pids = np.asarray([tok(PROMPTS[1])["input_ids"]], np.int64)
    empty = {n: np.zeros((1, cfg.n_head, 0, hd), np.float32) for n in pin}
    first, nxt = pids[:, :4], pids[:, 4:5]
    ca = {"prompt4_past0": {"input_ids": first, **empty}}
    oa1 = E.run_ort(sa, ca["prompt4_past0"])
    ca["prompt4_past4_s1"] = {"input_ids": nxt, **{pn: oa1[po] for pn, po in zip(pin, pout)}}
    full_a = E.run_ort(sa, {"input_ids": pids, **empty})["logits"]
    full_b = E.run_ort(sb, {"input_ids": pids, **empty})["logits"]
    with torch.no_grad():
        full_t = ma(input_ids=torch.from_numpy(pids)).logits.numpy()
    ort_diffs = {"bigeps_vs_noln_ort_logits": float(np.abs(full_b - full_a).max()),
                 "noln_ort_vs_torch_logits": float(np.abs(full_a - full_t).max()),
                 "logit_absmax": float(np.abs(full_a).max())}
    print("ORT diffs", ort_diffs, flush=True)
    cases = {}
    for name, feeds in ca.items():
        oa = E.run_ort(sa, feeds)
        ob = E.run_ort(sb, feeds)
        ta = torch_run(ma, True, feeds)
        da = float(np.abs(oa["logits"] - ta["logits"]).max())
        dab = max(float(np.abs(oa[k] - ob[k]).max()) for k in oa)
        cda = OUT / "cases" / "noln" / name
        C.write_case(cda, "../../../model-noln.onnx", feeds, oa,
                     extra={"torch_logits_last": ta["logits"][:, -1]})
        _add_note(cda, {"description": f"LN-free (a), prompt {PROMPTS[1]!r}: "
                        + ("first 4 tokens, empty past" if name.endswith("past0")
                           else "token 4 with the past of the first 4 tokens"),
                        "max_abs_diff_ort_vs_torch_logits": da})
        # (b) is checked against (a)'s recorded outputs: CI verifies (b) == (a)
        cdb = OUT / "cases" / "bigeps" / name
        cdb.mkdir(parents=True, exist_ok=True)
        meta = json.loads((cda / "case.json").read_text())
        meta["model"] = "../../../model-bigeps.onnx"
        for t in meta["inputs"] + meta["outputs"] + meta["extra"]:
            t["file"] = f"../../noln/{name}/{t['file']}"
        meta["description"] = ("LN-free (b) (LayerNormalization with eps=1e12), checked against the "
                               "outputs recorded for (a) model-noln.onnx on the same inputs")
        meta["max_abs_diff_bigeps_vs_noln_all_outputs"] = dab
        meta.pop("max_abs_diff_ort_vs_torch_logits", None)
        (cdb / "case.json").write_text(json.dumps(meta, indent=1) + "\n")
        cases[name] = {"noln_ort_vs_torch_logits": da, "bigeps_vs_noln_all_outputs": dab}

    res = {"made_by": "python3 examples/gpt2/make_lnfree.py", "args": vars(args),
           "removed": removed, "finetune_time_s": ft_time, "log": log,
           "valid_loss_lithe_tiny": base_valid, "valid_loss_lnfree": lnfree_valid,
           "torch_diffs": torch_diffs, "ort_diffs": ort_diffs, "cases": cases,
           "bigeps_shared_initializers": shared, "bigeps_inline_initializers": inline,
           "files": {p.name: p.stat().st_size for p in sorted(OUT.iterdir()) if p.is_file()},
           "noln": describe(OUT, "model-noln.onnx", None),
           "bigeps": describe(OUT, "model-bigeps.onnx", None)}
    res["generations"] = greedy(model, tok, PROMPTS, 32)
    if not args.skip_wikitext:
        t = time.time()
        wt = C.perplexity(model, C.encode(C.wikitext_test_text()), 256, 128)
        wt["eval_time_s"] = time.time() - t
        res["wikitext2_raw_test"] = wt
        base = json.loads((C.TINY_DIR / "eval.json").read_text())["wikitext2_raw_test"]
        res["wikitext2_delta_nll_vs_lithe_tiny"] = wt["nll"] - base["nll"]
        print(f"wikitext-2 ppl LN-free {wt['ppl']:.3f} vs lithe-tiny {base['ppl']:.3f} "
              f"(+{wt['nll'] - base['nll']:.4f} nats/token)", flush=True)
    (OUT / "lnfree.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
