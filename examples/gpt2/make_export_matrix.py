"""Export matrix (issue #10 item 1): tiny random-weight GPT-2s exported by the real tools
users use, at their defaults, each with ONNX Runtime reference cases.

    python3 examples/gpt2/make_export_matrix.py                  # everything (groups A-F)
    python3 examples/gpt2/make_export_matrix.py --group A C      # some groups
    python3 examples/gpt2/make_export_matrix.py --only gpt2-x-ts17-sdpa-mask-past
    python3 examples/gpt2/make_export_matrix.py --list

Run with the packages of examples/gpt2/requirements-matrix.txt.  Group B (optimum-onnx)
shells out to examples/gpt2/make_optimum_fixtures.sh, which builds its own venv under
examples/gpt2/_work/venv-optimum (optimum-onnx needs transformers < 4.58).

Writes test/fixtures/gpt2/gpt2-x-*/{model.onnx, fixture.json, cases/<case>/...} in the
format of make_fixtures.py (common.write_case).  Weights: make_fixtures.build_tiny()'s
init (seed 0) with the attention implementation / config the fixture names.  Cases:
no-past models b1_s8, b2_s11; past models b1_past5_s3, b2_past5_s3 (prefix run by the
model itself with an empty past; full sequence in extra/full_input_ids.npy).  All inputs
the model declares are fed: attention_mask all ones, position_ids arange(past, past+s),
use_cache_branch [past > 0].  Case outputs are ORT's; extra/torch_logits.npy is the HF
fp32 model's logits.  Each fixture is written as soon as it is made.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common as C  # noqa: E402
import export_util as E  # noqa: E402
import make_fixtures as MF  # noqa: E402

OUT = C.REPO / "test" / "fixtures" / "gpt2"
WORK = C.WORK_DIR / "matrix"
SEED = 0
CMD = "python3 examples/gpt2/make_export_matrix.py"


# ------------------------------------------------------------------ the model
def build_model(attn="sdpa", seed=SEED, **overrides):
    """make_fixtures.build_tiny() with transformers' default (sdpa) attention."""
    return MF.build_tiny(seed, attn, **overrides)


# --------------------------------------------------------------------- matrix
EXPORTERS = {"ts14": ("torchscript", 14), "ts17": ("torchscript", 17),
             "dyn18": ("dynamo", 18), "dyn20": ("dynamo", 20)}
EXISTING = {("ts14", "eager", False), ("ts17", "eager", False), ("dyn18", "eager", False)}

MATRIX: dict[str, dict] = {}
for _ex in EXPORTERS:
    for _attn in ("sdpa", "eager"):
        for _mask in (False, True):
            if (_ex, _attn, _mask) in EXISTING:
                continue       # == gpt2-tiny-{ts14,ts17,dynamo18}[-past]
            for _past in (False, True):
                _n = f"gpt2-x-{_ex}-{_attn}" + ("-mask" if _mask else "") + ("-past" if _past else "")
                MATRIX[_n] = dict(group="A", kind="torch", exporter=EXPORTERS[_ex][0],
                                  opset=EXPORTERS[_ex][1], attn=_attn, mask=_mask, past=_past)
MATRIX["gpt2-x-optimum"] = dict(group="B", kind="optimum", src="with-past/model.onnx", past=True)
MATRIX["gpt2-x-optimum-merged"] = dict(group="B", kind="optimum", src="merged/decoder_model_merged.onnx",
                                       past=True)
# --no-post-process (OUT/with-past-nopost) is byte-identical to the default with-past export with
# optimum-onnx 0.1.0 (nothing to merge for a single decoder file), so no fixture is made from it.
MATRIX["gpt2-x-optimum-nopast"] = dict(group="B", kind="optimum", src="no-past/model.onnx", past=False)
MATRIX["gpt2-x-ortopt-ts17"] = dict(group="C", kind="ortopt", base="gpt2-x-ts17-sdpa-mask-past", past=True)
MATRIX["gpt2-x-ortopt-ts17-eager"] = dict(group="C", kind="ortopt", base="gpt2-x-ts17-eager-mask-past", past=True)
MATRIX["gpt2-x-ortopt-optimum"] = dict(group="C", kind="ortopt", base="gpt2-x-optimum", past=True)
MATRIX["gpt2-x-fp16-half"] = dict(group="D", kind="fp16half", past=True)
MATRIX["gpt2-x-fp16-half-dyn18"] = dict(group="D", kind="fp16half", past=True, exporter="dynamo", opset=18)
MATRIX["gpt2-x-fp16-ortconv"] = dict(group="D", kind="fp16conv", base="gpt2-x-ts17-sdpa-mask-past", past=True)
MATRIX["gpt2-x-fp16-ortconv-keepio"] = dict(group="D", kind="fp16conv", base="gpt2-x-ts17-sdpa-mask-past",
                                            past=True, keep_io_types=True)
for _n, _wt in (("gpt2-x-qdyn-s8", "QInt8"), ("gpt2-x-qdyn-u8", "QUInt8")):
    MATRIX[_n] = dict(group="E", kind="qdyn", weight_type=_wt, base="gpt2-x-ts17-sdpa-mask-past", past=True)
MATRIX["gpt2-x-qdq-weights"] = dict(group="E", kind="qdqw", base="gpt2-x-ts17-sdpa-mask-past", past=True)
MATRIX["gpt2-x-qdq-static"] = dict(group="E", kind="qdqs", base="gpt2-x-ts17-sdpa-mask-past", past=True)
CFG_VARIANTS = {
    "untied": dict(tie_word_embeddings=False),
    "erfgelu": dict(activation_function="gelu"),
    "invlayer": dict(scale_attn_by_inverse_layer_idx=True),
    "upcast": dict(reorder_and_upcast_attn=True),
    "e36h3": dict(n_embd=36, n_head=3),
    "e40h5": dict(n_embd=40, n_head=5),
}
# reorder_and_upcast_attn only acts in transformers' eager attention (GPT2Attention.forward:
# `if using_eager and self.reorder_and_upcast_attn`); with sdpa the export is byte-identical to
# gpt2-x-ts17-sdpa-mask-past / gpt2-x-dyn18-sdpa-mask-past, so the upcast variants use eager.
for _v, _ov in CFG_VARIANTS.items():
    MATRIX[f"gpt2-x-cfg-{_v}"] = dict(group="F", kind="torch", exporter="torchscript", opset=17,
                                      attn="eager" if _v == "upcast" else "sdpa", mask=True, past=True, cfg=_ov)
MATRIX["gpt2-x-cfg-upcast-dyn18"] = dict(group="F", kind="torch", exporter="dynamo", opset=18, attn="eager",
                                         mask=True, past=True, cfg=CFG_VARIANTS["upcast"])
MATRIX["gpt2-x-dyn23-sdpa-mask-past"] = dict(group="F", kind="torch", exporter="dynamo", opset=23,
                                             attn="sdpa", mask=True, past=True)


# ---------------------------------------------------------------------- utils
def versions():
    import onnx
    import onnxruntime
    import transformers
    v = {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
         "onnxruntime": onnxruntime.__version__, "numpy": np.__version__}
    try:
        import onnxscript
        v["onnxscript"] = onnxscript.__version__
    except Exception:  # noqa: BLE001
        pass
    return v


def make_cases(fx: Path, sess, model, with_past, atol=1e-4, seed=SEED):
    """Two cases per fixture; returns {case: {logits: max|ORT-torch|, ...}}."""
    cfg = model.config
    rng = np.random.default_rng(seed)
    summary = {}
    past_inputs = [i.name for i in sess.get_inputs() if i.name.startswith("past_key_values")]
    if not with_past:
        for name, b, s in (("b1_s8", 1, 8), ("b2_s11", 2, 11)):
            ids = rng.integers(0, cfg.vocab_size, (b, s), dtype=np.int64)
            feeds = E.ort_feeds(sess, cfg, ids)
            ort_out = E.run_ort(sess, feeds)
            tl, _ = E.torch_reference(model, ids)
            diff = float(np.abs(ort_out["logits"].astype(np.float64) - tl).max())
            cd = fx / "cases" / name
            C.write_case(cd, "../../model.onnx", feeds, ort_out, extra={"torch_logits": tl}, atol=atol)
            MF._add_note(cd, {"description": f"batch {b}, {s} seeded random token ids, no past; "
                                             "attention_mask (if an input) all ones",
                              "max_abs_diff_ort_vs_torch_logits": diff})
            summary[name] = {"logits": diff}
        return summary
    for name, b, plen, s in (("b1_past5_s3", 1, 5, 3), ("b2_past5_s3", 2, 5, 3)):
        ids_all = rng.integers(0, cfg.vocab_size, (b, plen + s), dtype=np.int64)
        prefix, new = ids_all[:, :plen], ids_all[:, plen:]
        src = "ORT (this model, empty past, on the prefix)"
        try:
            pre = E.run_ort(sess, E.ort_feeds(sess, cfg, prefix))
            past = {n: pre[E.present_name(n)] for n in past_inputs}
        except Exception as e:  # noqa: BLE001
            src = f"torch fp32 (ORT rejected an empty past: {type(e).__name__})"
            _, tp = E.torch_reference(model, prefix)
            past = {n: tp[E.present_name(n)] for n in past_inputs}
        feeds = E.ort_feeds(sess, cfg, new, plen, past)
        ort_out = E.run_ort(sess, feeds)
        past32 = {n: np.asarray(a, np.float32) for n, a in past.items()}
        tl, tp = E.torch_reference(model, new, past32, plen)
        diff = float(np.abs(ort_out["logits"].astype(np.float64) - tl).max())
        pdiff = max(float(np.abs(ort_out[k].astype(np.float64) - tp[k]).max()) for k in tp if k in ort_out)
        full, _ = E.torch_reference(model, ids_all)
        cons = float(np.abs(ort_out["logits"].astype(np.float64) - full[:, plen:]).max())
        cd = fx / "cases" / name
        C.write_case(cd, "../../model.onnx", feeds, ort_out,
                     extra={"torch_logits": tl, "full_input_ids": ids_all}, atol=atol)
        MF._add_note(cd, {"description": f"batch {b}; past = {plen} tokens, then {s} new tokens (full sequence "
                                         "in extra/full_input_ids.npy); attention_mask all ones, "
                                         "position_ids arange(past, past+s) where inputs",
                          "past_source": src,
                          "max_abs_diff_ort_vs_torch_logits": diff,
                          "max_abs_diff_ort_vs_torch_present": pdiff,
                          "max_abs_diff_vs_no_past_full_sequence_logits": cons})
        summary[name] = {"logits": diff, "present": pdiff, "vs_full_sequence": cons}
    return summary


def com_microsoft_ops(hist):
    return sorted(k.split("::", 1)[1] for k in hist if k.startswith("com.microsoft::"))


def ort_session(path, level=None):
    """E.ort_session, optionally at another graph optimization level (name of an
    onnxruntime.GraphOptimizationLevel member, e.g. "ORT_DISABLE_ALL")."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if level:
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def cross_check_levels(fx: Path, level):
    """max |logits(default level) - logits(ORT_DISABLE_ALL)| over the recorded cases (ORT's graph
    optimizations may change numerics, e.g. DequantizeLinear+MatMul -> MatMulNBits)."""
    other = ort_session(fx / "model.onnx", None if level else "ORT_DISABLE_ALL")
    worst = 0.0
    for cj in sorted((fx / "cases").glob("*/case.json")):
        meta = json.loads(cj.read_text())
        feeds = {t["name"]: np.load(cj.parent / t["file"]) for t in meta["inputs"]}
        want = np.load(cj.parent / "outputs" / "logits.npy")
        got = other.run(["logits"], feeds)[0]
        worst = max(worst, float(np.abs(got.astype(np.float64) - want).max()))
    return worst


def finish(fx: Path, meta: dict, model, with_past, case_atol=1e-4, ort_level=None):
    """ORT-run the fixture's model.onnx, write cases and fixture.json.  ort_level: graph
    optimization level for the reference outputs (None = ORT's default, ORT_ENABLE_ALL);
    when set it is recorded in every case.json and honoured by check_references.py."""
    try:
        sess = ort_session(fx / "model.onnx", ort_level)
        meta["ort_runs"] = True
        meta["cases"] = make_cases(fx, sess, model, with_past, atol=case_atol)
        if ort_level:
            meta["ort_graph_optimization_level"] = ort_level
            for cj in (fx / "cases").glob("*/case.json"):
                MF._add_note(cj.parent, {"ort_graph_optimization_level": ort_level})
        meta["max_abs_logits_ort_default_vs_disable_all"] = cross_check_levels(fx, ort_level)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        shutil.rmtree(fx / "cases", ignore_errors=True)
        meta["ort_runs"] = False
        meta["ort_error"] = f"{type(e).__name__}: {e}"[:1500]
        meta["cases"] = {}
    wte = model.transformer.wte.weight.detach().float().numpy()
    meta.update(MF.describe(fx, "model.onnx", wte))
    meta["com_microsoft_ops"] = com_microsoft_ops(meta["op_histogram"])
    meta["model_bytes"] = (fx / "model.onnx").stat().st_size
    meta["made_by"] = f"{CMD} --only {fx.name}"
    (fx / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
    worst = max([v["logits"] for v in meta["cases"].values()] or [float("nan")])
    print(f"{fx.name}: ort_runs={meta['ort_runs']} max|ORT-torch| logits={worst:.3g} "
          f"ops={len(meta['op_histogram'])} bytes={meta['model_bytes']}", flush=True)
    return meta


def base_meta(name, spec, model):
    return {"fixture": name, "group": spec["group"], "past_key_values": spec["past"],
            "model": f"tiny random GPT-2 (transformers.GPT2LMHeadModel, attn_implementation="
                     f"{model.config._attn_implementation!r})",
            "config": {k: getattr(model.config, k) for k in
                       ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "activation_function",
                        "tie_word_embeddings", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn")},
            "seed": SEED,
            "init": "make_fixtures.build_tiny() init: matrices/wte N(0,0.1), wpe N(0,0.05), biases N(0,0.05), "
                    "LN gamma 1+N(0,0.1), LN beta N(0,0.05)",
            "versions": versions(), "tolerance": 1e-4,
            "tolerance_note": "absolute, lithe logits vs the recorded ORT logits"}


def fresh(fx: Path):
    if fx.exists():
        shutil.rmtree(fx)
    fx.mkdir(parents=True)


# -------------------------------------------------------------------- makers
def make_torch(name, spec):
    model = build_model(spec["attn"], **spec.get("cfg", {}))
    fx = OUT / name
    fresh(fx)
    meta = base_meta(name, spec, model)
    meta.update(exporter=spec["exporter"], opset=spec["opset"], attention_mask_input=spec["mask"],
                config_overrides=spec.get("cfg", {}))
    if spec["exporter"] == "torchscript":
        E.export_torchscript_x(model, fx / "model.onnx", spec["opset"], spec["past"], spec["mask"])
        meta["export_call"] = (f"torch.onnx.export(wrapper, args, dynamo=False, opset_version={spec['opset']}, "
                               "input_names, output_names, dynamic_axes=batch/sequence"
                               + ("/past_sequence" if spec["past"] else "") + ") (other args default)")
    else:
        E.export_dynamo_x(model, fx / "model.onnx", spec["opset"], spec["past"], spec["mask"])
        meta["export_call"] = (f"torch.onnx.export(wrapper, args, dynamo=True, opset_version={spec['opset']}, "
                               "input_names, output_names, dynamic_shapes=batch/sequence"
                               + ("/past_sequence" if spec["past"] else "")
                               + (" (mask length Dim.DYNAMIC)" if spec["mask"] and spec["past"] else "")
                               + ") then ONNXProgram.save(path, external_data=False)")
    meta["wrapper"] = ("export_util." + ("WithPastMask" if spec["past"] and spec["mask"] else
                                         "WithPast" if spec["past"] else
                                         "NoPastMask" if spec["mask"] else "NoPast")
                       + ": model(input_ids" + (", attention_mask=attention_mask" if spec["mask"] else "")
                       + ", past_key_values=DynamicCache(...), use_cache=True)")
    return finish(fx, meta, model, spec["past"])


def optimum_versions():
    p = WORK / "optimum" / "versions.json"
    return json.loads(p.read_text()) if p.exists() else {}


def make_optimum(name, spec):
    src = WORK / "optimum" / spec["src"]
    if not src.exists():
        sh = HERE / "make_optimum_fixtures.sh"
        hf = WORK / "hf-tiny"
        if not hf.exists():
            save_hf()
        subprocess.run(["bash", str(sh), str(hf), str(WORK / "optimum")], check=True)
    model = build_model("sdpa")
    fx = OUT / name
    fresh(fx)
    shutil.copy(src, fx / "model.onnx")
    if (src.parent / (src.name + "_data")).exists() or (src.parent / (src.name + ".data")).exists():
        raise RuntimeError("optimum wrote external data; not expected for a tiny model")
    meta = base_meta(name, spec, model)
    cmds = json.loads((WORK / "optimum" / "commands.json").read_text())
    meta.update(exporter="optimum-onnx (optimum-cli export onnx)", optimum_versions=optimum_versions(),
                export_call=cmds[spec["src"].split("/")[0]], optimum_output_file=spec["src"],
                hf_model_dir="examples/gpt2/_work/matrix/hf-tiny (build_model('sdpa').save_pretrained)")
    import onnx
    meta["opset"] = {(o.domain or "ai.onnx"): o.version for o in onnx.load(str(fx / "model.onnx")).opset_import}
    return finish(fx, meta, model, spec["past"])


def save_hf():
    hf = WORK / "hf-tiny"
    if hf.exists():
        shutil.rmtree(hf)
    m = build_model("sdpa")
    m.save_pretrained(str(hf))        # no tokenizer: optimum does not need one to export
    return hf


def _base(name, spec):
    base = OUT / spec["base"] / "model.onnx"
    if not base.exists():
        make_one(spec["base"])
    return base


def make_ortopt(name, spec):
    from onnxruntime.transformers import optimizer
    base = _base(name, spec)
    model = build_model("sdpa")
    fx = OUT / name
    fresh(fx)
    opt = optimizer.optimize_model(str(base), model_type="gpt2", num_heads=4, hidden_size=32)
    opt.save_model_to_file(str(fx / "model.onnx"))
    meta = base_meta(name, spec, model)
    meta.update(exporter="onnxruntime.transformers.optimizer", source_fixture=spec["base"],
                export_call="optimizer.optimize_model(path, model_type='gpt2', num_heads=4, hidden_size=32)"
                            ".save_model_to_file(out)  (opt_level, optimization_options default)",
                fused_operator_statistics=opt.get_fused_operator_statistics())
    import onnx
    meta["opset"] = {(o.domain or "ai.onnx"): o.version for o in onnx.load(str(fx / "model.onnx")).opset_import}
    return finish(fx, meta, model, spec["past"])


def _fp16_tolerance(meta):
    vals = [v["logits"] for v in meta["cases"].values()]
    if vals:
        meas = max(vals)
        meta["tolerance_measured_ort_fp16_vs_torch_fp32"] = meas
        meta["tolerance"] = float(f"{meas * 1.5:.2g}")
        meta["tolerance_note"] = ("absolute, for logits; 1.5 x the measured max |ORT fp16 - torch fp32| over "
                                  "the cases (fp16 rounding differs between implementations)")
    (OUT / meta["fixture"] / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def make_fp16half(name, spec):
    model32 = build_model("sdpa")
    model16 = build_model("sdpa").half()
    fx = OUT / name
    fresh(fx)
    meta = base_meta(name, spec, model32)
    exporter, opset = spec.get("exporter", "torchscript"), spec.get("opset", 17)
    if exporter == "torchscript":
        E.export_torchscript_x(model16, fx / "model.onnx", opset, True, True, dtype=torch.float16)
    else:
        E.export_dynamo_x(model16, fx / "model.onnx", opset, True, True, dtype=torch.float16)
    meta.update(exporter=exporter, opset=opset, attention_mask_input=True, dtype="float16",
                export_call=f"model.half(); torch.onnx.export(WithPastMask(model), args (fp16 past), "
                            f"dynamo={exporter == 'dynamo'}, opset_version={opset}, dynamic "
                            "batch/sequence/past_sequence)" + (" then ONNXProgram.save(external_data=False)"
                                                               if exporter == "dynamo" else ""))
    meta = finish(fx, meta, model32, True, case_atol=2e-3)
    return _fp16_tolerance(meta)


def make_fp16conv(name, spec):
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    base = _base(name, spec)
    model = build_model("sdpa")
    fx = OUT / name
    fresh(fx)
    m = onnx.load(str(base))
    keep = spec.get("keep_io_types", False)
    m16 = convert_float_to_float16(m, keep_io_types=keep)
    onnx.save(m16, str(fx / "model.onnx"))
    meta = base_meta(name, spec, model)
    meta.update(exporter="onnxruntime.transformers.float16", source_fixture=spec["base"], opset=17,
                dtype="float16", export_call=f"convert_float_to_float16(onnx.load(src), keep_io_types={keep}) "
                                            "(other options default); onnx.save; nodes NOT re-sorted")
    meta["nodes_out_of_topological_order"] = _unsorted_nodes(m16)
    meta = finish(fx, meta, model, True, case_atol=2e-3)
    if not meta["ort_runs"] and not keep:
        m16 = convert_float_to_float16(onnx.load(str(base)), keep_io_types=True)
        onnx.save(m16, str(fx / "model.onnx"))
        meta["export_call"] = meta["export_call"].replace("keep_io_types=False", "keep_io_types=True")
        meta = finish(fx, meta, model, True, case_atol=2e-3)
    return _fp16_tolerance(meta)


def _unsorted_nodes(m):
    """Names of main-graph nodes that consume a value produced only by a later node."""
    avail = {i.name for i in m.graph.input} | {i.name for i in m.graph.initializer} | {""}
    bad = []
    for n in m.graph.node:
        if any(i not in avail for i in n.input):
            bad.append(n.name or n.op_type)
        avail |= set(n.output)
    return bad


def _quant_meta(name, spec, model, call):
    meta = base_meta(name, spec, model)
    meta.update(exporter="onnxruntime.quantization", source_fixture=spec["base"], opset=17, export_call=call,
                tolerance_note="absolute, lithe logits vs the recorded ORT logits (ORT's integer arithmetic; "
                               "max|ORT - torch fp32| per case shows the quantization error itself)")
    return meta


def make_qdyn(name, spec):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    base = _base(name, spec)
    model = build_model("sdpa")
    fx = OUT / name
    fresh(fx)
    quantize_dynamic(str(base), str(fx / "model.onnx"), weight_type=getattr(QuantType, spec["weight_type"]))
    meta = _quant_meta(name, spec, model, f"quantize_dynamic(src, dst, weight_type=QuantType."
                                          f"{spec['weight_type']}) (other options default)")
    return finish(fx, meta, model, True)


def make_qdqw(name, spec):
    """Weight-only per-output-channel symmetric int8: every fp32 2-D initializer feeding MatMul/Gemm
    B input becomes int8 + DequantizeLinear(axis=1 for MatMul [K,N], axis=0 for Gemm transB)."""
    import onnx
    from onnx import helper, numpy_helper
    base = _base(name, spec)
    model = build_model("sdpa")
    fx = OUT / name
    fresh(fx)
    m = onnx.load(str(base))
    inits = {i.name: i for i in m.graph.initializer}
    done = {}
    new_nodes = []
    for n in m.graph.node:
        if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and n.input[1] in inits:
            w_name = n.input[1]
            if w_name not in done:
                w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
                if w.ndim != 2:
                    continue
                trans_b = any(a.name == "transB" and a.i for a in n.attribute) if n.op_type == "Gemm" else False
                axis = 0 if trans_b else 1            # output channel
                amax = np.abs(w).max(axis=1 - axis)
                scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
                shp = (1, -1) if axis == 1 else (-1, 1)
                q = np.clip(np.round(w / scale.reshape(shp)), -127, 127).astype(np.int8)
                qn, sn, zn, dn = w_name + "_q", w_name + "_scale", w_name + "_zp", w_name + "_dq"
                m.graph.initializer.extend([numpy_helper.from_array(q, qn), numpy_helper.from_array(scale, sn),
                                            numpy_helper.from_array(np.zeros(scale.shape, np.int8), zn)])
                new_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dn], name=dn, axis=axis))
                done[w_name] = dn
            n.input[1] = done[w_name]
    used = {i for n in m.graph.node for i in n.input}
    keep = [i for i in m.graph.initializer if not (i.name in done and i.name not in used)]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    nodes = new_nodes + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(fx / "model.onnx"))
    meta = _quant_meta(name, spec, model, "onnx.helper rewrite (this script, make_qdqw): each 2-D fp32 "
                                          "initializer used as MatMul/Gemm input B -> int8 per-output-channel "
                                          "symmetric (scale = max|W|/127, zero_point 0) + DequantizeLinear(axis)")
    meta["exporter"] = "onnx.helper (hand-built weight-only QDQ)"
    meta["quantized_weights"] = sorted(done)
    meta["ort_level_note"] = ("references made with ORT_DISABLE_ALL (ONNX semantics: DequantizeLinear then "
                              "float MatMul/Gemm).  At ORT's default level DequantizeLinear+MatMul/Gemm become "
                              "com.microsoft MatMulNBits (8 bits), which quantizes activations too; its logits "
                              "differ by max_abs_logits_ort_default_vs_disable_all")
    return finish(fx, meta, model, True, ort_level="ORT_DISABLE_ALL")


def make_qdqs(name, spec):
    from onnxruntime.quantization import CalibrationDataReader, quantize_static
    base = _base(name, spec)
    model = build_model("sdpa")
    cfg = model.config
    sess = E.ort_session(base)
    rng = np.random.default_rng(123)
    batches = []
    for _ in range(4):
        ids = rng.integers(0, cfg.vocab_size, (1, 8), dtype=np.int64)
        pre = E.run_ort(sess, E.ort_feeds(sess, cfg, ids[:, :5]))
        pin = [i.name for i in sess.get_inputs() if i.name.startswith("past_key_values")]
        batches.append(E.ort_feeds(sess, cfg, ids[:, 5:], 5, {n: pre[E.present_name(n)] for n in pin}))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            return next(self.it, None)

    fx = OUT / name
    fresh(fx)
    quantize_static(str(base), str(fx / "model.onnx"), Reader())
    meta = _quant_meta(name, spec, model, "quantize_static(src, dst, reader) (defaults: QuantFormat.QDQ, "
                                          "activations QInt8, weights QInt8, MinMax calibration); reader: 4 "
                                          "batches of 3 random ids after a 5-token past (seed 123)")
    return finish(fx, meta, model, True)


MAKERS = {"torch": make_torch, "optimum": make_optimum, "ortopt": make_ortopt, "fp16half": make_fp16half,
          "fp16conv": make_fp16conv, "qdyn": make_qdyn, "qdqw": make_qdqw, "qdqs": make_qdqs}
RESULTS: dict = {}


def make_one(name):
    spec = MATRIX[name]
    try:
        meta = MAKERS[spec["kind"]](name, spec)
        RESULTS[name] = {"ort_runs": meta["ort_runs"], "cases": meta["cases"]}
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        shutil.rmtree(OUT / name, ignore_errors=True)
        RESULTS[name] = {"error": f"{type(e).__name__}: {e}"[:2000]}
        print(f"{name}: FAILED: {type(e).__name__}: {str(e)[:300]}", flush=True)
    res_file = OUT / "export_matrix_results.json"
    old = json.loads(res_file.read_text()) if res_file.exists() else {}
    old.update({name: RESULTS[name]})
    res_file.write_text(json.dumps(dict(sorted(old.items())), indent=1) + "\n")


NOTABLE = ("If", "Attention", "GatherND", "CumSum", "IsNaN", "Erf", "MatMulInteger", "DynamicQuantizeLinear",
           "QuantizeLinear", "DequantizeLinear", "Max")


def table():
    """Markdown table of the written fixtures (for examples/gpt2/README.md)."""
    rows = ["| fixture | group | tool | opset | inputs (beyond input_ids, past) | ops of note | model KB | "
            "ORT runs | max\|ORT-torch\| logits | tolerance |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name in MATRIX:
        fj = OUT / name / "fixture.json"
        if not fj.exists():
            rows.append(f"| {name} | {MATRIX[name]['group']} | NOT MADE | | | | | | | |")
            continue
        m = json.loads(fj.read_text())
        h = m["op_histogram"]
        note = [f"{k.replace('com.microsoft::', 'ms:')}x{v}" for k, v in h.items()
                if k.startswith("com.microsoft::") or k in NOTABLE]
        ins = [f"{i['name']}:{i['elem_type'].lower()}" for i in m["inputs"]
               if i["name"] not in ("input_ids",) and not i["name"].startswith("past_key_values")]
        past_t = [i["elem_type"].lower() for i in m["inputs"] if i["name"].startswith("past_key_values")]
        if past_t and past_t[0] != "float":
            ins.append(f"past:{past_t[0]}")
        opset = m.get("opset_import", {}).get("ai.onnx", m.get("opset"))
        worst = max([v["logits"] for v in m["cases"].values()] or [float("nan")])
        tool = m["exporter"].replace("torchscript", "TorchScript").replace("dynamo", "dynamo")
        rows.append(f"| {name} | {m['group']} | {tool} | {opset} | {', '.join(ins) or '-'} | "
                    f"{', '.join(note) or '-'} | {m['model_bytes'] / 1024:.0f} | {'yes' if m['ort_runs'] else 'NO'} | "
                    f"{worst:.2g} | {m['tolerance']:.2g} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--group", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", action="store_true", help="print the README table of written fixtures")
    args = ap.parse_args()
    if args.list:
        for n, s in MATRIX.items():
            print(s["group"], n)
        return
    if args.table:
        print(table())
        return
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    ref = MF.build_tiny()
    chk = build_model("eager")
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), chk.state_dict().values()))
    for name, spec in MATRIX.items():
        if args.only and name not in args.only:
            continue
        if args.group and spec["group"] not in args.group:
            continue
        if name in RESULTS:          # made earlier as another fixture's base
            continue
        make_one(name)


if __name__ == "__main__":
    main()
