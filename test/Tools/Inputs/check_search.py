#!/usr/bin/env python3
"""Checks of a `lithec --search` output directory, printed for FileCheck.

    check_search.py summary DIR
    check_search.py perplexity DIR BINARY_PERPLEXITY.json
    check_search.py memory DIR
    check_search.py replay MODEL DIR WORKDIR      (lithec from PATH, as lit sets it)
    check_search.py weights DIR
"""
import filecmp
import json
import os
import shutil
import subprocess
import sys


def load(d):
    with open(os.path.join(d, "search.json"), encoding="utf-8") as f:
        return json.load(f)


def yes(b):
    return "yes" if b else "no"


def summary(d):
    s = load(d)
    ch = s["chosen"]
    c = next(c for c in s["candidates"] if c["id"] == ch["id"])
    p = ch["pipeline"]
    print("chosen:", ch["label"])
    print("within budget:", yes(c["perplexity"] <= s["perplexity_limit"] and c["within_budget"]))
    # Near-exact: int8 and head pruning at most; aggressive: more than int8.
    print("structural:", yes(any(k in p for k in ("lithe-drop-layers", "lithe-share-kv", "lithe-remove-layernorm"))))
    print("prunes or drops:", yes("lithe-prune-heads" in p or "lithe-drop-layers" in p))
    print("int8:", yes("lithe-quantize-weights" in p))
    print("binary agrees within 0.1%:", yes(abs(ch["binary_perplexity"] / ch["perplexity"] - 1) < 1e-3))
    print("weights identical to the search's build:", yes(ch["weights_identical_to_search_build"]))
    ev = [c for c in s["candidates"] if "perplexity" in c]
    print("evaluated:", len(ev), "of", s["candidates_total"])
    front = [c for c in ev if c.get("frontier")]
    print("frontier measured:", yes(all("decode_tokens_per_s" in c for c in front if c["within_budget"])))
    print("error stated:", yes("decode_error_pct_mean" in s["cost_model"]))
    # The chosen one is the best measured among the feasible ones timed for the choice.
    measured = [c for c in ev if c.get("within_budget") and c.get("timed_for_choice")]
    best = max(measured, key=lambda c: c["decode_tokens_per_s"])
    print("best measured feasible:", yes(best["id"] == ch["id"]))
    print("vs reference pct:", "%.2f" % c["vs_reference_pct"])


def memory(d):
    """--objective=memory: the chosen candidate has the fewest weight + full-context KV bytes
    among the evaluated ones within budget; the binary's weights file is about that size."""
    s = load(d)
    ev = [c for c in s["candidates"] if c.get("within_budget")]
    ctx = s["model_context"]
    cost = lambda c: c["weight_bytes"] + c["kv_bytes_per_token"] * ctx
    ch = next(c for c in s["candidates"] if c["chosen"])
    print("objective:", s["objective"])
    print("least bytes among feasible:", yes(cost(ch) == min(cost(c) for c in ev)))
    print("binary weights within 10% of the estimate:",
          yes(abs(ch["binary_weight_bytes"] / ch["weight_bytes"] - 1) < 0.1))
    print("chosen:", ch["label"])


def perplexity(d, binary_json):
    s = load(d)
    with open(binary_json, encoding="utf-8") as f:
        b = json.load(f)
    rel = abs(b["perplexity"] / s["chosen"]["perplexity"] - 1)
    print("reported %.4f, binary %.4f: within 0.1%%: %s" % (s["chosen"]["perplexity"], b["perplexity"], yes(rel < 1e-3)))


def replay(model, d, work):
    lithec = shutil.which("lithec")
    s = load(d)
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "model")
    cmd = [lithec, model, "-o", out]
    if s["chosen"]["pipeline"]:
        cmd += ["--pipeline", s["chosen"]["pipeline"]]
    if s["chosen"].get("precision", "fp32") != "fp32":
        cmd += ["--precision", s["chosen"]["precision"]]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    same = filecmp.cmp(out + ".lwt", os.path.join(d, "model.lwt"), shallow=False)
    print("replayed weights byte-identical:", yes(same))


def weights(d):
    """The weight types: which were evaluated, that every compiled candidate's binary
    scores what the Evaluator said (bf16's rounding and int4's groups included) and
    holds the weight bytes the search estimated for its type, and that int4 holds
    fewer than int8."""
    s = load(d)
    ev = [c for c in s["candidates"] if "perplexity" in c]
    print("types evaluated:", " ".join(sorted({c["weights"] for c in ev})))
    compiled = [c for c in ev if c.get("binary_perplexity")]
    print("compiled:", " ".join(sorted({c["weights"] for c in compiled})))
    print("compiled candidates agree with the Evaluator within 0.1%:",
          yes(compiled and all(abs(c["binary_perplexity"] / c["perplexity"] - 1) < 1e-3 for c in compiled)))
    timed = [c for c in compiled if c.get("binary_weight_bytes")]
    bad = [f"{c['weights']} {c['weight_bytes']} vs {c['binary_weight_bytes']}" for c in timed
           if abs(c["binary_weight_bytes"] / c["weight_bytes"] - 1) > 0.01]
    print("weight bytes as estimated within 1%:", "yes" if timed and not bad else "no " + "; ".join(bad))
    plain = {c["weights"]: c["weight_bytes"] for c in s["candidates"] if c["pruned_heads"] == 0 and "weight_bytes" in c}
    if "int4" in plain and "int8" in plain:
        print("int4 fewer bytes than int8:", yes(plain["int4"] < plain["int8"]))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"summary": summary, "perplexity": perplexity, "replay": replay, "memory": memory,
     "weights": weights}[cmd](*args)
