#!/usr/bin/env bash
# ASan + UBSan build of the CPU test suite (no CUDA, its own build folder) and
# a run of it: every doctest case, the request/GGUF/safetensors fuzz cases
# included. Usage: third_party/sanitize.sh [BUILD_DIR] [doctest -tc filter]
# Any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-sanitize}
FILTER=${2:-}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DLIGHTLLM_CUDA=OFF -DLIGHTLLM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD" -j "$(nproc)" --target lightllm lightllm_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
args=()
[ -n "$FILTER" ] && args+=("-tc=$FILTER")
"$BUILD/lightllm_tests" "${args[@]}"
