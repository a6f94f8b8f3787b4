#!/usr/bin/env bash
# Installs what Lithe needs on Debian bookworm (only what is missing), then
# configures and builds it. Idempotent: quick when everything is in place.
#   scripts/setup.sh            # build into ./build
#   BUILD_DIR=out scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

APT_PACKAGES=(
  cmake ninja-build g++ git
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev nlohmann-json3-dev libcpp-httplib-dev
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python side of the tests: reference numerics with ONNX Runtime.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import onnx, onnxruntime, numpy, matplotlib, openai" 2>/dev/null; then
  echo "setup: installing Python test requirements"
  "$PYTHON" -m pip install -q -r requirements-test.txt
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v "$PYTHON")"
fi
cmake --build "$BUILD_DIR"
