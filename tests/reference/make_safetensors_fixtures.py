#!/usr/bin/env python3
"""Small safetensors and config.json fixtures for tests/test_safetensors.cpp
and tests/test_hf_config.cpp, written by the reference implementations
(the `safetensors` package, torch for bf16, transformers' config classes).

Writes under tests/data/safetensors/:
  single.safetensors            F32, F16, BF16 tensors + __metadata__
  sharded/                      two shards + model.safetensors.index.json
  expected.json                 every tensor's dtype, shape and values (as fp32)
and tests/data/hf_configs/<name>.json: config.json files of each supported
family as transformers writes them (Baichuan has no transformers class; its
config is written with the fields of its published remote code).

Usage: python3 tests/reference/make_safetensors_fixtures.py
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import BloomConfig, GPTBigCodeConfig, LlamaConfig, MistralConfig, Qwen2Config

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
ST = os.path.join(ROOT, "safetensors")
CFG = os.path.join(ROOT, "hf_configs")


def tensors(seed):
    g = torch.Generator().manual_seed(seed)
    return {
        "a.weight": torch.randn(3, 5, generator=g, dtype=torch.float32),
        "b.weight": torch.randn(4, 2, generator=g).to(torch.float16),
        "c.bias": torch.randn(7, generator=g).to(torch.bfloat16),
        "d.scalar_like": torch.randn(1, 1, 2, generator=g).to(torch.bfloat16),
    }


def expected(ts, files):
    return {
        name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
               "values": t.to(torch.float32).flatten().tolist(), "file": files[name]}
        for name, t in ts.items()
    }


def main():
    os.makedirs(os.path.join(ST, "sharded"), exist_ok=True)
    single = tensors(1)
    save_file(single, os.path.join(ST, "single.safetensors"), metadata={"format": "pt"})

    shard = tensors(2)
    names = sorted(shard)
    parts = [names[:2], names[2:]]
    weight_map = {}
    for i, part in enumerate(parts):
        fname = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
        save_file({n: shard[n] for n in part}, os.path.join(ST, "sharded", fname), metadata={"format": "pt"})
        weight_map.update({n: fname for n in part})
    with open(os.path.join(ST, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)

    out = {"single": expected(single, {n: "single.safetensors" for n in single}),
           "sharded": expected(shard, weight_map)}
    with open(os.path.join(ST, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)

    os.makedirs(CFG, exist_ok=True)
    configs = {
        "llama": LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                             num_attention_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5,
                             bos_token_id=1, eos_token_id=2, torch_dtype="float16"),
        "llama3": LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                              num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=131072,
                              rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                              rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                              bos_token_id=128000, eos_token_id=[128001, 128008, 128009], torch_dtype="bfloat16"),
        "mistral": MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                 num_attention_heads=32, num_key_value_heads=8, sliding_window=4096,
                                 max_position_embeddings=32768, torch_dtype="bfloat16"),
        "qwen2": Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                             num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                             rope_theta=1000000.0, rms_norm_eps=1e-6, sliding_window=32768, use_sliding_window=False,
                             tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645,
                             torch_dtype="bfloat16"),
        "bloom": BloomConfig(vocab_size=250880, hidden_size=1024, n_layer=24, n_head=16, layer_norm_epsilon=1e-5,
                             bos_token_id=1, eos_token_id=2, pad_token_id=3),
        "starcoder": GPTBigCodeConfig(vocab_size=49152, n_positions=8192, n_embd=6144, n_layer=40, n_head=48,
                                      multi_query=True, bos_token_id=0, eos_token_id=0),
    }
    configs["llama"].architectures = ["LlamaForCausalLM"]
    configs["llama3"].architectures = ["LlamaForCausalLM"]
    configs["mistral"].architectures = ["MistralForCausalLM"]
    configs["qwen2"].architectures = ["Qwen2ForCausalLM"]
    configs["bloom"].architectures = ["BloomForCausalLM"]
    configs["starcoder"].architectures = ["GPTBigCodeForCausalLM"]
    for name, cfg in configs.items():
        cfg.to_json_file(os.path.join(CFG, f"{name}.json"), use_diff=False)
    # Baichuan-13B-Chat's config.json fields (remote code: configuration_baichuan.py).
    baichuan13b = {"architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "vocab_size": 64000,
                   "hidden_size": 5120, "intermediate_size": 13696, "num_hidden_layers": 40,
                   "num_attention_heads": 40, "model_max_length": 4096, "rms_norm_eps": 1e-6,
                   "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
                   "tie_word_embeddings": False, "torch_dtype": "bfloat16", "use_cache": True}
    with open(os.path.join(CFG, "baichuan13b.json"), "w") as f:
        json.dump(baichuan13b, f, indent=2)


if __name__ == "__main__":
    main()
