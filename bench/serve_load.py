#!/usr/bin/env python3
"""Bounded load generator for an OpenAI-compatible completion server (stdlib only).

    python3 bench/serve_load.py --url http://127.0.0.1:8080 --concurrency 1,2,4,8,16 \
        --max-tokens 64 --json out.json
    python3 bench/serve_load.py --compare lithe.json llama.json   # throughput ratio per level

Sends POST /v1/completions with "stream": true and reads the server-sent events
("data: {...}" lines, closed by "data: [DONE]"). Per request it records the time to the
first chunk with non-empty text (TTFT), the total latency and the number of completion
tokens: usage.completion_tokens when the server sends it (we ask with
"stream_options": {"include_usage": true}), else the number of chunks that carried text.

Several servers (--url lithe=URL --url llama=URL) are loaded level by level, one after the
other, the order alternating per level (A B, B A, ...), so that on a shared host a burst of
background load hits both alike; the tables per server and the ratio of the first server's
tokens/s to the second's are printed at the end. Start all servers first: an idle server
should use no CPU. The 1-minute load average before each level is printed and recorded.

Load: a closed loop per concurrency level. C worker threads take requests from a fixed list
until it is empty or --max-seconds has passed since the level started (then no new request
is started; those in flight finish or time out). Every request has a timeout (--timeout), so
a level ends in at most max_seconds + timeout. Only loopback URLs are accepted unless
--allow-remote is given.

Prompts: fixed, seeded slices of a text file (default: the Gutenberg training text in
shared/data), about --prompt-tokens GPT-2 tokens each (estimated as words * 1.3: the script
has no tokenizer, so the server's usage.prompt_tokens is recorded as the real count). Each
level gets its own prompts (so a server's prompt cache cannot reuse a previous level's), and
the same --seed gives the same prompts in the same order to every server. With
--system-prompt-tokens N every prompt starts with one shared passage of about N tokens (a
chat deployment's system prompt), which a server's prompt cache can reuse.

Per level one row: requests (ok/errors), generated tokens, wall seconds, tokens/s (all
generated tokens of the level / wall of the level, first request start to last request
end), latency p50/p95, TTFT p50/p95 and time per output token after the first (TPOT) p50.
Percentiles are linear interpolation between closest ranks. One warm-up request precedes
the first level and is excluded. Requests that generated fewer than --max-tokens tokens are
counted in the "short" column (the server stopped early: EOS without ignore_eos support,
a stop string, or a full context).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TEXT = HERE.parent.parent / "shared" / "data" / "gutenberg-big.txt"
if not DEFAULT_TEXT.exists():
    DEFAULT_TEXT = Path("/work/shared/data/gutenberg-big.txt")
WORDS_PER_TOKEN = 1 / 1.3


# ----------------------------------------------------------------------------- prompts

def make_prompts(path: Path, n: int, prompt_tokens: int, seed: int) -> list[str]:
    """n prompts of about prompt_tokens tokens: word slices at seeded offsets.

    Offsets are drawn from the middle 80% of the file (skipping licence header and footer)
    and start at a line start, so each prompt begins at a natural place."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lo, hi = int(len(text) * 0.1), int(len(text) * 0.9)
    nwords = max(1, round(prompt_tokens * WORDS_PER_TOKEN))
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        pos = rng.randrange(lo, hi)
        pos = text.find("\n", pos) + 1
        words = text[pos:pos + nwords * 20].split()
        # distinct beginnings: a server's prompt cache must not find one prompt twice
        if len(words) < nwords or tuple(words[:8]) in seen:
            continue
        seen.add(tuple(words[:8]))
        out.append(" ".join(words[:nwords]))
    return out


# ----------------------------------------------------------------------------- one request

class Result:
    __slots__ = ("ok", "error", "start", "ttft", "latency", "chunks", "usage_tokens",
                 "prompt_tokens", "finish_reason", "text_len")

    def __init__(self):
        self.ok = False
        self.error = None
        self.start = 0.0
        self.ttft = None
        self.latency = None
        self.chunks = 0
        self.usage_tokens = None
        self.prompt_tokens = None
        self.finish_reason = None
        self.text_len = 0

    @property
    def tokens(self) -> int:
        return self.usage_tokens if self.usage_tokens is not None else self.chunks

    def as_dict(self):
        d = {k: getattr(self, k) for k in self.__slots__}
        d["tokens"] = self.tokens
        return d


def one_request(host: str, port: int, path: str, body: dict, timeout: float) -> Result:
    r = Result()
    data = json.dumps(body).encode()
    r.start = time.perf_counter()
    deadline = r.start + timeout
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=data, headers={
            "Content-Type": "application/json", "Accept": "text/event-stream"})
        resp = conn.getresponse()
        if resp.status != 200:
            msg = resp.read(400).decode(errors="replace").strip().replace("\n", " ")
            r.error = f"HTTP {resp.status}: {msg[:200]}"
            return r
        done = False
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                r.error = f"timeout after {timeout:g}s"
                return r
            if conn.sock is not None:
                conn.sock.settimeout(left)
            line = resp.readline(1 << 20)
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data:"):
                continue  # blank separators, comments (": ping"), event: lines
            payload = line[5:].strip()
            if payload == b"[DONE]":
                done = True
                break
            try:
                ev = json.loads(payload)
            except ValueError:
                r.error = f"bad event: {payload[:120]!r}"
                return r
            if "error" in ev:
                r.error = f"server error: {json.dumps(ev['error'])[:200]}"
                return r
            for ch in ev.get("choices") or []:
                t = ch.get("text")
                if t is None:  # tolerate chat-style deltas
                    t = (ch.get("delta") or {}).get("content")
                if t:
                    if r.ttft is None:
                        r.ttft = time.perf_counter() - r.start
                    r.chunks += 1
                    r.text_len += len(t)
                if ch.get("finish_reason"):
                    r.finish_reason = ch["finish_reason"]
            u = ev.get("usage")
            if isinstance(u, dict):
                if u.get("completion_tokens") is not None:
                    r.usage_tokens = int(u["completion_tokens"])
                if u.get("prompt_tokens") is not None:
                    r.prompt_tokens = int(u["prompt_tokens"])
        r.latency = time.perf_counter() - r.start
        if not done:
            r.error = "stream ended without data: [DONE]"
            return r
        r.ok = True
    except (socket.timeout, TimeoutError):
        r.error = f"timeout after {timeout:g}s"
    except (OSError, http.client.HTTPException) as e:
        r.error = f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    return r


# ----------------------------------------------------------------------------- one level

def pct(xs, q):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def run_level(host, port, path, bodies, conc, max_seconds, timeout):
    results: list[Result | None] = [None] * len(bodies)
    lock = threading.Lock()
    nxt = [0]
    t0 = time.perf_counter()

    def worker():
        while True:
            with lock:
                i = nxt[0]
                if i >= len(bodies):
                    return
                if max_seconds and time.perf_counter() - t0 >= max_seconds:
                    return
                nxt[0] += 1
            results[i] = one_request(host, port, path, bodies[i], timeout)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0  # all workers have joined: the last request has ended
    done = [r for r in results if r is not None]
    return done, wall


def summarize(conc, done, wall, max_tokens):
    ok = [r for r in done if r.ok]
    errs = [r for r in done if not r.ok]
    toks = sum(r.tokens for r in ok)
    tpot = [(r.latency - r.ttft) / (r.tokens - 1) for r in ok
            if r.ttft is not None and r.tokens > 1]
    return {
        "concurrency": conc,
        "requests": len(done),
        "ok": len(ok),
        "errors": len(errs),
        "error_samples": sorted({r.error for r in errs})[:5],
        "generated_tokens": toks,
        "short": sum(1 for r in ok if r.tokens < max_tokens),
        "min_tokens": min((r.tokens for r in ok), default=None),
        "usage_reported": sum(1 for r in ok if r.usage_tokens is not None),
        "chunk_tokens": sum(r.chunks for r in ok),
        "wall_s": wall,
        "tokens_per_s": toks / wall if wall > 0 else 0.0,
        "latency_p50_s": pct([r.latency for r in ok], 50),
        "latency_p95_s": pct([r.latency for r in ok], 95),
        "ttft_p50_s": pct([r.ttft for r in ok], 50),
        "ttft_p95_s": pct([r.ttft for r in ok], 95),
        "tpot_p50_s": pct(tpot, 50),
        "prompt_tokens_mean": (sum(r.prompt_tokens for r in ok if r.prompt_tokens is not None)
                               / max(1, sum(1 for r in ok if r.prompt_tokens is not None))
                               if any(r.prompt_tokens is not None for r in ok) else None),
    }


HEADER = (f"{'conc':>4} {'req':>4} {'err':>3} {'short':>5} {'gen tok':>7} {'wall s':>7} "
          f"{'tok/s':>7} {'lat p50':>7} {'lat p95':>7} {'ttft p50':>8} {'ttft p95':>8} {'tpot p50':>8}")


def fmt_row(s):
    def ms(x):
        return f"{x * 1e3:.0f}ms" if x is not None else "-"
    def sec(x):
        return f"{x:.2f}s" if x is not None else "-"
    return (f"{s['concurrency']:>4} {s['requests']:>4} {s['errors']:>3} {s['short']:>5} "
            f"{s['generated_tokens']:>7} {s['wall_s']:>7.2f} {s['tokens_per_s']:>7.1f} "
            f"{sec(s['latency_p50_s']):>7} {sec(s['latency_p95_s']):>7} "
            f"{ms(s['ttft_p50_s']):>8} {ms(s['ttft_p95_s']):>8} {ms(s['tpot_p50_s']):>8}")


# ----------------------------------------------------------------------------- compare

def compare_levels(an, a, bn, b):
    bl = {lv["concurrency"]: lv for lv in b["levels"]}
    print(f"{'conc':>4} {an[:14]:>14} {bn[:14]:>14} {'ratio':>7}   (generated tokens/s)")
    for lv in a["levels"]:
        o = bl.get(lv["concurrency"])
        if o is None:
            continue
        ra, rb = lv["tokens_per_s"], o["tokens_per_s"]
        ratio = f"{ra / rb:.2f}x" if rb else "-"
        print(f"{lv['concurrency']:>4} {ra:>14.1f} {rb:>14.1f} {ratio:>7}")


def compare(a_path, b_path):
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    compare_levels(a.get("label") or a_path, a, b.get("label") or b_path, b)


# ----------------------------------------------------------------------------- main

def parse_server(spec, default_label):
    """"URL" or "LABEL=URL" -> (label, url, host, port)."""
    label, url = (spec.split("=", 1) if "=" in spec.split("://")[0] else (default_label, spec))
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise ValueError(f"{url}: only http:// URLs")
    return label, url, u.hostname or "127.0.0.1", u.port or 80


def loadavg():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", action="append", default=None,
                    help="server, as URL or LABEL=URL (default http://127.0.0.1:8080); give it "
                         "several times to load several servers level by level, interleaved")
    ap.add_argument("--path", default="/v1/completions")
    ap.add_argument("--concurrency", default="1,2,4,8,16", help="comma-separated levels")
    ap.add_argument("--requests", type=int, default=None,
                    help="requests per level (default max(8, 2*concurrency))")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="per level: start no new request after this many seconds")
    ap.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt-tokens", "--prompt-tokens-ish", type=int, default=64,
                    help="approximate prompt length in GPT-2 tokens (words*1.3)")
    ap.add_argument("--prompt-file", type=Path, default=DEFAULT_TEXT)
    ap.add_argument("--system-prompt-tokens", type=int, default=0,
                    help="prepend one shared passage of about this many tokens to every prompt "
                         "(a chat deployment's system prompt: what a server's prompt cache can reuse)")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default="gpt2", help="sent as \"model\" in the body")
    ap.add_argument("--no-ignore-eos", action="store_true", help="do not send ignore_eos")
    ap.add_argument("--extra", default=None, help="JSON object merged into every body")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--label", default=None, help="name of the (single) server in the JSON")
    ap.add_argument("--json", default=None,
                    help="write config, levels, requests; with several servers the path must "
                         "contain {label}")
    ap.add_argument("--allow-remote", action="store_true",
                    help="accept a non-loopback host (never used in this project's benchmarks)")
    ap.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                    help="print A's tokens/s, B's and A/B per level, then exit")
    args = ap.parse_args()

    if args.compare:
        compare(*args.compare)
        return 0

    specs = args.url or ["http://127.0.0.1:8080"]
    servers = []
    for i, spec in enumerate(specs):
        try:
            lab, url, host, port = parse_server(spec, args.label or (f"s{i}" if len(specs) > 1 else None))
        except ValueError as e:
            ap.error(str(e))
        if not args.allow_remote:
            try:
                addr = socket.gethostbyname(host)
            except OSError as e:
                ap.error(f"cannot resolve {host}: {e}")
            if not (addr.startswith("127.") or host in ("localhost", "::1")):
                ap.error(f"{host} is not a loopback address (use --allow-remote to override)")
        servers.append((lab, url, host, port))
    if len(servers) > 1 and len({s[0] for s in servers}) != len(servers):
        ap.error("several servers need distinct labels: --url LABEL=URL")
    if len(servers) > 1 and args.json and "{label}" not in args.json:
        ap.error("with several servers --json needs {label} in the path")
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if not levels or min(levels) < 1:
        ap.error("--concurrency needs positive integers")
    extra = json.loads(args.extra) if args.extra else {}

    counts = [args.requests or max(8, 2 * c) for c in levels]
    prompts = make_prompts(args.prompt_file, 1 + sum(counts), args.prompt_tokens, args.seed)
    if args.system_prompt_tokens > 0:
        system = make_prompts(args.prompt_file, 1, args.system_prompt_tokens, args.seed + 1000)[0]
        prompts = [system + "\n\n" + p for p in prompts]

    def body(p, i):
        b = {"model": args.model, "prompt": p, "max_tokens": args.max_tokens,
             "temperature": args.temperature, "seed": args.seed + i, "stream": True,
             "stream_options": {"include_usage": True}}
        if not args.no_ignore_eos:
            b["ignore_eos"] = True
        b.update(extra)
        return b

    print(f"# {args.path}  model={args.model}  max_tokens={args.max_tokens}  "
          f"prompt~{args.prompt_tokens} tok  temp={args.temperature}  seed={args.seed}  "
          f"timeout={args.timeout:g}s  max_seconds={args.max_seconds}  host: {cpu_model()}",
          flush=True)
    outs = {}
    for lab, url, host, port in servers:
        out = outs[lab] = {
            "label": lab, "url": url, "path": args.path, "model": args.model,
            "max_tokens": args.max_tokens, "prompt_tokens_approx": args.prompt_tokens,
            "prompt_file": str(args.prompt_file), "temperature": args.temperature,
            "seed": args.seed, "timeout_s": args.timeout, "max_seconds": args.max_seconds,
            "ignore_eos": not args.no_ignore_eos, "extra": extra,
            "interleaved_with": [s[0] for s in servers if s[0] != lab],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host_cpu": cpu_model(),
            "levels": []}
        if not args.no_warmup:
            w = one_request(host, port, args.path, body(prompts[0], 0), args.timeout)
            out["warmup"] = w.as_dict()
            name = f"{lab} " if lab else ""
            if not w.ok:
                print(f"# {name}{url} warm-up failed: {w.error}", flush=True)
            else:
                print(f"# {name}{url} warm-up: {w.tokens} tokens in {w.latency:.2f}s "
                      f"(usage {'sent' if w.usage_tokens is not None else 'not sent'}, "
                      f"{w.chunks} text chunks)", flush=True)
    multi = len(servers) > 1
    lw = max([6] + [len(s[0] or "") for s in servers])
    print((f"{'server':<{lw}} " if multi else "") + HEADER + "  load", flush=True)
    k = 1
    total_err = 0
    for li, (c, n) in enumerate(zip(levels, counts)):
        bodies = [body(prompts[k + i], k + i) for i in range(n)]
        k += n
        # alternate the order level by level (A B, B A, ...) so that neither server always
        # runs right after the other one
        order = servers if li % 2 == 0 else servers[::-1]
        for lab, url, host, port in order:
            la = loadavg()
            done, wall = run_level(host, port, args.path, bodies, c, args.max_seconds, args.timeout)
            s = summarize(c, done, wall, args.max_tokens)
            s["loadavg_1m_before"] = la
            total_err += s["errors"]
            print((f"{lab:<{lw}} " if multi else "") + fmt_row(s) + f"  {la if la is not None else '-'}",
                  flush=True)
            if s["errors"]:
                print(f"#   {lab or ''} errors at {c}: {s['error_samples']}", flush=True)
            s["requests_detail"] = [r.as_dict() for r in done]
            outs[lab]["levels"].append(s)
    for lab, out in outs.items():
        short = [(s["concurrency"], s["short"], s["min_tokens"]) for s in out["levels"] if s["short"]]
        if short:
            print(f"# {lab or ''}: fewer than max_tokens generated (level, requests, fewest tokens): "
                  + ", ".join(f"({a}, {b}, {m})" for a, b, m in short), flush=True)
    if multi:
        for lab, out in outs.items():
            print(f"\n== {lab}  ({out['url']})")
            print(HEADER)
            for s in out["levels"]:
                print(fmt_row(s))
        labs = list(outs)
        print(f"\n== {labs[0]} / {labs[1]}")
        compare_levels(labs[0], outs[labs[0]], labs[1], outs[labs[1]])
    if args.json:
        for lab, out in outs.items():
            path = Path(args.json.replace("{label}", lab or "server"))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps(out, indent=1))
            os.replace(tmp, path)
    return 1 if total_err else 0


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.exit(main())
