"""Export helpers shared by make_fixtures.py, train_lithe_tiny export, make_lnfree.py,
make_gpt2_small.py: wrappers with flat past key/value tensors, the TorchScript
and dynamo exports, ORT reference runs and fixture metadata."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def past_names(n_layer):
    ins, outs = [], []
    for i in range(n_layer):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    return ins, outs


class NoPast(torch.nn.Module):
    """input_ids -> logits (no cache)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        # An empty cache (rather than use_cache=False) keeps transformers'
        # packed-sequence detection (torch.diff on position_ids, not exportable
        # by the TorchScript exporter) out of the graph; the cache outputs are
        # dead code and pruned by the exporter.
        from transformers import DynamicCache
        cache = DynamicCache(config=self.m.config)
        return self.m(input_ids=input_ids, past_key_values=cache, use_cache=True).logits


class WithPast(torch.nn.Module):
    """(input_ids, past_key_values.{i}.key/value ...) -> (logits, present.{i}.key/value ...).

    Past tensors are [batch, n_head, past_sequence, head_dim].  No attention
    mask input: positions are past_sequence .. past_sequence+sequence-1 and the
    attention is causal over past + new tokens.
    """

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.n_layer = m.config.n_layer

    def forward(self, input_ids, *past):
        from transformers import DynamicCache
        cache = DynamicCache(config=self.m.config)
        for i in range(self.n_layer):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.m(input_ids=input_ids, past_key_values=cache, use_cache=True)
        pkv = out.past_key_values
        flat = []
        for i in range(self.n_layer):
            layer = pkv.layers[i]
            flat += [layer.keys, layer.values]
        return (out.logits, *flat)


def dummy_past(cfg, batch, past_len, gen=None):
    hd = cfg.n_embd // cfg.n_head
    return [torch.randn(batch, cfg.n_head, past_len, hd, generator=gen) * 0.5
            for _ in range(2 * cfg.n_layer)]


def export_torchscript(model, path, opset, with_past, do_constant_folding=True):
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (2, 3), generator=g)
    if with_past:
        wrapper = WithPast(model).eval()
        pin, pout = past_names(cfg.n_layer)
        past = dummy_past(cfg, 2, 4, g)
        args = (ids, *past)
        in_names = ["input_ids"] + pin
        out_names = ["logits"] + pout
        dyn = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
        for n in pin:
            dyn[n] = {0: "batch", 2: "past_sequence"}
        for n in pout:
            dyn[n] = {0: "batch", 2: "past_sequence+sequence"}
    else:
        wrapper = NoPast(model).eval()
        args = (ids,)
        in_names, out_names = ["input_ids"], ["logits"]
        dyn = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    with torch.no_grad():
        torch.onnx.export(wrapper, args, str(path), dynamo=False, opset_version=opset,
                          input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, do_constant_folding=do_constant_folding)
    return in_names, out_names


def export_dynamo(model, path, opset, with_past):
    from torch.export import Dim
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (2, 3), generator=g)
    batch = Dim("batch", min=1, max=64)
    seq = Dim("sequence", min=1, max=cfg.n_positions)
    if with_past:
        wrapper = WithPast(model).eval()
        pin, pout = past_names(cfg.n_layer)
        past = dummy_past(cfg, 2, 4, g)
        psq = Dim("past_sequence", min=1, max=cfg.n_positions)
        args = (ids, *past)
        # forward(input_ids, *past): torch.export sees (input_ids, past_tuple)
        dyn = ({0: batch, 1: seq}, tuple({0: batch, 2: psq} for _ in pin))
        in_names = ["input_ids"] + pin
        out_names = ["logits"] + pout
    else:
        wrapper = NoPast(model).eval()
        args = (ids,)
        dyn = ({0: batch, 1: seq},)
        in_names, out_names = ["input_ids"], ["logits"]
    with torch.no_grad():
        prog = torch.onnx.export(wrapper, args, dynamo=True, opset_version=opset,
                                 input_names=in_names, output_names=out_names,
                                 dynamic_shapes=dyn)
    prog.save(str(path), external_data=False)
    return in_names, out_names


def ort_session(path, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_ort(sess, feeds):
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    return dict(zip(names, outs))


def io_signature(path):
    import onnx
    m = onnx.load(str(path), load_external_data=False)

    def dims(t):
        return [d.dim_param if d.dim_param else d.dim_value for d in t.type.tensor_type.shape.dim]
    inits = {i.name for i in m.graph.initializer}
    ins = [{"name": i.name, "elem_type": onnx.TensorProto.DataType.Name(i.type.tensor_type.elem_type),
            "shape": dims(i)} for i in m.graph.input if i.name not in inits]
    outs = [{"name": o.name, "elem_type": onnx.TensorProto.DataType.Name(o.type.tensor_type.elem_type),
             "shape": dims(o)} for o in m.graph.output]
    opset = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    return ins, outs, opset


def find_transposed_embedding(path, wte: np.ndarray):
    """Return names of initializers (or Constant nodes) equal to wte.T (the folded lm_head)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(path), load_external_data=True) if True else None
    hits_t, hits_same = [], []
    cands = [(i.name, i) for i in m.graph.initializer]
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    cands.append((n.output[0], a.t))
    for name, t in cands:
        if tuple(t.dims) == wte.T.shape:
            if np.array_equal(numpy_helper.to_array(t), wte.T):
                hits_t.append(name)
        elif tuple(t.dims) == wte.shape:
            if np.array_equal(numpy_helper.to_array(t), wte):
                hits_same.append(name)
    return {"transposed_copies": hits_t, "untransposed_copies": hits_same}


def initializer_summary(path):
    import onnx
    m = onnx.load(str(path), load_external_data=False)
    res = []
    for i in m.graph.initializer:
        ext = any(True for _ in i.external_data)
        res.append({"name": i.name, "dims": list(i.dims),
                    "dtype": onnx.TensorProto.DataType.Name(i.data_type), "external": ext})
    return res


# ---------------------------------------------------------------------------
# Export-matrix helpers (make_export_matrix.py): the HF calling convention with
# an attention_mask input, model(input_ids, attention_mask=..., past_key_values=...),
# plus generic ORT feeds / torch references for any input signature
# (input_ids, attention_mask, position_ids, past_key_values.*, use_cache_branch).

class NoPastMask(torch.nn.Module):
    """(input_ids, attention_mask) -> logits."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        from transformers import DynamicCache
        cache = DynamicCache(config=self.m.config)
        return self.m(input_ids=input_ids, attention_mask=attention_mask,
                      past_key_values=cache, use_cache=True).logits


class WithPastMask(torch.nn.Module):
    """(input_ids, attention_mask[batch, past+seq], past_key_values.{i}.key/value ...)
    -> (logits, present.{i}.key/value ...)."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.n_layer = m.config.n_layer

    def forward(self, input_ids, attention_mask, *past):
        from transformers import DynamicCache
        cache = DynamicCache(config=self.m.config)
        for i in range(self.n_layer):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                     past_key_values=cache, use_cache=True)
        flat = []
        for i in range(self.n_layer):
            layer = out.past_key_values.layers[i]
            flat += [layer.keys, layer.values]
        return (out.logits, *flat)


def _export_args(model, with_past, with_mask, dtype=torch.float32):
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (2, 3), generator=g)
    pin, pout = past_names(cfg.n_layer)
    past = [p.to(dtype) for p in dummy_past(cfg, 2, 4, g)] if with_past else []
    plen = 4 if with_past else 0
    mask = [torch.ones(2, plen + 3, dtype=torch.int64)] if with_mask else []
    if with_past:
        wrapper = WithPastMask(model) if with_mask else WithPast(model)
    else:
        wrapper = NoPastMask(model) if with_mask else NoPast(model)
    in_names = ["input_ids"] + (["attention_mask"] if with_mask else []) + (pin if with_past else [])
    out_names = ["logits"] + (pout if with_past else [])
    return wrapper.eval(), (ids, *mask, *past), in_names, out_names


def export_torchscript_x(model, path, opset, with_past, with_mask, dtype=torch.float32):
    """TorchScript export (dynamo=False, exporter defaults) with optional attention_mask."""
    wrapper, args, in_names, out_names = _export_args(model, with_past, with_mask, dtype)
    pin, pout = past_names(model.config.n_layer)
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    if with_mask:
        dyn["attention_mask"] = {0: "batch", 1: "past_sequence+sequence" if with_past else "sequence"}
    if with_past:
        for n in pin:
            dyn[n] = {0: "batch", 2: "past_sequence"}
        for n in pout:
            dyn[n] = {0: "batch", 2: "past_sequence+sequence"}
    with torch.no_grad():
        torch.onnx.export(wrapper, args, str(path), dynamo=False, opset_version=opset,
                          input_names=in_names, output_names=out_names, dynamic_axes=dyn)
    return in_names, out_names


def export_dynamo_x(model, path, opset, with_past, with_mask, dtype=torch.float32):
    """dynamo=True export (exporter defaults, incl. its onnxscript optimizer) with optional
    attention_mask.  The mask length (past+sequence) is left to torch.export (Dim.DYNAMIC)."""
    from torch.export import Dim
    cfg = model.config
    wrapper, args, in_names, out_names = _export_args(model, with_past, with_mask, dtype)
    batch = Dim("batch", min=1, max=64)
    seq = Dim("sequence", min=1, max=cfg.n_positions)
    dyn = [{0: batch, 1: seq}]
    if with_mask:
        dyn.append({0: batch, 1: Dim.DYNAMIC if with_past else seq})
    if with_past:
        psq = Dim("past_sequence", min=1, max=cfg.n_positions)
        dyn.append(tuple({0: batch, 2: psq} for _ in range(2 * cfg.n_layer)))
    with torch.no_grad():
        prog = torch.onnx.export(wrapper, args, dynamo=True, opset_version=opset,
                                 input_names=in_names, output_names=out_names,
                                 dynamic_shapes=tuple(dyn))
    prog.save(str(path), external_data=False)
    return in_names, out_names


_ORT_NP = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32,
           "tensor(float16)": np.float16, "tensor(bool)": np.bool_, "tensor(double)": np.float64}


def ort_feeds(sess, cfg, ids, past_len=0, past=None):
    """Feeds for whatever inputs the session declares: input_ids, attention_mask (all ones,
    [batch, past+seq]), position_ids (arange(past, past+seq)), past_key_values.* (given or
    empty [batch, heads, 0, head_dim]), use_cache_branch ([past_len > 0])."""
    b, s = ids.shape
    hd = cfg.n_embd // cfg.n_head
    feeds = {}
    for i in sess.get_inputs():
        dt = _ORT_NP[i.type]
        n = i.name
        if n == "input_ids":
            feeds[n] = ids.astype(dt)
        elif n == "attention_mask":
            feeds[n] = np.ones((b, past_len + s), dtype=dt)
        elif n == "position_ids":
            feeds[n] = np.ascontiguousarray(np.broadcast_to(np.arange(past_len, past_len + s), (b, s))).astype(dt)
        elif n.startswith("past_key_values") or n.startswith("past_"):
            feeds[n] = (past[n] if past is not None else np.zeros((b, cfg.n_head, 0, hd))).astype(dt)
        elif n == "use_cache_branch":
            feeds[n] = np.array([past_len > 0], dtype=dt)
        else:
            raise ValueError(f"unknown model input {n}")
    return feeds


def present_name(past_input_name):
    return past_input_name.replace("past_key_values", "present")


def torch_reference(model, ids, past=None, past_len=0):
    """HF fp32 reference: model(input_ids, attention_mask=ones, past_key_values=cache).
    past: {"past_key_values.{i}.key"/".value": np array} or None.  Returns (logits, presents)."""
    from transformers import DynamicCache
    cfg = model.config
    cache = DynamicCache(config=cfg)
    if past is not None:
        for i in range(cfg.n_layer):
            cache.update(torch.from_numpy(np.asarray(past[f"past_key_values.{i}.key"], np.float32)),
                         torch.from_numpy(np.asarray(past[f"past_key_values.{i}.value"], np.float32)), i)
    b, s = ids.shape
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids.astype(np.int64)),
                    attention_mask=torch.ones(b, past_len + s, dtype=torch.int64),
                    past_key_values=cache, use_cache=True)
    pres = {}
    for i in range(cfg.n_layer):
        layer = out.past_key_values.layers[i]
        pres[f"present.{i}.key"] = layer.keys.float().numpy()
        pres[f"present.{i}.value"] = layer.values.float().numpy()
    return out.logits.float().numpy(), pres
