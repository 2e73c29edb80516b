#include "unicode.h"
#include <algorithm>

namespace lightllm {

// The major category and the letter kind come from the two-letter general
// category (unicode_properties.h, the one table of categories).
UnicodeCategory unicode_category(uint32_t cp) {
    if (cp > 0x10FFFF) return UnicodeCategory::Other;
    switch (unicode_gc(cp)) {
        case UnicodeGc::Lu: case UnicodeGc::Ll: case UnicodeGc::Lt: case UnicodeGc::Lm: case UnicodeGc::Lo:
            return UnicodeCategory::Letter;
        case UnicodeGc::Mn: case UnicodeGc::Mc: case UnicodeGc::Me: return UnicodeCategory::Mark;
        case UnicodeGc::Nd: case UnicodeGc::Nl: case UnicodeGc::No: return UnicodeCategory::Number;
        case UnicodeGc::Pc: case UnicodeGc::Pd: case UnicodeGc::Ps: case UnicodeGc::Pe: case UnicodeGc::Pi:
        case UnicodeGc::Pf: case UnicodeGc::Po:
            return UnicodeCategory::Punctuation;
        case UnicodeGc::Sm: case UnicodeGc::Sc: case UnicodeGc::Sk: case UnicodeGc::So: return UnicodeCategory::Symbol;
        case UnicodeGc::Zs: case UnicodeGc::Zl: case UnicodeGc::Zp: return UnicodeCategory::Separator;
        default: return UnicodeCategory::Other;
    }
}

UnicodeLetterKind unicode_letter_kind(uint32_t cp) {
    if (cp > 0x10FFFF) return UnicodeLetterKind::None;
    switch (unicode_gc(cp)) {
        case UnicodeGc::Lu: return UnicodeLetterKind::Upper;
        case UnicodeGc::Ll: return UnicodeLetterKind::Lower;
        case UnicodeGc::Lt: return UnicodeLetterKind::Title;
        case UnicodeGc::Lm: return UnicodeLetterKind::Modifier;
        case UnicodeGc::Lo: return UnicodeLetterKind::Other;
        default: return UnicodeLetterKind::None;
    }
}

bool unicode_is_whitespace(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

namespace {

// Number of bytes a sequence starting with `b` has, and the valid range of its
// second byte; 0 for bytes that cannot start a sequence.
size_t lead_info(unsigned char b, unsigned char* lo, unsigned char* hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) *lo = 0xA0;
        if (b == 0xED) *hi = 0x9F;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) *lo = 0x90;
        if (b == 0xF4) *hi = 0x8F;
        return 4;
    }
    return 0;
}

// Valid bytes of the sequence at s (at most its expected length, bounded by n).
size_t valid_prefix(const char* s, size_t n, size_t* expected) {
    unsigned char lo, hi;
    size_t len = lead_info(static_cast<unsigned char>(s[0]), &lo, &hi);
    *expected = len;
    if (len == 0) return 0;
    size_t k = 1;
    for (; k < len && k < n; ++k) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (c < l || c > h) break;
    }
    return k;
}

}  // namespace

size_t utf8_sequence_length(const char* s, size_t n) {
    if (n == 0) return 0;
    size_t expected;
    size_t k = valid_prefix(s, n, &expected);
    return (expected != 0 && k == expected) ? k : 0;
}

uint32_t utf8_decode(const char* s, size_t n, size_t* len) {
    size_t k = utf8_sequence_length(s, n);
    if (k == 0) {
        *len = 1;
        return 0xFFFD;
    }
    *len = k;
    const unsigned char* u = reinterpret_cast<const unsigned char*>(s);
    switch (k) {
        case 1: return u[0];
        case 2: return (uint32_t(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        case 3: return (uint32_t(u[0] & 0x0F) << 12) | (uint32_t(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        default:
            return (uint32_t(u[0] & 0x07) << 18) | (uint32_t(u[1] & 0x3F) << 12) | (uint32_t(u[2] & 0x3F) << 6) |
                   (u[3] & 0x3F);
    }
}

void utf8_append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

size_t utf8_append_lossy(std::string& out, std::string_view bytes, bool final) {
    const char* s = bytes.data();
    size_t n = bytes.size(), i = 0;
    while (i < n) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            out += s[i++];
            continue;
        }
        size_t expected;
        size_t k = valid_prefix(s + i, n - i, &expected);
        if (expected != 0 && k == expected) {
            out.append(s + i, k);
            i += k;
        } else if (expected != 0 && i + k == n && !final) {
            break;  // incomplete so far: wait for more bytes
        } else {
            out += "\xEF\xBF\xBD";
            i += k == 0 ? 1 : k;
        }
    }
    return i;
}

}  // namespace lightllm
