"""The layer rule of src/README.md, checked on the sources: every quoted
#include of a file in a layer folder resolves to a header of the same layer or
of a layer it may use. (The build enforces the same through include paths;
this test names the offending line.)"""
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# layer -> the layers whose headers it may include (besides its own)
ALLOWED = {
    "src/core": set(),
    "src/formats": {"src/core"},
    "src/tokenizer": {"src/core", "src/formats"},
    "src/backend": {"src/core"},
    "models": {"src/core", "src/formats", "src/backend"},
    "cuda": {"src/core", "src/backend"},
    "src/engine": {"src/core", "src/formats", "src/tokenizer", "src/backend", "models"},
    "src/server": {"src/core", "src/formats", "src/tokenizer", "src/backend", "models", "src/engine"},
    "src/bench": {"src/core", "src/formats", "src/tokenizer", "src/backend", "models", "src/engine"},
    "src/cli": {"src/core", "src/formats", "src/tokenizer", "src/backend", "models", "src/engine",
                "src/server", "src/bench"},
}
GENERATED = {"git_commit.h"}


def headers_of(layer):
    d = os.path.join(ROOT, layer)
    return {f for f in os.listdir(d) if f.endswith((".h", ".cuh"))}


def test_every_include_points_down():
    owner = {}
    for layer in ALLOWED:
        for h in headers_of(layer):
            owner.setdefault(h, layer)
    bad = []
    for layer, allowed in ALLOWED.items():
        d = os.path.join(ROOT, layer)
        for f in sorted(os.listdir(d)):
            if not f.endswith((".h", ".cpp", ".cu", ".cuh")):
                continue
            for n, line in enumerate(open(os.path.join(d, f), encoding="utf-8"), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m or m.group(1) in GENERATED:
                    continue
                h = os.path.basename(m.group(1))
                home = owner.get(h)
                if home is None:
                    bad.append(f"{layer}/{f}:{n}: includes {h}, which no layer owns")
                elif home != layer and home not in allowed:
                    bad.append(f"{layer}/{f}:{n}: includes {h} from {home}, above {layer}")
    assert not bad, "\n".join(bad)


def test_every_source_file_is_in_a_layer():
    stray = [f for f in os.listdir(os.path.join(ROOT, "src")) if f.endswith((".h", ".cpp"))]
    assert not stray, f"files directly in src/ belong to no layer: {stray}"
