#!/usr/bin/env python3
"""Plot a `lithec --report`: perplexity against decode speed, from report.json.

    python3 bench/plot_report.py DIR/report.json [-o DIR/report] [--boxes FILE]

Writes OUT.png and OUT.svg (OUT defaults to report.json's directory/report,
replacing lithec's plain built-in report.svg). What the plot shows:

- x: median decode tokens/s with min-max error bars (the report's interleaved
  runs); y: perplexity, log scale, round tick values on both axes;
- dashed lines through the baseline;
- the Pareto frontier (no other row is both faster and lower in perplexity,
  by median) as a line, its rows named in bold;
- rows that compile to the same kernel program in one colour per program,
  joined by a dotted line: their speed differences are measurement noise;
- every row named by a label placed where it overlaps no other label, no
  point and nothing outside the axes, with a leader line when moved away.

The label boxes are checked after drawing (no two intersect, all inside the
figure); --boxes writes them as JSON for tests. matplotlib is installed with
pip when it is missing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys


def need_matplotlib(who: str = "plot_report"):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"{who}: installing matplotlib with pip", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "matplotlib"])
    import matplotlib
    matplotlib.use("Agg")
    # The SVG keeps text as text (searchable, and what the tests read).
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "lithe"  # the same JSON gives the same SVG
    import matplotlib.pyplot as plt
    return plt


def nice_ticks(lo: float, hi: float, want: int = 6) -> list[float]:
    """Round values (1, 2, 2.5, 5 times a power of ten apart) within [lo, hi]."""
    raw = (hi - lo) / want
    p = 10 ** math.floor(math.log10(raw))
    step = next(m * p for m in (1, 2, 2.5, 5, 10) if m * p >= raw)
    first = math.ceil(lo / step) * step
    n = int(math.floor((hi - first) / step + 1e-9)) + 1
    return [round(first + i * step, 10) for i in range(n)]


def pareto(rows):
    """Indices of rows no other row beats on both speed and perplexity."""
    front = []
    for i, r in enumerate(rows):
        dominated = any(
            s["decode_tokens_per_s"] >= r["decode_tokens_per_s"] and s["perplexity"] <= r["perplexity"]
            and (s["decode_tokens_per_s"] > r["decode_tokens_per_s"] or s["perplexity"] < r["perplexity"])
            for j, s in enumerate(rows) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: rows[i]["decode_tokens_per_s"])


def intersects(a, b, margin=0.0):
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def seg_hits_box(p, q, box, steps=24):
    """Whether the segment p-q passes through box (sampled)."""
    for k in range(1, steps):
        t = k / steps
        x, y = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
        if box[0] < x < box[2] and box[1] < y < box[3]:
            return True
    return False


def leader_end(p, box):
    """The point of box nearest to p."""
    return (min(max(p[0], box[0]), box[2]), min(max(p[1], box[1]), box[3]))


def place_labels(points, sizes, region, obstacles, soft):
    """Greedy placement in pixel space.

    points: (x, y) per label; sizes: (w, h); region: (x0, y0, x1, y1) the
    boxes must stay in; obstacles: boxes no label may touch (markers, legend);
    soft: boxes a label should avoid (error bars, lines). Returns the box of
    each label. Labels are placed most-crowded first; each takes the nearest
    candidate position (rings of growing radius, 24 directions) that is
    inside the region and hits no obstacle and no placed label.
    """
    n = len(points)
    crowd = [sum(1 for q in points if abs(q[0] - p[0]) < 120 and abs(q[1] - p[1]) < 60) for p in points]
    order = sorted(range(n), key=lambda i: -crowd[i])
    placed = [None] * n
    lines = []  # leader lines of placed labels
    radii = [4, 8, 14, 22, 32, 44, 58, 74, 92, 112, 135, 160, 190, 225, 265, 310, 360, 420, 500]
    # Right, left, up and down first (reads best), then the diagonals.
    angles = [0, 180, 90, 270, 30, 150, 330, 210, 60, 120, 300, 240,
              15, 165, 345, 195, 45, 135, 315, 225, 75, 105, 285, 255]
    for i in order:
        px, py = points[i]
        w, h = sizes[i]
        best = None
        for r in radii:
            for k, a in enumerate(angles):
                dx, dy = math.cos(math.radians(a)), math.sin(math.radians(a))
                # The box's nearest edge is r away from the point along (dx, dy).
                cx = px + dx * (r + w / 2)
                cy = py + dy * (r + h / 2)
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if box[0] < region[0] or box[1] < region[1] or box[2] > region[2] or box[3] > region[3]:
                    continue
                if any(intersects(box, o, 1) for o in obstacles):
                    continue
                if any(p is not None and intersects(box, p, 3) for p in placed):
                    continue
                cost = r + 0.5 * k + sum(25 for s in soft if intersects(box, s))
                if r > 8:  # it will get a leader line: keep it off other labels
                    end = leader_end((px, py), box)
                    cost += sum(40 for p in placed if p is not None and seg_hits_box((px, py), end, p))
                cost += sum(40 for a, b in lines if seg_hits_box(a, b, box))
                if best is None or cost < best[0]:
                    best = (cost, box)
            if best is not None and best[0] < r + 60:
                break
        if best is None:
            raise SystemExit(f"plot_report: no room for label {i} without overlap; enlarge the figure")
        placed[i] = best[1]
        lines.append(((px, py), leader_end((px, py), best[1])))
    return placed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report", help="report.json written by lithec --report")
    ap.add_argument("-o", "--out", help="output path without extension (default: beside report.json, 'report')")
    ap.add_argument("--boxes", help="write the label boxes (figure pixels) and the figure size here, as JSON")
    ap.add_argument("--title", help="title (default: from the model and text names)")
    ap.add_argument("--width", type=float, default=11.0, help="figure width, inches")
    ap.add_argument("--height", type=float, default=7.5, help="figure height, inches")
    args = ap.parse_args()
    plt = need_matplotlib()
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    rep = json.load(open(args.report, encoding="utf-8"))
    rows = rep["rows"]
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.report)), "report")
    timing = rep.get("timing", {})
    hostinfo = rep.get("host", {})
    speed_model = rep.get("speed_model")
    speed_name = "/".join(speed_model.split("/")[-2:]) if speed_model else ""
    model = os.path.basename(os.path.dirname(rep["model"])) or rep["model"]
    text = os.path.basename(rep.get("text", "")) or "the text"

    xs = [r["decode_tokens_per_s"] for r in rows]
    lo = [r.get("decode_tokens_per_s_min", r["decode_tokens_per_s"]) for r in rows]
    hi = [r.get("decode_tokens_per_s_max", r["decode_tokens_per_s"]) for r in rows]
    ys = [r["perplexity"] for r in rows]

    fig = plt.figure(figsize=(args.width, args.height), dpi=100)
    ax = fig.add_axes((0.085, 0.165, 0.885, 0.625))
    title = args.title or f"{model}: perplexity on {text} against decode speed" + (
        f" of {speed_name}" if speed_model else "")
    fig.text(0.085, 0.965, title, fontsize=14, fontweight="bold", va="top", parse_math=False)
    runs = timing.get("runs", 1)
    sub = (f"decode tokens/s (1000 / median ms per token of a run): median of {runs} runs interleaved across rows "
           f"after a warm-up round, bars min–max; "
           f"{timing.get('threads', '?')} thread{'' if timing.get('threads') == 1 else 's'}; {hostinfo.get('cpu', 'unknown host')}, "
           f"{hostinfo.get('logical_cores', '?')} logical cores, load average "
           f"{str(hostinfo.get('loadavg_before', '?')).split(' ')[0]} before timing")
    if speed_model:
        sub = (f"speed measured on {speed_name} (a larger model of the same family, each row's passes without "
               f"adapters or of the same size); perplexity from each row's own model\n" + sub)
    import textwrap
    sub = "\n".join(textwrap.fill(part, int(args.width * 13.5)) for part in sub.split("\n"))
    subtitle = fig.text(0.085, 0.935, sub, fontsize=8.5, va="top", color="#333", parse_math=False,
                        linespacing=1.4)
    # The plot starts just below the subtitle, however many lines it has.
    fig.canvas.draw()
    top = subtitle.get_window_extent(fig.canvas.get_renderer()).y0 / fig.bbox.height - 0.035
    ax.set_position((0.085, 0.165, 0.885, top - 0.165))

    # Same-program groups get a colour each; unique programs are blue.
    groups = [g for g in rep.get("same_program_groups", [])]
    palette = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    colour = {}
    for k, g in enumerate(groups):
        for name in g["rows"]:
            colour[name] = palette[k % len(palette)]
    front = pareto(rows)

    xmin, xmax = min(lo), max(hi)
    dx = max(xmax - xmin, 0.1 * xmax)
    ax.set_xlim(max(0.0, xmin - 0.12 * dx), xmax + 0.12 * dx)
    ly0, ly1 = math.log(min(ys)), math.log(max(ys))
    dy = max(ly1 - ly0, 0.1)
    ax.set_yscale("log")
    ax.set_ylim(math.exp(ly0 - 0.12 * dy), math.exp(ly1 + 0.12 * dy))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    yl = ax.get_ylim()
    ax.yaxis.set_major_locator(FixedLocator(nice_ticks(yl[0], yl[1], 8)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())
    speed_of = f" of {speed_name}" if speed_model else ""
    ax.set_xlabel(f"decode speed{speed_of} (tokens/s; median, bars min–max; higher is better)")
    ax.set_ylabel(f"perplexity on {text} (log scale; lower is better)")
    ax.grid(True, color="#eee", zorder=0)

    base = rows[0]
    ax.axvline(base["decode_tokens_per_s"], color="gray", ls="--", lw=0.9, zorder=1)
    ax.axhline(base["perplexity"], color="gray", ls="--", lw=0.9, zorder=1,
               label=f"baseline ({base['perplexity']:.0f}, {base['decode_tokens_per_s']:.0f} tok/s)")
    if len(front) > 1:
        fx = [xs[i] for i in front]
        fy = [ys[i] for i in front]
        ax.plot(fx, fy, "-", color="black", lw=1.2, alpha=0.55, zorder=2, label="Pareto frontier (names in bold)")
    for k, g in enumerate(groups):
        members = sorted((xs[i], ys[i]) for i, r in enumerate(rows) if r["name"] in g["rows"])
        ax.plot([m[0] for m in members], [m[1] for m in members], ":", color=palette[k % len(palette)], lw=1.2,
                zorder=2, label=f"same kernel program {g['program']}: " + ", ".join(g["rows"][:4])
                + (" …" if len(g["rows"]) > 4 else ""))
    for i, r in enumerate(rows):
        c = colour.get(r["name"], "#1f77b4")
        ax.errorbar([xs[i]], [ys[i]], xerr=[[max(0.0, xs[i] - lo[i])], [max(0.0, hi[i] - xs[i])]], fmt="o", ms=6 if i else 8,
                    color="black" if i == 0 else c, ecolor=c, elinewidth=1.2, capsize=3, zorder=3)
    fig.legend(loc="lower left", bbox_to_anchor=(0.08, 0.005), ncol=2, fontsize=8, frameon=False)

    # Label placement in pixels, on the drawn figure.
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axbox = ax.get_window_extent(renderer)
    region = (axbox.x0 + 3, axbox.y0 + 3, axbox.x1 - 3, axbox.y1 - 3)
    pts = [tuple(ax.transData.transform((xs[i], ys[i]))) for i in range(len(rows))]
    obstacles = [(x - 6, y - 6, x + 6, y + 6) for x, y in pts]
    soft = []
    for i in range(len(rows)):
        a = ax.transData.transform((lo[i], ys[i]))
        b = ax.transData.transform((hi[i], ys[i]))
        soft.append((a[0], a[1] - 4, b[0], b[1] + 4))
    sizes, texts = [], []
    for i, r in enumerate(rows):
        t = ax.text(0, 0, r["name"], fontsize=8.5, fontweight="bold" if i in front else "normal",
                    transform=None, parse_math=False)
        e = t.get_window_extent(renderer)
        sizes.append((e.width + 2, e.height + 2))
        t.remove()
    boxes = place_labels(pts, sizes, region, obstacles, soft)
    pt = 72.0 / fig.dpi
    for i, r in enumerate(rows):
        (px, py), b = pts[i], boxes[i]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        # A leader line unless the label sits right at its point.
        gap = math.hypot(max(b[0] - px, 0, px - b[2]), max(b[1] - py, 0, py - b[3]))
        far = gap > 9
        texts.append(ax.annotate(
            r["name"], xy=(xs[i], ys[i]), xytext=((cx - px) * pt, (cy - py) * pt), textcoords="offset points",
            ha="center", va="center", fontsize=8.5, fontweight="bold" if i in front else "normal",
            annotation_clip=False, parse_math=False, zorder=4,
            arrowprops=dict(arrowstyle="-", color="#888", lw=0.6, shrinkA=0, shrinkB=4) if far else None))

    # Check what was drawn, not what was planned.
    fig.canvas.draw()
    W, H = fig.canvas.get_width_height()
    from matplotlib.text import Text
    # The text's own box (an Annotation's extent includes its leader line).
    drawn = [tuple(Text.get_window_extent(t, renderer).extents) for t in texts]
    problems = []
    for i, a in enumerate(drawn):
        if a[0] < 0 or a[1] < 0 or a[2] > W or a[3] > H:
            problems.append(f"label '{rows[i]['name']}' leaves the figure")
        for j in range(i + 1, len(drawn)):
            if intersects(a, drawn[j]):
                problems.append(f"labels '{rows[i]['name']}' and '{rows[j]['name']}' overlap")
    # Title, subtitle, legend and axis labels stay on the canvas and off the axes.
    others = [t for t in fig.texts] + fig.legends + [ax.xaxis.label, ax.yaxis.label]
    for t in others:
        e = t.get_window_extent(renderer).extents
        if e[0] < 0 or e[1] < 0 or e[2] > W or e[3] > H:
            problems.append(f"'{getattr(t, 'get_text', lambda: 'legend')()[:40]}' leaves the figure")
        if t in fig.texts or t in fig.legends:
            if intersects(e, axbox.extents):
                problems.append(f"'{getattr(t, 'get_text', lambda: 'legend')()[:40]}' overlaps the plot")
    if args.boxes:
        with open(args.boxes, "w", encoding="utf-8") as f:
            json.dump({"width": W, "height": H, "axes": list(axbox.extents),
                       "labels": [{"name": r["name"], "box": list(b)} for r, b in zip(rows, drawn)],
                       "points": [list(p) for p in pts]}, f, indent=1)
    if problems:
        raise SystemExit("plot_report: " + "; ".join(problems))
    fig.savefig(out + ".png", dpi=150)
    fig.savefig(out + ".svg")
    print(f"plot_report: wrote {out}.png and {out}.svg ({len(rows)} rows, frontier: "
          + ", ".join(rows[i]["name"] for i in front) + ")")


if __name__ == "__main__":
    main()
