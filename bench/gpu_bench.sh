#!/usr/bin/env bash
# The end-to-end GPU benchmarks of bench/RESULTS.md, through `lightllm bench`
# (the same pipeline and router as generate and serve), from a `make dist`
# folder. Each run's --json report lands in $OUT, named after the case.
# Usage on the GPU machine, from the repository root:
#   bench/gpu_bench.sh [DIST_DIR] [CASE...]
#   cases: static prefill sharegpt int8 int8static (default: all), peers
#   peers_poisson peers_int8 (the peers' ShareGPT workload), peers_nocache
#   (the same without the prefix cache), sampling (Llama-3-8B batch 1 and 64,
#   greedy against temperature 0.8 with top-p 0.9, top-k 50, repetition
#   penalty 1.1), prefix (shared-prefix and multi-turn workloads with and
#   without the prefix cache), and
#   profile (the static and ShareGPT runs again with --profile-ops: GPU time
#   per op kind, decode without CUDA graphs; the table is in the log).
# Every run also writes its per-step log (--step-log) next to its JSON.
# Needs bench/data/sharegpt_sample.jsonl (python3 bench/make_sharegpt_sample.py).
# The peers' workload (cases peers, peers_poisson, peers_int8: issue 14) needs
# `make sharegpt` (bench/prepare_sharegpt.sh); SHAREGPT and LLAMA3_TOKENIZER
# point elsewhere when the files were copied to the GPU machine.
set -uo pipefail
dist=$(cd "${1:-dist}" && pwd)
shift || true
cases=${*:-static prefill sharegpt int8 int8static}
out=${OUT:-/tmp/lightllm_gpu_bench}
mkdir -p "$out"
export LD_LIBRARY_PATH="$dist/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export NCCL_NVLS_ENABLE=0
ll="$dist/bin/lightllm"
sharegpt=${SHAREGPT:-$HOME/.cache/lightllm/sharegpt/ShareGPT_V3_unfiltered_cleaned_split.json}
llama3_tok=${LLAMA3_TOKENIZER:-$HOME/.cache/lightllm/llama3-tokenizer}
peers=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --tokenizer "$llama3_tok"
       --dataset-name sharegpt --dataset-path "$sharegpt" --seed 0 --ignore-eos)
run() {  # run NAME ARGS...: one bench, its table on the console, JSON + log in $out
    local name=$1
    shift
    echo "== $name: lightllm bench $*"
    timeout 300 "$ll" bench "$@" --json "$out/$name.json" --step-log "$out/$name.steps.jsonl" > "$out/$name.log" 2>&1
    local rc=$?
    grep -v '^\s*$' "$out/$name.log" | tail -n 45
    [ $rc -eq 0 ] || echo "!! $name failed with exit code $rc"
}
for c in $cases; do
    case $c in
    static)
        run llama2_7b_f16_static --model llama-2-7b --load-format dummy --device cuda --dtype f16 \
            --batch 1,64 --input-len 128 --output-len 128 ;;
    prefill)
        run llama2_7b_f16_prefill512 --model llama-2-7b --load-format dummy --device cuda --dtype f16 \
            --batch 1 --input-len 512 --output-len 8 ;;
    sharegpt)
        # 256 running requests (our default) and 1024 (about LightLLM's default of 1000).
        for mr in 256 1024; do
            run llama3_8b_bf16_sharegpt1000_mr$mr --model llama-3-8b --load-format dummy --device cuda --dtype bf16 \
                --dataset-name jsonl --dataset-path bench/data/sharegpt_sample.jsonl --num-prompts 1000 \
                --seed 0 --ignore-eos --request-rate inf --max-running-requests $mr
        done ;;
    sharegpt1024)
        run llama3_8b_bf16_sharegpt1000_mr1024 --model llama-3-8b --load-format dummy --device cuda --dtype bf16 \
            --dataset-name jsonl --dataset-path bench/data/sharegpt_sample.jsonl --num-prompts 1000 \
            --seed 0 --ignore-eos --request-rate inf --max-running-requests 1024 ;;
    profile)
        run profile_llama2_7b_f16_static --model llama-2-7b --load-format dummy --device cuda --dtype f16 \
            --batch 1,64 --input-len 128 --output-len 128 --profile-ops
        run profile_llama3_8b_bf16_sharegpt1000_mr1024 --model llama-3-8b --load-format dummy --device cuda \
            --dtype bf16 --dataset-name jsonl --dataset-path bench/data/sharegpt_sample.jsonl --num-prompts 1000 \
            --seed 0 --ignore-eos --request-rate inf --max-running-requests 1024 --profile-ops ;;
    int8)
        for kv in f16 int8; do
            run llama2_7b_kv_${kv}_random512 --model llama-2-7b --load-format dummy --device cuda --dtype f16 \
                --kv-cache-dtype $kv --mem-fraction 0.9 --num-prompts 512 --input-len 512 --output-len 512 \
                --ignore-eos --seed 0
        done ;;
    int8static)
        # The highest concurrency the f16 cache holds (112 x 1024 tokens of its ~119.6k),
        # decode speed of int8 against f16 at that same batch.
        for kv in f16 int8; do
            run llama2_7b_kv_${kv}_static112 --model llama-2-7b --load-format dummy --device cuda --dtype f16 \
                --kv-cache-dtype $kv --batch 112 --input-len 512 --output-len 512
        done ;;
    peers)
        # 1000 prompts at once (231196 input / 188987 output tokens), FIFO and longest-first admission.
        for order in fifo longest-first; do
            run llama3_8b_bf16_peers1000_$order "${peers[@]}" --num-prompts 1000 --request-rate inf \
                --admission-order $order
        done ;;
    peers_nocache)
        run llama3_8b_bf16_peers1000_nocache "${peers[@]}" --num-prompts 1000 --request-rate inf --no-prefix-cache ;;
    sampling)
        l3=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --batch 1,64 --input-len 128
            --output-len 256 --ignore-eos --seed 0)
        run llama3_8b_bf16_static_greedy "${l3[@]}"
        run llama3_8b_bf16_static_t08_topp09 "${l3[@]}" --temperature 0.8 --top-p 0.9
        run llama3_8b_bf16_static_t08_topk50 "${l3[@]}" --temperature 0.8 --top-k 50
        run llama3_8b_bf16_static_t08_topp09_rep11 "${l3[@]}" --temperature 0.8 --top-p 0.9 --repetition-penalty 1.1 ;;
    prefix)
        sp=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --ignore-eos --seed 0
            --dataset-name shared-prefix --prefix-len 2048 --groups 64 --prompts-per-group 16 --question-len 128
            --output-len 256)
        run llama3_8b_bf16_shared_prefix_cache "${sp[@]}"
        run llama3_8b_bf16_shared_prefix_nocache "${sp[@]}" --no-prefix-cache
        run llama3_8b_bf16_shared_prefix_rate16_cache "${sp[@]}" --request-rate 16
        mt=(--model llama-3-8b --load-format dummy --device cuda --dtype bf16 --ignore-eos --seed 0
            --tokenizer "$llama3_tok" --dataset-name multi-turn --dataset-path "$sharegpt" --num-prompts 200
            --max-conversation-len 4096)
        run llama3_8b_bf16_multiturn200_cache "${mt[@]}"
        run llama3_8b_bf16_multiturn200_nocache "${mt[@]}" --no-prefix-cache ;;
    peers_poisson)
        run llama3_8b_bf16_peers600_rate32 "${peers[@]}" --num-prompts 600 --request-rate 32 ;;
    peers_int8)
        run llama3_8b_bf16_kv_int8_peers1000 "${peers[@]}" --num-prompts 1000 --request-rate inf --kv-cache-dtype int8 ;;
    esac
done
