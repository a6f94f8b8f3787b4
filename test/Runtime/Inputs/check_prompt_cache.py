#!/usr/bin/env python3
"""Prompt reuse in batch mode and the server: a prompt that starts like an
earlier one takes that one's KV cache for the shared tokens.

    check_prompt_cache.py BINARY WORKDIR

Batch mode, one sequence at a time (--batch 1: each request starts after the
previous one finished; --prompt-cache 4 keeps the last four caches), four
prompts sharing a ~60-token beginning, greedy: the completions are the same
with and without reuse (--prompt-cache 0), and the second to fourth lines
report prompt_tokens_cached (the shared tokens, at most prompt - 8; the
fourth, which starts like the first for longer, reuses the first's). The server: the same prompt twice; the second answer's
usage says prompt_tokens_details.cached_tokens, its text is the first's,
and /health counts the cached tokens. Batch mode with room for all four at
once: the three later prompts wait for the first one's prompt to run and
copy its beginning from its live cache. Prints one line per check.
"""
import http.client
import json
import os
import subprocess
import sys

BINARY, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
ok = True


def check(cond, what):
    global ok
    ok = ok and cond
    print(("ok   " if cond else "FAIL ") + what)


shared = ("Once upon a time there was a king who had three daughters, and the youngest was so beautiful "
          "that the sun itself, which has seen so much, was astonished whenever it shone in her face. "
          "Close by the king's castle lay a great dark forest, and under an old lime-tree in the forest "
          "was a well. ")
endings = ["The king said", "One day the princess", "In the forest",
           "The king said to the frog that he would never let her go back"]
src = os.path.join(WORK, "in.jsonl")
with open(src, "w") as f:
    for i, e in enumerate(endings):
        f.write(json.dumps({"id": i, "prompt": shared + e, "max_tokens": 12, "temperature": 0}) + "\n")


def batch(*extra):
    out = os.path.join(WORK, "out-%s.jsonl" % extra[0])
    subprocess.run([BINARY, "--prompts", src, "--out", out, "--batch", "1", "-t", "1", "--prompt-cache", *extra], check=True,
                   stderr=subprocess.DEVNULL)
    return [json.loads(l) for l in open(out)]


on, off = batch("4"), batch("0")
check([r["completion"] for r in on] == [r["completion"] for r in off],
      "batch: completions with prompt reuse are those without it")
check("prompt_tokens_cached" not in on[0] and all("prompt_tokens_cached" not in r for r in off),
      "batch: nothing reused for the first prompt, nor with --prompt-cache 0")
cached = [r.get("prompt_tokens_cached", 0) for r in on[1:]]
check(all(c >= 40 for c in cached) and all(c <= r["prompt_tokens"] - 8 for c, r in zip(cached, on[1:])),
      "batch: later prompts reuse the shared tokens (%s of %s)" % (cached, [r["prompt_tokens"] for r in on[1:]]))
# The fourth starts like the first *and* goes further: it takes the longer match.
check(on[3].get("prompt_tokens_cached", 0) > on[1].get("prompt_tokens_cached", 0),
      "batch: the longest matching prompt is the one reused")

# Together: with room for all four at once, the three that start like the
# first wait for its prompt to run and copy its beginning from its live cache.
def together(cache):
    out = os.path.join(WORK, "together-%s.jsonl" % cache)
    subprocess.run([BINARY, "--prompts", src, "--out", out, "--batch", "4", "-t", "1", "--prompt-cache", cache],
                   check=True, stderr=subprocess.DEVNULL)
    return [json.loads(l) for l in open(out)]


t_on, t_off = together("4"), together("0")
check([r["completion"] for r in t_on] == [r["completion"] for r in off] == [r["completion"] for r in t_off],
      "batch of four at once: the same completions as one at a time, with and without reuse")
tc = [r.get("prompt_tokens_cached", 0) for r in t_on]
check(tc[0] == 0 and all(c >= 40 for c in tc[1:]),
      "batch of four at once: the three later prompts copy the first's beginning (%s)" % tc)

p = subprocess.Popen([BINARY, "--serve", "--port", "0", "-t", "1", "--batch", "2"], stderr=subprocess.PIPE, text=True)
try:
    line = p.stderr.readline()
    port = int(line.split("http://127.0.0.1:")[1].split(" ")[0])

    def call(method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        return json.loads(r.read())

    req = {"prompt": shared + endings[0], "max_tokens": 12, "temperature": 0}
    a, b = call("POST", "/v1/completions", req), call("POST", "/v1/completions", req)
    ca, cb = (x["usage"]["prompt_tokens_details"]["cached_tokens"] for x in (a, b))
    check(ca == 0 and cb == b["usage"]["prompt_tokens"] - 8,
          "server: the repeated prompt reuses all but its last eight tokens (%d, then %d of %d)"
          % (ca, cb, b["usage"]["prompt_tokens"]))
    check(a["choices"][0]["text"] == b["choices"][0]["text"] == on[0]["completion"],
          "server: the same text both times, and batch mode's")
    h = call("GET", "/health")
    check(h["prompt_tokens_cached"] == cb and h["prompt_tokens"] == 2 * b["usage"]["prompt_tokens"],
          "server: /health counts prompt and reused tokens (%d of %d)" % (h["prompt_tokens_cached"], h["prompt_tokens"]))
finally:
    p.terminate()
    p.wait(timeout=30)
print("prompt cache: all checks passed" if ok else "prompt cache: FAILED")
sys.exit(0 if ok else 1)
