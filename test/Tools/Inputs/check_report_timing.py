"""Checks report.json's timing: N runs per row, median/min/max consistent with
them, threads and host stated, and program groups: rows named together by
--same share a program whose ranges overlap; rows in --differ do not."""
import argparse
import json
import statistics
import sys

ap = argparse.ArgumentParser()
ap.add_argument("report")
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--threads", type=int, required=True)
ap.add_argument("--same", action="append", default=[])
ap.add_argument("--differ", default="")
a = ap.parse_args()
rep = json.load(open(a.report))
bad = []
t = rep["timing"]
if t["runs"] != a.runs or t["warmup_rounds"] != 1 or t["threads"] != a.threads:
    bad.append(f"timing header {t}")
if not rep["host"]["cpu"] or rep["host"]["logical_cores"] < 1:
    bad.append(f"host {rep['host']}")
rows = {r["name"]: r for r in rep["rows"]}
for r in rep["rows"]:
    for k in ("decode", "prefill"):
        runs = r[f"{k}_runs"]
        med, lo, hi = r[f"{k}_tokens_per_s"], r[f"{k}_tokens_per_s_min"], r[f"{k}_tokens_per_s_max"]
        if len(runs) != a.runs or min(runs) != lo or max(runs) != hi or abs(statistics.median(runs) - med) > 1e-9:
            bad.append(f"{r['name']} {k}: {runs} vs median {med} [{lo}, {hi}]")
groups = {g["program"]: g for g in rep["same_program_groups"]}
for s in a.same:
    names = s.split(",")
    progs = {rows[n]["program"] for n in names}
    if len(progs) != 1:
        bad.append(f"{names} should share a program: {progs}")
        continue
    g = groups.get(progs.pop())
    if not g or sorted(g["rows"]) != sorted(names):
        bad.append(f"group for {names}: {g}")
    elif not g["agree_within_spread"]:
        bad.append(f"identical programs {names} disagree: " +
                   ", ".join(f"{n} {rows[n]['decode_runs']}" for n in names))
    # Recompute the agreement from the runs.
    elif max(rows[n]["decode_tokens_per_s_min"] for n in names) > min(rows[n]["decode_tokens_per_s_max"] for n in names):
        bad.append(f"{names}: agree_within_spread is true but the ranges do not overlap")
if a.differ:
    names = a.differ.split(",")
    progs = [rows[n]["program"] for n in names]
    if len(set(progs)) != len(progs):
        bad.append(f"{names} should be different programs: {progs}")
if bad:
    sys.exit("check_report_timing: " + "; ".join(bad))
print("check_report_timing: ok")
