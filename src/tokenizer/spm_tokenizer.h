// SentencePiece tokenizer through libsentencepiece, built from a
// tokenizer.model file or from a GGUF "llama" vocabulary (turned into a
// ModelProto by spm_model_proto.h).
//
// encode: Control tokens (when parse_special) and tokens beyond the model's
// pieces (added by tokenizer.json / tokenizer_config.json) are split out
// first (UserDefined pieces of the model are matched by sentencepiece
// itself); every other segment is encoded by sentencepiece on its own, so each
// gets the dummy-prefix "▁" (what the Hugging Face LLaMA tokenizers do in
// their default, legacy mode: "<s>[INST]" -> <s> "▁[" "INST" "]").
// decode: own tables: "▁" -> space, <0xNN> byte pieces -> that byte, added
// tokens as their text; one leading space dropped from the first token.
#pragma once
#include "added_tokens.h"
#include "tokenizer.h"
#include "tokenizer_vocab.h"
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lightllm {

class SpmTokenizer : public Tokenizer {
public:
    // `model_proto`: serialized ModelProto whose pieces are vocab's first
    // tokens; vocab may have more (added) tokens after them. Throws Error naming vocab.source when sentencepiece rejects it.
    SpmTokenizer(TokenizerVocab vocab, const std::string& model_proto);
    ~SpmTokenizer() override;
    // From a GGUF-style vocabulary (proto built by spm_model_proto_from_vocab).
    static std::unique_ptr<SpmTokenizer> from_vocab(TokenizerVocab vocab);
    // From a tokenizer.model file.
    static std::unique_ptr<SpmTokenizer> from_model_file(const std::string& path);

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
    bool strip_leading_space() const override { return vocab_.add_space_prefix; }

    const TokenizerVocab& vocab() const { return vocab_; }

private:
    TokenizerVocab vocab_;
    int32_t n_model_pieces_ = 0;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    std::vector<std::string> id_bytes_;
    std::unordered_map<std::string, int32_t> token_to_id_;
    AddedTokenMatcher added_;
};

}  // namespace lightllm
