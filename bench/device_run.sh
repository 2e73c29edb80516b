#!/usr/bin/env bash
# The GPU run: CUDA tests (every case with 'cuda' in its name, then the
# int8 KV quality test on the GPU), then micro-benchmarks and the Llama-2-7B-shaped
# forward benchmark, from a `make dist` folder. Logs and JSON go to $OUT.
# Run from the repository root on the device machine:
#   bench/device_run.sh [DIST_DIR]          (default: dist)
# Environment: OUT (output folder, default /tmp/lightllm_device_run),
#   DEVICE_RUN_ALL=1 also runs the whole test binary (CPU tests included).
set -uo pipefail
dist=$(cd "${1:-dist}" && pwd)
out=${OUT:-/tmp/lightllm_device_run}
mkdir -p "$out"
export LD_LIBRARY_PATH="$dist/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export LIGHTLLM_TEST_DATA="$dist/tests/data"
export LIGHTLLM_SHARED_DATA="$dist/shared/data"
export LIGHTLLM_BINARY="$dist/bin/lightllm"
export NCCL_NVLS_ENABLE=0
export LIGHTLLM_PRINT_ERRORS=1
tests="$dist/bin/lightllm_tests"

{ nvidia-smi; echo; ldd "$tests"; } > "$out/machine.txt" 2>&1

status=0
echo "== CUDA tests"
timeout 300 "$tests" -tc='*cuda*' --duration=true 2>&1 | tee "$out/cuda_tests.log" | grep -E "^\[doctest\]|ERROR|FAIL|skipping|Approx" | grep -v "^close-check" | head -200
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# Largest measured error of each comparison site (file:line), against its tolerance.
awk '/^close-check/ { n = split($2, p, "/"); k = p[n]; r = substr($3, 8) + 0;
       if (!(k in mx) || r > mx[k]) mx[k] = r; tol[k] = substr($5, 5); cnt[k]++ }
     END { for (k in mx) printf "%-34s checks=%-4d max_rel_l2=%.2e tol=%s\n", k, cnt[k], mx[k], tol[k] }' \
    "$out/cuda_tests.log" | sort > "$out/errors.txt"
cat "$out/errors.txt"

echo "== int8 KV quality on the GPU"
LIGHTLLM_KV_QUALITY_DEVICE=cuda timeout 200 "$tests" -tc='*quality*' 2>&1 | tee "$out/kv_quality_cuda.log" | grep -E "^\[doctest\]|ERROR|FAIL"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== benchmarks"
rm -f "$out/bench.jsonl"
LIGHTLLM_BENCH_OUT="$out/bench.jsonl" timeout 300 "$dist/bin/lightllm_kernel_bench" 2>&1 | tee "$out/bench.log" | grep -E "^bench|doctest|ERROR"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if [ "${DEVICE_RUN_ALL:-0}" = 1 ]; then
    echo "== all tests"
    timeout 400 "$tests" 2>&1 | tail -n 400 > "$out/all_tests.log"
    tail -n 5 "$out/all_tests.log"
fi

echo "== summary (ms; see $out/bench.jsonl)"
if [ -f "$out/bench.jsonl" ]; then
    sed -E 's/^\{"name": "([^"]*)", "ms": ([0-9.]+)(.*)\}$/\1 \2\3/' "$out/bench.jsonl" | column -t -s ' ' 2>/dev/null ||
        cat "$out/bench.jsonl"
fi
exit $status
