// Pre-tokenization by a sequence of split regexes (split_regex.h), as
// llama.cpp's unicode_regex_split and a tokenizer.json Sequence of
// Split(behavior Isolated) steps do it: each regex splits every piece of the
// previous step; its matches and the text between them all become pieces; an
// empty match (a lookahead such as superbpe's (?=(\d{3})+(?!\d))) splits
// where it matches.
#pragma once
#include "split_regex.h"
#include <string_view>
#include <utility>
#include <vector>

namespace lightllm {

// Code point offsets [begin, end) of the pieces of c[0, n) after all steps.
std::vector<std::pair<size_t, size_t>> regex_split_offsets(const std::vector<SplitRegex>& steps, const uint32_t* c, size_t n);

// The pieces as views into `text`.
std::vector<std::string_view> regex_pre_tokenize(const std::vector<SplitRegex>& steps, std::string_view text);

}  // namespace lightllm
