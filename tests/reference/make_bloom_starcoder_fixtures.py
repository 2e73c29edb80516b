#!/usr/bin/env python3
"""Golden references for the BLOOM and StarCoder (GPT-BigCode) forward passes
(tests/test_bloom_starcoder_reference.cpp).

Builds tiny random models with Hugging Face transformers (CPU), saves each with
save_pretrained(safe_serialization=True) into tests/data/<name>/ with bf16
weights, reloads it in float32 and records in reference.json (the layout of
tests/reference/make_llama_fixtures.py):
  - for each prompt (fixed token ids; no tokenizer): the logits at every
    position of one full forward, and
  - the greedy continuation, each step a full forward over prompt + tokens so
    far (no KV cache, no generate()), with the smallest top-1/top-2 logit
    margin met on the way.
Linear biases and LayerNorm weights/biases are randomized too (transformers
initializes them to 0 and 1), so a misplaced bias or norm shows.
Variants:
  tiny-bloom          4 heads (power-of-two ALiBi slopes)
  tiny-bloom-6h       6 heads (BLOOM's extra interleaved slopes for non-powers of two)
  tiny-starcoder      multi_query=True (MQA: one K/V head), learned positions
  tiny-starcoder-mha  multi_query=False (c_attn rows interleaved per head)

Usage: python3 tests/reference/make_bloom_starcoder_fixtures.py
"""
import json
import os

import torch
import transformers
from transformers import BloomConfig, BloomForCausalLM, GPTBigCodeConfig, GPTBigCodeForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
N_NEW = 20
VOCAB = 256

PROMPTS = [
    [1, 17, 42, 99, 5],
    [1, 200, 3, 3, 77, 150, 9, 61, 250, 14],
    [1, 7, 19, 230, 45, 112, 64, 8, 190, 23, 5, 71, 133, 17],
]


def bloom(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=64, n_layer=2, n_head=4, layer_norm_epsilon=1e-5,
                initializer_range=0.2, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    return BloomConfig(**{**base, **kw})


def starcoder(**kw):
    base = dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=64, multi_query=True,
                activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5, initializer_range=0.2,
                bos_token_id=1, eos_token_id=2)
    return GPTBigCodeConfig(**{**base, **kw})


def variants():
    return {
        "tiny-bloom": (BloomForCausalLM, bloom()),
        "tiny-bloom-6h": (BloomForCausalLM, bloom(hidden_size=48, n_head=6)),
        "tiny-starcoder": (GPTBigCodeForCausalLM, starcoder()),
        "tiny-starcoder-mha": (GPTBigCodeForCausalLM, starcoder(n_embd=32, multi_query=False)),
    }


def randomize_biases_and_norms(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1)
            elif "ln" in name or "layernorm" in name:
                p.normal_(1.0, 0.1)


def min_top2_margin(logits):
    top2 = torch.topk(logits, 2, dim=-1).values
    return float((top2[..., 0] - top2[..., 1]).min())


def greedy(model, ids):
    """N_NEW greedy tokens, each from a full forward over everything so far."""
    seq = list(ids)
    margin = float("inf")
    for _ in range(N_NEW):
        with torch.no_grad():
            last = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        margin = min(margin, min_top2_margin(last))
        seq.append(int(torch.argmax(last)))
    return seq[len(ids):], margin


MIN_MARGIN = 0.01  # seeds whose greedy path has a closer call are skipped


def make(name, cls, config, seed):
    """Tries seeds from `seed` on until the greedy path's top-2 margin is >= MIN_MARGIN."""
    for s in range(seed, seed + 20):
        if make_one(name, cls, config, s):
            return
    raise SystemExit(f"{name}: no seed gave a greedy margin >= {MIN_MARGIN}")


def make_one(name, cls, config, seed):
    torch.manual_seed(seed)
    model = cls(config).eval()
    randomize_biases_and_norms(model)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
    p = os.path.join(d, "generation_config.json")
    if os.path.exists(p):
        os.remove(p)
    ref_model = cls.from_pretrained(d, dtype=torch.float32).eval()
    cases = []
    margin = float("inf")
    for ids in PROMPTS:
        with torch.no_grad():
            logits = ref_model(torch.tensor([ids]), use_cache=False).logits[0]
        out, m = greedy(ref_model, ids)
        margin = min(margin, m)
        if margin < MIN_MARGIN:
            return False
        cases.append({
            "prompt": ids,
            "logits": [[float(f"{v:.6g}") for v in row] for row in logits.tolist()],
            "greedy": out,
        })
    ref = {
        "generator": "tests/reference/make_bloom_starcoder_fixtures.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": seed,
        "n_vocab": VOCAB,
        "min_greedy_top2_margin": margin,
        "cases": cases,
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: seed {seed}, {size // 1024} KB, min greedy top-2 margin {margin:.4f}")
    return True


def main():
    for i, (name, (cls, config)) in enumerate(variants().items()):
        make(name, cls, config, seed=3000 + 100 * i)


if __name__ == "__main__":
    main()
