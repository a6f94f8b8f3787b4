#!/usr/bin/env bash
# README command (b): install what is missing, build, run every test
# (lit + FileCheck, GoogleTest units, ONNX Runtime reference checks) via ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)"
