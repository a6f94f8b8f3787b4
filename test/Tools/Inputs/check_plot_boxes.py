"""Checks bench/plot_report.py's --boxes output: one label per row, no two
label boxes intersect, none leaves the axes (so none is clipped), and none
covers a data point."""
import json
import sys

b = json.load(open(sys.argv[1]))
rows = int(sys.argv[2])
W, H = b["width"], b["height"]
ax = b["axes"]
labels = b["labels"]
bad = []
if len(labels) != rows:
    bad.append(f"{len(labels)} labels for {rows} rows")
for i, l in enumerate(labels):
    x0, y0, x1, y1 = l["box"]
    if x0 < ax[0] or y0 < ax[1] or x1 > ax[2] or y1 > ax[3] or x0 < 0 or y0 < 0 or x1 > W or y1 > H:
        bad.append(f"'{l['name']}' {l['box']} leaves the axes {ax} / figure {W}x{H}")
    for m in labels[i + 1:]:
        a0, b0, a1, b1 = m["box"]
        if not (x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0):
            bad.append(f"'{l['name']}' and '{m['name']}' overlap")
    for px, py in b["points"]:
        if x0 < px < x1 and y0 < py < y1:
            bad.append(f"'{l['name']}' covers the point at {px:.0f},{py:.0f}")
if bad:
    sys.exit("check_plot_boxes: " + "; ".join(bad))
print(f"check_plot_boxes: {len(labels)} labels, no overlaps, all inside")
