#!/usr/bin/env python3
"""GGUF fixtures for Llama 3.x rope scaling as llama.cpp's converter stores
it: a rope_freqs.weight tensor of per-frequency divisors (no metadata keys).
The divisors come from transformers' own llama3 rope initialization:
rope_freqs[i] = default_inv_freq[i] / llama3_inv_freq[i].

Writes tests/data/gguf/llama3_rope_factor{8,32}.gguf (metadata of a small
model with head_dim 128, theta 500000, plus rope_freqs.weight [64]).
Usage: python3 tests/reference/make_gguf_llama3_rope_fixture.py
"""
import os

import gguf
import numpy as np
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "gguf")


def main():
    for factor in (8.0, 32.0):
        scaling = {"rope_type": "llama3", "factor": factor, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_theta": 500000.0}
        cfg = LlamaConfig(hidden_size=256, num_attention_heads=2, head_dim=128, rope_parameters=scaling,
                          max_position_embeddings=131072)
        scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](cfg, "cpu")
        base = 1.0 / (500000.0 ** (np.arange(0, 128, 2, dtype=np.float64) / 128))
        freqs = (base / scaled.double().numpy()).astype(np.float32)
        w = gguf.GGUFWriter(os.path.join(OUT, f"llama3_rope_factor{int(factor)}.gguf"), "llama")
        w.add_context_length(131072)
        w.add_embedding_length(256)
        w.add_block_count(1)
        w.add_feed_forward_length(512)
        w.add_head_count(2)
        w.add_head_count_kv(1)
        w.add_rope_freq_base(500000.0)
        w.add_rope_dimension_count(128)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_token_list(["a", "b", "c", "d"])
        w.add_tensor("rope_freqs.weight", freqs)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


if __name__ == "__main__":
    main()
