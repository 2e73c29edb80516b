#!/usr/bin/env python3
"""Golden references for the LLaMA-family forward pass (tests/test_llama_reference.cpp).

Builds tiny random models with Hugging Face transformers (CPU), saves each with
save_pretrained(safe_serialization=True) into tests/data/tiny-<name>/ with
bf16 weights, then reloads it in float32 and records in reference.json:
  - for each prompt (fixed token ids; no tokenizer): the logits at every
    position of a full forward, and
  - the greedy continuation from model.generate(do_sample=False).
The engine loads the same bf16 weights exactly, so it is compared to these
fp32 numbers. Each variant covers one feature: GQA, MHA + tied embeddings,
the rope scaling types (linear, dynamic, llama3), Qwen2 (qkv bias) and
Mistral (sliding window smaller than the prompt), Baichuan-7B (fused W_pack).
Also writes tests/data/rope_reference.json: inv_freq of every rope scaling
type from transformers' own rope init (tests/test_rope.cpp).

Usage: python3 tests/reference/make_llama_fixtures.py
"""
import json
import os

import torch
import transformers
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
N_NEW = 24
VOCAB = 256

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=0.25, tie_word_embeddings=False)


def variants():
    def llama(**kw):
        return LlamaConfig(**{**COMMON, **kw})
    return {
        "tiny-llama-gqa": (LlamaForCausalLM, llama()),
        "tiny-llama-mha-tied": (LlamaForCausalLM, llama(num_key_value_heads=4, tie_word_embeddings=True)),
        "tiny-llama-rope-linear": (LlamaForCausalLM,
                                   llama(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0})),
        "tiny-llama-rope-dynamic": (LlamaForCausalLM,
                                    llama(rope_parameters={"rope_type": "dynamic", "factor": 2.0,
                                                           "rope_theta": 10000.0})),
        "tiny-llama3-rope": (LlamaForCausalLM,
                             llama(rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 32,
                                                    "rope_theta": 500000.0})),
        "tiny-qwen2": (Qwen2ForCausalLM, Qwen2Config(**{**COMMON, "tie_word_embeddings": True})),
        "tiny-mistral": (MistralForCausalLM, MistralConfig(**{**COMMON, "sliding_window": 8})),
    }


# Prompts: short, medium, and one longer than the Mistral window.
PROMPTS = [
    [1, 17, 42, 99, 5],
    [1, 200, 3, 3, 77, 150, 9, 61, 250, 14, 88, 31],
    [1, 7, 19, 230, 45, 112, 64, 8, 190, 23, 5, 71, 133, 17, 240, 2, 99, 56, 81, 12],
]


def min_top2_margin(logits):
    top2 = torch.topk(logits, 2, dim=-1).values
    return float((top2[..., 0] - top2[..., 1]).min())


def make(name, cls, config, seed):
    torch.manual_seed(seed)
    model = cls(config).eval()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
    ref_model = cls.from_pretrained(d, dtype=torch.float32).eval()
    for extra in ("generation_config.json",):
        p = os.path.join(d, extra)
        if os.path.exists(p):
            os.remove(p)
    write_reference(name, ref_model, seed, hidden_states=(name == "tiny-llama-gqa"))


def write_reference(name, ref_model, seed, hidden_states=False):
    d = os.path.join(OUT, name)
    ref_model.generation_config.eos_token_id = None
    cases = []
    margin = float("inf")
    for ids in PROMPTS:
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = ref_model(x).logits[0]
            gen = ref_model.generate(x, max_new_tokens=N_NEW, do_sample=False, eos_token_id=None, pad_token_id=0)
            # Margins along the greedy path (full forward over prompt + output).
            full = ref_model(gen).logits[0, len(ids) - 1:-1]
        margin = min(margin, min_top2_margin(full))
        cases.append({
            "prompt": ids,
            "logits": [[float(f"{v:.6g}") for v in row] for row in logits.tolist()],
            "greedy": gen[0, len(ids):].tolist(),
        })
    ref = {
        "generator": "tests/reference/make_llama_fixtures.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": seed,
        "n_vocab": VOCAB,
        "min_greedy_top2_margin": margin,
        "cases": cases,
    }
    if hidden_states:
        # hidden_states[i]: the residual stream entering layer i (0: embeddings);
        # the last one is after the final norm. For layer-by-layer debugging.
        with torch.no_grad():
            hs = ref_model(torch.tensor([PROMPTS[0]]), output_hidden_states=True).hidden_states
        ref["hidden_states_prompt0"] = [[[float(f"{v:.6g}") for v in row] for row in h[0].tolist()] for h in hs]
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: {size // 1024} KB, min greedy top-2 margin {margin:.4f}")


def make_baichuan(name, seed):
    """Baichuan-7B is LLaMA with q/k/v fused into one W_pack [3 * hidden, hidden]
    (MHA). Its modeling code needs trust_remote_code, so the reference is the
    LLaMA model with the same weights, and the file stores them as Baichuan does."""
    from safetensors.torch import save_file
    torch.manual_seed(seed)
    cfg = LlamaConfig(**{**COMMON, "num_key_value_heads": 4})
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # round the weights only: buffers (rope inv_freq) stay fp32
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    sd = {}
    for k, v in model.state_dict().items():
        if ".self_attn.q_proj." in k:
            p = k.replace("q_proj.weight", "")
            sd[p + "W_pack.weight"] = torch.cat([v, model.state_dict()[p + "k_proj.weight"],
                                                 model.state_dict()[p + "v_proj.weight"]]).to(torch.bfloat16)
        elif ".self_attn.k_proj." in k or ".self_attn.v_proj." in k:
            continue
        else:
            sd[k] = v.to(torch.bfloat16).contiguous()
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["BaiChuanForCausalLM"], "model_type": "baichuan", "vocab_size": VOCAB,
              "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "hidden_act": "silu", "bos_token_id": 1,
              "eos_token_id": 2, "pad_token_id": 0, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    write_reference(name, model, seed)


def make_rope_reference():
    """inv_freq of each rope type as transformers computes it (rope_reference.json)."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
    cases = []
    specs = [
        ("none", dict(rope_theta=10000.0), 64, 2048, None),
        ("none", dict(rope_theta=1000000.0), 128, 32768, None),
        ("linear", dict(rope_theta=10000.0, factor=4.0), 128, 4096, None),
        ("dynamic", dict(rope_theta=10000.0, factor=2.0), 128, 2048, 2048),
        ("dynamic", dict(rope_theta=10000.0, factor=2.0), 128, 2048, 5000),
        ("llama3", dict(rope_theta=500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                        original_max_position_embeddings=8192), 128, 131072, None),
        ("llama3", dict(rope_theta=500000.0, factor=32.0, low_freq_factor=1.0, high_freq_factor=8.0,
                        original_max_position_embeddings=8192), 64, 131072, None),
    ]
    for rope_type, params, head_dim, max_pos, seq_len in specs:
        rp = {"rope_type": "default" if rope_type == "none" else rope_type, **params}
        cfg = LlamaConfig(hidden_size=head_dim * 4, num_attention_heads=4, max_position_embeddings=max_pos,
                          rope_parameters=rp)
        if seq_len is None:
            inv_freq = LlamaRotaryEmbedding(cfg).inv_freq
        else:
            inv_freq, _ = ROPE_INIT_FUNCTIONS[rope_type](cfg, "cpu", seq_len=seq_len)
        cases.append({"type": rope_type, **params, "head_dim": head_dim, "max_position_embeddings": max_pos,
                      "seq_len": seq_len or max_pos, "inv_freq": inv_freq.tolist()})
    with open(os.path.join(OUT, "rope_reference.json"), "w") as f:
        json.dump({"generator": "tests/reference/make_llama_fixtures.py", "transformers": transformers.__version__,
                   "cases": cases}, f, indent=1)


def main():
    make_rope_reference()
    for i, (name, (cls, config)) in enumerate(variants().items()):
        make(name, cls, config, seed=1000 + i)
    make_baichuan("tiny-baichuan", seed=2000)


if __name__ == "__main__":
    main()
