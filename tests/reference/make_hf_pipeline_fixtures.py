#!/usr/bin/env python3
"""tokenizer.json normalizer / pre-tokenizer pipelines against the `tokenizers`
library: one tiny byte-level BPE (about 500 tokens, trained here by
`tokenizers` on the split-regex texts) and, for each pipeline below (Split
with every behavior and invert, Digits, Metaspace with each prepend_scheme,
Whitespace(Split), Punctuation, CharDelimiterSplit, ByteLevel with and without
its regex and prefix space; normalizers NFC, NFKC, Lowercase, Replace,
Prepend, Strip, Sequence), the ids `tokenizers` gives each text.

Writes tests/data/tokenizers/pipelines/tokenizer.json (the base; the test
swaps in each pipeline's normalizer and pre_tokenizer) and
tests/data/tokenizers/pipelines/cases.json.

Usage: python3 tests/reference/make_hf_pipeline_fixtures.py  (after make_split_regex_references.py)
"""
import json
import os

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers as N, pre_tokenizers as P, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "tokenizers")
OUT = os.path.join(DATA, "pipelines")

GPT4O = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
KIMI_K2 = (r"[\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
           r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
           r"[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def bl(prefix=False, regex=False):
    return P.ByteLevel(add_prefix_space=prefix, use_regex=regex)


def split(pattern, behavior, invert=False, literal=False):
    return P.Split(pattern if literal else Regex(pattern), behavior=behavior, invert=invert)


PIPELINES = {
    "split_removed": (None, P.Sequence([split(r"\s+", "removed"), bl()])),
    "split_isolated_invert": (None, P.Sequence([split(r"\p{L}+", "isolated", invert=True), bl()])),
    "split_removed_invert": (None, P.Sequence([split(r"\p{L}+|\p{N}+", "removed", invert=True), bl()])),
    "split_merged_previous": (None, P.Sequence([split(r"[.,!?。]", "merged_with_previous"), bl()])),
    "split_merged_next": (None, P.Sequence([split(" ", "merged_with_next", literal=True), bl()])),
    "split_contiguous": (None, P.Sequence([split(r"\p{P}", "contiguous"), bl(regex=True)])),
    "split_lookahead_digits": (None, P.Sequence([split(r"\p{N}+", "isolated"), split(r"(?=(\d{3})+(?!\d))", "isolated"), bl()])),
    "gpt4o_regex": (None, P.Sequence([split(GPT4O, "isolated"), bl()])),
    "kimi_k2_regex": (N.NFC(), P.Sequence([split(KIMI_K2, "isolated"), bl()])),
    "digits_prefix_space": (None, P.Sequence([P.Digits(individual_digits=True), bl(prefix=True, regex=True)])),
    "digits_grouped": (None, P.Sequence([P.Digits(individual_digits=False), bl(regex=True)])),
    "metaspace_always": (None, P.Sequence([P.Metaspace(replacement="▁", prepend_scheme="always", split=True), bl()])),
    "metaspace_first": (None, P.Sequence([P.Metaspace(replacement="▁", prepend_scheme="first", split=True), bl()])),
    "metaspace_never_nosplit": (None, P.Sequence([P.Metaspace(replacement="▁", prepend_scheme="never", split=False), bl()])),
    "whitespace": (None, P.Sequence([P.Whitespace(), bl()])),
    "whitespace_split_punct": (None, P.Sequence([P.WhitespaceSplit(), P.Punctuation(behavior="contiguous"), bl()])),
    "char_delimiter": (None, P.Sequence([P.CharDelimiterSplit("e"), bl()])),
    "nfkc_lowercase": (N.Sequence([N.NFKC(), N.Lowercase()]), bl(regex=True)),
    "replace_prepend_strip": (N.Sequence([N.Strip(left=True, right=True), N.Replace(Regex(r" {2,}"), " "),
                                          N.Replace(" ", "▁"), N.Prepend("▁")]), P.Sequence([split("▁", "merged_with_next", literal=True), bl()])),
    "nfkc_strip_left": (N.Sequence([N.NFKC(), N.Strip(left=True, right=False)]), bl(prefix=True, regex=True)),
}


def texts():
    with open(os.path.join(DATA, "split_regex_cases.json"), encoding="utf-8") as f:
        all_texts = json.load(f)["texts"]
    extra = ["  leading and trailing  ", "1234567 89 ０１２３ ①②", "ﬁne Ｈｅｌｌｏ ㍻ ½", "İstanbul ΣΑΣ ǅ", "a  b   c", "",
             "<|im_start|>user hi", "1,234,567.89!!! ...", "你好，世界。混合text123", "x▁y ▁z"]
    return extra + all_texts[::3]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases_texts = texts()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = bl(regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, initial_alphabet=P.ByteLevel.alphabet(), special_tokens=["<|im_start|>"],
                                  show_progress=False)
    tok.train_from_iterator(cases_texts * 3, trainer)
    base = json.loads(tok.to_str())
    base["pre_tokenizer"] = None
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(base, f, ensure_ascii=False)
        f.write("\n")
    doc = {"made_by": f"tests/reference/make_hf_pipeline_fixtures.py with tokenizers {tokenizers.__version__}", "pipelines": []}
    for name, (norm, pre) in PIPELINES.items():
        tok.normalizer = norm
        tok.pre_tokenizer = pre
        j = json.loads(tok.to_str())
        doc["pipelines"].append({"name": name, "normalizer": j["normalizer"], "pre_tokenizer": j["pre_tokenizer"],
                                 "cases": [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in cases_texts]})
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(PIPELINES)} pipelines x {len(cases_texts)} texts")


if __name__ == "__main__":
    main()
