// TokenizerVocab: everything a tokenizer is built from, as read from a GGUF
// file's tokenizer.* metadata or a Hugging Face tokenizer.json (+
// tokenizer_config.json). Plain data: `convert` exports tokenizer.json /
// tokenizer.model from it, the tokenizers are constructed from it.
//
// Token strings are stored as the vocabulary stores them:
//  - Bpe (byte-level BPE, GGUF tokenizer.ggml.model "gpt2"): normal tokens are
//    spelled in GPT-2's byte-to-unicode alphabet (byte 0x20 -> "Ġ", 0x0A -> "Ċ",
//    printable ASCII as itself; see byte_to_unicode in bpe_tokenizer.h);
//    Control / UserDefined (added) tokens are raw text ("<|im_start|>").
//    SentencePiece-style BPE (GGUF "gemma4", byte_level false): raw UTF-8
//    with "▁" for spaces and "<0x0A>" Byte tokens.
//  - Spm (SentencePiece, GGUF "llama"): pieces with U+2581 "▁" for spaces,
//    byte pieces "<0x0A>" of type Byte, scores used by the BPE merge order.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lightllm {

enum class VocabKind { Bpe, Spm };

// Token types, numbered as in GGUF tokenizer.ggml.token_type and
// SentencePiece's ModelProto.SentencePiece.Type (0 = undefined in GGUF).
enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// Per added token (tokenizer.json added_tokens): whitespace on the left/right
// of the token in the text is absorbed into it when matching.
struct AddedTokenFlags {
    bool lstrip = false;
    bool rstrip = false;
};

struct TokenizerVocab {
    VocabKind kind = VocabKind::Bpe;
    std::string source;                       // file the vocabulary came from (for error messages)

    std::vector<std::string> tokens;          // id -> token string (see above); size = n_vocab
    std::vector<TokenType> types;             // id -> type; same size as tokens
    std::vector<float> scores;                // Spm: id -> piece score (empty for Bpe)
    std::vector<AddedTokenFlags> added_flags; // empty, or id -> flags (only meaningful for Control/UserDefined)

    // Bpe: merges by rank (rank 0 first), as pairs of token strings.
    std::vector<std::pair<std::string, std::string>> merges;
    // Bpe: pre-tokenizer, a GGUF tokenizer.ggml.pre name ("gpt-2", "llama-bpe",
    // "qwen2", "starcoder", "smollm", "deepseek-coder", ...; see bpe_pretokenizer.h).
    std::string pre = "gpt-2";
    bool ignore_merges = false;               // Bpe: a whole pre-token found in the vocabulary is used as is (LLaMA-3)
    // Bpe: tokens in GPT-2's byte alphabet (true), or SentencePiece-style
    // (llama.cpp's gemma4, sarvam-moe): raw UTF-8 with "▁" for spaces, spaces
    // of the text replaced by "▁", <0xXX> Byte tokens for characters outside
    // the vocabulary.
    bool byte_level = true;
    bool add_prefix_space = false;            // Bpe: ByteLevel add_prefix_space (a space prepended to the text)
    bool nfc = false;                         // Bpe: NFC-normalize text before pre-tokenizing (Qwen2's normalizer)
    // Bpe from a tokenizer.json whose normalizer / pre_tokenizer is not one of
    // the built-in forms above: that component's JSON, run by hf_normalizer.h /
    // hf_pretokenizer.h (empty otherwise; a non-empty hf_pre_tokenizer replaces
    // `pre` and `add_prefix_space`, a non-empty hf_normalizer replaces `nfc`).
    std::string hf_normalizer, hf_pre_tokenizer;

    // Spm: normalizer settings (SentencePiece NormalizerSpec).
    bool add_space_prefix = true;             // add_dummy_prefix: "▁" prepended to each text segment
    bool remove_extra_whitespaces = false;
    bool byte_fallback = true;

    int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1 when absent
    std::vector<int32_t> extra_eos_ids;       // further end-of-generation tokens (GGUF eot/eom, generation_config eos list)
    bool add_bos = false;                     // prepend BOS when encoding a prompt
    bool add_eos = false;                     // append EOS (rare; not applied by encode())
    std::string chat_template;                // Jinja source, may be empty
    // Named templates besides the default (tokenizer_config.json's list form,
    // GGUF tokenizer.chat_template.<name>), e.g. {"tool_use", source}.
    std::vector<std::pair<std::string, std::string>> named_chat_templates;

    int32_t n_vocab() const { return int32_t(tokens.size()); }
};

class GgufFile;

// From GGUF tokenizer.* metadata (tokenizer.ggml.model "gpt2" -> Bpe,
// "llama" -> Spm). Throws Error naming the file for other models or missing
// or inconsistent fields. (tokenizer_vocab_gguf.cpp)
TokenizerVocab vocab_from_gguf(const GgufFile& f);

// The tokenizer files of a Hugging Face model directory; empty when absent.
struct HfTokenizerFiles {
    std::string dir;
    std::string tokenizer_json, tokenizer_model, tokenizer_config, config, generation_config;
};
HfTokenizerFiles find_hf_tokenizer_files(const std::string& dir);

// Whether a tokenizer.json is a byte-level BPE (GPT-2 family); false for
// SentencePiece-style ones (Metaspace / byte_fallback), which need tokenizer.model.
bool hf_json_is_byte_level(const std::string& tokenizer_json);

// Byte-level BPE vocabulary from tokenizer.json alone: vocab, merges,
// added_tokens (special -> Control, else UserDefined, with lstrip/rstrip),
// pre_tokenizer mapped to a known kind, BOS from a TemplateProcessing
// post-processor. Throws Error naming the file for malformed JSON, other
// models or an unknown pre-tokenizer. (tokenizer_vocab_hf.cpp)
TokenizerVocab vocab_from_hf_tokenizer_json(const std::string& path);

// tokenizer_config.json (add_bos_token, add_eos_token, bos/eos_token,
// chat_template, added_tokens_decoder), generation_config.json and
// config.json (bos/eos ids) applied to a vocabulary.
void apply_hf_config(TokenizerVocab& v, const HfTokenizerFiles& files);

// vocab_from_hf_tokenizer_json + apply_hf_config.
TokenizerVocab vocab_from_hf_dir(const HfTokenizerFiles& files);

// The vocabulary load_tokenizer(path) builds its tokenizer from (same path
// rules: GGUF file, HF directory, bare tokenizer.json / .model). When it comes
// from a SentencePiece tokenizer.model, *spm_model_proto receives the file's
// bytes (the exact model; otherwise it is left unchanged). (tokenizer.cpp)
TokenizerVocab load_tokenizer_vocab(const std::string& path, std::string* spm_model_proto = nullptr);

}  // namespace lightllm
