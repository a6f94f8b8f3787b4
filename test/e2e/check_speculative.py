#!/usr/bin/env python3
"""Speculative decoding (lithec --draft, --draft-tokens) end to end.

Greedy identity: for each model given, executables with a draft made by each
draft pipeline decode token for token what the model alone decodes, for
several K (and `auto`), from several prompts, up to the full context (so
steps are cut short by the capacity too), and --bench says so as well.

Sampling distribution (--stat): the tokens decided by speculative steps
(positions 2 and 3 of each generation; the first comes from the prompt's own
forward) are distributed as the model's own. Two-sample chi-square test of
homogeneity on SAMPLES seeded generations with and without the draft, bins
with fewer than 5 expected per run pooled: passes at p > 0.001. The test's
power is shown by the same test between the draft alone and the model, which
must fail (p < 1e-6): the acceptance rule has to correct a draft that
samples visibly differently.
"""

import argparse
import json
import math
import os
import subprocess
import sys


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def gammq(a, x):
    """Regularized upper incomplete gamma Q(a, x) (Numerical Recipes)."""
    if x <= 0:
        return 1.0
    gln = math.lgamma(a)
    if x < a + 1:  # series for P
        ap, s, d = a, 1.0 / a, 1.0 / a
        for _ in range(10000):
            ap += 1
            d *= x / ap
            s += d
            if abs(d) < abs(s) * 1e-15:
                break
        return max(0.0, 1.0 - s * math.exp(-x + a * math.log(x) - gln))
    b, c, d = x + 1 - a, 1e300, 1.0 / (x + 1 - a)  # continued fraction for Q
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1.0 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - gln) * h


def chi2_homogeneity(h1, h2):
    """Two-sample chi-square test: (statistic, degrees of freedom, p-value)."""
    n1, n2 = sum(h1.values()), sum(h2.values())
    keys = sorted(set(h1) | set(h2), key=lambda k: -(h1.get(k, 0) + h2.get(k, 0)))
    bins, pool = [], [0, 0]
    for k in keys:
        a, b = h1.get(k, 0), h2.get(k, 0)
        if (a + b) * min(n1, n2) / (n1 + n2) >= 5:
            bins.append((a, b))
        else:
            pool[0] += a
            pool[1] += b
    if sum(pool) * min(n1, n2) / (n1 + n2) >= 5:
        bins.append(tuple(pool))
    stat = 0.0
    for a, b in bins:
        t = a + b
        for o, n in ((a, n1), (b, n2)):
            e = t * n / (n1 + n2)
            stat += (o - e) ** 2 / e
    dof = len(bins) - 1
    return stat, dof, gammq(dof / 2.0, stat / 2.0)


def histograms(exe, args, samples, seed, positions):
    out = run([exe] + args + ["--samples", str(samples), "--seed", str(seed), "--threads", "1"])
    hs = [dict() for _ in positions]
    for line in out.split():
        toks = line.split(",")
        for h, p in zip(hs, positions):
            h[toks[p]] = h.get(toks[p], 0) + 1
    return hs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lithec", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH/model.onnx")
    ap.add_argument("--draft", action="append", default=[], help="NAME=PASSES")
    ap.add_argument("--stat", help="NAME=PATH/model.onnx: the sampling-distribution test")
    ap.add_argument("--stat-draft", default="lithe-drop-layers{layers=1}")
    ap.add_argument("--samples", type=int, default=20000)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    failures = 0

    for m in a.model:
        mname, onnx = m.split("=", 1)
        for d in a.draft:
            dname, passes = d.split("=", 1)
            exe = os.path.join(a.workdir, "%s-%s" % (mname, dname))
            run([a.lithec, onnx, "-o", exe, "--draft=" + passes])
            cfg = json.loads(run([exe, "--bench", "--bench-prompt", "4", "--bench-tokens", "4", "--bench-runs", "1",
                                  "--json", "--threads", "1"]))
            ctx = cfg["kv_cache_bytes"] // cfg["kv_bytes_per_token"]
            vocab_probe = run([exe, "--ids", "0", "--threads", "1"])  # the binary runs
            del vocab_probe
            for prompt in ("1,2,3", "7", "5,9,11,13,17,19,23,29"):
                n = ctx - len(prompt.split(","))  # to the full context
                ref = run([exe, "--ids", prompt, "--generate", str(n), "--threads", "1"])
                for k in ("1", "3", "8", "auto"):
                    got = run([exe, "--ids", prompt, "--generate", str(n), "--draft-tokens", k, "--threads", "1"])
                    ok = got == ref
                    failures += not ok
                    print("%s draft %s prompt [%s] K=%s: %d tokens %s" % (
                        mname, dname, prompt, k, n, "identical" if ok else "DIFFERENT"))
                    if not ok:
                        print("  alone: " + ref.strip() + "\n  draft: " + got.strip())
            b = json.loads(run([exe, "--bench", "--bench-prompt", "8", "--bench-tokens", str(ctx - 9),
                                "--bench-runs", "1", "--draft-tokens", "4", "--json", "--threads", "1"]))
            ok = b["spec_identical"]
            failures += not ok
            print("%s draft %s --bench: acceptance %.3f, %.2f tokens/step, %s" % (
                mname, dname, b["acceptance_rate"], b["tokens_per_step"], "identical" if ok else "DIFFERENT"))

    if a.stat:
        mname, onnx = a.stat.split("=", 1)
        exe = os.path.join(a.workdir, "stat-" + mname)
        run([a.lithec, onnx, "-o", exe, "--draft=" + a.stat_draft])
        alone_draft = os.path.join(a.workdir, "stat-" + mname + "-draft-alone")
        run([a.lithec, onnx, "-o", alone_draft, "--pipeline=" + a.stat_draft])
        prompt = "3,1,4,1,5"
        pos = [1, 2]  # decided by speculative steps
        for sampling in (["--temp", "1.0"], ["--temp", "0.8", "--top-k", "40", "--top-p", "0.9"]):
            base = ["--ids", prompt, "--generate", "3"] + sampling
            ref = histograms(exe, base, a.samples, 1, pos)
            spec = histograms(exe, base + ["--draft-tokens", "3"], a.samples, 1000003, pos)
            drf = histograms(alone_draft, base, a.samples, 2000003, pos)
            for i, p in enumerate(pos):
                stat, dof, pv = chi2_homogeneity(ref[i], spec[i])
                ok = pv > 1e-3
                failures += not ok
                print("%s %s token %d: model alone vs speculative: chi2 %.1f, dof %d, p = %.4f (%s)" % (
                    mname, " ".join(sampling), p + 1, stat, dof, pv, "ok" if ok else "FAIL, want p > 0.001"))
                stat, dof, pv = chi2_homogeneity(ref[i], drf[i])
                ok = pv < 1e-6
                failures += not ok
                print("%s %s token %d: model alone vs draft alone: chi2 %.1f, dof %d, p = %.2g (%s)" % (
                    mname, " ".join(sampling), p + 1, stat, dof, pv,
                    "the test tells them apart" if ok else "FAIL: the test has no power here"))

    if failures:
        sys.exit("FAIL: %d checks" % failures)
    print("ok")


if __name__ == "__main__":
    main()
