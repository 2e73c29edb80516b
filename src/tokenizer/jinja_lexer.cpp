#include "jinja_lexer.h"
#include "check.h"
#include <cctype>
#include <cstring>

namespace lightllm::jinja {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string normalise(const std::string& src) {
    std::string out;
    out.reserve(src.size());
    for (size_t k = 0; k < src.size(); ++k) {
        if (src[k] == '\r') {
            out += '\n';
            if (k + 1 < src.size() && src[k + 1] == '\n') ++k;
        } else out += src[k];
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

class Lexer {
public:
    Lexer(std::string src, const LexOptions& o) : s_(std::move(src)), opt_(o) {}

    std::vector<Token> run() {
        size_t pos = 0;
        while (pos < s_.size()) {
            size_t tag = find_tag(pos);
            std::string text = s_.substr(pos, tag - pos);
            if (tag == s_.size()) {
                emit_text(text, pos);
                break;
            }
            char kind = s_[tag + 1];  // '{', '%' or '#'
            char mod = tag + 2 < s_.size() ? s_[tag + 2] : 0;
            if (mod == '-') {
                while (!text.empty() && is_space(text.back())) text.pop_back();
            } else if (opt_.lstrip_blocks && kind != '{' && mod != '+') {
                size_t nl = text.rfind('\n');
                size_t line_start = nl == std::string::npos ? 0 : nl + 1;
                bool at_line_start = nl != std::string::npos || pos == 0 || s_[pos - 1] == '\n';
                if (at_line_start && text.find_first_not_of(" \t", line_start) == std::string::npos)
                    text.resize(line_start);
            }
            emit_text(text, pos);
            size_t body = tag + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
            if (kind == '#') pos = skip_comment(body);
            else pos = lex_tag(kind, body, tag);
        }
        toks_.push_back({TokenKind::End, "", line_at(s_.size())});
        return std::move(toks_);
    }

private:
    std::string s_;
    LexOptions opt_;
    std::vector<Token> toks_;
    size_t line_pos_ = 0;
    int line_ = 1;

    int line_at(size_t pos) {
        if (pos < line_pos_) line_pos_ = 0, line_ = 1;
        for (; line_pos_ < pos && line_pos_ < s_.size(); ++line_pos_)
            if (s_[line_pos_] == '\n') ++line_;
        return line_;
    }

    size_t find_tag(size_t from) {
        for (size_t k = from; k + 1 < s_.size(); ++k)
            if (s_[k] == '{' && (s_[k + 1] == '{' || s_[k + 1] == '%' || s_[k + 1] == '#')) return k;
        return s_.size();
    }

    void emit_text(const std::string& text, size_t pos) {
        if (!text.empty()) toks_.push_back({TokenKind::Text, text, line_at(pos)});
    }

    // After a %} or #}: the whitespace control of its modifier or trim_blocks.
    size_t after_block_end(size_t end, bool minus) {
        if (minus) {
            while (end < s_.size() && is_space(s_[end])) ++end;
        } else if (opt_.trim_blocks && end < s_.size() && s_[end] == '\n') {
            ++end;
        }
        return end;
    }

    size_t skip_comment(size_t body) {
        size_t e = s_.find("#}", body);
        if (e == std::string::npos) fail("line {}: unterminated comment", line_at(body));
        bool minus = e > body && s_[e - 1] == '-';
        return after_block_end(e + 2, minus);
    }

    size_t lex_tag(char kind, size_t pos, size_t tag) {
        int line = line_at(tag);
        const char close = kind == '{' ? '}' : '%';
        toks_.push_back({kind == '{' ? TokenKind::VarBegin : TokenKind::BlockBegin, "", line});
        size_t first_tok = toks_.size();
        for (;;) {
            while (pos < s_.size() && is_space(s_[pos])) ++pos;
            if (pos >= s_.size()) fail("line {}: unterminated '{}{}' tag", line, '{', kind);
            bool minus = s_[pos] == '-' && pos + 2 < s_.size() + 0 && s_[pos + 1] == close && s_[pos + 2] == '}';
            bool plus = s_[pos] == '+' && kind == '%' && pos + 2 < s_.size() && s_[pos + 1] == close && s_[pos + 2] == '}';
            if (minus || plus || (s_[pos] == close && pos + 1 < s_.size() && s_[pos + 1] == '}')) {
                size_t end = pos + ((minus || plus) ? 3 : 2);
                toks_.push_back({kind == '{' ? TokenKind::VarEnd : TokenKind::BlockEnd, "", line_at(pos)});
                if (kind == '{') return minus ? after_block_end(end, true) : end;
                end = after_block_end(end, minus);
                if (toks_.size() == first_tok + 2 && toks_[first_tok].kind == TokenKind::Name &&
                    toks_[first_tok].text == "raw")
                    return lex_raw(end);
                return end;
            }
            pos = lex_token(pos);
        }
    }

    // {% raw %}: everything up to {% endraw %} is text.
    size_t lex_raw(size_t pos) {
        toks_.resize(toks_.size() - 3);  // drop BlockBegin raw BlockEnd
        for (size_t k = s_.find("{%", pos); k != std::string::npos; k = s_.find("{%", k + 2)) {
            size_t p = k + 2;
            bool pre_minus = p < s_.size() && s_[p] == '-';
            if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
            while (p < s_.size() && is_space(s_[p])) ++p;
            if (s_.compare(p, 6, "endraw") != 0) continue;
            p += 6;
            while (p < s_.size() && is_space(s_[p])) ++p;
            bool minus = p < s_.size() && s_[p] == '-';
            if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
            if (s_.compare(p, 2, "%}") != 0) continue;
            std::string text = s_.substr(pos, k - pos);
            if (pre_minus)
                while (!text.empty() && is_space(text.back())) text.pop_back();
            emit_text(text, pos);
            return after_block_end(p + 2, minus);
        }
        fail("line {}: {{% raw %}} without {{% endraw %}}", line_at(pos));
    }

    size_t lex_token(size_t pos) {
        int line = line_at(pos);
        char c = s_[pos];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t e = pos;
            while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
            toks_.push_back({TokenKind::Name, s_.substr(pos, e - pos), line});
            return e;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(pos, line);
        if (c == '\'' || c == '"') return lex_string(pos, line);
        static const char* const ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                          ">",  "=",  ".",  ",",  ":",  "|",  "(", ")", "[", "]", "{", "}"};
        for (const char* op : ops) {
            size_t n = std::strlen(op);
            if (s_.compare(pos, n, op) == 0) {
                toks_.push_back({TokenKind::Op, op, line});
                return pos + n;
            }
        }
        fail("line {}: unexpected character '{}'", line, c);
    }

    size_t lex_number(size_t pos, int line) {
        size_t e = pos;
        std::string digits;
        bool is_float = false;
        auto take_digits = [&] {
            while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_'))
                if (s_[e++] != '_') digits += s_[e - 1];
        };
        take_digits();
        if (e + 1 < s_.size() && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1]))) {
            is_float = true;
            digits += s_[e++];
            take_digits();
        }
        if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
            size_t k = e + 1;
            if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
            if (k < s_.size() && std::isdigit(static_cast<unsigned char>(s_[k]))) {
                is_float = true;
                digits += s_.substr(e, k - e);
                e = k;
                take_digits();
            }
        }
        toks_.push_back({is_float ? TokenKind::Float : TokenKind::Int, digits, line});
        return e;
    }

    size_t lex_string(size_t pos, int line) {
        char q = s_[pos];
        std::string out;
        size_t k = pos + 1;
        for (; k < s_.size() && s_[k] != q; ++k) {
            if (s_[k] != '\\' || k + 1 >= s_.size()) {
                out += s_[k];
                continue;
            }
            char e = s_[++k];
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '0': out += '\0'; break;
                case '\\': out += '\\'; break;
                case '\'': out += '\''; break;
                case '"': out += '"'; break;
                case '\n': break;
                default: out += '\\', out += e;
            }
        }
        if (k >= s_.size()) fail("line {}: unterminated string literal", line);
        toks_.push_back({TokenKind::String, out, line});
        return k + 1;
    }
};

}  // namespace

std::vector<Token> lex_template(const std::string& source, const LexOptions& opts) {
    return Lexer(normalise(source), opts).run();
}

}  // namespace lightllm::jinja
