#!/usr/bin/env python3
"""Sampling on the device (lithec --target=cuda; Batcher::deviceSampled): the
executable's sampled generations against its greedy one.

usage: check_device_sampling.py --lithec BIN --model MODEL.onnx --workdir DIR

Where the executable runs: on a GPU, or through the host emulation of the
CUDA ops when LITHE_CUDA_LINK names it (test/CMakeLists.txt). Checks:
  - top-k 1 and a top-p cut of 1% are the argmax: equal to greedy decoding;
  - the same seed gives the same text, another seed another text (the
    uniform number is keyed by the seed the sequence's generator draws and
    the cache length);
  - n choices of one prompt differ from each other.
"""
import argparse
import json
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--lithec", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)
exe = os.path.join(args.workdir, "device-sampling")
subprocess.run([args.lithec, args.model, "-o", exe, "--target", "cuda"], check=True)
PROMPT = "The history of the United States"


def gen(*flags):
    r = subprocess.run([exe, "-p", PROMPT, "-n", "24", "--json", *flags], check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


failed = 0


def check(ok, what):
    global failed
    failed += 0 if ok else 1
    print(("ok   " if ok else "FAIL ") + what)


greedy = gen()["text"]
check(gen("--temp", "0.9", "--top-k", "1", "--seed", "5")["text"] == greedy, "top-k 1 is greedy decoding")
check(gen("--temp", "0.9", "--top-k", "40", "--top-p", "0.01", "--seed", "5")["text"] == greedy,
      "a top-p cut of 1% is greedy decoding")
a = gen("--temp", "0.9", "--top-k", "40", "--seed", "5")["text"]
check(a == gen("--temp", "0.9", "--top-k", "40", "--seed", "5")["text"], "the same seed, the same text")
check(a != gen("--temp", "0.9", "--top-k", "40", "--seed", "6")["text"], "another seed, another text")
choices = gen("--temp", "0.9", "--top-k", "40", "--seed", "5", "--choices", "3")["choices"]
texts = [c["text"] for c in choices]
check(len(set(texts)) == len(texts), f"{len(texts)} choices differ")
sys.exit(1 if failed else 0)
