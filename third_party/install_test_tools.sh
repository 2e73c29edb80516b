#!/usr/bin/env bash
# Python tools the tests drive lightllm with (the official openai client,
# numpy, pytest), from PyPI, installed only when missing.
set -euo pipefail
python3 - <<'PY' 2>/dev/null && exit 0
import openai, numpy, pytest, jinja2  # noqa: F401
PY
echo "lightllm: installing Python test tools from PyPI" >&2
python3 -m pip install -q -r "$(dirname "$0")/../tests/python/requirements.txt"
