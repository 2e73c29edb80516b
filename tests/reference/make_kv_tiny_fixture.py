#!/usr/bin/env python3
"""The tiny fixture of the int8 KV cache quality test: a byte-level LLaMA
(vocab 256, the token id of a byte is its value; 2 layers, hidden 64, 2 query
heads over 1 KV head of 32 dims) trained by Hugging Face transformers for a few
minutes on CPU, on docstrings of Python standard library modules *other* than
those in tests/data/kv_quality_text.txt, so the text it is scored on is unseen.
Small enough to commit (fp16 safetensors, ~270 KB) yet it really uses its
context, unlike a random-weight model whose attention barely moves the logits.

Writes tests/data/kv_tiny_byte_llama/{config.json, model.safetensors,
reference.json}; reference.json holds transformers' (fp32) perplexity of the
quality text, scored as the test scores it (independent windows of WINDOW
bytes), so the test can check that lightllm loads and runs the fixture right
before it compares KV cache dtypes.

Usage: python3 tests/reference/make_kv_tiny_fixture.py
"""
import inspect
import json
import math
import os
import pkgutil
import random

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "kv_tiny_byte_llama")
TEXT = os.path.join(HERE, "..", "data", "kv_quality_text.txt")
EVAL_MODULES = {"this", "textwrap", "string", "json", "functools", "itertools", "collections", "heapq", "bisect",
                "shlex", "fnmatch", "difflib", "calendar"}
WINDOW = 512
N_WINDOWS = 8
SEQ, BATCH, STEPS = 256, 32, 900


def training_text():
    parts = []
    for info in sorted(pkgutil.iter_modules(), key=lambda m: m.name):
        name = info.name
        if name in EVAL_MODULES or name.startswith("_") or name in ("antigravity", "idlelib", "tkinter", "turtle"):
            continue
        try:
            mod = __import__(name)
        except BaseException:
            continue
        if not getattr(mod, "__file__", "") or "site-packages" in (mod.__file__ or ""):
            continue
        doc = inspect.getdoc(mod)
        if doc:
            parts.append(doc)
        for attr in dir(mod):
            obj = getattr(mod, attr, None)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                d = inspect.getdoc(obj)
                if d and len(d) > 80:
                    parts.append(d)
    text = "\n\n".join(parts)
    return text.encode("utf-8")


def windows(data, window, n):
    return [list(data[i * window:(i + 1) * window]) for i in range(n)]


def score(model, wins):
    nll, count = 0.0, 0
    with torch.no_grad():
        for w in wins:
            x = torch.tensor([w])
            logits = model(x).logits[0, :-1].double()
            nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
            count += len(w) - 1
    return math.exp(nll / count), count


def main():
    torch.manual_seed(0)
    random.seed(0)
    data = training_text()
    print(f"training text: {len(data)} bytes")
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=1024,
                      rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=None,
                      eos_token_id=None, pad_token_id=None)
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.1)
    t = torch.tensor(list(data))
    for step in range(STEPS):
        starts = torch.randint(0, len(t) - SEQ - 1, (BATCH,))
        x = torch.stack([t[s:s + SEQ] for s in starts])
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.3f}", flush=True)

    os.makedirs(OUT, exist_ok=True)
    model.to(torch.float16).save_pretrained(OUT, safe_serialization=True)
    for extra in ("generation_config.json",):
        p = os.path.join(OUT, extra)
        if os.path.exists(p):
            os.remove(p)
    # Score the saved (fp16) weights in fp32, as lightllm's CPU engine will.
    ref = LlamaForCausalLM.from_pretrained(OUT, torch_dtype=torch.float32)
    ref.eval()
    text = open(TEXT, "rb").read()
    ppl, count = score(ref, windows(text, WINDOW, N_WINDOWS))
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"made_by": f"transformers {transformers.__version__}, torch {torch.__version__}, fp32",
                   "text": "kv_quality_text.txt", "window": WINDOW, "n_windows": N_WINDOWS,
                   "n_predictions": count, "perplexity": ppl}, f, indent=1)
        f.write("\n")
    print(f"perplexity over {count} predictions: {ppl:.4f}")


if __name__ == "__main__":
    main()
