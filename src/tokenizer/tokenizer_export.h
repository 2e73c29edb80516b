// Writing a vocabulary (TokenizerVocab, e.g. from GGUF metadata) as the
// Hugging Face tokenizer files, so that a converted model directory is
// complete:
//  - byte-level BPE (VocabKind::Bpe) -> tokenizer.json: model BPE with the
//    vocabulary and merges, added_tokens for Control/UserDefined tokens, the
//    pre-tokenizer of the vocabulary's `pre` (GPT-2 regex; LLaMA-3 / Qwen2
//    Split regexes; digits isolated for StarCoder/SmolLM), ByteLevel decoder.
//  - SentencePiece (VocabKind::Spm) -> tokenizer.model (a serialized
//    sentencepiece ModelProto).
//  - tokenizer_config.json: bos/eos/unk/pad tokens, add_bos_token,
//    add_eos_token, chat_template, the tokenizer class, added_tokens_decoder.
//  - special_tokens_map.json.
#pragma once
#include "tokenizer_vocab.h"
#include <string>
#include <vector>

namespace lightllm {

std::string bpe_tokenizer_json(const TokenizerVocab& v);
std::string tokenizer_config_json(const TokenizerVocab& v);
std::string special_tokens_map_json(const TokenizerVocab& v);

// Writes the files into `dir` (which must exist); returns their names.
// Throws Error naming the vocabulary's source when it cannot be exported.
std::vector<std::string> export_tokenizer(const TokenizerVocab& v, const std::string& dir);

}  // namespace lightllm
