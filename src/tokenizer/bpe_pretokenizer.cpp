#include "bpe_pretokenizer.h"
#include "check.h"
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

}  // namespace


BpePreKind bpe_pre_kind_from_name(const std::string& name, const std::string& what) {
    for (const char* n : {"gpt-2", "default", "gpt2", "mpt", "olmo", "phi-2", "roberta-bpe", "jais", "gpt-neox"})
        if (name == n) return BpePreKind::Gpt2;
    for (const char* n : {"llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe", "chatglm-bpe"})
        if (name == n) return BpePreKind::Llama3;
    for (const char* n : {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"})
        if (name == n) return BpePreKind::Qwen2;
    for (const char* n : {"starcoder", "smollm", "refact", "command-r", "codeshell", "exaone", "minerva-7b"})
        if (name == n) return BpePreKind::Starcoder;
    if (name == "deepseek-coder") return BpePreKind::DeepseekCoder;
    fail("{}: unsupported BPE pre-tokenizer '{}' (supported: gpt-2, llama-bpe, qwen2, starcoder, smollm, deepseek-coder and aliases)",
         what, name);
}

std::vector<std::string_view> bpe_pre_tokenize(BpePreKind kind, std::string_view text) {
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
    }
    std::vector<std::string_view> out;
    out.reserve(pieces.size());
    for (auto [b, e] : pieces) out.push_back(text.substr(t.offs[b], t.offs[e] - t.offs[b]));
    return out;
}

}  // namespace lightllm
