// Byte-level BPE tokenizer (GPT-2, LLaMA-3, Qwen2, StarCoder/SmolLM,
// deepseek-coder style), built from a TokenizerVocab of kind Bpe.
//
// encode: the text is first split at added tokens (Control tokens only when
// parse_special; UserDefined always; longest match first), the rest is cut by
// the pre-tokenizer (bpe_pretokenizer.h) into pieces; each piece's bytes are
// mapped to GPT-2's byte alphabet, start as one symbol per byte and are merged
// pairwise, always the pair of lowest merge rank first (priority queue over
// adjacent pairs, O(n log n) per piece).
// decode: normal tokens map back through the byte alphabet, added tokens are
// raw text; invalid UTF-8 becomes U+FFFD.
#pragma once
#include "tokenizer.h"
#include "tokenizer_vocab.h"
#include "added_tokens.h"
#include "bpe_pretokenizer.h"
#include "hf_normalizer.h"
#include "hf_pretokenizer.h"
#include "split_regex.h"
#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lightllm {

// GPT-2's reversible byte <-> printable code point map: bytes that are
// printable Latin-1 (! .. ~, ¡ .. ¬, ® .. ÿ) map to themselves, the other 68
// bytes to U+0100.. in byte order.
std::array<uint32_t, 256> byte_to_unicode();

class BpeTokenizer : public Tokenizer {
public:
    // Throws Error naming vocab.source for an inconsistent vocabulary.
    explicit BpeTokenizer(TokenizerVocab vocab);

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const override;
    std::string token_bytes(int32_t id) const override;
    std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
    int32_t n_vocab() const override { return vocab_.n_vocab(); }
    int32_t bos_id() const override { return vocab_.bos_id; }
    std::vector<int32_t> eos_ids() const override;
    bool add_bos() const override { return vocab_.add_bos; }
    bool is_special(int32_t id) const override;
    int32_t token_id(std::string_view piece) const override;
    const std::string& chat_template() const override { return vocab_.chat_template; }
    const std::vector<std::pair<std::string, std::string>>& named_chat_templates() const override {
        return vocab_.named_chat_templates;
    }

    const TokenizerVocab& vocab() const { return vocab_; }

private:
    void init_merges();
    void init_spm_style();  // TokenizerVocab::byte_level false
    void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;
    void encode_spm_style_piece(std::string_view piece, std::vector<int32_t>& out) const;
    // BPE merges (lowest rank first, leftmost on ties) over the symbols `ids`, appended to out.
    void merge(const std::vector<int32_t>& ids, std::vector<int32_t>& out) const;

    TokenizerVocab vocab_;
    BpePreKind pre_;
    std::vector<SplitRegex> pre_regexes_;                    // compiled steps of a regex kind (bpe_pre_kind_is_regex)
    std::shared_ptr<HfNormalizer> hf_normalizer_;            // vocab.hf_normalizer, when set
    std::shared_ptr<HfPreTokenizer> hf_pre_;                 // vocab.hf_pre_tokenizer, when set
    std::unordered_map<std::string, int32_t> token_to_id_;
    std::array<uint32_t, 256> b2u_{};                        // byte_to_unicode()
    std::array<int32_t, 256> byte_token_{};                 // token of each single byte (-1 when absent)
    struct Merge {
        int32_t rank;
        int32_t merged;
    };
    std::unordered_map<uint64_t, Merge> merges_;             // (left id << 32 | right id) -> rank, result
    std::vector<std::string> id_bytes_;                      // decoded bytes of each token
    AddedTokenMatcher added_;
};

}  // namespace lightllm
