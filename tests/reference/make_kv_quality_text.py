#!/usr/bin/env python3
"""Writes tests/data/kv_quality_text.txt, the text the int8 KV cache quality
test (tests/test_kv_int8_quality.cpp) scores: the Zen of Python (the `this`
module) followed by the docstrings of a fixed list of Python standard library
modules and their public functions and classes, in order, cut at a line
boundary near MAX_CHARS. The docstrings are Python's documentation, under the
Python Software Foundation License (Copyright (c) 2001 Python Software
Foundation; All Rights Reserved), which permits redistribution with this notice.

Usage: python3 tests/reference/make_kv_quality_text.py
"""
import codecs
import inspect
import os

import this  # noqa: F401  (prints the Zen on import; its text is this.s, rot13)

MODULES = ["textwrap", "string", "json", "functools", "itertools", "collections", "heapq", "bisect",
           "shlex", "fnmatch", "difflib", "calendar"]
MAX_CHARS = 16000
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "kv_quality_text.txt")


def docs(module_name):
    mod = __import__(module_name)
    out = [inspect.getdoc(mod) or ""]
    for name in sorted(getattr(mod, "__all__", dir(mod))):
        if name.startswith("_"):
            continue
        obj = getattr(mod, name, None)
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 80:
                out.append(f"{module_name}.{name}\n\n{doc}")
    return out


def main():
    parts = ["The Zen of Python, by Tim Peters\n\n" + codecs.decode(this.s, "rot13").split("\n\n", 1)[1]]
    for m in MODULES:
        parts += docs(m)
    text = "\n\n".join(p.strip() for p in parts if p.strip()) + "\n"
    if len(text) > MAX_CHARS:
        text = text[: text.rfind("\n", 0, MAX_CHARS) + 1]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT}: {len(text)} chars")


if __name__ == "__main__":
    main()
