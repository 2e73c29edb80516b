#!/usr/bin/env bash
# Device run 1 for issue 14: the peers' workload, FIFO vs longest-first, Poisson 32/s, int8 KV.
set -u
d=.dev-throughput
export LD_LIBRARY_PATH=$d/lib:/usr/local/cuda/lib64
export LIGHTLLM_TEST_DATA=$d/tests/data
r=/tmp/r; mkdir -p $r
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
$d/bin/lightllm_tests -tc='*device peaks*' -s 2>&1 | grep -E "peak matrix|test cases" 
P=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --tokenizer $d/data/llama3-tokenizer
   --dataset-name sharegpt --dataset-path $d/data/sharegpt_seed0_1000.json --seed 0 --ignore-eos)
one() {
  local name=$1 lim=$2; shift 2
  local t0=$(date +%s%N)
  timeout $lim $d/bin/lightllm bench "${P[@]}" "$@" --json $r/$name.json --step-log $r/$name.steps.jsonl > $r/$name.log 2>&1
  local rc=$?
  echo "== $name rc=$rc wall_ms=$(( ($(date +%s%N) - t0) / 1000000 )) $*"
  grep -E "duration|Total (input|gen)|Output token thr|Request thr|Mean TTFT|Median TTFT|Median ITL|P99 ITL|Mean TPOT|Peak|bound time|Limit out|Achieved|Pauses|KV cap" $r/$name.log | sed 's/  */ /g'
  grep -iE "error|abort" $r/$name.log | head -3
  tar czf $OUT/run1.tgz -C $r .
}
one fifo 88 --num-prompts 1000 --request-rate inf --admission-order fifo
one longest 88 --num-prompts 1000 --request-rate inf --admission-order longest-first
one poisson32 78 --num-prompts 600 --request-rate 32 --admission-order longest-first
