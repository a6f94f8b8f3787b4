#!/usr/bin/env python3
"""Lithe beside its CPU peers on ONE model (GPT-2 small's shape, seeded random weights),
batch 1, the same thread count, repetitions interleaved across engines.

    /work/venv-bench/bin/python bench/compare_peers.py [--threads 2] [--prompt 128|896]
        [--tokens 64] [--reps 3] [--engines lithe,lithe-int8,ort,...] [--json FILE]

Inputs (bench/make_serve_model.py and bench/serve_peers.sh make them):
    --models /work/serve-models   hf/ (the checkpoint), model.onnx (TorchScript export with
                                  past), gpt2s-f32.gguf (convert_hf_to_gguf.py, F32)
Derived models go to --work (default /work/peer-models), each made once and reused:
Lithe fp32/int8 binaries (lithec), ORT int8 (quantize_dynamic), GGUF Q8_0/Q4_0
(llama-quantize), CTranslate2 float32/int8 (ct2-transformers-converter).

Engines (each skipped with a one-line reason when its package/tool is missing or it fails):
    lithe, lithe-int8, lithe-bf16   compiled binary (lithec, lithec --pipeline=lithe-quantize-weights,
                              lithec --precision=bf16): --bench --json --bench-runs 1.
    lithe-kv16, lithe-int8-kv16   the same with f16 KV caches (lithe-kv-precision)
    lithe-int4, lithe-int4-kv16   int4 weights, groups of 64, LM head int4 (4.5 bits a weight, as
                              GGUF Q4_0), with f32 or f16 KV caches
                              A suffix forces a kernel path of the same binary: @avx2, @avx512
                              (LITHE_ISA), @nodot (bf16 without AVX512-BF16: LITHE_BF16_DOT=0),
                              @noamx (no AMX tiles: LITHE_AMX=0)
    ort, ort-int8             onnxruntime CPUExecutionProvider, plain run()
    ov-f32, ov-default        OpenVINO on the ONNX, NUM_STREAMS 1, INFERENCE_NUM_THREADS
    llama-f32, llama-q8_0, llama-q4_0   llama-bench -r 1: pp P, then tg T at depth P (-d P);
                              --llama-extra "-C 3 --cpu-strict 1" pins its threads (ggml's
                              spinning threads collapse when a core is shared, see below)
    ct2, ct2-int8             CTranslate2 Generator (prefill: forward_batch; decode:
                              generate_tokens greedy, min_length so EOS cannot stop it)
    torch                     transformers GPT2LMHeadModel eager, KV cache

Metric: prefill = P tokens from an empty cache to the last position's argmax, tokens/s;
decode = T greedy tokens after that prompt, tokens/s (argmax on the host included).
Python engines keep one worker process each (model loaded once); every repetition round
asks each engine in turn (A, B, C, ... then again), so background load hits all alike.
A streaming read of a 1 GiB buffer with THREADS threads (C, -O3) gives the memory roof, and
Lithe's decode is reported as a fraction of it (weight bytes per token x tokens/s / roof).

Notes:
  * Each engine gets one warm-up before the rounds; Lithe and llama-bench run as a fresh
    process per round (model mmapped from the page cache), Python engines stay loaded.
  * ORT/OpenVINO run the ONNX as exported: prefill returns logits for all P positions
    (Lithe, llama.cpp and CT2's generate compute the last one only for decoding).
  * OpenVINO's default precision is bf16 on hosts with avx512_bf16 or AMX (the notes column
    shows what it resolved to); ov-f32 forces f32.
  * On a host shared with other work (e.g. niced fuzzers), unpinned ggml threads spin at a
    barrier and llama.cpp's numbers collapse and scatter; compare with --llama-extra pinning.
  * Lithe's int8 weights file also holds the f32 token table (for the embedding gather); the
    per-token byte count leaves it out and counts the int8 head copy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VOCAB = 50257
PY_ENGINES = {"ort", "ort-int8", "ov-f32", "ov-default", "ct2", "ct2-int8", "torch"}
ALL = ["lithe", "lithe-int8", "lithe-bf16", "lithe-kv16", "lithe-int8-kv16", "lithe-int4", "lithe-int4-kv16", "ort", "ort-int8", "ov-f32", "ov-default",
       "llama-f32", "llama-q8_0", "llama-q4_0", "ct2", "ct2-int8", "torch"]


def log(*a):
    print("[compare_peers]", *a, file=sys.stderr, flush=True)


def prompt_ids(n):
    import numpy as np
    return np.random.default_rng(0).integers(0, VOCAB, size=n).astype(np.int64)


# ----------------------------------------------------------------------------------------
# Workers (one process per Python engine). Protocol: worker prints "@@READY {json}", then
# for each "rep" line on stdin prints "@@{json}" with prefill/decode tokens/s.
# ----------------------------------------------------------------------------------------

def worker(engine, cfg):
    import numpy as np
    th, P, T = cfg["threads"], cfg["prompt"], cfg["tokens"]
    ids = prompt_ids(P)
    info = {}

    if engine in ("ort", "ort-int8"):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = th
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(cfg["model"], so, providers=["CPUExecutionProvider"])
        info["version"] = ort.__version__
        pin = [i.name for i in sess.get_inputs() if i.name != "input_ids"]
        outs = [o.name for o in sess.get_outputs()]

        def empty():
            return {n: np.zeros((1, 12, 0, 64), np.float32) for n in pin}

        def fwd(tok_ids, past):
            feed = {"input_ids": tok_ids[None, :]}
            feed.update(past)
            res = sess.run(outs, feed)
            new = {}
            for name, v in zip(outs[1:], res[1:]):
                new[name.replace("present", "past_key_values")] = v
            return int(np.argmax(res[0][0, -1])), new

        def prefill(x):
            return fwd(x, empty())

        def step(tok, st):
            return fwd(np.array([tok], np.int64), st)

    elif engine in ("ov-f32", "ov-default"):
        import openvino as ov
        core = ov.Core()
        model = core.read_model(cfg["model"])
        props = {"NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(th), "PERFORMANCE_HINT": "LATENCY"}
        if engine == "ov-f32":
            props["INFERENCE_PRECISION_HINT"] = "f32"
        cm = core.compile_model(model, "CPU", props)
        info["version"] = ov.__version__
        info["precision"] = cm.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        req = cm.create_infer_request()
        in_names = [i.get_any_name() for i in cm.inputs]
        out_names = [o.get_any_name() for o in cm.outputs]
        pin = [n for n in in_names if n != "input_ids"]

        def fwd(tok_ids, past):
            feed = {"input_ids": tok_ids[None, :]}
            feed.update(past)
            res = req.infer(feed)
            vals = [res[cm.outputs[i]] for i in range(len(out_names))]
            new = {}
            for name, v in zip(out_names[1:], vals[1:]):
                new[name.replace("present", "past_key_values")] = np.array(v)
            return int(np.argmax(vals[0][0, -1])), new

        def prefill(x):
            return fwd(x, {n: np.zeros((1, 12, 0, 64), np.float32) for n in pin})

        def step(tok, st):
            return fwd(np.array([tok], np.int64), st)

    elif engine in ("ct2", "ct2-int8"):
        import ctranslate2
        gen = ctranslate2.Generator(cfg["model"], device="cpu",
                                    compute_type="int8" if engine == "ct2-int8" else "float32",
                                    intra_threads=th, inter_threads=1)
        info["version"] = ctranslate2.__version__
        # generate_tokens wants token strings; the converter wrote the id -> string table
        vocab = json.loads((Path(cfg["model"]) / "vocabulary.json").read_text())
        toks = [vocab[int(t)] for t in ids]

        def prefill(x):
            lg = np.asarray(gen.forward_batch([toks]))
            return int(np.argmax(lg[0, -1])), None

        def ct2_decode():
            # first yielded token = prompt prefill; decode rate from the following T tokens
            n, t0 = 0, None
            for _ in gen.generate_tokens(toks, max_length=T + 1, min_length=T + 1, sampling_topk=1):
                n += 1
                if n == 1:
                    t0 = time.perf_counter()
            if n - 1 != T:
                raise RuntimeError(f"generate_tokens gave {n - 1} decode tokens, not {T}")
            return (n - 1) / (time.perf_counter() - t0)

    elif engine == "torch":
        import torch
        from transformers import GPT2LMHeadModel
        torch.set_num_threads(th)
        m = GPT2LMHeadModel.from_pretrained(cfg["model"]).eval()
        info["version"] = torch.__version__
        info["attn"] = getattr(m.config, "_attn_implementation", "?")

        def prefill(x):
            with torch.inference_mode():
                o = m(input_ids=torch.from_numpy(x)[None, :], use_cache=True)
            return int(o.logits[0, -1].argmax()), o.past_key_values

        def step(tok, st):
            with torch.inference_mode():
                o = m(input_ids=torch.tensor([[tok]]), past_key_values=st, use_cache=True)
            return int(o.logits[0, -1].argmax()), o.past_key_values
    else:
        raise SystemExit(f"unknown engine {engine}")

    def rep():
        t0 = time.perf_counter()
        tok, st = prefill(ids)
        tp = time.perf_counter() - t0
        if engine.startswith("ct2"):
            return {"prefill_tokens_per_s": P / tp, "decode_tokens_per_s": ct2_decode()}
        t0 = time.perf_counter()
        for _ in range(T):
            tok, st = step(tok, st)
        td = time.perf_counter() - t0
        return {"prefill_tokens_per_s": P / tp, "decode_tokens_per_s": T / td}

    rep()  # warm-up (first-run allocations, JIT, caches)
    print("@@READY " + json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() == "rep":  # peak RSS: the whole Python process's
            r = dict(rep(), peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            print("@@" + json.dumps(r), flush=True)
        else:
            break


class Worker:
    def __init__(self, engine, cfg, python):
        self.engine = engine
        self.log = Path(cfg["log"])
        with open(self.log, "w") as err:
            self.p = subprocess.Popen([python, __file__, "--worker", engine, json.dumps(cfg)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        self.info = json.loads(self._read()[len("READY "):])

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("@@"):
                return line[2:].strip()
        tail = [x for x in self.log.read_text(errors="replace").splitlines() if x.strip()][-1:]
        raise RuntimeError(f"{self.engine} worker exited (rc {self.p.wait()}): {' '.join(tail)} (log {self.log})")

    def rep(self):
        self.p.stdin.write("rep\n")
        self.p.stdin.flush()
        return json.loads(self._read())

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.close()
                self.p.wait(timeout=30)
            except Exception:
                self.p.kill()


# ----------------------------------------------------------------------------------------
# Setup: derived models, each made once (tmp then rename) and timed.
# ----------------------------------------------------------------------------------------

def make_once(out: Path, build_times, what, fn):
    if out.exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
    log(f"making {out} ({what})")
    t = time.time()
    fn(tmp)
    tmp.rename(out)
    build_times[out.name] = round(time.time() - t, 1)
    return out


def run_q(cmd, timeout=900, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{shlex.join(map(str, cmd))}: rc {r.returncode}: {' | '.join(tail)}")
    return r


def run_rss(cmd, timeout=900, **kw):
    """run_q that also returns the process's peak RSS in bytes (wait4's ru_maxrss: the
    same measure for every engine run as a command)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    out = {}
    readers = [threading.Thread(target=lambda k=k, f=f: out.__setitem__(k, f.read()))
               for k, f in (("stdout", p.stdout), ("stderr", p.stderr))]
    for t in readers:
        t.start()
    killer = threading.Timer(timeout, p.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        killer.cancel()
    for t in readers:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    r = subprocess.CompletedProcess(cmd, p.returncode, out.get("stdout", ""), out.get("stderr", ""))
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{shlex.join(map(str, cmd))}: rc {r.returncode}: {' | '.join(tail)}")
    return r, usage.ru_maxrss * 1024


LITHE_BUILDS = {  # engine -> (binary name, extra lithec arguments)
    "lithe": ("lithe-fp32", []),
    "lithe-int8": ("lithe-int8", ["--pipeline=lithe-quantize-weights"]),
    "lithe-bf16": ("lithe-bf16", ["--precision=bf16"]),
    "lithe-kv16": ("lithe-fp32-kv16", ["--pipeline=lithe-kv-precision"]),
    "lithe-int8-kv16": ("lithe-int8-kv16", ["--pipeline=lithe-quantize-weights,lithe-kv-precision"]),
    # int4 at Q4_0's bytes per weight (4 bits + an f32 scale per 64 = 4.5), the head int4 too
    "lithe-int4": ("lithe-int4", ["--pipeline=lithe-quantize-weights{bits=4 group=64 lm-head-bits=4}"]),
    "lithe-int4-kv16": ("lithe-int4-kv16",
                        ["--pipeline=lithe-quantize-weights{bits=4 group=64 lm-head-bits=4},lithe-kv-precision"]),
}
LITHE_PATHS = {"avx2": {"LITHE_ISA": "avx2"}, "avx512": {"LITHE_ISA": "avx512"},
               "nodot": {"LITHE_BF16_DOT": "0"}, "noamx": {"LITHE_AMX": "0"}}


def lithe_exe(args, name, extra, build_times):
    exe = args.work / name
    lwt = exe.with_name(name + ".lwt")
    newest_input = max(args.onnx.stat().st_mtime, Path(args.lithec).stat().st_mtime)
    if exe.exists() and lwt.exists() and exe.stat().st_mtime >= newest_input:
        return exe  # made by this lithec from this model
    if not Path(args.lithec).exists():
        raise RuntimeError(f"no lithec at {args.lithec}")
    cmd = ["nice", "-n", "10", args.lithec, str(args.onnx), "-o", str(exe)] + extra
    log("compiling:", shlex.join(cmd))
    t = time.time()
    run_q(cmd)
    build_times[name] = round(time.time() - t, 1)
    return exe


def weight_bytes_per_token(args, lwt):
    """Bytes one decode step reads: every tensor of the weights file except the position
    table (one row per token) and the f32 token table when a quantized copy of it is the
    LM head (then only one row of the f32 table is read), and the int8 copy an int4 head's
    embedding gathers from. Falls back to the file size."""
    tool = Path(args.lithec).with_name("lithe-weights")
    try:
        rows = [l.split() for l in run_q([str(tool), "list", str(lwt)]).stdout.splitlines()
                if l.strip() and not l.startswith("#")]
        names = {r[0] for r in rows}
        quant_head = any(n.startswith("m.transformer.wte.weight.") for n in names)
        # an int4 head: the table's int8 copy is the embedding's, gathered a row a token
        q4_head = any("wte.weight.q4" in n for n in names)
        total = 0
        for name, _, _, nbytes in (r[:4] for r in rows):
            if name.endswith("wpe.weight") or (quant_head and name.endswith("wte.weight")):
                continue
            if q4_head and (name.endswith("wte.weight.q8") or name.endswith("wte.weight.q8scale")):
                continue
            total += int(nbytes)
        return {"weight_bytes": total, "weight_bytes_how": "lithe-weights list, less gathered tables"}
    except Exception as ex:
        return {"weight_bytes": lwt.stat().st_size, "weight_bytes_how": f"weights file size ({ex})"}


def prepare(engine, args, build_times):
    """Returns ('worker', cfg) or ('cmd', callable) for one engine; raises with a reason."""
    th, P, T = args.threads, args.prompt, args.tokens
    base = {"threads": th, "prompt": P, "tokens": T}
    if engine.split("@")[0] in LITHE_BUILDS:
        build, _, path = engine.partition("@")
        if path and path not in LITHE_PATHS:
            raise RuntimeError(f"unknown kernel path @{path} (known: {', '.join(LITHE_PATHS)})")
        env = dict(os.environ, **LITHE_PATHS.get(path, {}))
        exe = lithe_exe(args, *LITHE_BUILDS[build], build_times)
        cmd = [str(exe), "--bench", "--json", "--bench-prompt", str(P), "--bench-tokens", str(T),
               "--bench-runs", "1", "-t", str(th)]

        def once():
            r, rss = run_rss(cmd, timeout=args.rep_timeout, env=env)
            j = json.loads(r.stdout)
            if "isa" in j:  # the kernels' code path that ran
                info["kernels"] = (f"{j['isa']}, int8 {j['int8_route']}, bf16 dot "
                                   f"{'on' if j['bf16_dot'] else 'off'}, AMX: {j['amx']}")
            return {"prefill_tokens_per_s": j["prefill_tokens_per_s"],
                    "decode_tokens_per_s": j["decode_tokens_per_s"], "peak_rss_bytes": rss}
        info = dict(weight_bytes_per_token(args, exe.with_name(exe.name + ".lwt")),
                    cmd=" ".join(f"{k}={v}" for k, v in LITHE_PATHS.get(path, {}).items()) +
                    (" " if path else "") + shlex.join(cmd))
        return "cmd", once, info
    if engine in ("ort", "ort-int8", "ov-f32", "ov-default"):
        mod = "onnxruntime" if engine.startswith("ort") else "openvino"
        if not have(args.python, mod):
            raise RuntimeError(f"python package {mod} not installed in {args.python}")
        model = args.onnx
        if engine == "ort-int8":
            def q(tmp):
                run_q(["nice", "-n", "10", args.python, "-c",
                       "import sys; from onnxruntime.quantization import quantize_dynamic, QuantType; "
                       "quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8)",
                       str(args.onnx), str(tmp)])
            model = make_once(args.work / "ort-int8.onnx", build_times, "quantize_dynamic QInt8", q)
        return "worker", dict(base, model=str(model)), {}
    if engine.startswith("llama-"):
        bench = Path(args.llama_bin) / "llama-bench"
        if not bench.exists():
            raise RuntimeError(f"no {bench} (cmake --build /work/llama-build --target llama-bench)")
        f32 = args.models / "gpt2s-f32.gguf"
        if not f32.exists():
            raise RuntimeError(f"no {f32} (bench/serve_peers.sh makes it)")
        qt = engine.split("-", 1)[1].upper()
        gguf = f32
        if qt != "F32":
            quant = Path(args.llama_bin) / "llama-quantize"
            if not quant.exists():
                raise RuntimeError(f"no {quant}")
            gguf = make_once(args.work / f"gpt2s-{qt}.gguf", build_times, f"llama-quantize {qt}",
                             lambda tmp: run_q(["nice", "-n", "10", str(quant), str(f32), str(tmp), qt, str(th)]))
        # two runs: pp of P tokens, then tg of T tokens at depth P (-d: the KV cache already
        # holds P tokens, as after Lithe's prompt; plain -n would decode from an empty cache)
        common = [str(bench), "-m", str(gguf), "-t", str(th), "-r", "1", "-o", "json"] + shlex.split(args.llama_extra)
        cmd_pp = common + ["-p", str(P), "-n", "0"]
        cmd_tg = common + ["-p", "0", "-n", str(T), "-d", str(P)]

        def once():
            r_pp, rss_pp = run_rss(cmd_pp, timeout=args.rep_timeout)
            r_tg, rss_tg = run_rss(cmd_tg, timeout=args.rep_timeout)
            pp, tg = json.loads(r_pp.stdout)[0], json.loads(r_tg.stdout)[0]
            assert pp["n_prompt"] == P and tg["n_gen"] == T and tg["n_depth"] == P, (pp, tg)
            info["version"] = f"build {pp.get('build_number')} {pp.get('build_commit')}"
            return {"prefill_tokens_per_s": pp["avg_ts"], "decode_tokens_per_s": tg["avg_ts"],
                    "peak_rss_bytes": max(rss_pp, rss_tg)}
        info = {"cmd": shlex.join(cmd_pp) + " ; " + shlex.join(cmd_tg)}
        return "cmd", once, info
    if engine in ("ct2", "ct2-int8"):
        if not have(args.python, "ctranslate2"):
            raise RuntimeError(f"python package ctranslate2 not installed in {args.python}")
        q = "int8" if engine == "ct2-int8" else "float32"
        conv = Path(args.python).with_name("ct2-transformers-converter")
        d = make_once(args.work / f"ct2-{q}", build_times, f"ct2-transformers-converter {q}",
                      lambda tmp: run_q(["nice", "-n", "10", str(conv), "--model", str(args.models / "hf"),
                                         "--output_dir", str(tmp), "--quantization", q]))
        return "worker", dict(base, model=str(d)), {}
    if engine == "torch":
        if not have(args.python, "transformers"):
            raise RuntimeError("transformers not installed")
        return "worker", dict(base, model=str(args.models / "hf")), {}
    raise RuntimeError(f"unknown engine {engine}")


def have(python, mod):
    return subprocess.run([python, "-c", f"import {mod}"], capture_output=True).returncode == 0


# ----------------------------------------------------------------------------------------
# Memory read roof: C streaming sum over a 1 GiB float buffer, THREADS pthreads, best of 5.
# ----------------------------------------------------------------------------------------

ROOF_C = r'''
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define N (1u << 28) /* floats = 1 GiB */
static float *buf; static int nt; static double sums[64];
static void *rd(void *a) {
  long t = (long)a; size_t lo = N / nt * t, hi = t == nt - 1 ? N : N / nt * (t + 1);
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (size_t i = lo; i + 8 <= hi; i += 8) {
    s0 += buf[i]; s1 += buf[i+1]; s2 += buf[i+2]; s3 += buf[i+3];
    s4 += buf[i+4]; s5 += buf[i+5]; s6 += buf[i+6]; s7 += buf[i+7]; }
  sums[t] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7; return 0; }
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
int main(int argc, char **argv) {
  nt = atoi(argv[1]); buf = aligned_alloc(64, (size_t)N * 4);
  for (size_t i = 0; i < N; i++) buf[i] = (float)(i & 7);
  double best = 1e9; pthread_t th[64];
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    for (long t = 0; t < nt; t++) pthread_create(&th[t], 0, rd, (void *)t);
    for (int t = 0; t < nt; t++) pthread_join(th[t], 0);
    double dt = now() - t0; if (dt < best) best = dt; }
  double s = 0; for (int t = 0; t < nt; t++) s += sums[t];
  printf("%.3f %g\n", (double)N * 4 / best / 1e9, s); return 0; }
'''


def memory_roof(work, threads):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None, "no C compiler"
    src, exe = work / "roof.c", work / "roof"
    src.write_text(ROOF_C)
    # -ffast-math lets the compiler vectorize the float sums (the reduction order is free)
    run_q([cc, "-O3", "-march=native", "-ffast-math", "-pthread", str(src), "-o", str(exe)])
    return (lambda: float(run_q([str(exe), str(threads)]).stdout.split()[0])), \
        f"C streaming sum, 1 GiB, {threads} threads, best of 5 passes, once per round"


# ----------------------------------------------------------------------------------------

def host_info():
    model = "?"
    flags = set()
    try:
        for line in run_q(["lscpu"]).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("Flags:"):
                flags = set(line.split(":", 1)[1].split())
    except Exception:
        pass
    want = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"]
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "flags": {f: f in flags for f in want}}


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128, help="prefill tokens P (e.g. 128 or 896)")
    ap.add_argument("--tokens", type=int, default=64, help="greedy decode tokens T")
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (after each engine's warm-up)")
    ap.add_argument("--engines", default=",".join(ALL))
    ap.add_argument("--models", type=Path, default=Path("/work/serve-models"))
    ap.add_argument("--work", type=Path, default=Path("/work/peer-models"))
    ap.add_argument("--lithec", default=os.environ.get("LITHEC", str(HERE.parent / "build/bin/lithec")))
    ap.add_argument("--llama-bin", default="/work/llama-build/bin")
    ap.add_argument("--llama-extra", default="", help='extra llama-bench flags, e.g. "-C 3 --cpu-strict 1"')
    ap.add_argument("--rep-timeout", type=float, default=180, help="seconds per Lithe/llama-bench run")
    ap.add_argument("--python", default=sys.executable, help="python with the engines' packages")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker[0], json.loads(args.worker[1]))

    command = shlex.join([sys.executable] + sys.argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.onnx = args.models / "model.onnx"
    host = host_info()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load0 = os.getloadavg()
    build_times, skipped, engines = {}, {}, {}
    for e in [x.strip() for x in args.engines.split(",") if x.strip()]:
        try:
            kind, what, info = prepare(e, args, build_times)
            if kind == "worker":
                what["log"] = str(args.work / f"worker-{e}.log")
                log(f"loading {e}")
                t = time.time()
                w = Worker(e, what, args.python)
                info = dict(w.info, load_s=round(time.time() - t, 1))
                engines[e] = (w.rep, w, info)
            else:
                what()  # warm-up run (page cache, first-run effects)
                engines[e] = (what, None, info)
        except Exception as ex:
            skipped[e] = str(ex).strip().splitlines()[-1][:300] if str(ex).strip() else type(ex).__name__
            log(f"skip {e}: {skipped[e]}")

    roof_fn, roof_how, roofs = None, "", []
    try:
        roof_fn, roof_how = memory_roof(args.work, args.threads)
    except Exception as ex:
        roof_how = f"failed: {ex}"

    samples = {e: [] for e in engines}
    for r in range(args.reps):
        log(f"round {r + 1}/{args.reps}, load {os.getloadavg()[0]:.2f}")
        if roof_fn:  # the roof is interleaved too: under background load it moves as much
            try:
                roofs.append(roof_fn())
            except Exception as ex:
                roof_fn, roof_how = None, f"failed: {ex}"
        for e, (fn, _, _) in list(engines.items()):
            try:
                samples[e].append(fn())
            except Exception as ex:
                skipped[e] = f"failed in round {r + 1}: {str(ex).strip()[-300:]}"
                log(f"drop {e}: {skipped[e]}")
                engines.pop(e)
                samples.pop(e)
    for _, w, _ in engines.values():
        if w:
            w.close()
    load1 = os.getloadavg()

    res = {}
    for e, s in samples.items():
        row = {"info": engines[e][2], "samples": s}
        for k in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            v = [x[k] for x in s]
            row[k] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
        rss = [x["peak_rss_bytes"] for x in s if x.get("peak_rss_bytes")]
        row["peak_rss_bytes"] = max(rss) if rss else None
        res[e] = row
    ref = res.get("lithe")
    for e, row in res.items():
        for k in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            row[k]["vs_lithe_fp32"] = row[k]["median"] / ref[k]["median"] if ref else None
    # the fraction is taken against the best round's roof (what the host can stream at all)
    roof = max(roofs) if roofs else None
    streaming = {}
    if roof:
        for e in res:
            if e.split("@")[0] in LITHE_BUILDS:
                wb = res[e]["info"]["weight_bytes"]
                gbs = wb * res[e]["decode_tokens_per_s"]["median"] / 1e9
                streaming[e] = {"weight_bytes": wb, "weight_GB_per_s": gbs, "fraction_of_roof": gbs / roof}

    P, T = args.prompt, args.tokens
    fl = " ".join(f"{k}={'yes' if v else 'no'}" for k, v in host["flags"].items())
    print(f"# Lithe and CPU peers, GPT-2 small shape (seeded random), batch 1\n")
    print(f"- date: {started}; host: {host['cpu']}, {host['cores']} cores; {fl}")
    print(f"- threads: {args.threads}; prefill P={P}; decode T={T} (greedy); {args.reps} interleaved rounds "
          f"after one warm-up each; median [min-max]")
    print(f"- load average (1/5/15 min): start {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, "
          f"end {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f}")
    print(f"- command: `{command}`\n")
    print(f"| engine | prefill {P} tok/s | x Lithe fp32 | decode {T} tok/s | x Lithe fp32 | peak RSS MiB | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for e, row in res.items():
        p, d = row["prefill_tokens_per_s"], row["decode_tokens_per_s"]
        note = ", ".join(f"{k} {v}" for k, v in row["info"].items() if k in ("version", "precision", "attn", "kernels"))
        rp = f"{p['vs_lithe_fp32']:.2f}" if p["vs_lithe_fp32"] else "-"
        rd = f"{d['vs_lithe_fp32']:.2f}" if d["vs_lithe_fp32"] else "-"
        rss = f"{row['peak_rss_bytes'] / 2**20:.0f}" if row["peak_rss_bytes"] else "-"
        print(f"| {e} | {fmt(p['median'])} [{fmt(p['min'])}-{fmt(p['max'])}] | {rp} | "
              f"{fmt(d['median'])} [{fmt(d['min'])}-{fmt(d['max'])}] | {rd} | {rss} | {note} |")
    print()
    print("- peak RSS: the largest over the rounds of each run's peak (wait4) for Lithe and llama.cpp "
          "(its prefill and its decode run); for the Python engines the worker process's, Python and "
          "its libraries included")
    if roof:
        print(f"- memory read roof: best {roof:.1f} GB/s, median {statistics.median(roofs):.1f} "
              f"[{min(roofs):.1f}-{roof:.1f}] ({roof_how}); fractions below use the best")
        for e, s in streaming.items():
            print(f"- {e} decode streams {s['weight_bytes'] / 1e6:.0f} MB of weights per token: "
                  f"{s['weight_GB_per_s']:.1f} GB/s = {100 * s['fraction_of_roof']:.0f}% of the roof")
    else:
        print(f"- memory read roof: not measured ({roof_how})")
    for e, why in skipped.items():
        print(f"- skipped {e}: {why}")
    if build_times:
        print("- made this run (s): " + ", ".join(f"{k} {v}" for k, v in build_times.items()))
    if args.json:
        out = {"date": started, "host": host, "threads": args.threads, "prompt": P, "tokens": T,
               "reps": args.reps, "command": command, "load_start": load0, "load_end": load1,
               "memory_roof_GB_per_s": roof, "memory_roof_rounds": roofs, "memory_roof_how": roof_how, "weight_streaming": streaming,
               "engines": res, "skipped": skipped, "build_seconds": build_times}
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
