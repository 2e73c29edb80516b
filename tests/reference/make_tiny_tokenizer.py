#!/usr/bin/env python3
"""Writes tests/data/tiny-tokenizer/: a 256-token byte-level BPE tokenizer that
fits the tiny-* fixture models (vocab_size 256, bos 1, eos 2), so pipeline and
CLI tests can run text in and text out on them (generate --tokenizer DIR).

ids 0..2: <unk>, <s>, </s>; ids 3..97: the printable ASCII bytes 0x20..0x7e
(one token per character; space is byte-level 'Ġ'); 98: newline ('Ċ'); ids
99..253: two-letter lower-case pieces (decode-only, no merges), so every id
the model can emit decodes to ASCII text; 254, 255: <|im_start|>, <|im_end|>
with a ChatML chat template. Checked with the `tokenizers` library (encode /
decode round trip); expected.json holds transformers' ids for a few prompts
and chat conversations, for the C++ tests.
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
        if len(vocab) == 254:
            break
        vocab[a + c] = len(vocab)
vocab["<|im_start|>"] = 254
vocab["<|im_end|>"] = 255
assert len(vocab) == 256

tok = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}
        for t, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2), ("<|im_start|>", 254), ("<|im_end|>", 255))
    ],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    },
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
    "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                     " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                     "{% endif %}",
}
with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
    json.dump(cfg, f, indent=1)

from tokenizers import Tokenizer
from transformers import AutoTokenizer

t = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
sample = "Hello, world! 123 ~"
ids = t.encode(sample).ids
assert ids[0] == 1 and t.decode(ids) == sample, (ids, t.decode(ids))

hf = AutoTokenizer.from_pretrained(out_dir)
expected = {"prompts": [], "chats": []}
for text in [sample, "Hello", "hi there"]:
    expected["prompts"].append({"text": text, "ids": hf(text).input_ids})
for msgs in [[{"role": "user", "content": "hi"}],
             [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
              {"role": "assistant", "content": "yo"}, {"role": "user", "content": "ok?"}]]:
    ids = hf.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
    if not isinstance(ids, list):
        ids = ids["input_ids"]
    expected["chats"].append({"messages": msgs, "ids": list(ids)})
with open(os.path.join(out_dir, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("ok:", json.dumps(expected)[:300])
