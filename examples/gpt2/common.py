"""Shared helpers for the Lithe GPT-2 reference models.

Tokenizer, data splits, sliding-window perplexity, the lithe-tiny config and
the .npy/case.json reference-case writer.  Everything here is deterministic.
"""
from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent            # examples/gpt2
REPO = HERE.parent.parent                          # repo root
DATA = Path(os.environ.get("LITHE_DATA", "/work/shared/data"))
TINY_DIR = HERE / "lithe-tiny"
TOKENIZER_DIR = TINY_DIR / "tokenizer"
# Big, regenerable artefacts that are NOT committed (HF checkpoints, logs).
WORK_DIR = Path(os.environ.get("LITHE_WORK", str(HERE / "_work")))

# ---------------------------------------------------------------- data splits
# Training text for lithe-tiny: wikitext-2-valid.tokens.txt + gutenberg-big.txt.
# For each file the LAST 5 % of its characters (cut at the next line start) is
# held out for validation; the first 95 % is training text.
# Adaptation text: grimm-tales.txt, FIRST 80 % (cut at a line start) trains the
# adapters, the LAST 20 % is the held-out Grimm evaluation text.
# wikitext-2-raw-test.txt is used only for evaluation.
TRAIN_FILES = ["wikitext-2-valid.tokens.txt", "gutenberg-big.txt"]
TRAIN_HOLDOUT_FRAC = 0.05
GRIMM_FILE = "grimm-tales.txt"
GRIMM_TRAIN_FRAC = 0.80
WIKITEXT_TEST = "wikitext-2-raw-test.txt"


def read_text(name: str) -> str:
    with open(DATA / name, encoding="utf-8") as f:
        return f.read()


def split_at_line(text: str, frac: float) -> tuple[str, str]:
    """Split at the first line start at or after frac*len(text)."""
    cut = int(len(text) * frac)
    nl = text.find("\n", cut)
    cut = len(text) if nl < 0 else nl + 1
    return text[:cut], text[cut:]


def train_valid_texts() -> tuple[list[str], list[str]]:
    train, valid = [], []
    for name in TRAIN_FILES:
        a, b = split_at_line(read_text(name), 1.0 - TRAIN_HOLDOUT_FRAC)
        train.append(a)
        valid.append(b)
    return train, valid


def train_valid_ids() -> tuple[np.ndarray, np.ndarray]:
    """The training and validation splits tokenized, each document ending in <|endoftext|>."""
    eos = get_tokenizer().eos_token_id
    train_txt, valid_txt = train_valid_texts()
    return (np.concatenate([np.append(encode(t), eos) for t in train_txt]),
            np.concatenate([np.append(encode(t), eos) for t in valid_txt]))


def grimm_texts() -> tuple[str, str]:
    return split_at_line(read_text(GRIMM_FILE), GRIMM_TRAIN_FRAC)


def wikitext_test_text() -> str:
    return read_text(WIKITEXT_TEST)


# ------------------------------------------------------------------ tokenizer
_TOK = None


def get_tokenizer():
    """GPT-2 BPE from the local copy in lithe-tiny/tokenizer (vocab.json, merges.txt).

    transformers 5 renamed the GPT2Tokenizer constructor arguments
    (vocab/merges instead of vocab_file/merges_file), so load the local
    directory; no hub access is involved.
    """
    global _TOK
    if _TOK is None:
        from transformers import GPT2Tokenizer
        tok = GPT2Tokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)
        tok.model_max_length = 10 ** 9   # we window ourselves; silence length warnings
        assert len(tok) == 50257 and tok("Hello world")["input_ids"] == [15496, 995]
        _TOK = tok
    return _TOK


def encode(text: str) -> np.ndarray:
    tok = get_tokenizer()
    return np.asarray(tok(text)["input_ids"], dtype=np.int64)


# -------------------------------------------------------------------- seeding
def seed_all(seed: int) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ------------------------------------------------------------- model configs
def lithe_tiny_config(**overrides):
    from transformers import GPT2Config
    kw = dict(vocab_size=50257, n_positions=256, n_embd=96, n_layer=6, n_head=8,
              n_inner=None, activation_function="gelu_new",
              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
              layer_norm_epsilon=1e-5, tie_word_embeddings=True,
              bos_token_id=50256, eos_token_id=50256)
    kw.update(overrides)
    return GPT2Config(**kw)


def load_hf(path, attn="eager"):
    from transformers import GPT2LMHeadModel
    m = GPT2LMHeadModel.from_pretrained(str(path), attn_implementation=attn,
                                        local_files_only=True)
    m.eval()
    return m


# ---------------------------------------------------------------- perplexity
def sliding_window_nll(model, ids, context: int = 256, stride: int = 128,
                       batch: int = 8) -> tuple[float, int]:
    """HF "perplexity of fixed-length models" recipe, token-weighted.

    Windows start at 0, stride, 2*stride, ...; each window is
    ids[begin : begin+context]; in every window except the first only the
    tokens not already scored by the previous window (the last `stride`
    tokens, fewer at the end) are scored, each token's NLL being computed from
    the logits of the previous position.  The first window scores all tokens
    but the very first.  Returns (mean NLL over all scored tokens, count);
    count == len(ids) - 1: an exact token-weighted average.  (The HF doc code
    weights each window's mean loss by n_valid_labels - 1, i.e. trg_len - 1,
    which slightly under-weights all windows but the first; that variant is
    also computed and reported as ppl_hf_doc_weighting.)
    """
    import torch
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    n = ids.numel()
    windows = []     # (begin, end, n_scored)
    prev_end = 0
    for begin in range(0, n, stride):
        end = min(begin + context, n)
        trg = end - prev_end
        windows.append((begin, end, trg))
        prev_end = end
        if end == n:
            break
    total, count = 0.0, 0
    hf_sum, hf_n = 0.0, 0       # HF doc weighting: window mean loss * (n_valid_labels - 1)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            chunk = windows[i:i + batch]
            L = max(e - b for b, e, _ in chunk)
            x = torch.zeros(len(chunk), L, dtype=torch.long)
            for j, (b, e, _) in enumerate(chunk):
                x[j, : e - b] = ids[b:e]
            logits = model(input_ids=x).logits.float()
            logp = torch.log_softmax(logits, dim=-1)
            for j, (b, e, trg) in enumerate(chunk):
                w = e - b
                # targets are positions t in [w-trg, w) with t >= 1
                t0 = max(w - trg, 1)
                tgt = x[j, t0:w]
                lp = logp[j, t0 - 1:w - 1].gather(-1, tgt[:, None])[:, 0]
                total -= lp.double().sum().item()
                count += w - t0
                hf_sum += (-lp.double().mean().item()) * (trg - 1)
                hf_n += trg - 1
    assert count == n - 1, (count, n)
    sliding_window_nll.hf_weighted = hf_sum / hf_n
    return total / count, count


def perplexity(model, ids, context=256, stride=128, batch=8) -> dict:
    nll, count = sliding_window_nll(model, ids, context, stride, batch)
    hf = sliding_window_nll.hf_weighted
    return {"ppl": math.exp(nll), "nll": nll, "tokens_scored": count,
            "context": context, "stride": stride, "n_tokens": int(len(ids)),
            "ppl_hf_doc_weighting": math.exp(hf)}


# ------------------------------------------------------- reference case files
def write_case(case_dir: Path, model_file: str, inputs: dict, outputs: dict,
               extra: dict | None = None, atol=1e-4, rtol=1e-4) -> None:
    """Write one reference case: <name>.npy per tensor + case.json.

    inputs/outputs map ONNX tensor names to numpy arrays.  File names are the
    tensor name with '.' kept (e.g. past_key_values.0.key.npy) under
    inputs/ and outputs/ sub-directories.  `extra` arrays (e.g. torch logits)
    are stored under extra/ and listed but not checked by the checker.
    """
    case_dir = Path(case_dir)
    meta = {"model": model_file, "atol": atol, "rtol": rtol,
            "inputs": [], "outputs": [], "extra": []}
    for kind, tensors in (("inputs", inputs), ("outputs", outputs),
                          ("extra", extra or {})):
        if not tensors:
            continue
        (case_dir / kind).mkdir(parents=True, exist_ok=True)
        for name, arr in tensors.items():
            arr = np.ascontiguousarray(arr)
            fn = f"{kind}/{name}.npy"
            np.save(case_dir / fn, arr, allow_pickle=False)
            meta[kind].append({"name": name, "file": fn, "dtype": str(arr.dtype),
                               "shape": list(arr.shape)})
    with open(case_dir / "case.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def op_histogram(model_path) -> dict:
    import onnx
    m = onnx.load(str(model_path), load_external_data=False)
    hist: dict[str, int] = {}

    def walk(g):
        for n in g.node:
            key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
            hist[key] = hist.get(key, 0) + 1
            for a in n.attribute:
                if a.g is not None and a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(m.graph)
    for f in m.functions:
        walk(f)
    return dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))


def file_size(path) -> int:
    return os.path.getsize(path)
