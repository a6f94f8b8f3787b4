"""A crowded report.json for plot tests: clusters of near-identical points,
coincident points, long names, points at the edges of the data range."""
import json
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
rows = []
for i in range(n):
    if i < n // 2:  # one tight cluster, like lithe-tiny's fp32 rows
        x, y = 600 + rng.uniform(-40, 40), 630 * rng.uniform(0.97, 1.05)
    elif i < n // 2 + 3:  # coincident perplexity, as dropping the same block two ways
        x, y = 650 + 20 * (i - n // 2), 688.0
    else:
        x, y = rng.uniform(500, 1400), rng.uniform(350, 1250)
    name = ["baseline", "prune-25%-importance-long-name", "lnfree+lora+simplify", "drop-1-explicit"][i % 4] if i < 4 \
        else f"row-{i}" + ("-with-a-longer-name" if i % 5 == 0 else "")
    rows.append({"name": name, "model": "m/model.onnx", "pipeline": "", "perplexity": y,
                 "decode_tokens_per_s": x, "decode_tokens_per_s_min": x * 0.8, "decode_tokens_per_s_max": x * 1.15,
                 "program": f"P{1 + (i % 6 != 0)}"})
rows[-1].update(decode_tokens_per_s=1500.0, decode_tokens_per_s_min=1400.0, decode_tokens_per_s_max=1600.0)
# (the right-most label must not leave the canvas)
rows[-2]["perplexity"] = 1300.0  # nor the top-most
json.dump({"model": "m/model.onnx", "text": "heldout.txt",
           "timing": {"runs": 5, "threads": 2}, "host": {"cpu": "test CPU", "logical_cores": 2},
           "same_program_groups": [{"program": "P1", "rows": [r["name"] for k, r in enumerate(rows) if k % 6 == 0],
                                    "agree_within_spread": True}],
           "rows": rows}, open(out, "w"), indent=1)
