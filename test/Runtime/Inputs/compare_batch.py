#!/usr/bin/env python3
"""compare_batch.py OUT.jsonl CLI.json:ID ...: each command-line --json
result (text, tokens, finish_reason) equals the batch result with that id."""
import json
import sys

batch = {}
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if "id" in r:
        batch[str(r["id"])] = r
bad = 0
for arg in sys.argv[2:]:
    path, rid = arg.rsplit(":", 1)
    cli = json.load(open(path, encoding="utf-8"))
    b = batch[rid]
    got = (b.get("completion"), b.get("completion_tokens"), b.get("finish_reason"))
    # The command line says "eos" where OpenAI (and batch mode) say "stop".
    want = (cli["text"], cli["tokens"], "stop" if cli["finish_reason"] == "eos" else cli["finish_reason"])
    if got != want:
        print("request %s: batch %r, command line %r" % (rid, got, want))
        bad += 1
print("%d of %d requests agree" % (len(sys.argv) - 2 - bad, len(sys.argv) - 2))
sys.exit(1 if bad else 0)
