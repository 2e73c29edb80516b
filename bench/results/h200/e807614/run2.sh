#!/usr/bin/env bash
# Device run 2 for issue 14: GEMV threshold A/B on the peers' workload, kernel cases, CUDA tests, int8, Poisson.
set -u
d=.dev-throughput
export LD_LIBRARY_PATH=$d/lib:/usr/local/cuda/lib64
export LIGHTLLM_TEST_DATA=$d/tests/data
export NCCL_NVLS_ENABLE=0
r=/tmp/r; mkdir -p $r $d/data
tar xzf $d/data/inputs.tgz -C $d/data
start=$(date +%s)
left() { echo $(( 262 - ($(date +%s) - start) )); }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
P=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --tokenizer $d/data/llama3-tokenizer
   --dataset-name sharegpt --dataset-path $d/data/sharegpt_seed0_1000.json --seed 0 --ignore-eos)
pack() { tar czf $OUT/run2.tgz -C $r .; }
bench() {  # bench NAME LIMIT BINARY ARGS...
  local name=$1 lim=$2 bin=$3; shift 3
  local l=$(left); [ $l -lt 15 ] && { echo "== $name skipped (time)"; return; }
  [ $lim -gt $l ] && lim=$l
  local t0=$(date +%s%N)
  timeout $lim $d/bin/$bin bench "$@" --json $r/$name.json --step-log $r/$name.steps.jsonl > $r/$name.log 2>&1
  local rc=$?
  echo "== $name rc=$rc wall_ms=$(( ($(date +%s%N) - t0) / 1000000 )) $bin"
  grep -E "duration|Total gen|Output token thr|Mean TTFT|Median TTFT|Median ITL|P99 ITL|Peak|bound time|Achieved|Pauses|^\|" $r/$name.log | sed 's/  */ /g'
  grep -iE "error|abort" $r/$name.log | head -3
  pack
}
bench peers_new 60 lightllm "${P[@]}" --num-prompts 1000 --request-rate inf
bench peers_base 60 lightllm_base "${P[@]}" --num-prompts 1000 --request-rate inf
bench static_new 50 lightllm --model llama-2-7b --load-format dummy --device cuda --dtype f16 --batch 1,64 --input-len 128 --output-len 128
bench prefill512_new 40 lightllm --model llama-2-7b --load-format dummy --device cuda --dtype f16 --batch 1 --input-len 512 --output-len 8
l=$(left); echo "== CUDA tests (limit $((l > 70 ? 70 : l)) s)"
timeout $((l > 70 ? 70 : l)) $d/bin/lightllm_tests -tc='*cuda*' -tce='cuda bench*' > $r/cuda_tests.log 2>&1; echo "rc=$?"
grep -E "^\[doctest\]|ERROR|FAIL" $r/cuda_tests.log | head -20; pack
bench peers_int8_new 50 lightllm "${P[@]}" --num-prompts 1000 --request-rate inf --kv-cache-dtype int8
bench peers_pf16k_new 45 lightllm "${P[@]}" --num-prompts 1000 --request-rate inf --max-prefill-tokens 16384
bench poisson32_new 45 lightllm "${P[@]}" --num-prompts 600 --request-rate 32
bench peers_profile_new 45 lightllm "${P[@]}" --num-prompts 1000 --request-rate inf --profile-ops
grep -A30 "op (GPU time)" $r/peers_profile_new.log | head -30
