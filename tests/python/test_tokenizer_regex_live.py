"""The split-regex engine and the tokenizer.json pipelines against the
`tokenizers` library itself (its Oniguruma regexes), on random pipelines and
random texts made at test time (seeded): random Split regexes built from the
syntax tokenizer patterns use, every Split behavior and invert, Metaspace,
Digits, ByteLevel options and normalizers. Each pipeline is written as a
tokenizer.json around a tiny byte-level BPE trained here, and
`lightllm generate --tokenize-only` must give the ids `tokenizers` gives.
(Found, and now covered: Oniguruma folds only literal characters and ranges
under (?i), not \p{Lu}/\p{Ll}; Metaspace's prepend_scheme "first" applies to
every piece whose original offset is 0, also after a Prepend normalizer or
an NFKC expansion.)
"""
import json
import os
import random
import subprocess

import pytest

from conftest import BINARY

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Regex, Tokenizer, decoders, models, normalizers as N, pre_tokenizers as P, trainers  # noqa: E402

ATOMS = [r"\p{L}", r"\p{N}", r"\p{P}", r"\p{S}", r"\s", r"\S", r"[a-z]", r"[^\s\p{L}\p{N}]", r"\p{Lu}", r"\p{Ll}",
         r"\p{Han}", "a", " ", r"\d", "[0-9]", r"\w", r"[^\w\s]", r"[\p{L}\p{M}]", r"[^\r\n\p{L}\p{N}]", r"'", r"[.,!?]", r"\x{4E00}"]
QUANTS = ["", "", "+", "*", "?", "{1,3}", "{2}", "+?", "*?", "++", "?+", "{2,}"]
TAILS = ["", "", "", r"(?!\S)", r"(?=\p{L})", r"(?!\d)", r"\b"]
HEADS = ["", "", "", "", r"(?<=\p{L})", r"(?<!\d)", r"\b", r"\B"]
PARTS = ["Hello", " world", "ΑΒΓ ώ", "Кириллица", "ﬁ", "Ｈｉ", "日本語", "中文字", "ひらがな", "한국어", "١٢٣", "123",
         "1234567", "½", "!?", "...", "…", "。", "，", "(x)", "$+<=>^~`", "'s", "'LL", " ", "  ", "    ", "\t", "é",
         "e\u0301", "🦙", "©", "\u00a0", "\u3000", "-x", ".Net", "_a", "a/b", "HTTPServer", "McDonald's", "ǅemal", "IT'S",
         "Ωmega", "ÉCOLE", "ſ", "K", "straße", "▁x", "abc", "  a  ", "²³", "¼", "a\u200db", "①"]


def random_regex(rng):
    alts = []
    for _ in range(rng.randint(1, 3)):
        seq = "".join(rng.choice(ATOMS) + rng.choice(QUANTS) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.15:
            seq = "(?i:" + seq + ")"
        alts.append(rng.choice(HEADS) + seq + rng.choice(TAILS))
    return "|".join(alts)


def random_pipeline(rng):
    steps = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.6:
            steps.append(P.Split(Regex(random_regex(rng)), behavior=rng.choice(
                ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]), invert=rng.random() < 0.3))
        elif r < 0.75:
            steps.append(P.Digits(individual_digits=rng.random() < 0.5))
        elif r < 0.9:
            steps.append(P.Metaspace(replacement="▁", prepend_scheme=rng.choice(["always", "first", "never"]),
                                     split=rng.random() < 0.5))
        else:
            steps.append(P.Punctuation(behavior=rng.choice(["isolated", "contiguous", "removed"])))
    steps.append(P.ByteLevel(add_prefix_space=rng.random() < 0.3, use_regex=rng.random() < 0.5))
    norms = [n for n in [N.NFKC() if rng.random() < 0.3 else None, N.Lowercase() if rng.random() < 0.2 else None,
                         N.Replace(Regex(r"\s{2,}"), " ") if rng.random() < 0.2 else None,
                         N.Strip(left=True, right=rng.random() < 0.5) if rng.random() < 0.2 else None,
                         N.Prepend("▁") if rng.random() < 0.2 else None] if n is not None]
    return (N.Sequence(norms) if norms else None), P.Sequence(steps)


def random_text(rng):
    return "".join(rng.choice(PARTS) for _ in range(rng.randint(1, 10))).replace("\n", " ")


@pytest.fixture(scope="module")
def base_tokenizer():
    rng = random.Random(5)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = P.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=P.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([random_text(rng) for _ in range(500)], trainer)
    return tok


@pytest.mark.parametrize("seed", range(60))
def test_random_pipelines_match_tokenizers(tmp_path, base_tokenizer, seed):
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    rng = random.Random(1000 + seed)
    tok = Tokenizer.from_str(base_tokenizer.to_str())
    tok.normalizer, tok.pre_tokenizer = random_pipeline(rng)
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str(), encoding="utf-8")
    texts = [random_text(rng) for _ in range(40)]  # one per line: no newlines
    out = subprocess.run([BINARY, "generate", "-m", str(path), "--tokenize-only", "--no-bos"],
                         input="\n".join(texts) + "\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    pipeline = json.loads(tok.to_str())
    for text, ids in zip(texts, got):
        want = tok.encode(text, add_special_tokens=False).ids
        assert ids == want, (text, pipeline["normalizer"], pipeline["pre_tokenizer"])
    assert len(got) == len(texts)
