#!/usr/bin/env bash
# Python tools the tests drive lightllm with (the official openai client,
# numpy, pytest, prometheus_client, sglang-router, tokenizers and regex for
# the tokenizer comparisons), from PyPI, and Debian's
# nginx (tests/python/test_replicas_nginx.py) when we are root; each
# installed only when missing.
set -euo pipefail
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "lightllm: installing nginx (Debian) for the replica tests" >&2
  (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq nginx >/dev/null 2>&1 ||
   { apt-get update -qq >/dev/null && apt-get install -y -qq nginx >/dev/null; }) ||
    echo "lightllm: could not install nginx; its test will skip" >&2
fi
python3 - <<'PY' 2>/dev/null && exit 0
import openai, numpy, pytest, prometheus_client, sglang_router, jinja2, tokenizers, regex  # noqa: F401
PY
echo "lightllm: installing Python test tools from PyPI" >&2
python3 -m pip install -q -r "$(dirname "$0")/../tests/python/requirements.txt"
