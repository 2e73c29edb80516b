#include "spm_model_proto.h"
#include "check.h"
#include <cstring>
#include <unordered_set>

namespace lightllm {

namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out += char(0x80 | (v & 0x7F));
        v >>= 7;
    }
    out += char(v);
}
void put_tag(std::string& out, uint32_t field, WireType wt) { put_varint(out, (uint64_t(field) << 3) | wt); }
// int32 fields are encoded as sign-extended 64-bit varints.
void put_int(std::string& out, uint32_t field, int64_t v) {
    put_tag(out, field, kVarint);
    put_varint(out, uint64_t(v));
}
void put_bool(std::string& out, uint32_t field, bool v) { put_int(out, field, v ? 1 : 0); }
void put_bytes(std::string& out, uint32_t field, std::string_view s) {
    put_tag(out, field, kLen);
    put_varint(out, s.size());
    out.append(s.data(), s.size());
}
void put_float(std::string& out, uint32_t field, float f) {
    put_tag(out, field, kFixed32);
    char b[4];
    std::memcpy(b, &f, 4);
    out.append(b, 4);
}

// Reads one message's fields; every read bounds-checked.
class ProtoReader {
public:
    ProtoReader(std::string_view data, const std::string& source) : d_(data), src_(source) {}
    bool done() const { return pos_ >= d_.size(); }

    // Next field: its number and wire type; the value is read by one of the value readers.
    void next(uint32_t* field, uint32_t* wt) {
        uint64_t tag = varint();
        *field = uint32_t(tag >> 3);
        *wt = uint32_t(tag & 7);
    }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= d_.size()) bad("truncated varint");
            uint8_t b = uint8_t(d_[pos_++]);
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        bad("varint too long");
    }
    std::string_view bytes() {
        uint64_t n = varint();
        if (n > d_.size() - pos_) bad("length runs past the end");
        std::string_view s = d_.substr(pos_, size_t(n));
        pos_ += size_t(n);
        return s;
    }
    float fixed32() {
        if (d_.size() - pos_ < 4) bad("truncated float");
        float f;
        std::memcpy(&f, d_.data() + pos_, 4);
        pos_ += 4;
        return f;
    }
    void skip(uint32_t wt) {
        switch (wt) {
            case kVarint: varint(); break;
            case kFixed64:
                if (d_.size() - pos_ < 8) bad("truncated fixed64");
                pos_ += 8;
                break;
            case kLen: bytes(); break;
            case kFixed32: fixed32(); break;
            default: bad("unsupported wire type");
        }
    }
    [[noreturn]] void bad(const char* what) const { fail("{}: not a valid SentencePiece model ({} at byte {})", src_, what, pos_); }

private:
    std::string_view d_;
    const std::string& src_;
    size_t pos_ = 0;
};

int32_t as_int32(uint64_t v) { return int32_t(int64_t(v)); }

}  // namespace

std::string spm_model_proto_from_vocab(const TokenizerVocab& v) {
    int32_t unk = v.unk_id;
    if (unk < 0)
        for (int32_t id = 0; id < v.n_vocab() && unk < 0; ++id)
            if (v.types[id] == TokenType::Unknown) unk = id;
    if (unk < 0) fail("{}: SentencePiece vocabulary without an unknown token", v.source);

    int n_bytes = 0;
    std::string out;
    std::unordered_set<std::string> seen;
    for (int32_t id = 0; id < v.n_vocab(); ++id) {
        TokenType type = v.types[id] == TokenType::Undefined ? TokenType::Normal : v.types[id];
        if (id == unk) type = TokenType::Unknown;
        else if (type == TokenType::Unknown) type = TokenType::Control;  // sentencepiece allows one unknown piece
        std::string piece = v.tokens[id];
        if (piece.empty() || !seen.insert(piece).second) {
            piece = "<lightllm_placeholder_" + std::to_string(id) + ">";
            type = TokenType::Unused;
        }
        if (type == TokenType::Byte) ++n_bytes;
        std::string sp;
        put_bytes(sp, 1, piece);
        put_float(sp, 2, v.scores.empty() ? 0.0f : v.scores[id]);
        put_int(sp, 3, int32_t(type));
        put_bytes(out, 1, sp);
    }
    std::string trainer;
    put_int(trainer, 3, 2);  // BPE
    put_int(trainer, 4, v.n_vocab());
    put_bool(trainer, 35, v.byte_fallback && n_bytes == 256);
    put_int(trainer, 40, unk);
    put_int(trainer, 41, v.bos_id);
    put_int(trainer, 42, v.eos_id);
    put_int(trainer, 43, v.pad_id);
    put_bytes(out, 2, trainer);
    std::string norm;
    put_bytes(norm, 1, "identity");
    put_bool(norm, 3, v.add_space_prefix);
    put_bool(norm, 4, v.remove_extra_whitespaces);
    put_bool(norm, 5, true);
    put_bytes(out, 3, norm);
    return out;
}

TokenizerVocab vocab_from_spm_model_proto(std::string_view bytes, const std::string& source) {
    TokenizerVocab v;
    v.kind = VocabKind::Spm;
    v.source = source;
    // Proto defaults.
    v.unk_id = 0;
    v.bos_id = 1;
    v.eos_id = 2;
    v.pad_id = -1;
    v.byte_fallback = false;
    v.add_space_prefix = true;
    v.remove_extra_whitespaces = true;
    ProtoReader r(bytes, source);
    uint32_t field, wt;
    while (!r.done()) {
        r.next(&field, &wt);
        if (field == 1 && wt == kLen) {
            ProtoReader p(r.bytes(), source);
            std::string piece;
            float score = 0;
            int32_t type = int32_t(TokenType::Normal);
            while (!p.done()) {
                uint32_t f2, w2;
                p.next(&f2, &w2);
                if (f2 == 1 && w2 == kLen) piece = std::string(p.bytes());
                else if (f2 == 2 && w2 == kFixed32) score = p.fixed32();
                else if (f2 == 3 && w2 == kVarint) type = as_int32(p.varint());
                else p.skip(w2);
            }
            if (type < 1 || type > int32_t(TokenType::Byte)) p.bad("invalid piece type");
            v.tokens.push_back(std::move(piece));
            v.scores.push_back(score);
            v.types.push_back(TokenType(type));
        } else if (field == 2 && wt == kLen) {
            ProtoReader t(r.bytes(), source);
            while (!t.done()) {
                uint32_t f2, w2;
                t.next(&f2, &w2);
                if (w2 != kVarint) {
                    t.skip(w2);
                    continue;
                }
                uint64_t x = t.varint();
                if (f2 == 35) v.byte_fallback = x != 0;
                else if (f2 == 40) v.unk_id = as_int32(x);
                else if (f2 == 41) v.bos_id = as_int32(x);
                else if (f2 == 42) v.eos_id = as_int32(x);
                else if (f2 == 43) v.pad_id = as_int32(x);
            }
        } else if (field == 3 && wt == kLen) {
            ProtoReader n(r.bytes(), source);
            while (!n.done()) {
                uint32_t f2, w2;
                n.next(&f2, &w2);
                if (w2 != kVarint) {
                    n.skip(w2);
                    continue;
                }
                uint64_t x = n.varint();
                if (f2 == 3) v.add_space_prefix = x != 0;
                else if (f2 == 4) v.remove_extra_whitespaces = x != 0;
            }
        } else {
            r.skip(wt);
        }
    }
    if (v.tokens.empty()) fail("{}: SentencePiece model without pieces", source);
    for (int32_t* id : {&v.unk_id, &v.bos_id, &v.eos_id, &v.pad_id})
        if (*id >= v.n_vocab()) *id = -1;
    v.add_bos = true;
    return v;
}

}  // namespace lightllm
