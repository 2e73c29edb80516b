// EngineOptions: how the engine is built (model, device, dtypes, KV capacity,
// batch limits, CUDA speed-ups). The CLI parses its flags into these typed
// fields once (parse_* below name the flag in their errors); nothing reads
// the environment later.
#pragma once
#include "backend.h"
#include "cascade_plan.h"
#include <cstdint>
#include <memory>
#include <string>

namespace lightllm {

class TpGroup;

enum class DeviceChoice : uint8_t { Auto, Cpu, Cuda };
enum class DTypeChoice : uint8_t { Auto, F16, BF16, F32, I8 };  // I8: KV cache only

struct EngineOptions {
    std::string model_path;           // HF directory, .gguf file, or a preset name with load_dummy
    DeviceChoice device = DeviceChoice::Auto;
    bool load_dummy = false;          // --load-format dummy: random weights from a preset
    DTypeChoice dtype = DTypeChoice::Auto;           // CUDA compute dtype (auto: the model's f16, else bf16)
    DTypeChoice kv_cache_dtype = DTypeChoice::Auto;  // auto: the compute dtype
    int64_t max_total_tokens = 0;     // KV capacity in tokens; 0: from --mem-fraction
    float mem_fraction = 0.9f;        // of free memory after weights and workspace
    int max_running_requests = 1024;  // as LightLLM's running_max_req_size (1000)
    int max_prefill_tokens = 8192;    // packed new tokens per step (chunked prefill size)
    int max_context = 0;              // 0: the model's max_position
    uint64_t dummy_seed = 0;
    bool profile_ops = false;         // time every op on the GPU, table to stderr at exit (no CUDA graphs)
    CudaOptions cuda;                 // CUDA graphs, GEMM tuning, PDL (backend.h)
    // Cascade attention (--no-cascade-attention turns it off): decode requests
    // sharing a long prefix of KV slots read it once per step (cascade_plan.h).
    // Not for sliding-window or ALiBi models. `cascade_rules` is for tests.
    bool cascade_attention = true;
    CascadeRules cascade_rules;
    // Tensor parallelism (tp_launch.h): this process's group; null: the whole
    // model here. Rank 0 sends each step's plan to the other ranks, which run
    // the same forward on their shard (ModelRunner::run_tp_worker_steps).
    std::shared_ptr<TpGroup> tp;
};

// "auto" | "cpu" | "cuda"; an error naming --device otherwise.
DeviceChoice parse_device(const std::string& s);
// "auto" | "f16" | "bf16" | "f32"; an error naming --dtype otherwise.
DTypeChoice parse_compute_dtype(const std::string& s);
// "auto" | "f16" | "bf16" | "f32" | "int8"; an error naming --kv-cache-dtype otherwise.
DTypeChoice parse_kv_cache_dtype(const std::string& s);
const char* device_choice_name(DeviceChoice d);
const char* dtype_choice_name(DTypeChoice d);

}  // namespace lightllm
