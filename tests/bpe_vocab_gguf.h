// A byte-level BPE vocabulary written as a vocabulary-only GGUF (model gpt2,
// the given tokenizer.ggml.pre), as llama.cpp's convert script writes one.
#pragma once
#include "gguf_builder.h"
#include "tokenizer_vocab.h"
#include <string>
#include <vector>

inline std::string write_bpe_vocab_gguf(const lightllm::TokenizerVocab& v, const std::string& pre, const std::string& path) {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.str("tokenizer.ggml.model", "gpt2");
    b.str("tokenizer.ggml.pre", pre);
    b.str_array("tokenizer.ggml.tokens", v.tokens);
    std::vector<int32_t> types;
    for (lightllm::TokenType t : v.types) types.push_back(int32_t(t));
    b.i32_array("tokenizer.ggml.token_type", types);
    std::vector<std::string> merges;
    for (const auto& [l, r] : v.merges) merges.push_back(l + " " + r);
    b.str_array("tokenizer.ggml.merges", merges);
    if (v.bos_id >= 0) b.u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_id));
    b.boolean("tokenizer.ggml.add_bos_token", v.add_bos);
    return b.write(path);
}
