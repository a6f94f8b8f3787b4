#!/usr/bin/env bash
# Host side of the CUDA target's GPU checks (issue 13): builds, on a machine
# without a GPU, everything scripts/gpu-check.sh step 5 runs on a lent one
# (which has nvcc, torch and a driver, but no MLIR, so no lithec), packed as
# .gpu/cuda-e2e.tar.xz (.gpu/ is in .gitignore; carry it with the `device`
# tool's run):
#
#   bin/NAME, bin/NAME.lwt   lithec --target=cuda executables (libstdc++ and
#                            libgcc linked statically; cuBLASLt opened at run
#                            time from the GPU machine's toolkit or
#                            LD_LIBRARY_PATH), one per check
#                            model: lithe-tiny; its int8, shared-KV, pruned-
#                            head and dropped-layer pipelines; fp32 and bf16
#                            weights (on a small-vocabulary export); three real
#                            exports (dynamo sdpa + mask, TorchScript with past,
#                            optimum); GPT-2 small's shape with constant
#                            weights for the speed runs (they compress to
#                            nothing; speed does not depend on the values)
#   ref/NAME/...             what the CPU binary of the same pipeline gives
#                            here: logits per fixture case, greedy ids,
#                            perplexity, KV bytes
#   manifest.json            the checks and their tolerances (scripts/gpu_e2e.py)
#
# usage: scripts/gpu-prepare.sh [GPT2_SMALL.onnx]   (from the repository root,
#        after a build in build/; GPT2_SMALL.onnx defaults to one made by
#        examples/gpt2/make_gpt2_small.py into /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
LITHEC=$BUILD/bin/lithec
WEIGHTS=$BUILD/bin/lithe-weights
W=$(mktemp -d /tmp/gpu-prepare.XXXXXX)
E=$W/cuda-e2e
mkdir -p "$E/bin" "$E/ref" "$ROOT/.gpu"
TINY=$ROOT/examples/gpt2/lithe-tiny
TEXT=$ROOT/test/e2e/Inputs/wikitext-2-test-excerpt.txt
cp "$TEXT" "$E/text.txt"

# The executables link the CUDA runtime as lithec does, plus a static
# libstdc++/libgcc so the GPU machine's older or newer ones do not matter.
CUDA_LINK="-Wl,--whole-archive $BUILD/lib/libLitheCudaRuntime.a -Wl,--no-whole-archive $BUILD/lib/libLitheCudaKernels.a"
CUDA_LINK="$CUDA_LINK -L/usr/local/cuda/lib64 -lcudart_static -ldl -lrt -Wl,-rpath,/usr/local/cuda/lib64"
CUDA_LINK="$CUDA_LINK -static-libstdc++ -static-libgcc"
# GPU_PREPARE_EMULATE=1: the host emulation instead (runtime/cuda/host_emulation.cpp),
# into .gpu/cuda-e2e-emulated.tar.xz, to try scripts/gpu_e2e.py here.
OUTPUT=$ROOT/.gpu/cuda-e2e.tar.xz
if [ -n "${GPU_PREPARE_EMULATE:-}" ]; then
  CUDA_LINK="-Wl,--whole-archive $BUILD/lib/libLitheCudaHostEmulation.a -Wl,--no-whole-archive"
  OUTPUT=$ROOT/.gpu/cuda-e2e-emulated.tar.xz
fi
export LITHE_CUDA_LINK="$CUDA_LINK"

checks=()   # JSON objects for manifest.json
add() { checks+=("$1"); }

# compile NAME MODEL [PIPELINE [PRECISION]]: the CUDA executable into bin/, the CPU one into $W.
compile() {
  local name=$1 model=$2 pipeline=${3:-} precision=${4:-}
  local p=(); [ -n "$pipeline" ] && p=(--pipeline "$pipeline")
  [ -n "$precision" ] && p+=(--precision "$precision")
  "$LITHEC" "$model" -o "$E/bin/$name" --target=cuda "${p[@]}" >/dev/null
  strip "$E/bin/$name"
  "$LITHEC" "$model" -o "$W/cpu-$name" "${p[@]}" >/dev/null
  mkdir -p "$E/ref/$name"
}

# logits NAME FIXTURE TOL: every case's ids through the CPU binary.
logits() {
  local name=$1 fixture=$2 tol=$3
  python3 - "$fixture" "$W/cpu-$name" "$E/ref/$name" "$E" <<'EOF' >"$W/cases-$name.json"
import json, os, subprocess, sys
import numpy as np
fixture, exe, ref, root = sys.argv[1:]
cases = []
for case in sorted(os.listdir(os.path.join(fixture, "cases"))):
    meta = json.load(open(os.path.join(fixture, "cases", case, "case.json")))
    files = {e["name"]: os.path.join(fixture, "cases", case, e["file"]) for e in meta["inputs"] + meta.get("extra", [])}
    ids = np.load(files.get("full_input_ids", files["input_ids"]))
    for b in range(ids.shape[0]):
        row = ",".join(str(int(t)) for t in ids[b])
        out = os.path.join(ref, f"{case}-{b}.bin")
        subprocess.run([exe, "--ids", row, "--dump-logits", out, "-t", "2"], check=True)
        cases.append({"ids": row, "ref": os.path.relpath(out, root)})
print(json.dumps(cases))
EOF
  add "{\"kind\": \"logits\", \"name\": \"$name\", \"tolerance\": $tol, \"cases\": $(cat "$W/cases-$name.json")}"
}

# generate NAME N PREFIX: greedy ids after each of lithe-tiny's generation prompts.
generate() {
  local name=$1 n=$2 prefix=$3
  python3 - "$TINY/generations.json" "$W/cpu-$name" "$n" <<'EOF' >"$W/gen-$name.json"
import json, subprocess, sys
gens, exe, n = json.load(open(sys.argv[1]))["generations"], sys.argv[2], sys.argv[3]
out = []
for g in gens:
    ids = ",".join(map(str, g["prompt_ids"]))
    r = subprocess.run([exe, "--ids", ids, "--generate", n, "-t", "2"], check=True, capture_output=True, text=True)
    out.append({"ids": ids, "want": [int(t) for t in r.stdout.replace(",", " ").split()]})
print(json.dumps(out))
EOF
  add "{\"kind\": \"generate\", \"name\": \"$name\", \"tokens\": $n, \"prefix\": $prefix, \"cases\": $(cat "$W/gen-$name.json")}"
}

# perplexity NAME TOL: the CPU binary's perplexity on text.txt (ctx 256, stride 128).
perplexity() {
  local name=$1 tol=$2
  local ppl
  ppl=$("$W/cpu-$name" --perplexity "$TEXT" --ctx 256 --stride 128 --json -t 2 | python3 -c 'import json,sys;print(json.load(sys.stdin)["perplexity"])')
  add "{\"kind\": \"perplexity\", \"name\": \"$name\", \"ctx\": 256, \"stride\": 128, \"want\": $ppl, \"tolerance\": $tol}"
}

# kv NAME: the KV bytes the CPU binary reports, which the GPU run must show too
# (an f16 cache: half of an f32 CPU cache's).
kv() {
  local name=$1
  local b
  b=$("$W/cpu-$name" --bench --json --bench-prompt 8 --bench-tokens 2 -t 2 | python3 -c 'import json,sys;print(json.load(sys.stdin)["kv_bytes_per_token"])')
  add "{\"kind\": \"kv\", \"name\": \"$name\", \"cpu_kv_bytes_per_token\": $b}"
}

# --- lithe-tiny and its simplifications (f16 weights: logits within 0.03) ---
compile tiny "$TINY/model.onnx"
logits tiny "$TINY" 0.03; generate tiny 32 32; perplexity tiny 0.005; kv tiny
add "{\"kind\": \"sampling\", \"name\": \"tiny\"}"
# fp32 weights: within 1e-3 (the f16 KV cache's rounding; 4.8e-4 emulated on lithe-tiny);
# bf16 against the CPU's bf16 binary, which rounds its activations to bf16 too (0.038
# emulated). On a small-vocabulary export: lithe-tiny's 50257-row table in f32 would
# not compress.
X=$ROOT/test/fixtures/gpt2/gpt2-x-dyn20-sdpa-mask
compile x-fp32 "$X/model.onnx" "" fp32
logits x-fp32 "$X" 0.001
compile x-bf16 "$X/model.onnx" "" bf16
logits x-bf16 "$X" 0.1
compile tiny-int8 "$TINY/model.onnx" lithe-quantize-weights
LITHE_Q8=float logits tiny-int8 "$TINY" 0.03   # the CPU's weight-only int8 route: the GEMV's contract
kv tiny-int8
compile tiny-share-kv "$TINY/model.onnx" "lithe-share-kv{group=2}"
logits tiny-share-kv "$TINY" 0.03; kv tiny-share-kv
CAL="calibration=$TEXT calibration-tokens=512 tokenizer=$TINY/tokenizer"
compile tiny-prune "$TINY/model.onnx" "lithe-prune-heads{fraction=0.25 $CAL}"
logits tiny-prune "$TINY" 0.03; kv tiny-prune
compile tiny-drop "$TINY/model.onnx" "lithe-drop-layers{keep=4 $CAL}"
logits tiny-drop "$TINY" 0.03; kv tiny-drop

# --- real exports (the import differs, the CUDA path does not) --------------
for fx in gpt2-x-dyn20-sdpa-mask gpt2-tiny-ts17-past gpt2-x-optimum; do
  compile "$fx" "$ROOT/test/fixtures/gpt2/$fx/model.onnx"
  logits "$fx" "$ROOT/test/fixtures/gpt2/$fx" 0.03
done

# --- GPT-2 small's shape, constant weights, for the speed runs ---------------
SMALL=${1:-}
if [ -z "$SMALL" ]; then
  SMALL=/tmp/gpt2-small.onnx
  [ -f "$SMALL" ] || python3 examples/gpt2/make_gpt2_small.py "$SMALL"
fi
"$LITHEC" "$SMALL" --emit=lithe -o "$W/small.mlir" >/dev/null
# Every tensor replaced by a constant (LayerNorm scales 1): same shapes, same code.
spec=()
while read -r name dtype dims _; do
  case $name in '#'*|'') continue;; esac
  fill=0.02; case $name in *ln_*weight|*ln_f.weight) fill=1;; esac
  spec+=("$name:$dtype:$dims:$fill")
done < <("$WEIGHTS" list "$W/small.lwt")
"$WEIGHTS" create "$W/small.const.lwt" "${spec[@]}"
mv "$W/small.const.lwt" "$W/small.lwt"
"$LITHEC" "$W/small.mlir" -o "$E/bin/gpt2s" --target=cuda >/dev/null
strip "$E/bin/gpt2s"
add "{\"kind\": \"bench\", \"name\": \"gpt2s\"}"

( IFS=,; echo "{\"checks\": [${checks[*]}]}" ) | python3 -m json.tool >"$E/manifest.json"
# The constant GPT-2 small weights last: the tiny models' identical tables stay within
# xz's 64 MiB window of each other and are stored once.
( cd "$W" && find cuda-e2e -type f | grep -v '/gpt2s' | sort && find cuda-e2e -type f | grep '/gpt2s' ) >"$W/files"
tar -C "$W" -cf - -T "$W/files" | xz -9e -T2 >"$OUTPUT"
ls -la "$OUTPUT"
du -sh "$E"
rm -rf "$W"
