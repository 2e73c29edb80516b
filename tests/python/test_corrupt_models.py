"""Corrupted model files, generated from the tiny HF fixture: every one is a
clear error naming the field or tensor (exit 1, no crash, nothing huge
allocated), and a valid file with an odd-length safetensors header loads.

The corruptions are the ones a damaged download or a hostile file produces:
integers past 32 bits that used to be narrowed silently (vocab_size 2^32+256
ran as 256), absurd sizes that reached the allocator, a tensor whose byte
range overlaps its neighbour's, and numbers written as floats.
"""
import json
import os
import shutil
import struct
import subprocess

import pytest

from conftest import BINARY, TEST_DATA

FIXTURE = os.path.join(TEST_DATA, "tiny-llama-gqa")
TOKENIZER = os.path.join(TEST_DATA, "tiny-tokenizer")


def copy_fixture(tmp_path):
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    if not os.path.exists(FIXTURE):
        pytest.skip("tiny test model fixture missing")
    d = tmp_path / "model"
    shutil.copytree(FIXTURE, d)
    return d


def generate(model_dir):
    return subprocess.run([BINARY, "generate", "-m", str(model_dir), "--tokenizer", TOKENIZER, "--device", "cpu",
                           "-n", "2", "-p", "hi", "--max-total-tokens", "1024"],
                          capture_output=True, text=True, timeout=120)


CONFIG_CASES = [
    ("vocab_size", "4294967552", "field 'vocab_size' = 4294967552 is out of range"),
    ("vocab_size", "18446744073709551615", "field 'vocab_size' = 18446744073709551615 is out of range"),
    ("hidden_size", "1e300", "field 'hidden_size' = 1e+300 is out of range"),
    ("hidden_size", "64.5", "field 'hidden_size' must be an integer, got 64.5"),
    ("max_position_embeddings", "2147483647", "field 'max_position_embeddings' = 2147483647 is larger than lightllm supports"),
    ("head_dim", "1000000000", "field 'head_dim' = 1000000000 is larger than lightllm supports"),
    ("intermediate_size", "2147483647", "field 'intermediate_size' = 2147483647 is larger than lightllm supports"),
]


@pytest.mark.parametrize("field,value,needle", CONFIG_CASES)
def test_corrupt_config_fields_are_clear_errors(tmp_path, field, value, needle):
    d = copy_fixture(tmp_path)
    path = d / "config.json"
    text = json.dumps(json.loads(path.read_text()))
    key = f'"{field}": '
    start = text.index(key) + len(key)
    end = start + len(str(json.loads(path.read_text())[field]))
    path.write_text(text[:start] + value + text[end:])  # the number exactly as written
    r = generate(d)
    assert r.returncode == 1, r.stderr
    assert needle in r.stderr and "config.json" in r.stderr


def read_safetensors(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_safetensors(path, header, data, pad_to_odd=False):
    text = json.dumps(header, separators=(",", ":"))
    if pad_to_odd and len(text) % 2 == 0:
        text += " "
    path.write_bytes(struct.pack("<Q", len(text)) + text.encode() + data)


def test_an_odd_safetensors_header_length_loads_and_generates(tmp_path):
    d = copy_fixture(tmp_path)
    st = d / "model.safetensors"
    header, data = read_safetensors(st)
    write_safetensors(st, header, data, pad_to_odd=True)  # every tensor's data now starts at an odd address
    r = generate(d)
    assert r.returncode == 0, r.stderr
    original = generate(FIXTURE)
    assert r.stdout == original.stdout


def test_overlapping_tensor_ranges_are_refused(tmp_path):
    d = copy_fixture(tmp_path)
    st = d / "model.safetensors"
    header, data = read_safetensors(st)
    names = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    a, b = names[0], names[1]
    # b starts inside a: what a changed dtype or shape in a damaged file looks like.
    b_begin, b_end = header[b]["data_offsets"]
    shift = b_begin - header[a]["data_offsets"][0] - 2
    header[b]["data_offsets"] = [b_begin - shift, b_end - shift]
    write_safetensors(st, header, data)
    r = generate(d)
    assert r.returncode == 1, r.stderr
    assert "overlaps" in r.stderr and a in r.stderr and b in r.stderr
