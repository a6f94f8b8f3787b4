"""Print (or splice into README.md) markdown tables describing every ONNX fixture:
files and sizes, inputs/outputs, op-type histograms, embedding duplicates.

    python3 examples/gpt2/describe_fixtures.py                # print
    python3 examples/gpt2/describe_fixtures.py --update-readme

Needs only numpy + onnx.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BEGIN, END = "<!-- BEGIN GENERATED (describe_fixtures.py) -->", "<!-- END GENERATED -->"

MODELS = [  # (short name, model path relative to repo)
    ("ts13-past", "test/fixtures/gpt2/gpt2-tiny-ts13-past/model.onnx"),
    ("ts14", "test/fixtures/gpt2/gpt2-tiny-ts14/model.onnx"),
    ("ts15", "test/fixtures/gpt2/gpt2-tiny-ts15/model.onnx"),
    ("ts16-past", "test/fixtures/gpt2/gpt2-tiny-ts16-past/model.onnx"),
    ("ts14-past", "test/fixtures/gpt2/gpt2-tiny-ts14-past/model.onnx"),
    ("ts17", "test/fixtures/gpt2/gpt2-tiny-ts17/model.onnx"),
    ("ts17-past", "test/fixtures/gpt2/gpt2-tiny-ts17-past/model.onnx"),
    ("dyn18", "test/fixtures/gpt2/gpt2-tiny-dynamo18/model.onnx"),
    ("dyn18-past", "test/fixtures/gpt2/gpt2-tiny-dynamo18-past/model.onnx"),
    ("ts17-past-ext", "test/fixtures/gpt2/gpt2-tiny-ts17-past-extdata/model.onnx"),
    ("lithe-tiny", "examples/gpt2/lithe-tiny/model.onnx"),
    ("lnfree-noln", "examples/gpt2/lithe-tiny/lnfree/model-noln.onnx"),
    ("lnfree-bigeps", "examples/gpt2/lithe-tiny/lnfree/model-bigeps.onnx"),
]


def op_hist(m):
    h = {}
    for n in m.graph.node:
        k = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        h[k] = h.get(k, 0) + 1
    return h


def dims(t):
    return [d.dim_param if d.dim_param else d.dim_value for d in t.type.tensor_type.shape.dim]


def dir_size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def embedding_info(m, path):
    """Find the token-embedding initializer (the Gather's data input) and any
    other initializer equal to it or to its transpose."""
    from onnx import numpy_helper
    import onnx
    inits = {i.name: i for i in m.graph.initializer}
    emb = None
    for n in m.graph.node:
        if n.op_type == "Gather" and n.input[0] in inits and len(inits[n.input[0]].dims) == 2 \
                and inits[n.input[0]].dims[0] > 256:
            emb = n.input[0]
            break
    if emb is None:
        return "?"
    full = onnx.load(str(path))
    arrs = {i.name: i for i in full.graph.initializer}
    w = numpy_helper.to_array(arrs[emb])
    same, trans = [], []
    for name, t in arrs.items():
        if name == emb:
            continue
        if tuple(t.dims) == w.shape and np.array_equal(numpy_helper.to_array(t), w):
            same.append(name)
        elif tuple(t.dims) == w.T.shape and np.array_equal(numpy_helper.to_array(t), w.T):
            trans.append(name)
    s = f"`{emb}`"
    if trans:
        s += f"; transposed copy `{trans[0]}` {list(w.T.shape)} (lm_head MatMul)"
    if same:
        s += f"; identical copy `{same[0]}`"
    if not trans and not same:
        s += "; no copy (lm_head uses it via Transpose/Gemm transB)"
    return s


def lm_head_desc(m):
    """Describe the last MatMul/Gemm producing logits."""
    prod = {o: n for n in m.graph.node for o in n.output}
    n = prod.get("logits")
    hops = []
    while n is not None and n.op_type not in ("MatMul", "Gemm") and len(hops) < 4:
        hops.append(n.op_type)
        n = prod.get(n.input[0])
    if n is None:
        return "?"
    b = n.input[1]
    src = prod.get(b)
    bdesc = f"`{b}`" if src is None else f"{src.op_type}(`{src.input[0]}`)"
    attrs = {a.name: a.i for a in n.attribute if a.type == 2}
    s = f"{n.op_type}(x, {bdesc}" + (", transB=1" if attrs.get("transB") else "") + ")"
    if hops:
        s += " then " + ", ".join(reversed(hops))
    return s


def build():
    import onnx
    rows, hists, ios = [], {}, []
    for short, rel in MODELS:
        p = REPO / rel
        if not p.exists():
            continue
        m = onnx.load(str(p), load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        ext = [i for i in m.graph.initializer if i.data_location == onnx.TensorProto.EXTERNAL]
        locs = sorted({e.value for i in ext for e in i.external_data if e.key == "location"})
        opset = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in m.opset_import)
        d = p.parent
        ncases = sum(1 for _ in d.rglob("case.json"))
        files = f"{p.name} {p.stat().st_size / 1e6:.2f} MB" + "".join(
            f" + {l} {(d / l).stat().st_size / 1e6:.2f} MB" for l in locs)
        rows.append((short, rel, opset, files, len(m.graph.initializer), len(ext), ncases))
        hists[short] = op_hist(m)
        ins = [f"`{i.name}` {dims(i)}" for i in m.graph.input if i.name not in inits]
        outs = [f"`{o.name}` {dims(o)}" for o in m.graph.output]
        if len(ins) > 3:
            ins = ins[:2] + [f"... ({len(ins) - 1} past tensors)"]
        if len(outs) > 3:
            outs = outs[:2] + [f"... ({len(outs) - 1} present tensors)"]
        ios.append((short, "; ".join(ins), "; ".join(outs), embedding_info(m, p), lm_head_desc(m)))
    out = []
    out.append("#### Files\n")
    out.append("| fixture | model path | opset_import | files | initializers | external | cases |")
    out.append("|---|---|---|---|---|---|---|")
    for r in rows:
        out.append(f"| {r[0]} | `{r[1]}` | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} |")
    out.append("")
    out.append("Directory totals (apparent size, everything that is committed):\n")
    for d in ["test/fixtures/gpt2", "examples/gpt2/lithe-tiny", "examples/gpt2/lithe-tiny/lnfree",
              "examples/gpt2/lithe-tiny/adapters", "examples/gpt2/lithe-tiny/cases",
              "examples/gpt2/lithe-tiny/tokenizer"]:
        if (REPO / d).exists():
            out.append(f"- `{d}`: {dir_size(REPO / d) / 1e6:.2f} MB")
    out.append("")
    out.append("#### Inputs, outputs, embedding / lm_head\n")
    out.append("| fixture | inputs | outputs | token embedding initializer and copies | lm_head |")
    out.append("|---|---|---|---|---|")
    for r in ios:
        out.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |")
    out.append("")
    out.append("#### Op-type histograms (node counts in the main graph)\n")
    names = [r[0] for r in rows]
    ops = sorted({o for h in hists.values() for o in h},
                 key=lambda o: (-sum(h.get(o, 0) for h in hists.values()), o))
    out.append("| op | " + " | ".join(names) + " |")
    out.append("|---|" + "---|" * len(names))
    for o in ops:
        out.append(f"| {o} | " + " | ".join(str(hists[n].get(o, "")) for n in names) + " |")
    out.append("| **total** | " + " | ".join(str(sum(hists[n].values())) for n in names) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()
    md = build()
    if not args.update_readme:
        print(md)
        return
    rp = HERE / "README.md"
    s = rp.read_text()
    a, b = s.index(BEGIN) + len(BEGIN), s.index(END)
    rp.write_text(s[:a] + "\n" + md + s[b:])
    print(f"updated {rp}")


if __name__ == "__main__":
    main()
