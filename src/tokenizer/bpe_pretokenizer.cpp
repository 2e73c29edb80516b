#include "bpe_pretokenizer.h"
#include <cstring>
#include <iterator>
#include "check.h"
#include "regex_pretokenizer.h"
#include "unicode.h"

namespace lightllm {

namespace {

// The text as code points with their byte offsets (offs has one extra entry:
// the end of the text).
struct CodePoints {
    std::vector<uint32_t> cp;
    std::vector<size_t> offs;
    explicit CodePoints(std::string_view s) {
        size_t i = 0;
        while (i < s.size()) {
            size_t len;
            cp.push_back(utf8_decode(s.data() + i, s.size() - i, &len));
            offs.push_back(i);
            i += len;
        }
        offs.push_back(s.size());
    }
};

// A matcher returns the end of the match of its regex at p within [p, end),
// or p when it does not match there.
using Matcher = size_t (*)(const std::vector<uint32_t>& c, size_t p, size_t end);

bool is_l(uint32_t c) { return unicode_is_letter(c); }
bool is_n(uint32_t c) { return unicode_is_number(c); }
bool is_s(uint32_t c) { return unicode_is_whitespace(c); }
bool is_other(uint32_t c) { return !is_s(c) && !is_l(c) && !is_n(c); }  // [^\s\p{L}\p{N}]
bool is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }
uint32_t lower_ascii(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

size_t run(const std::vector<uint32_t>& c, size_t p, size_t end, bool (*pred)(uint32_t)) {
    while (p < end && pred(c[p])) ++p;
    return p;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive.
size_t match_contraction(const std::vector<uint32_t>& c, size_t p, size_t end, bool icase) {
    if (c[p] != '\'' || p + 1 >= end) return p;
    auto at = [&](size_t i) { return i < end ? (icase ? lower_ascii(c[i]) : c[i]) : 0u; };
    uint32_t a = at(p + 1), b = at(p + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
    return p;
}

// \s+(?!\S)|\s+ at a whitespace character.
size_t match_trailing_space(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t q = run(c, p, end, is_s);
    if (q == end) return q;   // \s+ up to the end
    if (q - p >= 2) return q - 1;  // leave the last space to the next piece
    return q;                 // \s+
}

// ' ?X+' for a class X: with a leading ASCII space only when X follows.
size_t match_space_run(const std::vector<uint32_t>& c, size_t p, size_t end, bool (*pred)(uint32_t)) {
    size_t q = p;
    if (c[q] == ' ' && q + 1 < end && pred(c[q + 1])) ++q;
    if (!pred(c[q])) return p;
    return run(c, q, end, pred);
}

size_t match_gpt2(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t q;
    if ((q = match_contraction(c, p, end, false)) != p) return q;
    if ((q = match_space_run(c, p, end, is_l)) != p) return q;
    if ((q = match_space_run(c, p, end, is_n)) != p) return q;
    if ((q = match_space_run(c, p, end, is_other)) != p) return q;
    return match_trailing_space(c, p, end);
}

template <size_t MaxDigits>
size_t match_llama3(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t q;
    if ((q = match_contraction(c, p, end, true)) != p) return q;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (is_l(c[p])) return run(c, p, end, is_l);
    if (!is_crlf(c[p]) && !is_n(c[p]) && p + 1 < end && is_l(c[p + 1])) return run(c, p + 1, end, is_l);
    // \p{N}{1,MaxDigits}
    if (is_n(c[p])) {
        q = p;
        while (q < end && q - p < MaxDigits && is_n(c[q])) ++q;
        return q;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    if ((q = match_space_run(c, p, end, is_other)) != p) return run(c, q, end, is_crlf);
    // \s*[\r\n]+: through the last line break of the whitespace run
    size_t ws_end = run(c, p, end, is_s);
    for (size_t k = ws_end; k > p; --k)
        if (is_crlf(c[k - 1])) return k;
    return match_trailing_space(c, p, end);
}

size_t match_digit(const std::vector<uint32_t>& c, size_t p, size_t end) { return is_n(c[p]) ? p + 1 : p; }
size_t match_crlf(const std::vector<uint32_t>& c, size_t p, size_t end) { return is_crlf(c[p]) ? p + 1 : p; }

// \s?X+
template <bool (*Pred)(uint32_t)>
size_t match_opt_space_run(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t q = p;
    if (is_s(c[q]) && q + 1 < end && Pred(c[q + 1])) ++q;
    if (!Pred(c[q])) return p;
    return run(c, q, end, Pred);
}

bool is_p(uint32_t c) { return unicode_is_punctuation(c); }
bool is_cjk_deepseek(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF);
}

bool in_ranges(uint32_t c, const uint32_t (*ranges)[2], size_t n) {
    for (size_t k = 0; k < n; ++k)
        if (c >= ranges[k][0] && c <= ranges[k][1]) return true;
    return false;
}

// Falcon: [\p{P}\$\+<=>\^~\|`]+ and [0-9][0-9][0-9].
bool is_falcon_punct(uint32_t c) { return is_p(c) || (c < 0x80 && std::strchr("$+<=>^~|`", static_cast<int>(c)) && c); }
size_t match_falcon_punct(const std::vector<uint32_t>& c, size_t p, size_t end) { return run(c, p, end, is_falcon_punct); }
size_t match_three_ascii_digits(const std::vector<uint32_t>& c, size_t p, size_t end) {
    auto d = [&](size_t i) { return i < end && c[i] >= '0' && c[i] <= '9'; };
    return d(p) && d(p + 1) && d(p + 2) ? p + 3 : p;
}

// BLOOM / Poro / GPT-3 Finnish: ' ?[^(\s|.,!?…。，、।۔،)]+'.
bool is_bloom_word(uint32_t c) {
    if (is_s(c)) return false;
    for (uint32_t stop : {uint32_t('('), uint32_t('|'), uint32_t('.'), uint32_t(','), uint32_t('!'), uint32_t('?'),
                          uint32_t(')'), 0x2026u, 0x3002u, 0xFF0Cu, 0x3001u, 0x0964u, 0x06D4u, 0x060Cu})
        if (c == stop) return false;
    return true;
}
size_t match_bloom(const std::vector<uint32_t>& c, size_t p, size_t end) { return match_space_run(c, p, end, is_bloom_word); }

// DeepSeek LLM: the letters of its tokenizer.json class (Latin, Greek,
// Cyrillic, Armenian, Georgian, Cherokee, ... cased scripts), its
// punctuation class [!-/:-~！-／：-～‘-‟　-。] and CJK run.
const uint32_t kDeepseekLetters[][2] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D},
    {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF},
    {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943}};
const uint32_t kDeepseekPunct[][2] = {{0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};
bool is_ds_letter(uint32_t c) { return in_ranges(c, kDeepseekLetters, std::size(kDeepseekLetters)); }
bool is_ds_punct(uint32_t c) { return in_ranges(c, kDeepseekPunct, std::size(kDeepseekPunct)); }
size_t match_space_to_end(const std::vector<uint32_t>& c, size_t p, size_t end) {  // \s+$
    size_t q = run(c, p, end, is_s);
    return q == end ? q : p;
}
size_t match_numbers(const std::vector<uint32_t>& c, size_t p, size_t end) { return run(c, p, end, is_n); }
size_t match_cjk_deepseek(const std::vector<uint32_t>& c, size_t p, size_t end) { return run(c, p, end, is_cjk_deepseek); }

// DeepSeek V3: \p{N}{1,3}; [一-龥぀-ゟ゠-ヿ]+; then
// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
// | ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_three_numbers(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t q = p;
    while (q < end && q - p < 3 && is_n(c[q])) ++q;
    return q;
}
bool is_cjk_kana(uint32_t c) { return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF); }
size_t match_cjk_kana(const std::vector<uint32_t>& c, size_t p, size_t end) { return run(c, p, end, is_cjk_kana); }
bool is_ascii_alpha(uint32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_ascii_punct(uint32_t c) { return c >= 0x21 && c <= 0x7E && !is_ascii_alpha(c) && !(c >= '0' && c <= '9'); }
bool is_lm(uint32_t c) { return is_l(c) || unicode_category(c) == UnicodeCategory::Mark; }
bool is_ps(uint32_t c) { return is_p(c) || unicode_category(c) == UnicodeCategory::Symbol; }
size_t match_deepseek3(const std::vector<uint32_t>& c, size_t p, size_t end) {
    if (is_ascii_punct(c[p]) && p + 1 < end && is_ascii_alpha(c[p + 1])) return run(c, p + 1, end, is_ascii_alpha);
    if (is_lm(c[p])) return run(c, p, end, is_lm);
    if (!is_crlf(c[p]) && !is_l(c[p]) && !is_ps(c[p]) && p + 1 < end && is_lm(c[p + 1])) return run(c, p + 1, end, is_lm);
    size_t q = p;
    if (c[q] == ' ' && q + 1 < end && is_ps(c[q + 1])) ++q;
    if (is_ps(c[q])) return run(c, run(c, q, end, is_ps), end, is_crlf);
    size_t ws_end = run(c, p, end, is_s);
    for (size_t k = ws_end; k > p; --k)
        if (is_crlf(c[k - 1])) return k;
    if (is_s(c[p])) return match_trailing_space(c, p, end);
    return p;
}

// Tekken / gpt-4o (the regexes of their tokenizer.json):
//   [^\r\n\p{L}\p{N}]?U*L+C?|[^\r\n\p{L}\p{N}]?U+L*C?|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n/]*
//   |\s*[\r\n]+|\s+(?!\S)|\s+
// with U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], L = [\p{Ll}\p{Lm}\p{Lo}\p{M}], C the
// optional case-insensitive contraction (gpt-4o only), D = 1 (tekken) or 3.
bool is_mark(uint32_t c) { return unicode_category(c) == UnicodeCategory::Mark; }
bool is_upperish(uint32_t c) {
    UnicodeLetterKind k = unicode_letter_kind(c);
    return k == UnicodeLetterKind::Upper || k == UnicodeLetterKind::Title || k == UnicodeLetterKind::Modifier ||
           k == UnicodeLetterKind::Other || is_mark(c);
}
bool is_lowerish(uint32_t c) {
    UnicodeLetterKind k = unicode_letter_kind(c);
    return k == UnicodeLetterKind::Lower || k == UnicodeLetterKind::Modifier || k == UnicodeLetterKind::Other || is_mark(c);
}

// U*L+ (greedy U*, backtracking into it) from p; p when it does not match.
size_t match_cased_word(const std::vector<uint32_t>& c, size_t p, size_t end) {
    size_t u_end = run(c, p, end, is_upperish);
    for (size_t s = u_end + 1; s-- > p;) {
        if (s < end && is_lowerish(c[s])) return run(c, s, end, is_lowerish);
    }
    return p;
}

template <bool Contractions>
size_t with_contraction(const std::vector<uint32_t>& c, size_t q, size_t end) {
    if (!Contractions || q >= end) return q;
    return match_contraction(c, q, end, true);
}

template <size_t MaxDigits, bool Contractions>
size_t match_cased(const std::vector<uint32_t>& c, size_t p, size_t end) {
    bool prefix = !is_crlf(c[p]) && !is_l(c[p]) && !is_n(c[p]);
    size_t q;
    for (size_t start : {prefix ? p + 1 : end, p}) {  // [^\r\n\p{L}\p{N}]? tried with the prefix first
        if (start >= end) continue;
        if ((q = match_cased_word(c, start, end)) != start) return with_contraction<Contractions>(c, q, end);
    }
    for (size_t start : {prefix ? p + 1 : end, p}) {
        if (start >= end || !is_upperish(c[start])) continue;
        return with_contraction<Contractions>(c, run(c, run(c, start, end, is_upperish), end, is_lowerish), end);
    }
    if (is_n(c[p])) {
        q = p;
        while (q < end && q - p < MaxDigits && is_n(c[q])) ++q;
        return q;
    }
    q = p;
    if (c[q] == ' ' && q + 1 < end && is_other(c[q + 1])) ++q;
    if (is_other(c[q])) return run(c, run(c, q, end, is_other), end, [](uint32_t x) { return is_crlf(x) || x == '/'; });
    size_t ws_end = run(c, p, end, is_s);
    for (size_t k = ws_end; k > p; --k)
        if (is_crlf(c[k - 1])) return k;
    if (is_s(c[p])) return match_trailing_space(c, p, end);
    return p;
}

// Isolated split: matches and the gaps between them all become pieces.
void split(const CodePoints& t, Matcher m, std::vector<std::pair<size_t, size_t>>& pieces) {
    std::vector<std::pair<size_t, size_t>> out;
    for (auto [b, e] : pieces) {
        size_t gap = b, p = b;
        while (p < e) {
            size_t q = m(t.cp, p, e);
            if (q == p) {
                ++p;
                continue;
            }
            if (gap < p) out.push_back({gap, p});
            out.push_back({p, q});
            p = gap = q;
        }
        if (gap < e) out.push_back({gap, e});
    }
    pieces.swap(out);
}

// llama.cpp's spelling of (?i:'s|'t|'re|'ve|'m|'ll|'d), and the rest of Qwen2's pattern.
const std::string kContractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const std::string kQwen2Tail = R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// gpt-4o's case-aware words with llama.cpp's contractions and the given numbers alternative.
std::string cased_words(const std::string& numbers) {
    const std::string upper = R"([\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])", lower = R"([\p{Ll}\p{Lm}\p{Lo}\p{M}])";
    const std::string prefix = R"([^\r\n\p{L}\p{N}]?)";
    return prefix + upper + "*" + lower + "+" + kContractions + "?|" + prefix + upper + "+" + lower + "*" + kContractions +
           "?|" + numbers + R"(| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}

}  // namespace

std::vector<std::string> bpe_pre_regexes(BpePreKind kind) {
    const std::string gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
    const std::string bloom = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";
    switch (kind) {
        case BpePreKind::DeepseekLlm: {
            std::string letters = "\\s?[";
            for (const auto& r : kDeepseekLetters) letters += fmt::format("\\x{{{:X}}}-\\x{{{:X}}}", r[0], r[1]);
            return {"[\r\n]", letters + "]+", "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+", "\\s+$",
                    "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", "\\p{N}+"};
        }
        case BpePreKind::Deepseek3:
            return {"\\p{N}{1,3}", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
                    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Falcon: return {R"([\p{P}\$\+<=>\^~\|`]+)", gpt2, "[0-9][0-9][0-9]"};
        case BpePreKind::Bloom: return {bloom};
        case BpePreKind::Viking: return {bloom, "\\p{N}"};
        case BpePreKind::Tekken:
            return {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Gpt4o:
            return {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Chameleon:
            return {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                    "[\\p{P}!-/:-@\\[-`{-~]", gpt2};
        case BpePreKind::Superbpe: return {"\\p{N}+", "(?=(\\d{3})+(?!\\d))"};
        case BpePreKind::SeedCoder:
            return {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::KimiK2:
            return {R"([\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Bailingmoe:
            return {R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"};
        case BpePreKind::Afmoe:  // the class as llama.cpp writes it (豈 there is U+8C48, เ U+0E40)
            return {R"((?<=\p{N})(?=(?:\p{N}{3})*(?!\p{N})))",
                    "[\u4E00-\u9FFF\u3400-\u4DBF\u8C48-\uFAFF\u3040-\u309F\u30A0-\u30FF\uFF65-\uFF9F\u2F00-\u2FDF\u0E40-"
                    "\u0E7F\u0E80-\u0EFF\u1780-\u17FF\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF\uAC00-\uD7AF\u1100-\u11FF]+",
                    bpe_pre_regexes(BpePreKind::Deepseek3)[2]};
        case BpePreKind::Default: return {R"([\p{P}\$\+<=>\^~\|]+)", gpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
        case BpePreKind::Qwen35:
            return {kContractions + R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Jais2: {  // llama-3's with whitespace runs cut into 512, 256, ..., 4, 2 or 1
            std::string re = kContractions + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+)";
            for (int n : {512, 256, 128, 64, 32, 16, 8, 4}) re += fmt::format("|\\s{{{}}}(?!\\S)", n);
            return {re + R"(|\s{1,2}(?!\S)|\s{1})"};
        }
        case BpePreKind::Spark25:
            return {"\\p{N}{1,3}", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
                    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)",
                    "\\p{N}"};
        case BpePreKind::Youtu:  // Hangul, CJK punctuation, Bopomofo, CJK/kana runs; then a gpt-4o-like pattern
            return {"[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F"
                    "\uFE30-\uFE4F]+|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
                    cased_words(R"(\p{N})")};
        case BpePreKind::GraniteEmbMulti:  // llama.cpp's lookahead form: "upper" = letters or marks but a-z, "lower" = but A-Z
            return {R"([^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+)" + kContractions +
                    R"(?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*)" + kContractions +
                    R"(?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::TinyAya: return {R"(\d{1,3}(?=(?:\d{3})*\b))", cased_words(R"(\p{N}{1,3})")};
        case BpePreKind::Ufakzeka:  // Qwen2's without the contractions
            return {R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        case BpePreKind::Laguna: return {R"([^\n]+|[\n]+)", kContractions + kQwen2Tail};
        case BpePreKind::Newlines: return {R"([^\n]+|[\n]+)"};
        case BpePreKind::ExaoneMoe:
            return {kContractions +
                    R"(|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)"};
        case BpePreKind::Minicpm5:
            return {"\\p{N}{1,3}",
                    kContractions + R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
        default: return {};
    }
}

std::vector<std::string_view> bpe_pre_tokenize(BpePreKind kind, std::string_view text) {
    if (bpe_pre_kind_is_regex(kind)) {
        std::vector<SplitRegex> steps;
        for (const std::string& re : bpe_pre_regexes(kind)) steps.emplace_back(re);
        return regex_pre_tokenize(steps, text);
    }
    CodePoints t(text);
    std::vector<std::pair<size_t, size_t>> pieces;
    if (!t.cp.empty()) pieces.push_back({0, t.cp.size()});
    switch (kind) {
        case BpePreKind::Gpt2: split(t, match_gpt2, pieces); break;
        case BpePreKind::Llama3: split(t, match_llama3<3>, pieces); break;
        case BpePreKind::Qwen2: split(t, match_llama3<1>, pieces); break;
        case BpePreKind::Starcoder:
            split(t, match_digit, pieces);
            split(t, match_gpt2, pieces);
            break;
        case BpePreKind::DeepseekCoder:
            split(t, match_crlf, pieces);
            split(t, match_opt_space_run<is_l>, pieces);
            split(t, match_opt_space_run<is_p>, pieces);
            split(t, [](const std::vector<uint32_t>& c, size_t p, size_t end) { return run(c, p, end, is_cjk_deepseek); },
                  pieces);
            split(t, match_digit, pieces);
            break;
        case BpePreKind::DeepseekLlm:
            for (Matcher m : {match_crlf, match_opt_space_run<is_ds_letter>, match_opt_space_run<is_ds_punct>,
                              match_space_to_end, match_cjk_deepseek, match_numbers})
                split(t, m, pieces);
            break;
        case BpePreKind::Deepseek3:
            for (Matcher m : {match_three_numbers, match_cjk_kana, match_deepseek3}) split(t, m, pieces);
            break;
        case BpePreKind::Falcon:
            for (Matcher m : {match_falcon_punct, match_gpt2, match_three_ascii_digits}) split(t, m, pieces);
            break;
        case BpePreKind::Bloom: split(t, match_bloom, pieces); break;
        case BpePreKind::Tekken: split(t, match_cased<1, false>, pieces); break;
        case BpePreKind::Gpt4o: split(t, match_cased<3, true>, pieces); break;
        case BpePreKind::Viking:
            split(t, match_bloom, pieces);
            split(t, match_digit, pieces);
            break;
        default: break;
    }
    std::vector<std::string_view> out;
    out.reserve(pieces.size());
    for (auto [b, e] : pieces) out.push_back(text.substr(t.offs[b], t.offs[e] - t.offs[b]));
    return out;
}

}  // namespace lightllm
