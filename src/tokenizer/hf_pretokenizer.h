// Hugging Face tokenizer.json pre-tokenizers for byte-level BPE, as the
// `tokenizers` library runs them: Split (a Regex or String pattern, behavior
// Removed / Isolated / MergedWithPrevious / MergedWithNext / Contiguous, and
// invert), ByteLevel (add_prefix_space per piece, use_regex: GPT-2's pattern;
// it must be the last step since later steps would see its byte alphabet),
// Digits (individual_digits), Metaspace (replacement, prepend_scheme
// always/first/never, split), WhitespaceSplit, Whitespace, Punctuation,
// CharDelimiterSplit and Sequence of those. Each step splits every piece of
// the previous one.
//
// Split semantics (tokenizers' NormalizedString::split): the pattern's
// matches and the gaps between them tile the piece; invert swaps which are
// "matches"; then Isolated keeps every part, Removed drops the matches,
// MergedWithPrevious / MergedWithNext glue each run-starting match to the part
// before / after it, Contiguous glues runs of matches (and of gaps); empty
// parts are dropped.
#pragma once
#include "bpe_pretokenizer.h"
#include "split_regex.h"
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lightllm {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class HfPreTokenizer {
public:
    // `json_text`: the "pre_tokenizer" object of tokenizer.json. Throws Error
    // naming `path` and the component for unknown or malformed components.
    HfPreTokenizer(const std::string& json_text, const std::string& path);

    // Pieces of one normalized text segment; `origin_prefix`: how many of its
    // leading bytes come from offset 0 of the original text (HfNormalizer::
    // apply; 0 for segments after the first): a piece starting within them
    // gets Metaspace's prepend_scheme "first" replacement, as in tokenizers.
    std::vector<std::string> pre_tokenize(std::string_view text, size_t origin_prefix) const;

private:
    struct Step {
        enum Kind { Split, ByteLevel, Metaspace } kind = Split;
        std::shared_ptr<SplitRegex> regex;   // Split: the pattern (a predicate step compiles to a class)
        SplitBehavior behavior = SplitBehavior::Isolated;
        bool invert = false;
        bool onig_empty_rule = true;         // drop an empty match right after a match (Oniguruma's find_iter)
        bool add_prefix_space = false;       // ByteLevel
        bool use_regex = true;               // ByteLevel
        std::string replacement;             // Metaspace
        int prepend = 0;                     // Metaspace: 0 always, 1 first, 2 never
        bool split = true;                   // Metaspace
    };
    void add(const nlohmann::json& j, const std::string& path);
    std::vector<Step> steps_;
};

}  // namespace lightllm
