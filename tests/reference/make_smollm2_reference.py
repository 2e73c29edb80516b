#!/usr/bin/env python3
"""Golden reference for SmolLM2-135M-Instruct (the demo GGUF, Q4_1).

Hugging Face transformers loads the same GGUF (dequantized to fp32 through
the `gguf` package), its own tokenizer tokenizes each prompt, and greedy
decoding gives the first 32 generated token ids. Writes
tests/data/smollm2_reference.json; lightllm's CPU engine must reproduce the
ids exactly (tests/test_smollm2_reference.cpp).

Usage: python3 tests/reference/make_smollm2_reference.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

GGUF = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/lightllm/SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "smollm2_reference.json")
N_NEW = 32

RAW_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
    "The three primary colors are",
]
CHAT_PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
]


def main():
    torch.manual_seed(0)
    d, f = os.path.dirname(GGUF), os.path.basename(GGUF)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    cases = []
    prompts = [("raw", p, tok(p, add_special_tokens=True)["input_ids"]) for p in RAW_PROMPTS]
    for p in CHAT_PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        prompts.append(("chat", p, list(ids)))
    for kind, text, ids in prompts:
        # Greedy by full recomputation of the sequence at every step: the plain
        # definition of greedy decoding. (model.generate with pad_token_id equal
        # to <|im_end|> masks every <|im_end|> inside a chat prompt out of
        # attention, which is not what the model sees in use.)
        new = []
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1]
            for _ in range(N_NEW):
                step = model(torch.tensor([ids + new])).logits[0, -1]
                new.append(int(torch.argmax(step)))
        cases.append({
            "kind": kind,
            "prompt": text,
            "prompt_ids": list(ids),
            "greedy_ids": new,
            "greedy_text": tok.decode(new),
            "last_logits_top5": torch.topk(logits, 5).indices.tolist(),
            "last_logits_top5_values": [round(v, 4) for v in torch.topk(logits, 5).values.tolist()],
        })
        print(kind, repr(text), "->", repr(tok.decode(new)))
    ref = {
        "model": f,
        "made_by": f"transformers {transformers.__version__}, torch {torch.__version__}, fp32, greedy",
        "n_new": N_NEW,
        "cases": cases,
    }
    with open(OUT, "w") as fh:
        json.dump(ref, fh, indent=1)


if __name__ == "__main__":
    main()
