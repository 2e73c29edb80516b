#!/usr/bin/env python3
"""Writes tests/data/tiny-tokenizer/: a 256-token byte-level BPE tokenizer that
fits the tiny-* fixture models (vocab_size 256, bos 1, eos 2), so pipeline and
CLI tests can run text in and text out on them (generate --tokenizer DIR).

ids 0..2: <unk>, <s>, </s>; ids 3..97: the printable ASCII bytes 0x20..0x7e
(one token per character; space is byte-level 'Ġ'); 98: newline ('Ċ'); ids
99..255: two-letter lower-case pieces (decode-only, no merges), so every id
the model can emit decodes to ASCII text. No chat template. Checked with the `tokenizers`
library: encode/decode of a sample round-trips.
"""
import json
import os
import string

out_dir = os.path.join(os.path.dirname(__file__), "..", "data", "tiny-tokenizer")
os.makedirs(out_dir, exist_ok=True)

vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(0x20, 0x7F):
    vocab["Ġ" if b == 0x20 else chr(b)] = len(vocab)
vocab["Ċ"] = len(vocab)
letters = string.ascii_lowercase
for a in letters:
    for c in letters:
        if len(vocab) == 256:
            break
        vocab[a + c] = len(vocab)
assert len(vocab) == 256

tok = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}
        for t, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))
    ],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": None,
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": []},
}
with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
    json.dump(tok, f, ensure_ascii=False, indent=1)
cfg = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "model_max_length": 64,
    "tokenizer_class": "PreTrainedTokenizerFast",
}
with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
    json.dump(cfg, f, indent=1)

try:
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    sample = "Hello, world! 123 ~"
    ids = t.encode(sample).ids
    assert t.decode(ids) == sample, (ids, t.decode(ids))
    print("round trip ok:", ids)
except ImportError:
    print("tokenizers not installed; skipped the check")
