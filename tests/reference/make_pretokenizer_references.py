#!/usr/bin/env python3
"""Reference splits of the byte-level BPE pre-tokenizers llama.cpp knows by
GGUF tokenizer.ggml.pre name and lightllm implements by hand
(src/tokenizer/bpe_pretokenizer.cpp), made with the Python `regex` module from
each pre-tokenizer's split regexes applied one after another the way llama.cpp
applies them: every regex splits each piece of the previous step, and both the
matches and the text between them become pieces.
Texts: the llama.cpp vocabulary test texts (shared/data/tokenizers/*.inp) and
400 random strings over letters of many scripts, CJK and kana, digits,
punctuation, symbols and whitespace (seeded).
Writes tests/data/tokenizers/pretokenizer_splits.json.

Usage: python3 tests/reference/make_pretokenizer_references.py
"""
import json
import os
import random

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data", "tokenizers")
OUT = os.path.join(HERE, "..", "data", "tokenizers", "pretokenizer_splits.json")

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
BLOOM = r" ?[^(\s|.,!?…。，、।۔،)]+"
DEEPSEEK_LETTERS = (
    "A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373"
    "\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f"
    "\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
    "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d"
    "\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
    "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d"
    "\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a"
    "\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
    "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943")
KINDS = {
    "deepseek-llm": ["[\r\n]", r"\s?[" + DEEPSEEK_LETTERS + "]+", r"\s?[!-/:-~！-／：-～‘-‟　-。]+", r"\s+$",
                     "[一-龥ࠀ-一가-퟿]+", r"\p{N}+"],
    "deepseek-v3": [r"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
                    r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"],
    "bloom": [BLOOM],
    "viking": [BLOOM, r"\p{N}"],
    # tekken and gpt-4o: the regexes of their tokenizer.json (llama.cpp rewrites tekken's approximately)
    "tekken": [r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?"
               r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+"],
    "gpt-4o": [r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
               r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
               r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
}


def split(text, patterns):
    pieces = [text] if text else []
    for pat in patterns:
        rx = regex.compile(pat)
        out = []
        for piece in pieces:
            pos = 0
            for m in rx.finditer(piece):
                if m.start() == m.end():
                    continue
                if m.start() > pos:
                    out.append(piece[pos:m.start()])
                out.append(m.group())
                pos = m.end()
            if pos < len(piece):
                out.append(piece[pos:])
        pieces = out
    return pieces


def texts():
    out = []
    for name in sorted(os.listdir(SHARED)):
        if name.endswith(".inp"):
            with open(os.path.join(SHARED, name), encoding="utf-8") as f:
                out += [t for t in f.read().split("\n__ggml_vocab_test__\n") if t]
    rng = random.Random(11)
    parts = ["Hello", " world", "ΑΒΓ ώ ΐ", "Кириллица", "Ծ", "ﬁ", "Ｈｉ", "日本語", "ひらがな", "カタカナ", "한국어", "中文",
             "١٢٣", "123", "4567", "٣", "!?", "...", "…", "。", "，", "、", "।", "۔", "،", "(x)", "|", "$+<=>^~`", "#@",
             "'s", "'LL", " ", "  ", "\t", "\n", "\r\n", " \n ", "é", "e\u0301", "🦙", "©", "→", "\u00a0", "\u3000",
             "-x", ".Net", "_a", "a/b", "HTTPServer", "McDonald's", "ǅemal", "ʰᵃ", "IT'S", "x/\n", "Ωmega", "ÉCOLE"]
    for _ in range(400):
        out.append("".join(rng.choice(parts) for _ in range(rng.randint(1, 12))))
    return list(dict.fromkeys(out))


def main():
    cases = texts()
    doc = {"made_by": f"tests/reference/make_pretokenizer_references.py with regex {regex.__version__}",
           "kinds": {name: [{"text": t, "pieces": split(t, pats)} for t in cases] for name, pats in KINDS.items()}}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(KINDS)} pre-tokenizers x {len(cases)} texts")


if __name__ == "__main__":
    main()
