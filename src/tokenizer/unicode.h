// UTF-8 and Unicode helpers for the tokenizers: decoding one code point,
// encoding, the general category (two-letter, major, letter kind: one table,
// unicode_properties.h, generated from Python's unicodedata), White_Space, and lossy UTF-8
// conversion that replaces each maximal invalid subsequence by U+FFFD (the
// rule Python's errors="replace" and Rust's from_utf8_lossy follow).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lightllm {

enum class UnicodeCategory : uint8_t { Letter, Mark, Number, Punctuation, Symbol, Separator, Other };

UnicodeCategory unicode_category(uint32_t cp);
// Letter subcategory (\p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo}); None for non-letters.
enum class UnicodeLetterKind : uint8_t { None, Upper, Lower, Title, Modifier, Other };
UnicodeLetterKind unicode_letter_kind(uint32_t cp);
bool unicode_is_whitespace(uint32_t cp);  // regex \s: the White_Space property

// Two-letter general category (unicode_properties.cpp; tables in
// unicode_properties.h, generated from Python's unicodedata and `regex`).
enum class UnicodeGc : uint8_t { Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf, Po,
                                 Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co, Cn };
UnicodeGc unicode_gc(uint32_t cp);
bool unicode_is_han(uint32_t cp);  // \p{Han}
// The next code point of cp's simple case-folding orbit (s -> S -> U+017F ſ ->
// s), or cp itself when it has no case variants.
uint32_t unicode_fold_next(uint32_t cp);
// Full lowercase mapping (Python str.lower, Rust to_lowercase), UTF-8 in and out.
std::string unicode_lowercase(std::string_view text);
inline bool unicode_is_letter(uint32_t cp) { return unicode_category(cp) == UnicodeCategory::Letter; }
inline bool unicode_is_number(uint32_t cp) { return unicode_category(cp) == UnicodeCategory::Number; }
inline bool unicode_is_punctuation(uint32_t cp) { return unicode_category(cp) == UnicodeCategory::Punctuation; }

// Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 when the bytes
// there are not a complete valid sequence.
size_t utf8_sequence_length(const char* s, size_t n);

// Decodes the code point at s[0..n) (n > 0); invalid bytes decode to U+FFFD
// with *len = 1.
uint32_t utf8_decode(const char* s, size_t n, size_t* len);

void utf8_append(std::string& out, uint32_t cp);

// Appends `bytes` to `out` as valid UTF-8, each maximal invalid subsequence
// replaced by U+FFFD. When `final` is false, an incomplete but so-far valid
// sequence at the end is left unconsumed. Returns the number of bytes consumed.
size_t utf8_append_lossy(std::string& out, std::string_view bytes, bool final);

// NFC and NFKC normalization (unicode_nfc.cpp). Invalid UTF-8 becomes U+FFFD.
std::string unicode_nfc(std::string_view text);
std::string unicode_nfkc(std::string_view text);

inline std::string utf8_lossy(std::string_view bytes) {
    std::string out;
    utf8_append_lossy(out, bytes, true);
    return out;
}

}  // namespace lightllm
