#!/usr/bin/env bash
# Build llama.cpp's llama-server from the llama-cpp-python sdist on PyPI (the only registry
# reachable here). Idempotent: downloads the sdist if missing, extracts if missing, builds if
# the binary is missing. Prints the path of llama-server on the last line.
#   LLAMA_PY_VERSION (default 0.3.36)  LLAMA_WORK (default /work/llama-src)
#   LLAMA_BUILD (default /work/llama-build)
set -euo pipefail
VER=${LLAMA_PY_VERSION:-0.3.36}
WORK=${LLAMA_WORK:-/work/llama-src}
BUILD=${LLAMA_BUILD:-/work/llama-build}
JOBS=${JOBS:-2}
mkdir -p "$WORK"
SDIST="$WORK/llama_cpp_python-$VER.tar.gz"
if [[ ! -f $SDIST ]]; then
  if [[ -f /tmp/x/llama_cpp_python-$VER.tar.gz ]]; then cp /tmp/x/llama_cpp_python-$VER.tar.gz "$SDIST"
  else python3 -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VER" -d "$WORK" >&2; fi
fi
SRC="$WORK/llama_cpp_python-$VER/vendor/llama.cpp"
[[ -f $SRC/CMakeLists.txt ]] || tar -C "$WORK" -xzf "$SDIST"
BIN="$BUILD/bin/llama-server"
if [[ ! -x $BIN ]]; then
  t0=$(date +%s)
  # No web UI (the prebuilt one is downloaded from a hub: unreachable), no curl/openssl.
  nice -n 10 cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
  nice -n 10 cmake --build "$BUILD" --target llama-server -j "$JOBS" >&2
  echo "built llama-server in $(( $(date +%s) - t0 )) s" >&2
fi
echo "$BIN"
