// Hugging Face tokenizer.json normalizers, applied to each text segment
// between added tokens before pre-tokenization, as the `tokenizers` library
// applies them: NFC, NFKC, Lowercase, Replace (a literal String or a Regex
// pattern, every match replaced), Prepend (only to non-empty text), Strip
// (White_Space on the left and/or right) and Sequence of those.
#pragma once
#include "split_regex.h"
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lightllm {

class HfNormalizer {
public:
    // `json_text`: the "normalizer" object of tokenizer.json (null: nothing to
    // do). Throws Error naming `path` and the component for anything else.
    HfNormalizer(const std::string& json_text, const std::string& path);

    // The normalized text. *origin_prefix (in and out): how many leading
    // bytes of the text come from the first code point of the original text
    // (tokenizers' offsets_original() == 0; Metaspace prepend_scheme "first"
    // depends on it): Prepend adds its bytes, normalizing forms and Strip
    // change it as they change that prefix.
    std::string apply(std::string_view text, size_t* origin_prefix) const;
    bool empty() const { return steps_.empty(); }

private:
    struct Step {
        enum Kind { Nfc, Nfkc, Lowercase, Replace, Prepend, Strip } kind;
        std::string content;                 // Replace: replacement; Prepend: the prefix
        std::shared_ptr<SplitRegex> pattern; // Replace
        bool left = false, right = false;    // Strip
    };
    void add(const nlohmann::json& j, const std::string& path);
    std::vector<Step> steps_;
};

// A split regex matching the literal string `s` (tokenizer.json's {"String": s} patterns).
std::string regex_escape_literal(std::string_view s);

}  // namespace lightllm
