// AddedTokenMatcher: finds added tokens (special/control and user-defined
// tokens such as "<|im_start|>") in text before the model's own algorithm
// runs, as Hugging Face tokenizers and llama.cpp do. At each position the
// longest matching token wins. Control (special) tokens are only matched when
// parse_special is true; user-defined ones always. lstrip/rstrip tokens absorb
// the whitespace next to them.
#pragma once
#include "tokenizer_vocab.h"
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lightllm {

class AddedTokenMatcher {
public:
    void add(const std::string& text, int32_t id, bool special, AddedTokenFlags flags);
    // Adds every Control / UserDefined token of the vocabulary.
    void add_from_vocab(const TokenizerVocab& vocab);

    // A segment of the text: plain text [begin, end) with id == -1, or one added token.
    struct Segment {
        size_t begin, end;
        int32_t id;
    };
    std::vector<Segment> split(std::string_view text, bool parse_special) const;

private:
    struct Entry {
        std::string text;
        int32_t id;
        bool special;
        AddedTokenFlags flags;
    };
    std::unordered_map<unsigned char, std::vector<Entry>> by_first_byte_;  // each list longest first
};

}  // namespace lightllm
