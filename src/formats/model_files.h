// One entry point for model files: given a path, open its config and its
// tensors, whatever the format.
//
//   ModelFiles mf = open_model_files("/models/Llama-2-7b-hf");   // HF dir
//   ModelFiles mf = open_model_files("smollm2.Q4_1.gguf");       // GGUF
//   const TensorInfo& w = mf.tensors->require("model.layers.0.self_attn.q_proj.weight",
//                                             {mf.config.n_head * mf.config.head_dim, mf.config.n_embd});
//
// Tensor names are always Hugging Face names in Hugging Face layout: for a
// GGUF file, the tensors are renamed (token_embd.weight ->
// model.embed_tokens.weight, blk.N.attn_q.weight ->
// model.layers.N.self_attn.q_proj.weight, ...) and q/k are un-permuted
// (see gguf_model.h), so a model file in models/ sees one layout.
// Quantized GGUF tensors keep their FileDType (Q4_1, ...); tensor_to_f32
// dequantizes them.
#pragma once
#include "model_config.h"
#include "tensor_source.h"
#include <memory>
#include <string>

namespace lightllm {

struct ModelFiles {
    std::string path;                      // as given
    ModelConfig config;                    // finalized (finalize_model_config)
    std::unique_ptr<TensorSource> tensors; // HF names, HF layout
    bool is_gguf = false;
};

// `path`: a Hugging Face directory (config.json + *.safetensors, sharded or
// not) or a GGUF file (recognized by its magic, not its extension). Throws
// Error naming the file and the problem: no such path, no config.json, an
// unknown architecture (names the value), a missing field, a corrupt file.
ModelFiles open_model_files(const std::string& path);

// Whether `path` is a file that starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

}  // namespace lightllm
