#!/usr/bin/env bash
# Installs the Debian packages lightllm builds against, when they are missing
# and we are root. Called by `make`; a no-op once everything is there.
set -euo pipefail
pkgs=(libcli11-dev libcpp-httplib-dev libfmt-dev libsentencepiece-dev doctest-dev nlohmann-json3-dev cmake ninja-build g++)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lightllm: missing packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "lightllm: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
