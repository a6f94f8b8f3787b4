#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-19, ASan+UBSan) and runs them.
#   scripts/fuzz.sh                 # every target for 60 s
#   scripts/fuzz.sh 3600            # every target for an hour, one after another
#   scripts/fuzz.sh 3600 tokenizer weights-file   # only these targets
#   JOBS=2 scripts/fuzz.sh 3600     # that many targets at once
#   FUZZ_TIMEOUT=300 scripts/fuzz.sh 3600   # an input slower than this (s) is a
#       failure (default 30); raise it when the fuzzers run niced beside other work,
#       where a starved run can pass 30 s of wall time on an input that takes 1 s
# Installs clang-19 and libclang-rt-19-dev when missing (the default
# scripts/setup.sh does not need them). Corpora grow in build-fuzz/fuzz/corpus/
# (kept between runs), crashes land in build-fuzz/fuzz/artifacts/, and each
# run's log (with libFuzzer's final stats) in build-fuzz/fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-1}
TIMEOUT=${FUZZ_TIMEOUT:-30}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(onnx-reader onnxtext-reader weights-file tokenizer adapter-reader runtime-cli)

missing=()
for p in clang-19 libclang-rt-19-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITHE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
fi
cmake --build "$BUILD_DIR" --target $(printf 'fuzz-%s ' "${TARGETS[@]}")

F="$BUILD_DIR/fuzz"
mkdir -p "$F/logs" "$F/artifacts"
run() {
  local t=$1
  mkdir -p "$F/corpus/$t"
  local log="$F/logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log: $log)"
  local rc=0
  "$BUILD_DIR/bin/fuzz-$t" -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb=4096 \
    -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$F/artifacts/$t-" \
    "$F/corpus/$t" "$F/seeds/$t" > "$log" 2>&1 || rc=$?
  local stats
  stats=$(grep -E "^stat::number_of_executed_units|^Done" "$log" | tr '\n' ' ')
  if [ $rc -eq 0 ]; then echo "fuzz: $t: no crash ($stats)"; else echo "fuzz: $t: FAILED (exit $rc), see $log"; fi
  return $rc
}
status=0
if [ "$JOBS" -le 1 ]; then
  for t in "${TARGETS[@]}"; do run "$t" || status=1; done
else
  pids=()
  for t in "${TARGETS[@]}"; do
    run "$t" & pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
fi
exit $status
