// Lookups in the tables of unicode_properties.h: general category, Han
// script, case-folding orbits and lowercase mappings (binary searches).
#include "unicode.h"
#include "unicode_properties.h"
#include <algorithm>
#include <iterator>

namespace lightllm {

UnicodeGc unicode_gc(uint32_t cp) {
    if (cp > 0x10FFFF) return UnicodeGc::Cn;
    const uint32_t* it = std::upper_bound(std::begin(kUnicodeGcStarts), std::end(kUnicodeGcStarts), cp);
    return UnicodeGc(kUnicodeGcOfRange[(it - std::begin(kUnicodeGcStarts)) - 1]);
}

bool unicode_is_han(uint32_t cp) {
    auto it = std::upper_bound(std::begin(kUnicodeHanRanges), std::end(kUnicodeHanRanges), cp,
                               [](uint32_t c, const uint32_t (&r)[2]) { return c < r[0]; });
    return it != std::begin(kUnicodeHanRanges) && cp <= (*(it - 1))[1];
}

uint32_t unicode_fold_next(uint32_t cp) {
    auto it = std::lower_bound(std::begin(kUnicodeFoldNext), std::end(kUnicodeFoldNext), cp,
                               [](const UnicodeFoldNext& e, uint32_t c) { return e.cp < c; });
    return (it != std::end(kUnicodeFoldNext) && it->cp == cp) ? it->next : cp;
}

std::string unicode_lowercase(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        unsigned char b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            out += char(b >= 'A' && b <= 'Z' ? b + 32 : b);
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp = utf8_decode(text.data() + i, text.size() - i, &len);
        i += len;
        auto it = std::lower_bound(std::begin(kUnicodeLower), std::end(kUnicodeLower), cp,
                                   [](const UnicodeLower& e, uint32_t c) { return e.cp < c; });
        if (it != std::end(kUnicodeLower) && it->cp == cp) {
            for (uint32_t x : it->lower)
                if (x) utf8_append(out, x);
        } else {
            utf8_append(out, cp);
        }
    }
    return out;
}

}  // namespace lightllm
