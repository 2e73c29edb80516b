// GGUF model files seen as Hugging Face models.
//
// gguf_model_config: GGUF metadata -> ModelConfig. general.architecture
// picks the family (llama, qwen2, baichuan, bloom, starcoder) and the key
// prefix: {arch}.context_length, .embedding_length, .block_count,
// .feed_forward_length, .attention.head_count(_kv), .attention.key_length,
// .rope.freq_base, .rope.dimension_count, .rope.scaling.{type,factor,
// original_context_length}, .attention.layer_norm_(rms_)epsilon. The
// vocabulary size comes from token_embd.weight (else tokenizer.ggml.tokens),
// bos/eos/pad from tokenizer.ggml.*_token_id (the eot/eom ids join eos),
// tied embeddings when output.weight is absent.
//
// GgufHfTensorSource: the tensors under their Hugging Face names, in Hugging
// Face layout. llama.cpp's converter changes three things, undone here:
//  - names: token_embd.weight -> model.embed_tokens.weight,
//    blk.N.attn_q.weight -> model.layers.N.self_attn.q_proj.weight, ...
//  - llama/baichuan q and k rows are permuted from the "rotate halves" order
//    to interleaved pairs, per head: GGUF row h*hd + 2i + s holds HF row
//    h*hd + s*hd/2 + i (s = 0, 1; i < hd/2). Un-permuted here.
//  - BLOOM's fused query_key_value is stored as [q; k; v] instead of HF's
//    per-head [q_h, k_h, v_h]; re-interleaved here. Baichuan's W_pack is
//    split into q/k/v in GGUF and fused back here.
// Rows are moved whole, so quantized tensors keep their block type (a
// permuted copy of the bytes, made on first use); fused tensors whose parts
// have different types are dequantized to F32.
#pragma once
#include "gguf_reader.h"
#include "model_config.h"
#include "tensor_source.h"
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lightllm {

// Throws Error naming the file and the key for a missing key or an unknown
// general.architecture.
ModelConfig gguf_model_config(const GgufFile& file);

class GgufHfTensorSource : public TensorSource {
public:
    // `cfg` from gguf_model_config(*file). Tensors with no HF counterpart
    // keep their GGUF name (e.g. rope_freqs.weight).
    GgufHfTensorSource(std::shared_ptr<const GgufFile> file, const ModelConfig& cfg);

    const TensorInfo* find(const std::string& name) const override;
    std::vector<std::string> names() const override;
    bool built_copy(const std::string& name) const override;
    void release(const std::string& name) const override;
    const GgufFile& file() const { return *file_; }
    // Name, shape and dtype without building a reordered copy (data may be
    // null until find() is called). For summaries.
    const TensorInfo* peek(const std::string& name) const;

private:
    // How an HF tensor is made: one GGUF tensor as is, or rows gathered from
    // one or more GGUF tensors.
    enum class Recipe { Direct, Unpermute, BloomQkv, Concat };
    struct Entry {
        Recipe recipe = Recipe::Direct;
        std::vector<const TensorInfo*> parts;  // GGUF tensors
        std::vector<int> part_heads;           // Unpermute/Concat: heads per part (0: as is)
        TensorInfo info;                       // filled for Direct, or once built
        std::vector<uint8_t> owned;            // bytes of a built tensor
        bool built = false;
    };
    void build(Entry& e) const;

    std::shared_ptr<const GgufFile> file_;
    std::unique_ptr<GgufTensorSource> raw_;
    ModelConfig cfg_;
    mutable std::map<std::string, Entry> entries_;
    mutable std::mutex mutex_;
};

// Opens a GGUF file as config + HF-named tensors.
struct GgufModel {
    std::shared_ptr<const GgufFile> file;
    ModelConfig config;
    std::unique_ptr<GgufHfTensorSource> tensors;
};
GgufModel open_gguf_model(const std::string& path);

}  // namespace lightllm
