#!/usr/bin/env python3
"""Small Hugging Face tokenizer.json fixtures for the byte-level BPE tests.

For each pre-tokenizer family lightllm implements (gpt-2, llama-3, qwen2,
starcoder, deepseek-coder) trains a tiny byte-level BPE (about 700 tokens)
with the `tokenizers` library on the llama.cpp vocabulary test texts plus a
few extra strings, using that family's exact pre_tokenizer configuration, and
records the ids that `tokenizers` itself produces for every test text (with
special tokens parsed, and with them treated as text). Writes
  tests/data/tokenizers/<family>/tokenizer.json
  tests/data/tokenizers/bpe_cases.json
The expected ids are the Hugging Face implementation's output, not ours.

Usage: python3 tests/reference/make_tokenizer_fixtures.py [shared_data_dir]
"""
import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import AddedToken

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "tokenizers")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "data")

GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def split(pattern):
    return pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False)


FAMILIES = {
    "gpt2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    "llama3": pre_tokenizers.Sequence([split(LLAMA3_RE), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
    "qwen2": pre_tokenizers.Sequence([split(QWEN2_RE), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
    "starcoder": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                          pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
    "deepseek-coder": pre_tokenizers.Sequence([
        split(r"[\r\n]"), split(r"\s?\p{L}+"), split(r"\s?\p{P}+"), split(r"[一-龥ࠀ-一가-퟿]+"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
}

EXTRA = [
    "I'M HERE, YOU'RE THERE, DON'T 'S 'Ll",
    "1234567 and 89, 3.14159 x2024",
    "\u4f60\u597d\u4e16\u754c\uff0c\u8fd9\u662f\u6d4b\u8bd5\u3002 \ud55c\uad6d\uc5b4 \u65e5\u672c\u8a9e",
    "tabs\tand\u3000ideographic\u00a0nbsp  \r\n\r\n  end  ",
    "emoji \U0001F999\U0001F600 flags \U0001F1FA\U0001F1F8 and e\u0301 combining",
    "<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n",
    "text with <tool> inside and   <mask> here",
    "def f(x):\n    return x ** 2  # comment\n\n\n",
    "!!!??? ... ,,, ;;; --- ***",
]
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>"]


def texts_from_inp(path):
    data = open(path, encoding="utf-8").read()
    parts = data.split("\n__ggml_vocab_test__\n")
    return [p for p in parts[:-1]]


# Characters that exercise the split rules: letters of several scripts, digits
# of several kinds, every kind of whitespace, contractions, punctuation,
# symbols, marks, emoji.
ALPHABET = (list("aZ") + ["'s", "'T", "'re", "'LL", "'d", "'x", "'"] + list("07") + ["\u0663", "\u00bd", "\u2167"] +
            [" ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "\u2028"] + list(".,!?-_$+<=>^~|`(") +
            ["\u4f60", "\ud55c", "\u0800", "\u00e9", "e\u0301", "\u0394", "\u05d0", "\U0001F999", "\u2019", "\u00bf"])


def random_splits():
    import random
    rng = random.Random(1234)
    strings = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 14))) for _ in range(200)]
    out = {}
    for name, pre in FAMILIES.items():
        out[name] = [{"text": t, "pieces": [p for p, _ in pre.pre_tokenize_str(t)]} for t in strings]
    return out


def main():
    texts = texts_from_inp(os.path.join(SHARED, "tokenizers", "ggml-vocab-gpt-2.gguf.inp")) + EXTRA
    corpus = texts * 3 + [" ".join(texts)]
    cases = {}
    for name, pre in FAMILIES.items():
        tok = Tokenizer(models.BPE(ignore_merges=(name == "llama3")))
        tok.pre_tokenizer = pre
        tok.decoder = decoders.ByteLevel()
        if name == "qwen2":
            tok.normalizer = normalizers.NFC()
        trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(corpus, trainer)
        tok.add_tokens([AddedToken("<tool>", special=False), AddedToken("<mask>", special=True, lstrip=True)])
        if name == "llama3":
            bos = tok.token_to_id("<|begin_of_text|>")
            tok.post_processor = processors.Sequence([
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                              special_tokens=[("<|begin_of_text|>", bos)])])
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        rows = []
        for t in texts:
            tok.encode_special_tokens = False
            ids = tok.encode(t, add_special_tokens=False).ids
            with_bos = tok.encode(t, add_special_tokens=True).ids
            tok.encode_special_tokens = True
            as_text = tok.encode(t, add_special_tokens=False).ids
            rows.append({"text": t, "ids": ids, "ids_add_special": with_bos, "ids_special_as_text": as_text,
                         "decoded": tok.decode(ids, skip_special_tokens=False)})
        cases[name] = rows
    meta = {"made_by": "tokenizers %s" % __import__("tokenizers").__version__, "cases": cases,
            "pre_tokenizer_splits": random_splits()}
    with open(os.path.join(OUT, "bpe_cases.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
