// The architecture factory and shared loader helpers.
#include "model.h"
#include "bloom.h"
#include "llama.h"
#include "communicator.h"
#include "starcoder.h"
#include <vector>

namespace lightllm {

void upload_file_tensor(Backend& backend, Tensor& dst, const TensorInfo& info) {
    LL_CHECK(dst.numel() == info.numel(), "{}: tensor '{}' has {} elements, destination {}", info.file, info.name,
             info.numel(), dst.numel());
    switch (info.dtype) {
        case FileDType::F32: backend.upload(dst, info.data, DType::F32); return;
        case FileDType::F16: backend.upload(dst, info.data, DType::F16); return;
        case FileDType::BF16: backend.upload(dst, info.data, DType::BF16); return;
        default: {
            std::vector<float> tmp(size_t(info.numel()));
            tensor_to_f32(info, tmp.data());
            backend.upload(dst, tmp.data(), DType::F32);
        }
    }
}

void Model::all_reduce(Tensor& t) const {
    if (tp_.comm) tp_.comm->all_reduce_sum(t);
}

std::unique_ptr<Model> load_model(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  int64_t max_context, const TpShard& shard, ProgressReporter* progress) {
    TpShard s = shard;
    if (s.n_head_total == 0) s = plan_tp_shard(cfg, 0, 1);
    const ModelConfig local = local_config(cfg, s);
    std::unique_ptr<TensorSource> sliced = s.active() ? shard_tensor_source(tensors, cfg, s) : nullptr;
    const TensorSource& src = sliced ? *sliced : tensors;
    switch (cfg.arch) {
        case Arch::Llama: return load_llama(local, src, backend, max_context, s, progress);
        case Arch::Bloom: return load_bloom(local, src, backend, s, progress);
        case Arch::StarCoder: return load_starcoder(local, src, backend, max_context, s, progress);
    }
    fail("unknown architecture");
}

std::unique_ptr<Model> make_dummy_model(const ModelConfig& cfg, Backend& backend, uint64_t seed, int64_t max_context,
                                        const TpShard& shard, ProgressReporter* progress) {
    TpShard s = shard;
    if (s.n_head_total == 0) s = plan_tp_shard(cfg, 0, 1);
    const ModelConfig local = local_config(cfg, s);
    const uint64_t rank_seed = seed + uint64_t(s.rank) * 1000003u;
    switch (cfg.arch) {
        case Arch::Llama: return make_dummy_llama(local, backend, rank_seed, max_context, s, progress);
        case Arch::Bloom: return make_dummy_bloom(local, backend, rank_seed, s, progress);
        case Arch::StarCoder: return make_dummy_starcoder(local, backend, rank_seed, max_context, s, progress);
    }
    fail("unknown architecture");
}

}  // namespace lightllm
