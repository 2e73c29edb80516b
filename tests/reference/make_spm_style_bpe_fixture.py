#!/usr/bin/env python3
"""Fixture for llama.cpp's SentencePiece-style BPE (GGUF tokenizer.ggml.model
"gemma4", or "gpt2" with tokenizer.ggml.pre "sarvam-moe" /
"granite-embed-multi-311m"): tokens are raw UTF-8 with U+2581 for spaces and
<0xXX> byte-fallback tokens; the text has its spaces replaced by U+2581, is cut
into runs of non-newlines and runs of newlines ([^\\n]+|[\\n]+), and BPE merges
run over the code points of each run.

The reference is the `tokenizers` library configured that way: a BPE model
with byte_fallback, a Replace(" ", "▁") normalizer and an isolated Split
pre-tokenizer. A tiny vocabulary is trained here (seeded texts), the 256 byte
tokens added.

Writes tests/data/tokenizers/spm_style_bpe.json:
  "tokens": [...] (id order), "byte_ids": [ids of <0xXX>], "merges": ["a b", ...],
  "cases": [{"text", "ids"}]

Usage: python3 tests/reference/make_spm_style_bpe_fixture.py
"""
import json
import os
import random

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tokenizers", "spm_style_bpe.json")

WORDS = ["the", "model", "token", "Hello", " world", "naïve", "café", "日本語", "中文", "Привет", "données", "12", "345",
         "\n", "\n\n", "  ", "\t", ",", ".", "!", "def", "return", "x = 1", "▁", "ok"]


def text(rng, words):
    return "".join(rng.choice(words) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(1, 12)))


def main():
    rng = random.Random(4)
    tok = Tokenizer(models.BPE(byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[^\n]+|[\n]+"), "isolated")
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=bytes_, show_progress=False)
    tok.train_from_iterator([text(rng, WORDS) for _ in range(3000)], trainer)
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    # texts with words never seen (byte fallback), emoji, newline runs, leading/trailing spaces
    unseen = ["🦙", "Ωmega", "한국어", "ﬁ", "\u00a0", "\r\n", "\n\n\n\n", "   x", "é"]
    texts = [text(rng, WORDS + unseen) for _ in range(150)] + ["", " ", "\n", "a  b   c\n\n\nd ", "🦙🦙 x"]
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"made_by": "tests/reference/make_spm_style_bpe_fixture.py with tokenizers " + __import__("tokenizers").__version__,
                   "tokens": tokens, "byte_ids": [vocab[b] for b in bytes_], "merges": merges, "cases": cases},
                  f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(tokens)} tokens, {len(merges)} merges, {len(cases)} cases")


if __name__ == "__main__":
    main()
