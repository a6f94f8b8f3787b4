"""Export lithe-tiny to examples/gpt2/lithe-tiny/model.onnx (+ reference cases).

    python3 examples/gpt2/export_lithe_tiny.py

Reads the HF checkpoint examples/gpt2/_work/lithe-tiny-hf written by
train_lithe_tiny.py.  TorchScript exporter, opset 17, with past key/values,
do_constant_folding=False so the tied embedding stays ONE initializer
(`m.transformer.wte.weight`, used by the Gather and, through a Transpose node,
by the lm_head MatMul) instead of also being stored as a folded, transposed
50257x96 copy (19 MB).  Every parameter keeps its HF name (prefix `m.`), so
`python3 examples/gpt2/onnx_to_hf.py` rebuilds the HF checkpoint exactly.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
import export_util as E  # noqa: E402
from make_fixtures import _add_note, describe  # noqa: E402

CASE_PROMPT = "Sherlock Holmes took his bottle from the corner of the mantel"


def write_tiny_cases(model, model_path: Path, cases_root: Path, model_rel: str, tag=""):
    """Two cases: 'prompt8_past0' (8 prompt tokens, empty past) and
    'prompt8_past8_s4' (past = presents of the first case, then 4 more tokens).
    Full logits are stored as outputs; only the last position's torch logits
    are stored (extra/torch_logits_last.npy) to keep the size down."""
    cfg = model.config
    tok = C.get_tokenizer()
    ids = np.asarray([tok(CASE_PROMPT)["input_ids"]], dtype=np.int64)
    assert ids.shape[1] >= 12, ids.shape
    first, nxt = ids[:, :8], ids[:, 8:12]
    pin, pout = E.past_names(cfg.n_layer)
    hd = cfg.n_embd // cfg.n_head
    sess = E.ort_session(model_path)
    from make_fixtures import torch_run
    summary = {}
    empty = {n: np.zeros((1, cfg.n_head, 0, hd), np.float32) for n in pin}
    o1 = E.run_ort(sess, {"input_ids": first, **empty})
    past = {pn: o1[po] for pn, po in zip(pin, pout)}
    for name, feeds, ort_out in [("prompt8_past0", {"input_ids": first, **empty}, o1),
                                 ("prompt8_past8_s4", {"input_ids": nxt, **past}, None)]:
        if ort_out is None:
            ort_out = E.run_ort(sess, feeds)
        tch = torch_run(model, True, feeds)
        d = float(np.abs(ort_out["logits"] - tch["logits"]).max())
        dp = max(float(np.abs(ort_out[n] - tch[n]).max()) for n in pout)
        cd = cases_root / name
        if cd.exists():
            shutil.rmtree(cd)
        C.write_case(cd, model_rel, feeds, ort_out,
                     extra={"torch_logits_last": tch["logits"][:, -1]})
        _add_note(cd, {"description": f"{tag}prompt {CASE_PROMPT!r}: "
                       + ("first 8 tokens, empty past" if name.endswith("past0")
                          else "tokens 8..11 with the past from running this model on tokens 0..7"),
                       "max_abs_diff_ort_vs_torch_logits": d,
                       "max_abs_diff_ort_vs_torch_present": dp})
        summary[name] = {"logits": d, "present": dp}
    return summary


def ort_greedy(model_path, prompt_ids, n_new, n_layer, n_head, hd):
    sess = E.ort_session(model_path)
    pin, pout = E.past_names(n_layer)
    feeds = {"input_ids": np.asarray([prompt_ids], np.int64),
             **{n: np.zeros((1, n_head, 0, hd), np.float32) for n in pin}}
    out = []
    for _ in range(n_new):
        o = E.run_ort(sess, feeds)
        t = int(o["logits"][0, -1].argmax())
        out.append(t)
        feeds = {"input_ids": np.asarray([[t]], np.int64),
                 **{pn: o[po] for pn, po in zip(pin, pout)}}
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", default=str(C.WORK_DIR / "lithe-tiny-hf"))
    ap.add_argument("--out-dir", default=str(C.TINY_DIR))
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = C.load_hf(args.hf, attn="eager")
    out = Path(args.out_dir)
    path = out / "model.onnx"
    E.export_torchscript(model, path, 17, True, do_constant_folding=False)
    wte = model.transformer.wte.weight.detach().numpy().copy()
    summary = write_tiny_cases(model, path, out / "cases", "../../model.onnx")
    # the KV-cache path in ORT must reproduce torch's greedy generations
    gens = json.loads((out / "generations.json").read_text())["generations"]
    cfg = model.config
    greedy_ok = []
    for g in gens:
        o = ort_greedy(path, g["prompt_ids"], len(g["new_ids"]), cfg.n_layer, cfg.n_head,
                       cfg.n_embd // cfg.n_head)
        greedy_ok.append(o == g["new_ids"])
    meta = {"model": "lithe-tiny", "made_by": "python3 examples/gpt2/export_lithe_tiny.py",
            "exporter": "torchscript", "opset": 17, "past_key_values": True,
            "external_data": False, "attention_mask_input": False,
            "export_call": "torch.onnx.export(..., dynamo=False, opset_version=17, "
                           "do_constant_folding=False, dynamic_axes=batch/sequence/past_sequence)",
            "cases": summary, "ort_greedy_with_kv_cache_matches_torch": greedy_ok}
    meta.update(describe(out, "model.onnx", wte))
    meta["files"] = {"model.onnx": path.stat().st_size}
    (out / "export.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps({k: meta[k] for k in ("cases", "ort_greedy_with_kv_cache_matches_torch",
                                           "embedding_copies", "files", "op_histogram")}, indent=1))


if __name__ == "__main__":
    main()
