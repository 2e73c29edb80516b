// Character classes of the split-regex engine (split_regex.h): a union of
// items (code point ranges, general-category sets such as \p{L} or \p{Lu},
// \p{Han}, \s, \d, \w, nested classes), optionally negated, intersected with
// the operands of `&&`. Case-insensitive classes also match a code point
// when any member of its case-folding orbit is in one of the literal ranges. ASCII answers come from
// a 128-bit bitmap built once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lightllm {

struct RegexClassItem {
    enum Kind : uint8_t { Range, Gc, Han, Space, Word, Nested } kind = Range;
    bool negated = false;  // \P{..}, \S, \D, \W
    uint32_t lo = 0, hi = 0;  // Range; Nested: lo indexes RegexClass::nested; Word: lo 1 outside a class
    uint32_t gc_mask = 0;     // Gc: bit i set for UnicodeGc(i)
};

struct RegexClass {
    bool negated = false;
    bool icase = false;
    std::vector<RegexClassItem> items;
    std::vector<RegexClass> nested;     // nested [..] sets
    std::vector<RegexClass> intersect;  // operands after `&&`, each must also match

    // Call once when complete, before matches().
    void finalize();
    bool matches(uint32_t c) const {
        if (c < 128) return (ascii_[c >> 6] >> (c & 63)) & 1;
        return slow_matches(c);
    }

private:
    // The union of the items (only literal ranges when ranges_only), without negation or case folding.
    bool items_match(uint32_t c, bool ranges_only) const;
    bool slow_matches(uint32_t c) const;
    uint64_t ascii_[2] = {0, 0};
};

// \w (and \b): Letter, Mark, Nd, Nl, Pc, as Oniguruma (tokenizers) has it:
// without the joiners U+200C/U+200D; outside a class (\w, \W, \b, \B; not
// [\w]) also the Latin-1 numbers ² ³ ¹ ¼ ½ ¾ (latin1_numbers).
bool regex_is_word(uint32_t c, bool latin1_numbers);

// General-category mask of a \p{...} name (L, Lu, Letter, N, Nd, P, S, Z, C,
// LC, L&, ...); 0 when the name is not a category. Han/Hani and the others
// are handled by the parser.
uint32_t regex_gc_mask(const std::string& name);

}  // namespace lightllm
