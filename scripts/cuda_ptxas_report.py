#!/usr/bin/env python3
"""Registers, spills and shared memory of every kernel in runtime/cuda, as
ptxas reports them (nvcc --cubin -Xptxas -v, one compile per file and arch,
no host code). Prints a markdown table (docs/cuda.md keeps one) and exits 1
if any kernel spills, so CTest can hold the line (test/unit/CMakeLists.txt).

  scripts/cuda_ptxas_report.py [--nvcc PATH] [--arch sm_90 ...] [--cuda-dir runtime/cuda]
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(sm_\d+)'")
FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers")
SMEM = re.compile(r"(\d+) bytes smem")


def ptxas(nvcc, path, arch):
    """[(kernel, registers, stack, spill stores, spill loads, smem)] of one file."""
    cmd = [nvcc, "--cubin", "-O3", "-std=c++17", f"-arch={arch}", "-Xptxas", "-v",
           "-I", os.path.join(ROOT, "runtime/include"), "-o", os.devnull, path]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr}")
    kernels, current = [], None
    for line in run.stderr.splitlines():
        if m := ENTRY.search(line):
            current = {"name": m.group(1), "stack": 0, "stores": 0, "loads": 0, "smem": 0}
            kernels.append(current)
        elif current and (m := FRAME.search(line)):
            current["stack"], current["stores"], current["loads"] = map(int, m.groups())
        elif current and (m := USED.search(line)):
            current["registers"] = int(m.group(1))
            if s := SMEM.search(line):
                current["smem"] = int(s.group(1))
    names = subprocess.run(["c++filt"], input="\n".join(k["name"] for k in kernels),
                           capture_output=True, text=True).stdout.splitlines()
    for k, name in zip(kernels, names):
        # drop the anonymous namespace and the parameter list: the template
        # arguments are what tells instances apart
        name = re.sub(r"\(anonymous namespace\)::", "", name)
        k["name"] = re.sub(r"^void ", "", re.sub(r"\((?:[^()]|\([^()]*\))*\)$", "", name))
    return kernels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nvcc", default=os.environ.get("NVCC", "/usr/local/cuda/bin/nvcc"))
    ap.add_argument("--arch", action="append", help="sm_80, sm_90, ... (default: both)")
    ap.add_argument("--cuda-dir", default=os.path.join(ROOT, "runtime/cuda"))
    args = ap.parse_args()
    archs = args.arch or ["sm_80", "sm_90"]
    files = sorted(glob.glob(os.path.join(args.cuda_dir, "*.cu")))
    jobs = [(f, a) for a in archs for f in files]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda job: ptxas(args.nvcc, *job), jobs))

    print("| arch | file | kernel | registers | spill stores / loads (bytes) | stack (bytes) | static smem (bytes) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    spills = []
    for (path, arch), kernels in zip(jobs, results):
        for k in sorted(kernels, key=lambda k: k["name"]):
            print(f"| {arch} | {os.path.basename(path)} | `{k['name']}` | {k['registers']} | "
                  f"{k['stores']} / {k['loads']} | {k['stack']} | {k['smem']} |")
            if k["stores"] or k["loads"]:
                spills.append(f"{arch} {k['name']}")
    count = sum(len(k) for k in results)
    if spills:
        print(f"\n{len(spills)} of {count} kernels spill: " + "; ".join(spills), file=sys.stderr)
        return 1
    print(f"\n{count} kernels, {len(files)} files, {', '.join(archs)}: no spills", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
