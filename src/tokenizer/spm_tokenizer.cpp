#include "spm_tokenizer.h"
#include "check.h"
#include "spm_model_proto.h"
#include "unicode.h"
#include <sentencepiece_processor.h>
#include <algorithm>
#include <fstream>
#include <sstream>

namespace lightllm {

namespace {

// "<0x0A>" -> 0x0A; -1 when not a byte piece.
int byte_piece_value(const std::string& p) {
    if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; ++i) {
        char c = p[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
    return s;
}

}  // namespace

SpmTokenizer::SpmTokenizer(TokenizerVocab vocab, const std::string& model_proto)
    : vocab_(std::move(vocab)), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
    const std::string& src = vocab_.source;
    if (vocab_.types.size() != vocab_.tokens.size()) fail("{}: {} token types for {} tokens", src, vocab_.types.size(), vocab_.tokens.size());
    auto status = sp_->LoadFromSerializedProto(model_proto);
    if (!status.ok()) fail("{}: sentencepiece cannot load the model: {}", src, status.ToString());
    n_model_pieces_ = sp_->GetPieceSize();
    if (n_model_pieces_ > vocab_.n_vocab())
        fail("{}: the SentencePiece model has {} pieces but the vocabulary only {}", src, n_model_pieces_, vocab_.n_vocab());

    id_bytes_.resize(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.n_vocab(); ++id) {
        const std::string& t = vocab_.tokens[id];
        token_to_id_.emplace(t, id);
        switch (vocab_.types[id]) {
            case TokenType::Byte: {
                int b = byte_piece_value(t);
                id_bytes_[id] = b >= 0 ? std::string(1, char(b)) : t;
                break;
            }
            case TokenType::Normal:
            case TokenType::Undefined:
            case TokenType::Unused: id_bytes_[id] = replace_all(t, "\xE2\x96\x81", " "); break;
            default: id_bytes_[id] = t; break;
        }
        TokenType type = vocab_.types[id];
        bool added = id >= n_model_pieces_ && (type == TokenType::UserDefined || type == TokenType::Control);
        if (type == TokenType::Control || added) {
            AddedTokenFlags flags = size_t(id) < vocab_.added_flags.size() ? vocab_.added_flags[id] : AddedTokenFlags{};
            added_.add(t, id, type == TokenType::Control, flags);
        }
    }
}

SpmTokenizer::~SpmTokenizer() = default;

std::unique_ptr<SpmTokenizer> SpmTokenizer::from_vocab(TokenizerVocab vocab) {
    std::string proto = spm_model_proto_from_vocab(vocab);
    return std::make_unique<SpmTokenizer>(std::move(vocab), proto);
}

std::unique_ptr<SpmTokenizer> SpmTokenizer::from_model_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open", path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string bytes = ss.str();
    TokenizerVocab v = vocab_from_spm_model_proto(bytes, path);
    return std::make_unique<SpmTokenizer>(std::move(v), bytes);
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    std::vector<int32_t> out;
    if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
    std::vector<int> ids;
    for (const auto& seg : added_.split(text, parse_special)) {
        if (seg.id >= 0) {
            out.push_back(seg.id);
            continue;
        }
        auto status = sp_->Encode(std::string(text.substr(seg.begin, seg.end - seg.begin)), &ids);
        if (!status.ok()) fail("{}: sentencepiece encode failed: {}", vocab_.source, status.ToString());
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

std::string SpmTokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_.n_vocab()) return {};
    return id_bytes_[id];
}

std::string SpmTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::string bytes;
    bool first = true;
    for (int32_t id : ids) {
        if (skip_special && is_special(id)) continue;
        std::string b = token_bytes(id);
        if (first && vocab_.add_space_prefix && !b.empty() && b[0] == ' ') b.erase(0, 1);
        first = false;
        bytes += b;
    }
    return utf8_lossy(bytes);
}

std::vector<int32_t> SpmTokenizer::eos_ids() const {
    std::vector<int32_t> out;
    if (vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
    for (int32_t id : vocab_.extra_eos_ids)
        if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    return out;
}

bool SpmTokenizer::is_special(int32_t id) const {
    return id >= 0 && id < vocab_.n_vocab() && vocab_.types[id] == TokenType::Control;
}

int32_t SpmTokenizer::token_id(std::string_view piece) const {
    auto it = token_to_id_.find(std::string(piece));
    return it == token_to_id_.end() ? -1 : it->second;
}

}  // namespace lightllm
