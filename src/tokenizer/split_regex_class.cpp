#include "split_regex_class.h"
#include "unicode.h"

namespace lightllm {

namespace {

constexpr uint32_t bit(UnicodeGc g) { return 1u << uint32_t(g); }
constexpr uint32_t kLetter = bit(UnicodeGc::Lu) | bit(UnicodeGc::Ll) | bit(UnicodeGc::Lt) | bit(UnicodeGc::Lm) | bit(UnicodeGc::Lo);
constexpr uint32_t kMark = bit(UnicodeGc::Mn) | bit(UnicodeGc::Mc) | bit(UnicodeGc::Me);
constexpr uint32_t kNumber = bit(UnicodeGc::Nd) | bit(UnicodeGc::Nl) | bit(UnicodeGc::No);
constexpr uint32_t kPunct = bit(UnicodeGc::Pc) | bit(UnicodeGc::Pd) | bit(UnicodeGc::Ps) | bit(UnicodeGc::Pe) |
                            bit(UnicodeGc::Pi) | bit(UnicodeGc::Pf) | bit(UnicodeGc::Po);
constexpr uint32_t kSymbol = bit(UnicodeGc::Sm) | bit(UnicodeGc::Sc) | bit(UnicodeGc::Sk) | bit(UnicodeGc::So);
constexpr uint32_t kSeparator = bit(UnicodeGc::Zs) | bit(UnicodeGc::Zl) | bit(UnicodeGc::Zp);
constexpr uint32_t kOther = bit(UnicodeGc::Cc) | bit(UnicodeGc::Cf) | bit(UnicodeGc::Cs) | bit(UnicodeGc::Co) | bit(UnicodeGc::Cn);

}  // namespace

bool regex_is_word(uint32_t c, bool latin1_numbers) {
    constexpr uint32_t word = kLetter | kMark | bit(UnicodeGc::Nd) | bit(UnicodeGc::Nl) | bit(UnicodeGc::Pc);
    return (word >> uint32_t(unicode_gc(c))) & 1 || (latin1_numbers && (c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE)));
}

uint32_t regex_gc_mask(const std::string& name) {
    static const char* const kTwo[] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
                                       "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};
    for (uint32_t i = 0; i < 30; ++i)
        if (name == kTwo[i]) return 1u << i;
    struct Named {
        const char* name;
        uint32_t mask;
    };
    static const Named kNamed[] = {
        {"L", kLetter},  {"Letter", kLetter},  {"M", kMark},       {"Mark", kMark},     {"N", kNumber},
        {"Number", kNumber}, {"P", kPunct},   {"Punctuation", kPunct}, {"S", kSymbol}, {"Symbol", kSymbol},
        {"Z", kSeparator}, {"Separator", kSeparator}, {"C", kOther}, {"Other", kOther},
        {"LC", bit(UnicodeGc::Lu) | bit(UnicodeGc::Ll) | bit(UnicodeGc::Lt)},
        {"L&", bit(UnicodeGc::Lu) | bit(UnicodeGc::Ll) | bit(UnicodeGc::Lt)},
        {"Lowercase_Letter", bit(UnicodeGc::Ll)}, {"Uppercase_Letter", bit(UnicodeGc::Lu)},
        {"Titlecase_Letter", bit(UnicodeGc::Lt)}, {"Modifier_Letter", bit(UnicodeGc::Lm)},
        {"Other_Letter", bit(UnicodeGc::Lo)},     {"Decimal_Number", bit(UnicodeGc::Nd)}};
    for (const Named& n : kNamed)
        if (name == n.name) return n.mask;
    return 0;
}

void RegexClass::finalize() {
    for (RegexClass& n : nested) n.finalize();
    for (RegexClass& n : intersect) n.finalize();
    ascii_[0] = ascii_[1] = 0;
    for (uint32_t c = 0; c < 128; ++c)
        if (slow_matches(c)) ascii_[c >> 6] |= uint64_t(1) << (c & 63);
}

bool RegexClass::items_match(uint32_t c, bool ranges_only) const {
    for (const RegexClassItem& it : items) {
        if (ranges_only && it.kind != RegexClassItem::Range && it.kind != RegexClassItem::Nested) continue;
        bool m = false;
        switch (it.kind) {
            case RegexClassItem::Range: m = c >= it.lo && c <= it.hi; break;
            case RegexClassItem::Gc: m = (it.gc_mask >> uint32_t(unicode_gc(c))) & 1; break;
            case RegexClassItem::Han: m = unicode_is_han(c); break;
            case RegexClassItem::Space: m = unicode_is_whitespace(c); break;
            case RegexClassItem::Word: m = regex_is_word(c, it.lo == 1); break;
            case RegexClassItem::Nested: m = ranges_only ? nested[it.lo].items_match(c, true) : nested[it.lo].matches(c); break;
        }
        if (m != it.negated) return true;
    }
    return false;
}

// Case-insensitive classes fold only their literal characters and ranges:
// Oniguruma (tokenizers) does not fold \p{Lu}, \p{Ll} and the other properties.
bool RegexClass::slow_matches(uint32_t c) const {
    bool in = items_match(c, false);
    if (!in && icase)
        for (uint32_t f = unicode_fold_next(c), k = 0; f != c && !in && k < 8; f = unicode_fold_next(f), ++k) in = items_match(f, true);
    if (in == negated) return false;
    for (const RegexClass& other : intersect)
        if (!other.matches(c)) return false;
    return true;
}

}  // namespace lightllm
