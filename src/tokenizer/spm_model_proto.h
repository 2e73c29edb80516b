// SentencePiece ModelProto <-> TokenizerVocab, by reading and writing the
// protobuf wire format by hand (no protobuf dependency). Only the fields that
// matter for encoding are handled (sentencepiece_model.proto numbers):
//   ModelProto     1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
//   SentencePiece  1 piece (string), 2 score (float), 3 type (enum, TokenType numbering)
//   TrainerSpec    3 model_type (1 UNIGRAM, 2 BPE), 4 vocab_size, 35 byte_fallback,
//                  40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id
//   NormalizerSpec 1 name, 2 precompiled_charsmap, 3 add_dummy_prefix,
//                  4 remove_extra_whitespaces, 5 escape_whitespaces
// GGUF "llama" vocabularies become a BPE model (merge order from the piece
// scores) with an identity normalizer, as llama.cpp tokenizes them.
#pragma once
#include "tokenizer_vocab.h"
#include <string>
#include <string_view>

namespace lightllm {

// Serialized ModelProto for libsentencepiece's LoadFromSerializedProto.
// Pieces that sentencepiece would reject (empty, duplicate) are renamed to
// unmatchable placeholders of type UNUSED. Throws Error naming vocab.source
// when the vocabulary has no unknown token.
std::string spm_model_proto_from_vocab(const TokenizerVocab& vocab);

// Pieces, scores, types, special ids and normalizer flags of a serialized
// ModelProto (a tokenizer.model file's bytes). Throws Error naming `source`
// for malformed data.
TokenizerVocab vocab_from_spm_model_proto(std::string_view bytes, const std::string& source);

}  // namespace lightllm
