#include "regex_pretokenizer.h"
#include "unicode.h"

namespace lightllm {

std::vector<std::pair<size_t, size_t>> regex_split_offsets(const std::vector<SplitRegex>& steps, const uint32_t* c, size_t n) {
    std::vector<std::pair<size_t, size_t>> pieces, out;
    if (n > 0) pieces.push_back({0, n});
    for (const SplitRegex& re : steps) {
        out.clear();
        for (auto [b, e] : pieces) {
            size_t pos = b;
            for (auto [mb, me] : re.find_all(c + b, e - b)) {
                mb += b;
                me += b;
                if (mb > pos) out.push_back({pos, mb});
                pos = std::max(pos, mb);
                if (me > mb) {
                    out.push_back({mb, me});
                    pos = me;
                }
            }
            if (pos < e) out.push_back({pos, e});
        }
        pieces.swap(out);
    }
    return pieces;
}

std::vector<std::string_view> regex_pre_tokenize(const std::vector<SplitRegex>& steps, std::string_view text) {
    std::vector<uint32_t> cps;
    std::vector<size_t> offs;
    cps.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        size_t len;
        cps.push_back(utf8_decode(text.data() + i, text.size() - i, &len));
        offs.push_back(i);
        i += len;
    }
    offs.push_back(text.size());
    std::vector<std::string_view> out;
    for (auto [b, e] : regex_split_offsets(steps, cps.data(), cps.size())) out.push_back(text.substr(offs[b], offs[e] - offs[b]));
    return out;
}

}  // namespace lightllm
