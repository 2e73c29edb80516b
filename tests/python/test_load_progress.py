"""Weight-load progress on stderr: `generate --load-format dummy` on the CPU
writes one summary line ("initialised dummy weights: N tensors, X MiB in T s")
when stderr is a pipe, and, on a terminal (a pty), the same summary after
whatever in-place line it drew; a real load says "loaded weights:".
"""
import os
import pty
import re
import subprocess

import pytest

from conftest import BINARY, TEST_DATA

SUMMARY = re.compile(r"^lightllm: (initialised dummy|loaded) weights: (\d+) tensors, ([\d.]+) MiB in [\d.]+ s")


def generate_args(model, *extra):
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    return [BINARY, "generate", "-m", model, "--tokenizer", os.path.join(TEST_DATA, "tiny-tokenizer"),
            "--device", "cpu", "-p", "hi", "-n", "2", "--ignore-eos"] + list(extra)


def summaries(stderr_text):
    return [m for m in (SUMMARY.match(line) for line in stderr_text.splitlines()) if m]


def test_dummy_load_prints_one_summary_line_to_a_pipe():
    r = subprocess.run(generate_args("tiny-llama", "--load-format", "dummy"), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    found = summaries(r.stderr)
    assert len(found) == 1, r.stderr
    assert found[0].group(1) == "initialised dummy"
    # tiny-llama: embedding, 2 layers of (attn_norm, qkv, o, ffn_norm, gate_up, down), final norm, untied lm_head
    assert int(found[0].group(2)) == 1 + 2 * 6 + 1 + 1
    # the bytes are the weights the engine reports having loaded
    weights = re.search(r"weights ([\d.]+) MiB; KV cache", r.stderr)
    assert weights and weights.group(1) == found[0].group(3), r.stderr
    assert "\r" not in r.stderr  # no in-place redraws in a log


def test_real_load_reports_loaded_weights():
    r = subprocess.run(generate_args(os.path.join(TEST_DATA, "tiny-llama-gqa")), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    found = summaries(r.stderr)
    assert len(found) == 1 and found[0].group(1) == "loaded", r.stderr


def test_dummy_load_on_a_terminal_ends_with_the_summary():
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(generate_args("tiny-llama", "--load-format", "dummy"), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the pty closes when the process exits
                break
            if not data:
                break
            chunks.append(data)
        proc.communicate(timeout=120)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    text = b"".join(chunks).decode()
    lines = [line.split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n")]
    assert len(summaries("\n".join(lines))) == 1, text
