#!/usr/bin/env python3
"""grimm_split.py GRIMM_TXT DIR: the texts the lithe-tiny reports and searches
measure on, cut at line ends: DIR/grimm-calibration.txt (40%-80% of the
book) and DIR/grimm-heldout.txt (the last 20%, which the lithe-tiny adapters
never saw)."""
import sys

t = open(sys.argv[1], encoding="utf-8").read()
c = t.find("\n", int(len(t) * 0.8)) + 1
a = t.find("\n", int(len(t) * 0.4)) + 1
open(sys.argv[2] + "/grimm-heldout.txt", "w", encoding="utf-8").write(t[c:])
open(sys.argv[2] + "/grimm-calibration.txt", "w", encoding="utf-8").write(t[a:c])
