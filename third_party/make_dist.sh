#!/usr/bin/env bash
# make dist: a self-contained folder to copy to a GPU machine.
#   dist/bin/lightllm, dist/bin/lightllm_tests, dist/bin/lightllm_kernel_bench (CUDA builds; stripped)
#   dist/lib/       shared libraries ldd shows that the target is not expected
#                   to have: everything except glibc, libstdc++/libgcc, the
#                   NVIDIA driver, CUDA runtime, cuBLAS and NCCL
#   dist/bin/lib -> ../lib   (lightllm's RPATH is $ORIGIN/lib)
#   dist/share/lightllm/presets   dummy-weight presets (found next to the binary)
#   dist/tests/data               fixtures for the test binary
#   dist/shared/data              ../shared/data (tokenizer cases), when present
#   dist/bench/device_run.sh      the device run (tests + benchmarks)
# Usage: third_party/make_dist.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=${1:-build}
out=${2:-dist}
root=$(cd "$(dirname "$0")/.." && pwd)

for b in lightllm lightllm_tests; do
    [ -x "$build/$b" ] || { echo "make_dist: $build/$b not built" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/share/lightllm" "$out/tests" "$out/bench"
bins=(lightllm lightllm_tests)
[ -x "$build/lightllm_kernel_bench" ] && bins+=(lightllm_kernel_bench)
for b in "${bins[@]}"; do
    cp "$build/$b" "$out/bin/$b"
    strip --strip-unneeded "$out/bin/$b"
done
ln -s ../lib "$out/bin/lib"

skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libstdc\+\+|libgcc_s|libcuda\.so|libcudart|libcublas|libcublasLt|libnccl|libnvidia)'
for b in "${bins[@]/#/$out/bin/}"; do
    ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
    if [[ ! "$name" =~ $skip ]]; then
        cp -L "$path" "$out/lib/$name"
    fi
done

cp -r "$root/models/presets" "$out/share/lightllm/presets"
cp -r "$root/tests/data" "$out/tests/data"
if [ -d "$root/../shared/data" ]; then
    mkdir -p "$out/shared"
    cp -r "$root/../shared/data" "$out/shared/data"
fi
cp "$root/bench/device_run.sh" "$out/bench/"
echo "make_dist: $out ($(du -sh "$out" | cut -f1)); bundled libraries: $(ls "$out/lib" | tr '\n' ' ')"
