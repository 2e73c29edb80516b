#include "added_tokens.h"
#include <algorithm>

namespace lightllm {

void AddedTokenMatcher::add(const std::string& text, int32_t id, bool special, AddedTokenFlags flags) {
    if (text.empty()) return;
    auto& list = by_first_byte_[static_cast<unsigned char>(text[0])];
    list.push_back({text, id, special, flags});
    std::stable_sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
}

void AddedTokenMatcher::add_from_vocab(const TokenizerVocab& vocab) {
    for (int32_t id = 0; id < vocab.n_vocab(); ++id) {
        TokenType t = vocab.types[id];
        if (t != TokenType::Control && t != TokenType::UserDefined) continue;
        AddedTokenFlags flags = size_t(id) < vocab.added_flags.size() ? vocab.added_flags[id] : AddedTokenFlags{};
        add(vocab.tokens[id], id, t == TokenType::Control, flags);
    }
}

namespace {
bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(std::string_view text, bool parse_special) const {
    std::vector<Segment> out;
    size_t plain = 0, i = 0;
    while (i < text.size()) {
        const Entry* hit = nullptr;
        auto it = by_first_byte_.find(static_cast<unsigned char>(text[i]));
        if (it != by_first_byte_.end()) {
            for (const Entry& e : it->second) {
                if (e.special && !parse_special) continue;
                if (text.compare(i, e.text.size(), e.text) == 0) {
                    hit = &e;
                    break;
                }
            }
        }
        if (!hit) {
            ++i;
            continue;
        }
        size_t b = i, e = i + hit->text.size();
        if (hit->flags.lstrip)
            while (b > plain && is_space_byte(text[b - 1])) --b;
        if (hit->flags.rstrip)
            while (e < text.size() && is_space_byte(text[e])) ++e;
        if (plain < b) out.push_back({plain, b, -1});
        out.push_back({b, e, hit->id});
        plain = i = e;
    }
    if (plain < text.size()) out.push_back({plain, text.size(), -1});
    return out;
}

}  // namespace lightllm
