#!/usr/bin/env bash
# Serving benchmark: Lithe's --serve against llama.cpp's llama-server on the same weights
# (GPT-2 small's shape, seeded random, F32) and the same load (bench/serve_load.py).
#
#   bench/serve_peers.sh                 # everything: build, models, both servers, tables
#   CONC=1,2,4 MAX_TOKENS=32 bench/serve_peers.sh
#   ONLY=llama bench/serve_peers.sh      # or ONLY=lithe
#   PRECISION=bf16 bench/serve_peers.sh  # Lithe compiled with --precision=bf16
#
# Both servers are started first, then serve_load.py loads them level by level, alternating
# which goes first, so background load on a shared host hits both alike.
#
# Idempotent: the llama-server build (bench/build_llama_server.sh), the venv, the HF
# checkpoint + ONNX (bench/make_serve_model.py), the GGUF and Lithe's binary are each made
# only when missing. Servers listen on 127.0.0.1 only and are stopped on exit (by PID).
# Everything is niced and uses THREADS threads (default 2); run it on an otherwise idle host.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MODELS=${MODELS:-/work/serve-models}
VENV=${VENV:-/work/venv-bench}
LITHEC=${LITHEC:-$REPO/build/bin/lithec}
THREADS=${THREADS:-2}
CONC=${CONC:-1,2,4,8,16}
SLOTS=${SLOTS:-16}                 # llama-server -np and Lithe --batch
CTX_PER_SLOT=${CTX_PER_SLOT:-256}  # prompt (~64-90 tokens) + MAX_TOKENS must fit
MAX_TOKENS=${MAX_TOKENS:-64}
PROMPT_TOKENS=${PROMPT_TOKENS:-64}
REQUESTS=${REQUESTS:-}             # per level; default max(8, 2*concurrency)
MAX_SECONDS=${MAX_SECONDS:-120}    # per level: no new request after this
TIMEOUT=${TIMEOUT:-300}            # per request
SEED=${SEED:-1}
ONLY=${ONLY:-}
# Extra server flags. On a host where something else is running, ggml's spinning threadpool
# can land both llama-server threads on one core (seen here: ~1 s per token instead of 20 ms
# next to a niced fuzzer); LLAMA_EXTRA="-C 3 --cpu-strict 1" pins thread i to CPU i.
LLAMA_EXTRA=${LLAMA_EXTRA:-}
LITHE_EXTRA=${LITHE_EXTRA:-}
OUT=${OUT:-$MODELS/results}
LLAMA_PORT=${LLAMA_PORT:-18080}
LITHE_PORT=${LITHE_PORT:-18081}
mkdir -p "$MODELS" "$OUT"
log() { echo "[serve_peers] $*" >&2; }
[[ $CONC =~ ^[0-9,]+$ ]] || { log "CONC must be like 1,2,4"; exit 2; }

# ---- llama-server (from the llama-cpp-python sdist) --------------------------------------
LLAMA_SERVER=$("$HERE/build_llama_server.sh" | tail -1)
LLAMA_SRC=${LLAMA_WORK:-/work/llama-src}/llama_cpp_python-${LLAMA_PY_VERSION:-0.3.36}/vendor/llama.cpp

# ---- Python env for the model (torch, transformers) and the GGUF converter ---------------
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import torch, transformers, onnx, sentencepiece" 2>/dev/null; then
  log "creating $VENV (torch from PyPI is large)"
  python3 -m venv "$VENV"
  nice -n 10 "$VENV/bin/pip" install -q torch==2.15.0 transformers==5.23.0 tokenizers==0.23.3 \
    safetensors==0.8.0 numpy==2.4.6 onnx==1.23.2 onnxscript==0.7.2 sentencepiece tqdm pyyaml
fi
PY=$VENV/bin/python

# ---- one HF checkpoint -> ONNX (Lithe) and GGUF F32 (llama.cpp) ---------------------------
nice -n 10 "$PY" "$HERE/make_serve_model.py" "$MODELS" --threads "$THREADS"
GGUF=$MODELS/gpt2s-f32.gguf
if [[ ! -f $GGUF ]]; then
  log "converting $MODELS/hf to $GGUF"
  nice -n 10 "$PY" "$LLAMA_SRC/convert_hf_to_gguf.py" "$MODELS/hf" --outtype f32 --outfile "$GGUF.tmp" >&2
  mv "$GGUF.tmp" "$GGUF"
fi
# PRECISION=bf16: Lithe's binary compiled with lithec --precision=bf16 (llama-server stays F32)
LITHE_BIN=$MODELS/lithe-gpt2s${PRECISION:+-$PRECISION}
if [[ $ONLY != llama && ( ! -x $LITHE_BIN || $MODELS/model.onnx -nt $LITHE_BIN || $LITHEC -nt $LITHE_BIN ) ]]; then
  [[ -x $LITHEC ]] || { log "no lithec at $LITHEC: build the repo or set LITHEC=/path/to/lithec"; exit 1; }
  log "compiling $MODELS/model.onnx with $LITHEC ${PRECISION:+--precision=$PRECISION}"
  nice -n 10 "$LITHEC" "$MODELS/model.onnx" -o "$LITHE_BIN" ${PRECISION:+--precision=$PRECISION} >&2
fi

# ---- start the servers, load them level by level (interleaved), stop them ----------------
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() {  # url timeout_s: ready when the server answers anything but 503 (loading)
  "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request, urllib.error
url, limit = sys.argv[1], float(sys.argv[2])
t = time.time()
while time.time() - t < limit:
    try:
        urllib.request.urlopen(url + "/health", timeout=2).read(); sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code != 503: sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(f"{url} not ready after {limit:g}s")
EOF
}

URLS=()
if [[ $ONLY != llama ]]; then
  # not "--help | grep -q": under pipefail grep's early exit makes the binary's SIGPIPE fail it
  if [[ $("$LITHE_BIN" --help 2>&1 || true) == *--serve* ]]; then
    "$LITHE_BIN" --serve --host 127.0.0.1 --port "$LITHE_PORT" --batch "$SLOTS" -t "$THREADS" \
      --tokenizer "$MODELS/hf" --alias gpt2s $LITHE_EXTRA > "$OUT/lithe-server.log" 2>&1 &
    PIDS+=($!)
    wait_ready "http://127.0.0.1:$LITHE_PORT" 120
    echo "lithe: Lithe --serve, ${PRECISION:-F32}, --batch $SLOTS, -t $THREADS $LITHE_EXTRA"
    URLS+=(--url "lithe=http://127.0.0.1:$LITHE_PORT")
  else
    log "$LITHE_BIN has no --serve yet: Lithe not measured"
  fi
fi
if [[ $ONLY != lithe ]]; then
  # -np slots share -c: each slot gets -c/-np positions (the KV cache is not unified when
  # -np is given). -cram 0: no prompt cache in RAM (each level's prompts are new anyway).
  "$LLAMA_SERVER" -m "$GGUF" -t "$THREADS" -tb "$THREADS" -c $((SLOTS * CTX_PER_SLOT)) \
    -np "$SLOTS" -cb -cram 0 --no-webui --host 127.0.0.1 --port "$LLAMA_PORT" $LLAMA_EXTRA \
    > "$OUT/llama-server.log" 2>&1 &
  PIDS+=($!)
  wait_ready "http://127.0.0.1:$LLAMA_PORT" 120
  echo "llama: llama-server ($(basename "$(dirname "$(dirname "$LLAMA_SRC")")")), F32 GGUF, -np $SLOTS -c $((SLOTS * CTX_PER_SLOT)) -cb, -t $THREADS -tb $THREADS $LLAMA_EXTRA"
  URLS+=(--url "llama=http://127.0.0.1:$LLAMA_PORT")
fi
[[ ${#URLS[@]} -gt 0 ]] || { log "no server to measure"; exit 1; }
sleep 2
log "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$(nproc)" '$1 > 0.5 { exit 1 }' /proc/loadavg ||
  log "WARNING: the host is not idle (load above 0.5): numbers are only comparable within this run"
python3 "$HERE/serve_load.py" "${URLS[@]}" --concurrency "$CONC" \
  ${REQUESTS:+--requests "$REQUESTS"} --max-seconds "$MAX_SECONDS" --timeout "$TIMEOUT" \
  --max-tokens "$MAX_TOKENS" --prompt-tokens "$PROMPT_TOKENS" --seed "$SEED" \
  --model gpt2s --json "$OUT/{label}.json" || log "some requests failed (see above)"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ)"
