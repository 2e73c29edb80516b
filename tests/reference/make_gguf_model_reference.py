#!/usr/bin/env python3
"""Reference values for tests/test_gguf_model.cpp: Hugging Face transformers
loads the SmolLM2-135M-Instruct Q4_1 GGUF (dequantized by the `gguf`
package, q/k un-permuted by transformers' GGUF loader) and we record, for a
few tensors under their HF names, the shape, the sum, the sum of absolute
values and a handful of rows' first values, plus the config transformers
builds from the GGUF metadata.

Writes tests/data/gguf/smollm2_tensors_reference.json.
Usage: python3 tests/reference/make_gguf_model_reference.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM

GGUF = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/lightllm/SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "gguf", "smollm2_tensors_reference.json")

TENSORS = [
    "model.embed_tokens.weight",
    "model.norm.weight",
    "model.layers.0.input_layernorm.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.k_proj.weight",
    "model.layers.0.self_attn.v_proj.weight",
    "model.layers.0.self_attn.o_proj.weight",
    "model.layers.0.mlp.gate_proj.weight",
    "model.layers.0.post_attention_layernorm.weight",
    "model.layers.29.self_attn.q_proj.weight",
    "model.layers.29.self_attn.k_proj.weight",
    "model.layers.29.mlp.down_proj.weight",
]
ROWS = [0, 1, 31, 32, 33, 63, 64, 190, 191]
N_COLS = 8


def main():
    d, f = os.path.split(GGUF)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    cfg = AutoConfig.from_pretrained(d, gguf_file=f)
    state = model.state_dict()
    out = {"config": {
        "architectures": model.config.architectures, "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads, "intermediate_size": cfg.intermediate_size,
        "max_position_embeddings": cfg.max_position_embeddings, "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"],
        "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
        "tie_word_embeddings": cfg.tie_word_embeddings},
        "tensors": {}}
    for name in TENSORS:
        t = state[name].to(torch.float64)
        rows = {}
        if t.dim() == 2:
            for r in ROWS:
                if r < t.shape[0]:
                    rows[str(r)] = t[r, :N_COLS].tolist()
        else:
            rows["0"] = t[:N_COLS].tolist()
        out["tensors"][name] = {"shape": list(t.shape), "sum": t.sum().item(), "abs_sum": t.abs().sum().item(),
                                "rows": rows}
    with open(OUT, "w") as fp:
        json.dump(out, fp, indent=1)


if __name__ == "__main__":
    main()
