#!/usr/bin/env bash
# N `lightllm serve` replicas on loopback behind SGLang's router (PyPI
# sglang-router), the README's "Several replicas" recipe:
#   bench/serve_replicas.sh MODEL [N=3] [POLICY=cache_aware] [ROUTER_PORT=30000] [-- SERVE FLAGS...]
# Replicas listen on ROUTER_PORT+1..ROUTER_PORT+N; the router probes their
# readiness route every second. Ctrl-C stops everything.
set -euo pipefail
model=${1:?usage: bench/serve_replicas.sh MODEL [N] [POLICY] [ROUTER_PORT] [-- SERVE FLAGS...]}
shift
n=3 policy=cache_aware port=30000
[ $# -gt 0 ] && [ "$1" != "--" ] && { n=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { policy=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { port=$1; shift; }
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
bin=${LIGHTLLM_BINARY:-$(dirname "$0")/../build/lightllm}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
urls=()
for i in $(seq 1 "$n"); do
  "$bin" serve -m "$model" --host 127.0.0.1 --port $((port + i)) --quiet "$@" &
  pids+=($!)
  urls+=("http://127.0.0.1:$((port + i))")
done
python3 -m sglang_router.launch_router --host 127.0.0.1 --port "$port" --worker-urls "${urls[@]}" \
  --policy "$policy" --health-check-endpoint /health/ready --health-check-interval-secs 1 \
  --health-failure-threshold 1 --worker-startup-check-interval 1 --prometheus-host 127.0.0.1 \
  --prometheus-port $((port + n + 1)) --log-level warn &
pids+=($!)
wait -n
