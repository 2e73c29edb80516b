#include "bpe_tokenizer.h"
#include "check.h"
#include "regex_pretokenizer.h"
#include "unicode.h"
#include <algorithm>
#include <queue>

namespace lightllm {

std::array<uint32_t, 256> byte_to_unicode() {
    std::array<uint32_t, 256> m{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        m[b] = printable ? b : next++;
    }
    return m;
}

BpeTokenizer::BpeTokenizer(TokenizerVocab vocab) : vocab_(std::move(vocab)), pre_(BpePreKind::Gpt2) {
    const std::string& src = vocab_.source;
    if (vocab_.tokens.empty()) fail("{}: the vocabulary has no tokens", src);
    if (vocab_.types.empty()) vocab_.types.assign(vocab_.tokens.size(), TokenType::Normal);
    if (vocab_.types.size() != vocab_.tokens.size())
        fail("{}: {} token types for {} tokens", src, vocab_.types.size(), vocab_.tokens.size());
    pre_ = bpe_pre_kind_from_name(vocab_.pre, src);
    if (bpe_pre_kind_is_regex(pre_))
        for (const std::string& re : bpe_pre_regexes(pre_)) pre_regexes_.emplace_back(re);
    if (!vocab_.hf_normalizer.empty()) hf_normalizer_ = std::make_shared<HfNormalizer>(vocab_.hf_normalizer, src);
    if (!vocab_.hf_pre_tokenizer.empty()) hf_pre_ = std::make_shared<HfPreTokenizer>(vocab_.hf_pre_tokenizer, src);
    for (int32_t id : {vocab_.bos_id, vocab_.eos_id})
        if (id >= vocab_.n_vocab()) fail("{}: special token id {} is outside the vocabulary ({} tokens)", src, id, vocab_.n_vocab());

    token_to_id_.reserve(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.n_vocab(); ++id) token_to_id_.emplace(vocab_.tokens[id], id);

    if (!vocab_.byte_level) {
        init_spm_style();
        return;
    }
    b2u_ = byte_to_unicode();
    const auto& b2u = b2u_;
    std::unordered_map<uint32_t, uint8_t> u2b;
    for (uint32_t b = 0; b < 256; ++b) {
        u2b[b2u[b]] = uint8_t(b);
        std::string s;
        utf8_append(s, b2u[b]);
        auto it = token_to_id_.find(s);
        byte_token_[b] = it == token_to_id_.end() ? -1 : it->second;
    }

    id_bytes_.resize(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.n_vocab(); ++id) {
        const std::string& t = vocab_.tokens[id];
        TokenType type = vocab_.types[id];
        std::string bytes;
        bool raw = type == TokenType::Control || type == TokenType::UserDefined;
        for (size_t i = 0; !raw && i < t.size();) {
            size_t len;
            uint32_t cp = utf8_decode(t.data() + i, t.size() - i, &len);
            auto it = u2b.find(cp);
            if (it == u2b.end()) raw = true;  // not in the byte alphabet: the token is plain text
            else bytes += char(it->second);
            i += len;
        }
        id_bytes_[id] = raw ? t : bytes;
    }

    init_merges();
}

void BpeTokenizer::init_merges() {
    merges_.reserve(vocab_.merges.size());
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
        const auto& [a, b] = vocab_.merges[rank];
        auto ia = token_to_id_.find(a), ib = token_to_id_.find(b), im = token_to_id_.find(a + b);
        if (ia == token_to_id_.end() || ib == token_to_id_.end() || im == token_to_id_.end()) continue;
        uint64_t key = (uint64_t(uint32_t(ia->second)) << 32) | uint32_t(ib->second);
        merges_.emplace(key, Merge{int32_t(rank), im->second});
    }
    added_.add_from_vocab(vocab_);
}

void BpeTokenizer::init_spm_style() {
    static const char kHex[] = "0123456789ABCDEF";
    byte_token_.fill(-1);
    for (uint32_t b = 0; b < 256; ++b) {
        auto it = token_to_id_.find(std::string{'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'});
        if (it != token_to_id_.end()) byte_token_[b] = it->second;
    }
    id_bytes_.resize(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.n_vocab(); ++id) {
        const std::string& t = vocab_.tokens[id];
        const TokenType type = vocab_.types[id];
        std::string& s = id_bytes_[id];
        if (type == TokenType::Byte && t.size() == 6 && t.compare(0, 3, "<0x") == 0) {
            s = std::string(1, char(std::stoi(t.substr(3, 2), nullptr, 16)));
        } else if (type == TokenType::Control || type == TokenType::UserDefined) {
            s = t;
        } else {
            for (size_t i = 0; i < t.size(); ++i) {  // "▁" (E2 96 81) -> space
                if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
                    s += ' ';
                    i += 2;
                } else {
                    s += t[i];
                }
            }
        }
    }
    init_merges();
}

std::vector<int32_t> BpeTokenizer::eos_ids() const {
    std::vector<int32_t> out;
    if (vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
    for (int32_t id : vocab_.extra_eos_ids)
        if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    return out;
}

bool BpeTokenizer::is_special(int32_t id) const {
    return id >= 0 && id < vocab_.n_vocab() && vocab_.types[id] == TokenType::Control;
}

int32_t BpeTokenizer::token_id(std::string_view piece) const {
    auto it = token_to_id_.find(std::string(piece));
    return it == token_to_id_.end() ? -1 : it->second;
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_.n_vocab()) return {};  // e.g. padding rows of a larger lm_head
    return id_bytes_[id];
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::string bytes;
    for (int32_t id : ids) {
        if (skip_special && is_special(id)) continue;
        bytes += token_bytes(id);
    }
    return utf8_lossy(bytes);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    std::vector<int32_t> out;
    if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
    std::string prefixed;
    if (vocab_.add_prefix_space && !text.empty() && text[0] != ' ') {
        prefixed = " " + std::string(text);
        text = prefixed;
    }
    for (const auto& seg : added_.split(text, parse_special)) {
        if (seg.id >= 0) {
            out.push_back(seg.id);
            continue;
        }
        std::string_view plain = text.substr(seg.begin, seg.end - seg.begin);
        std::string normalized;
        // Bytes of the segment that come from offset 0 of the text: its first code point.
        size_t origin_prefix = seg.begin == 0 && !plain.empty() ? std::max<size_t>(1, utf8_sequence_length(plain.data(), plain.size())) : 0;
        if (hf_normalizer_) {
            normalized = hf_normalizer_->apply(plain, &origin_prefix);
            plain = normalized;
        } else if (vocab_.nfc) {
            normalized = unicode_nfc(plain);
            plain = normalized;
        }
        if (hf_pre_) {
            for (const std::string& piece : hf_pre_->pre_tokenize(plain, origin_prefix)) encode_piece(piece, out);
            continue;
        }
        if (!vocab_.byte_level) {  // SentencePiece-style: spaces as "▁", merges over code points
            std::string escaped;
            for (char c : plain) escaped += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
            for (std::string_view piece : regex_pre_tokenize(pre_regexes_, escaped)) encode_spm_style_piece(piece, out);
            continue;
        }
        for (std::string_view piece : pre_regexes_.empty() ? bpe_pre_tokenize(pre_, plain) : regex_pre_tokenize(pre_regexes_, plain))
            encode_piece(piece, out);
    }
    return out;
}

void BpeTokenizer::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
    if (vocab_.ignore_merges) {
        std::string mapped;
        for (char c : bytes) utf8_append(mapped, b2u_[static_cast<unsigned char>(c)]);
        auto it = token_to_id_.find(mapped);
        if (it != token_to_id_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    std::vector<int32_t> ids;
    ids.reserve(bytes.size());
    for (char c : bytes) {
        int32_t id = byte_token_[static_cast<unsigned char>(c)];
        if (id < 0) id = vocab_.unk_id;
        if (id >= 0) ids.push_back(id);  // a byte the vocabulary cannot spell and no <unk>: dropped
    }
    merge(ids, out);
}

void BpeTokenizer::encode_spm_style_piece(std::string_view piece, std::vector<int32_t>& out) const {
    // llama.cpp (gemma4): a run of newlines that is a token is used as is
    if (pre_ == BpePreKind::Newlines && piece.find_first_not_of('\n') == std::string_view::npos) {
        auto it = token_to_id_.find(std::string(piece));
        if (it != token_to_id_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    // Code points that are tokens merge; one that is not never merges and is spelled by its <0xXX> tokens.
    std::vector<int32_t> run;
    for (size_t i = 0; i < piece.size();) {
        size_t len = std::max<size_t>(1, utf8_sequence_length(piece.data() + i, piece.size() - i));  // invalid: a byte
        auto it = token_to_id_.find(std::string(piece.substr(i, len)));
        if (it != token_to_id_.end()) {
            run.push_back(it->second);
        } else {
            merge(run, out);
            run.clear();
            for (size_t k = i; k < i + len; ++k) {
                int32_t id = byte_token_[static_cast<unsigned char>(piece[k])];
                if (id < 0) id = vocab_.unk_id;
                if (id >= 0) out.push_back(id);
            }
        }
        i += len;
    }
    merge(run, out);
}

void BpeTokenizer::merge(const std::vector<int32_t>& ids, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;
        int32_t prev, next;  // indices, -1 at the ends
    };
    std::vector<Symbol> sym;
    sym.reserve(ids.size());
    for (int32_t id : ids) {
        int32_t i = int32_t(sym.size());
        sym.push_back({id, i - 1, -1});
        if (i > 0) sym[i - 1].next = i;
    }
    if (sym.size() <= 1) {
        if (!sym.empty()) out.push_back(sym[0].id);
        return;
    }
    struct Pair {
        int32_t rank, left, left_id, right_id;
        bool operator>(const Pair& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Pair, std::vector<Pair>, std::greater<Pair>> queue;
    auto push = [&](int32_t l) {
        if (l < 0 || sym[l].next < 0) return;
        int32_t r = sym[l].next;
        auto it = merges_.find((uint64_t(uint32_t(sym[l].id)) << 32) | uint32_t(sym[r].id));
        if (it != merges_.end()) queue.push({it->second.rank, l, sym[l].id, sym[r].id});
    };
    for (int32_t i = 0; i + 1 < int32_t(sym.size()); ++i) push(i);
    while (!queue.empty()) {
        Pair p = queue.top();
        queue.pop();
        Symbol& l = sym[p.left];
        if (l.id != p.left_id || l.next < 0 || sym[l.next].id != p.right_id) continue;  // stale
        int32_t r = l.next;
        l.id = merges_.at((uint64_t(uint32_t(p.left_id)) << 32) | uint32_t(p.right_id)).merged;
        l.next = sym[r].next;
        if (l.next >= 0) sym[l.next].prev = p.left;
        sym[r].id = -1;  // dead
        push(l.prev);
        push(p.left);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace lightllm
