#!/usr/bin/env python3
"""run_ids.py BINARY N [ARGS...]: runs BINARY --ids with N token ids (1,1,...)
plus ARGS, echoes its stderr to stdout and exits with its status."""
import subprocess
import sys

exe, n = sys.argv[1], int(sys.argv[2])
r = subprocess.run([exe, "--ids", ",".join(["1"] * n)] + sys.argv[3:], capture_output=True, text=True)
sys.stdout.write(r.stderr)
sys.exit(r.returncode)
