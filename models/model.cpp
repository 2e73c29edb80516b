// The architecture factory and shared loader helpers.
#include "model.h"
#include "bloom.h"
#include "llama.h"
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

std::unique_ptr<Model> load_model(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  int64_t max_context) {
    switch (cfg.arch) {
        case Arch::Llama: return load_llama(cfg, tensors, backend, max_context);
        case Arch::Bloom: return load_bloom(cfg, tensors, backend);
        case Arch::StarCoder: return load_starcoder(cfg, tensors, backend, max_context);
    }
    fail("unknown architecture");
}

std::unique_ptr<Model> make_dummy_model(const ModelConfig& cfg, Backend& backend, uint64_t seed, int64_t max_context) {
    switch (cfg.arch) {
        case Arch::Llama: return make_dummy_llama(cfg, backend, seed, max_context);
        case Arch::Bloom: return make_dummy_bloom(cfg, backend, seed);
        case Arch::StarCoder: return make_dummy_starcoder(cfg, backend, seed, max_context);
    }
    fail("unknown architecture");
}

}  // namespace lightllm
