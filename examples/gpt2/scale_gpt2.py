"""GPT-2 small's shape with random weights, made from lithe-tiny's ONNX export without torch.

    python3 examples/gpt2/scale_gpt2.py /tmp/gpt2-small/model.onnx

For speed measurements only (`lithec --report-speed-model`, bench/report_lithe_tiny.sh
with SPEED_MODEL=...): made on demand, never committed (~500 MB). Where torch is
available, examples/gpt2/make_gpt2_small.py exports the same shape from transformers;
this script needs only numpy and onnx.

lithe-tiny (examples/gpt2/lithe-tiny/model.onnx) is transformers' GPT-2 exported by the
TorchScript exporter (opset 17, with past key/values): 6 layers, 8 heads of 12, width
96, 256 positions, GPT-2's vocabulary. This rewrites that graph to 12 layers, 12 heads
of 64, width 768, 1024 positions: the constants that carry the head size, the width,
the fused QKV split and the attention scale are replaced, layer 5's nodes are cloned as
layers 6-11, the past/present inputs and outputs are added, and every weight is drawn
anew with GPT-2's init (N(0, 0.02), residual projections scaled by 1/sqrt(2 * layers),
LayerNorm gamma 1 and beta 0, biases 0) under numpy's seed. Weights go to
<output>.data (external data); lithe-tiny's tokenizer is copied beside the model (the
data-driven passes read it for calibration).
"""
from __future__ import annotations

import argparse
import copy
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

TINY = Path(__file__).resolve().parent / "lithe-tiny"
OLD = dict(width=96, heads=8, head=12, layers=6, positions=256)
NEW = dict(width=768, heads=12, head=64, layers=12, positions=1024)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="the .onnx file to write (its weights go to OUTPUT.data)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    m = onnx.load(str(TINY / "model.onnx"))
    g = m.graph
    ow, nw, oh, nh = OLD["width"], NEW["width"], OLD["head"], NEW["head"]

    # Constants: head size, width, QKV width, MLP width, the split, the scale.
    ints = {oh: nh, ow: nw, 3 * ow: 3 * nw, 4 * ow: 4 * nw}
    for n in g.node:
        if n.op_type != "Constant":
            continue
        a = n.attribute[0]
        t = numpy_helper.to_array(a.t)
        if t.dtype == np.int64 and t.size == 1 and int(t.flatten()[0]) in ints:
            a.t.CopyFrom(numpy_helper.from_array(np.full(t.shape, ints[int(t.flatten()[0])], np.int64), a.t.name))
        elif t.dtype == np.int64 and t.tolist() == [ow, ow, ow]:
            a.t.CopyFrom(numpy_helper.from_array(np.array([nw] * 3, np.int64), a.t.name))
        elif t.dtype == np.float32 and t.size == 1 and abs(float(t.flatten()[0]) - oh ** -0.5) < 1e-6:
            a.t.CopyFrom(numpy_helper.from_array(np.full(t.shape, nh ** -0.5, np.float32), a.t.name))

    # Layers: clone the last one.
    last = OLD["layers"] - 1
    tag = f"/h.{last}/"
    layer = [n for n in g.node if tag in n.name]
    outs = {o for n in layer for o in n.output}
    at = max(i for i, n in enumerate(g.node) if tag in n.name) + 1
    clones = []
    for k in range(OLD["layers"], NEW["layers"]):
        def rename(v, k=k):
            if v in outs:
                return v.replace(tag, f"/h.{k}/").replace(f"present.{last}.", f"present.{k}.")
            if v == f"/m/transformer/h.{last - 1}/Add_1_output_0":
                return f"/m/transformer/h.{k - 1}/Add_1_output_0"
            if v.startswith(f"past_key_values.{last}."):
                return v.replace(f".{last}.", f".{k}.")
            if v.startswith(f"m.transformer.h.{last}."):
                return v.replace(f".h.{last}.", f".h.{k}.")
            return v
        for n in layer:
            c = copy.deepcopy(n)
            c.name = n.name.replace(tag, f"/h.{k}/")
            c.input[:] = [rename(v) for v in n.input]
            c.output[:] = [rename(v) for v in n.output]
            clones.append(c)
    nodes = list(g.node)
    nodes[at:at] = clones
    final = f"/m/transformer/h.{NEW['layers'] - 1}/Add_1_output_0"
    for n in nodes:
        n.input[:] = [final if v == f"/m/transformer/h.{last}/Add_1_output_0" and "ln_f" in n.name else v
                      for v in n.input]
    del g.node[:]
    g.node.extend(nodes)

    # Inputs and outputs: past/present for every layer, 12 heads of 64.
    def kv_dims(vi):
        d = vi.type.tensor_type.shape.dim
        d[1].dim_value, d[3].dim_value = NEW["heads"], nh
    for lst, prefix in ((g.input, "past_key_values"), (g.output, "present")):
        tmpl = {s: next(v for v in lst if v.name == f"{prefix}.{last}.{s}") for s in ("key", "value")}
        for k in range(OLD["layers"], NEW["layers"]):
            for s in ("key", "value"):
                v = copy.deepcopy(tmpl[s])
                v.name = f"{prefix}.{k}.{s}"
                lst.append(v)
        for v in lst:
            if v.name.startswith(prefix):
                kv_dims(v)
    for v in g.output:
        if v.name == "logits":
            pass
    del g.value_info[:]

    # Weights: GPT-2's init at the new shapes.
    rng = np.random.default_rng(args.seed)
    L, V = NEW["layers"], 50257

    def normal(*shape, scale=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32)
    w = {"m.transformer.wte.weight": normal(V, nw), "m.transformer.wpe.weight": normal(NEW["positions"], nw),
         "m.transformer.ln_f.weight": np.ones(nw, np.float32), "m.transformer.ln_f.bias": np.zeros(nw, np.float32)}
    proj = 0.02 / np.sqrt(2 * L)
    for k in range(L):
        p = f"m.transformer.h.{k}."
        w.update({p + "ln_1.weight": np.ones(nw, np.float32), p + "ln_1.bias": np.zeros(nw, np.float32),
                  p + "ln_2.weight": np.ones(nw, np.float32), p + "ln_2.bias": np.zeros(nw, np.float32),
                  p + "attn.c_attn.weight": normal(nw, 3 * nw), p + "attn.c_attn.bias": np.zeros(3 * nw, np.float32),
                  p + "attn.c_proj.weight": normal(nw, nw, scale=proj), p + "attn.c_proj.bias": np.zeros(nw, np.float32),
                  p + "mlp.c_fc.weight": normal(nw, 4 * nw), p + "mlp.c_fc.bias": np.zeros(4 * nw, np.float32),
                  p + "mlp.c_proj.weight": normal(4 * nw, nw, scale=proj),
                  p + "mlp.c_proj.bias": np.zeros(nw, np.float32)})
    old = {t.name for t in g.initializer}
    missing = old - set(w)
    if missing:
        raise SystemExit(f"scale_gpt2: initializers not understood: {sorted(missing)[:5]}")
    del g.initializer[:]
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in w.items())

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(m, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=out.name + ".data", size_threshold=1024)
    tok = out.parent / "tokenizer"
    if not tok.exists():
        shutil.copytree(TINY / "tokenizer", tok)
    n = sum(v.size for v in w.values())
    print(f"scale_gpt2: wrote {out} ({n / 1e6:.1f}M parameters, {L} layers, {NEW['heads']} heads of {nh}, "
          f"width {nw}, {NEW['positions']} positions)")


if __name__ == "__main__":
    main()
