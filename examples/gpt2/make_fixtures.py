"""Structural fixtures: tiny random-weight GPT-2s exported to ONNX + ORT reference outputs.

    python3 examples/gpt2/make_fixtures.py            # all fixtures
    python3 examples/gpt2/make_fixtures.py --only gpt2-tiny-ts17-past

Writes test/fixtures/gpt2/<fixture>/{model.onnx[,model.onnx.data],fixture.json,cases/<case>/...}.
All fixtures share the same weights (seed 0).  See examples/gpt2/README.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
import export_util as E  # noqa: E402

OUT = C.REPO / "test" / "fixtures" / "gpt2"
SEED = 0

TINY = dict(vocab_size=512, n_positions=64, n_embd=32, n_layer=2, n_head=4)

# name: (exporter, opset, with_past, external_data)
FIXTURES = {
    "gpt2-tiny-ts13-past": ("torchscript", 13, True, False),
    "gpt2-tiny-ts14": ("torchscript", 14, False, False),
    "gpt2-tiny-ts14-past": ("torchscript", 14, True, False),
    "gpt2-tiny-ts15": ("torchscript", 15, False, False),
    "gpt2-tiny-ts16-past": ("torchscript", 16, True, False),
    "gpt2-tiny-ts17": ("torchscript", 17, False, False),
    "gpt2-tiny-ts17-past": ("torchscript", 17, True, False),
    "gpt2-tiny-dynamo18": ("dynamo", 18, False, False),
    "gpt2-tiny-dynamo18-past": ("dynamo", 18, True, False),
    "gpt2-tiny-ts17-past-extdata": ("torchscript", 17, True, True),
}


def build_tiny(seed=SEED, attn="eager", **overrides):
    """The tiny random GPT-2 (config TINY, every parameter randomised, seeded);
    `attn` is transformers' attention implementation and `overrides` change the
    config (the export matrix's variants). The defaults give the fixtures' model."""
    from transformers import GPT2Config, GPT2LMHeadModel
    kw = dict(TINY, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
              layer_norm_epsilon=1e-5, activation_function="gelu_new",
              tie_word_embeddings=True, bos_token_id=None, eos_token_id=None)
    kw.update(overrides)
    cfg = GPT2Config(**kw)
    torch.manual_seed(seed)
    m = GPT2LMHeadModel._from_config(cfg, attn_implementation=attn)
    # Randomise EVERY parameter (biases, LN gamma/beta too) so that a dropped
    # bias or a mis-wired LN shows up in the logits.  Seeded.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("wpe.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif ".ln_" in name or "ln_f" in name:
                if name.endswith("weight"):
                    p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            else:   # wte (tied lm_head), c_attn, c_proj, c_fc weights
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    m.eval()
    return m


def torch_run(model, with_past, feeds):
    w = (E.WithPast(model) if with_past else E.NoPast(model)).eval()
    pin, pout = E.past_names(model.config.n_layer)
    args = [torch.from_numpy(feeds["input_ids"])]
    if with_past:
        args += [torch.from_numpy(feeds[n]) for n in pin]
    with torch.no_grad():
        out = w(*args)
    if with_past:
        return dict(zip(["logits"] + pout, [t.numpy() for t in out]))
    return {"logits": out.numpy()}


def make_cases(fx_dir: Path, model, sess, with_past, model_file="model.onnx", seed=SEED,
               vocab=None, cases_spec=None, note_prefix=""):
    """Generate reference cases; returns per-case summary (max |ORT - torch|)."""
    cfg = model.config
    vocab = vocab or cfg.vocab_size
    rng = np.random.default_rng(seed)
    pin, pout = E.past_names(cfg.n_layer)
    hd = cfg.n_embd // cfg.n_head
    summary = {}
    if not with_past:
        spec = cases_spec or [("b1_s1", 1, 1), ("b1_s8", 1, 8), ("b2_s11", 2, 11), ("b1_s20", 1, 20)]
        for name, b, s in spec:
            ids = rng.integers(0, vocab, (b, s), dtype=np.int64)
            feeds = {"input_ids": ids}
            ort_out = E.run_ort(sess, feeds)
            tch = torch_run(model, False, feeds)
            diff = float(np.abs(ort_out["logits"] - tch["logits"]).max())
            cd = fx_dir / "cases" / name
            E_rel = Path("../..") / model_file
            C.write_case(cd, str(E_rel), feeds, ort_out, extra={"torch_logits": tch["logits"]})
            _add_note(cd, {"description": f"{note_prefix}batch {b}, {s} seeded random token ids, no past",
                           "max_abs_diff_ort_vs_torch_logits": diff})
            summary[name] = diff
        return summary
    spec = cases_spec or [("b1_past0_s4", 1, 0, 4), ("b1_past5_s3", 1, 5, 3),
                          ("b1_past8_s1", 1, 8, 1), ("b2_past5_s3", 2, 5, 3)]
    for name, b, plen, s in spec:
        ids_all = rng.integers(0, vocab, (b, plen + s), dtype=np.int64)
        prefix, new = ids_all[:, :plen], ids_all[:, plen:]
        empty = {n: np.zeros((b, cfg.n_head, 0, hd), np.float32) for n in pin}
        src = "ORT (this model, empty past, on the prefix)"
        if plen > 0:
            try:
                pre = E.run_ort(sess, {"input_ids": prefix, **empty})
            except Exception as e:  # noqa: BLE001
                src = f"torch (ORT rejected an empty past: {type(e).__name__})"
                pre = torch_run(model, True, {"input_ids": prefix, **empty})
            past = {pn: pre[po] for pn, po in zip(pin, pout)}
        else:
            past = empty
            src = "empty (past_sequence = 0)"
        feeds = {"input_ids": new, **past}
        ort_out = E.run_ort(sess, feeds)
        tch = torch_run(model, True, feeds)
        diff = float(np.abs(ort_out["logits"] - tch["logits"]).max())
        pdiff = max(float(np.abs(ort_out[n] - tch[n]).max()) for n in pout)
        # cross-check: logits with past == logits of the full sequence without past
        full = torch_run(model, False, {"input_ids": ids_all})["logits"][:, plen:]
        cons = float(np.abs(ort_out["logits"] - full).max())
        cd = fx_dir / "cases" / name
        C.write_case(cd, str(Path("../..") / model_file), feeds, ort_out,
                     extra={"torch_logits": tch["logits"], "full_input_ids": ids_all})
        _add_note(cd, {"description": f"{note_prefix}batch {b}; past = {plen} tokens, then {s} new tokens "
                                      f"(full sequence in extra/full_input_ids.npy)",
                       "past_source": src,
                       "max_abs_diff_ort_vs_torch_logits": diff,
                       "max_abs_diff_ort_vs_torch_present": pdiff,
                       "max_abs_diff_vs_no_past_full_sequence_logits": cons})
        summary[name] = {"logits": diff, "present": pdiff, "vs_full_sequence": cons}
    return summary


def _add_note(case_dir, note):
    p = Path(case_dir) / "case.json"
    meta = json.loads(p.read_text())
    meta.update(note)
    p.write_text(json.dumps(meta, indent=1) + "\n")


def describe(fx_dir: Path, model_file: str, wte: np.ndarray | None):
    ins, outs, opset = E.io_signature(fx_dir / model_file)
    d = {"inputs": ins, "outputs": outs, "opset_import": opset,
         "op_histogram": C.op_histogram(fx_dir / model_file),
         "files": {p.name: p.stat().st_size for p in sorted(fx_dir.iterdir()) if p.is_file()
                   and p.name != "fixture.json"}}
    if wte is not None:
        d["embedding_copies"] = E.find_transposed_embedding(fx_dir / model_file, wte)
    inits = E.initializer_summary(fx_dir / model_file)
    d["n_initializers"] = len(inits)
    d["n_external_initializers"] = sum(i["external"] for i in inits)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = build_tiny()
    wte = model.transformer.wte.weight.detach().numpy().copy()
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, (exporter, opset, past, ext) in FIXTURES.items():
        if args.only and name not in args.only:
            continue
        fx = OUT / name
        if fx.exists():
            shutil.rmtree(fx)
        fx.mkdir(parents=True)
        meta = {"fixture": name, "exporter": exporter, "opset": opset, "past_key_values": past,
                "external_data": ext, "attention_mask_input": False,
                "made_by": "python3 examples/gpt2/make_fixtures.py",
                "model": "tiny random GPT-2 (transformers.GPT2LMHeadModel, eager attention)",
                "config": TINY, "seed": SEED,
                "init": "all parameters random: matrices/wte N(0,0.1), wpe N(0,0.05), biases N(0,0.05), "
                        "LN gamma 1+N(0,0.1), LN beta N(0,0.05); lm_head tied to wte",
                "torch": torch.__version__}
        try:
            if exporter == "torchscript":
                if ext:
                    tmp = fx / "_tmp.onnx"
                    E.export_torchscript(model, tmp, opset, past)
                    import onnx
                    m = onnx.load(str(tmp))
                    onnx.save_model(m, str(fx / "model.onnx"), save_as_external_data=True,
                                    all_tensors_to_one_file=True, location="model.onnx.data",
                                    size_threshold=0, convert_attribute=False)
                    tmp.unlink()
                    meta["external_data_file"] = "model.onnx.data"
                    meta["external_data_note"] = ("onnx.save_model(save_as_external_data=True, "
                                                  "all_tensors_to_one_file=True, location='model.onnx.data', "
                                                  "size_threshold=0): every initializer is external; Constant "
                                                  "node attributes stay inline")
                else:
                    E.export_torchscript(model, fx / "model.onnx", opset, past)
                meta["export_call"] = (f"torch.onnx.export(..., dynamo=False, opset_version={opset}, "
                                       "do_constant_folding=True (default), dynamic_axes=batch/sequence"
                                       + ("/past_sequence)" if past else ")"))
            else:
                E.export_dynamo(model, fx / "model.onnx", opset, past)
                meta["export_call"] = (f"torch.onnx.export(..., dynamo=True, opset_version={opset}, "
                                       "dynamic_shapes=batch/sequence" + ("/past_sequence" if past else "")
                                       + ") then ONNXProgram.save(external_data=False)")
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            shutil.rmtree(fx)
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000]}
            print(f"{name}: EXPORT FAILED: {type(e).__name__}: {str(e)[:300]}")
            continue
        sess = E.ort_session(fx / "model.onnx")
        meta["cases"] = make_cases(fx, model, sess, past)
        meta.update(describe(fx, "model.onnx", wte))
        (fx / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
        results[name] = {"cases": meta["cases"], "embedding_copies": meta["embedding_copies"]}
        print(name, json.dumps(results[name]))
    (OUT / "export_results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
