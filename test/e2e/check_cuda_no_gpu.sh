#!/bin/bash
# A lithec --target=cuda executable on a machine without a GPU (or driver):
# one line naming the problem, exit status 1, nothing else printed. Linked
# with the real CUDA runtime (not the host emulation). Skipped (77) where a
# GPU is present: there the executable runs (scripts/gpu-check.sh checks it).
# usage: check_cuda_no_gpu.sh LITHEC MODEL.onnx WORKDIR
set -u
lithec=$1 model=$2 work=$3
if [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; then
  echo "skip: this machine has an NVIDIA device"
  exit 77
fi
mkdir -p "$work"
unset LITHE_CUDA_LINK
"$lithec" --target=cuda "$model" -o "$work/cuda-no-gpu" >/dev/null || exit 1
for args in "-p Hello -n 4" "--bench --json" "--perplexity $model"; do
  out=$("$work/cuda-no-gpu" $args 2>&1)
  rc=$?
  lines=$(printf '%s\n' "$out" | wc -l)
  if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] ||
     ! printf '%s' "$out" | grep -Eq '^error: (no CUDA GPU found|no usable NVIDIA driver).*--target=cuda'; then
    echo "FAIL: '$work/cuda-no-gpu $args' exited $rc with:"
    printf '%s\n' "$out"
    exit 1
  fi
  echo "ok   $args: $out"
done
