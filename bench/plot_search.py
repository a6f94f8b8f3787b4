#!/usr/bin/env python3
"""Plot a `lithec --search`: perplexity against decode speed, from search.json.

    python3 bench/plot_search.py DIR/search.json [-o DIR/search.svg]

Writes one figure (format from the output's extension: .svg, .png, ...;
default DIR/search.svg). What it shows:

- every evaluated candidate: x decode tokens/s, y perplexity (log scale);
  filled markers where the speed was measured (median of the search's
  interleaved --bench runs, with min-max bars), hollow ones where it is the
  cost model's estimate (a thin line joins a measured point to its estimate);
- the Pareto frontier (no other candidate is both faster and lower in
  perplexity; measured speed where there is one) as a line;
- the reference perplexity (dotted) and the budget's limit (dashed red);
- the chosen candidate as a star, named.

lithec --search runs this script itself when python3 and matplotlib are
there; matplotlib is installed with pip when it is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_report import need_matplotlib, nice_ticks  # noqa: E402


def speed(c: dict) -> float:
    """Measured decode tokens/s where there is one, else the estimate."""
    return c.get("decode_tokens_per_s") or c.get("predicted_decode_tokens_per_s") or 0.0


def pareto(points: list[dict]) -> list[dict]:
    front = []
    for c in points:
        x, y = speed(c), c["perplexity"]
        if not any(speed(d) >= x and d["perplexity"] <= y and (speed(d) > x or d["perplexity"] < y)
                   for d in points if d is not c):
            front.append(c)
    return sorted(front, key=speed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("-o", "--output", help="figure to write (default: search.svg beside the JSON)")
    a = ap.parse_args()
    with open(a.json, encoding="utf-8") as f:
        s = json.load(f)
    out = a.output or os.path.join(os.path.dirname(os.path.abspath(a.json)), "search.svg")
    cands = [c for c in s["candidates"] if "perplexity" in c]
    if not cands:
        print("plot_search: no evaluated candidate in " + a.json, file=sys.stderr)
        return 1
    plt = need_matplotlib("plot_search")
    fig, ax = plt.subplots(figsize=(9, 6), dpi=100)
    ax.set_yscale("log")
    measured = [c for c in cands if "decode_tokens_per_s" in c]
    estimated = [c for c in cands if "decode_tokens_per_s" not in c]
    over = [c for c in estimated if not c.get("within_budget")]
    within = [c for c in estimated if c.get("within_budget")]
    ax.scatter([speed(c) for c in within], [c["perplexity"] for c in within], s=28, facecolors="none",
               edgecolors="steelblue", label="estimated speed, within budget", zorder=3)
    ax.scatter([speed(c) for c in over], [c["perplexity"] for c in over], s=28, facecolors="none",
               edgecolors="gray", label="estimated speed, over budget", zorder=3)
    for c in measured:
        x, y = c["decode_tokens_per_s"], c["perplexity"]
        ax.plot([c.get("decode_tokens_per_s_min", x), c.get("decode_tokens_per_s_max", x)], [y, y],
                color="black", lw=1, zorder=2)
        px = c.get("predicted_decode_tokens_per_s")
        if px:
            ax.plot([px, x], [y, y], color="steelblue", lw=0.6, ls=":", zorder=1)
    ax.scatter([c["decode_tokens_per_s"] for c in measured], [c["perplexity"] for c in measured], s=36,
               color="black", label="measured speed (median, min–max)", zorder=4)
    front = pareto(cands)
    ax.plot([speed(c) for c in front], [c["perplexity"] for c in front], color="darkorange", lw=1.5,
            label="Pareto frontier", zorder=2)
    ref, limit = s["reference_perplexity"], s["perplexity_limit"]
    ax.axhline(ref, color="black", ls=":", lw=1, label=f"reference {ref:.2f}")
    ax.axhline(limit, color="red", ls="--", lw=1.2, label=f"budget {s['budget_text']}: {limit:.2f}")
    ch = s["chosen"]
    chosen = next(c for c in s["candidates"] if c["id"] == ch["id"])
    cx, cy = speed(chosen), chosen["perplexity"]
    ax.scatter([cx], [cy], marker="*", s=260, color="red", edgecolors="black", zorder=5,
               label="chosen: " + ch["label"])
    ax.annotate(ch["label"], (cx, cy), xytext=(-30, 30), textcoords="offset points", ha="right", fontsize=9,
                arrowprops=dict(arrowstyle="-", lw=0.6))
    xs = [speed(c) for c in cands] + [c.get("decode_tokens_per_s_max", 0) for c in measured]
    ax.set_xlim(0, max(xs) * 1.08)
    ys = [c["perplexity"] for c in cands] + [ref, limit]
    lo, hi = min(ys) / 1.03, max(ys) * 1.03
    # The region that matters is around the budget: candidates far above it
    # (LayerNorm removed without fine-tuning: +100% and more) are drawn as
    # triangles on the top edge and counted.
    top = max(limit * 1.6, ref * 1.6)
    if hi > top:
        hi = top
        off = [c for c in cands if c["perplexity"] > hi / 1.02]
        ax.scatter([speed(c) for c in off], [hi / 1.01] * len(off), marker="^", s=22, color="lightgray",
                   edgecolors="gray", zorder=3)
        ax.text(0.01, 0.985, f"{len(off)} candidates above, up to perplexity {max(c['perplexity'] for c in off):.0f}",
                transform=ax.transAxes, fontsize=8, va="top", color="gray")
    ax.set_ylim(lo, hi)
    # Round tick values (plot_report's), written out, on the log axis.
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
    ax.yaxis.set_major_locator(FixedLocator(nice_ticks(lo, hi, 6)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel(f"decode tokens/s ({s['timing']['threads']} thread(s); hollow: cost-model estimate)")
    ax.set_ylabel("perplexity on " + s["eval_file"] + " (log scale)")
    model = os.path.basename(os.path.dirname(s["model"])) or s["model"]
    ax.set_title(f"lithec --search on {model}: {s['candidates_evaluated']} of {s['candidates_total']} candidates "
                 f"evaluated, objective {s['objective']}", fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(out, format=os.path.splitext(out)[1][1:] or "svg")
    print(f"plot_search: wrote {out} ({len(cands)} candidates, frontier: {len(front)}, chosen: {ch['label']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
