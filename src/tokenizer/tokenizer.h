// Tokenizer: text <-> token ids. Implementations: SentencePiece models
// through libsentencepiece (spm_tokenizer.cpp) and Hugging Face byte-level
// BPE (bpe_tokenizer.cpp). load_tokenizer() builds the right one from a Hugging
// Face directory (tokenizer.json or tokenizer.model) or a GGUF file's
// tokenizer metadata.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lightllm {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Special tokens written in the text (e.g. "<|im_start|>") become their
    // ids when parse_special is true. add_bos prepends BOS when the model
    // uses one (add_bos_token).
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const = 0;
    // Raw bytes of one token (byte-level/byte-fallback decoded; may be part of
    // a UTF-8 character).
    virtual std::string token_bytes(int32_t id) const = 0;
    // Full text of ids; SentencePiece's leading-space rule applied once.
    virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const = 0;
    // Whether decode() drops one leading space from the first (non-skipped)
    // token: SentencePiece's dummy prefix.
    virtual bool strip_leading_space() const { return false; }

    virtual int32_t n_vocab() const = 0;
    virtual int32_t bos_id() const = 0;   // -1 when none
    virtual std::vector<int32_t> eos_ids() const = 0;
    virtual bool add_bos() const = 0;     // whether the model wants BOS at the start
    virtual bool is_special(int32_t id) const = 0;
    virtual int32_t token_id(std::string_view piece) const = 0;  // -1 when absent
    // Jinja chat template from tokenizer_config.json / GGUF (may be empty).
    virtual const std::string& chat_template() const = 0;
    // Further named templates ({"tool_use", source}, ...); none by default.
    virtual const std::vector<std::pair<std::string, std::string>>& named_chat_templates() const {
        static const std::vector<std::pair<std::string, std::string>> none;
        return none;
    }
};

// `path`: a Hugging Face model directory, a .gguf file, or a bare
// tokenizer.json / SentencePiece .model file. Throws Error naming the file
// when the tokenizer cannot be built.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// Streaming-safe incremental detokenization: push ids one at a time, get back
// only the new complete UTF-8 text (never half a character), with the same
// result as decode() of the whole sequence.
class IncrementalDetokenizer {
public:
    IncrementalDetokenizer(const Tokenizer& tok, bool skip_special, std::vector<int32_t> prompt_ids = {});
    std::string push(int32_t id);
    // Anything still held back at the end (an incomplete UTF-8 tail, emitted as U+FFFD).
    std::string flush();

private:
    const Tokenizer& tok_;
    bool skip_special_;
    bool at_start_ = true;  // no non-skipped token seen yet (prompt included)
    std::string held_;      // bytes of an incomplete UTF-8 character, not yet emitted
};

}  // namespace lightllm
