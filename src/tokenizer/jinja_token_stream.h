// The token cursor the Jinja parsers share, and the node constructor.
#pragma once
#include "check.h"
#include "jinja_ast.h"
#include "jinja_lexer.h"
#include <memory>
#include <string>
#include <vector>

namespace lightllm::jinja {

using MutNode = std::shared_ptr<Node>;

inline MutNode make_node(NodeKind k, int line, std::string name = {}) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->line = line;
    n->name = std::move(name);
    return n;
}

class TokenStream {
public:
    explicit TokenStream(const std::vector<Token>& t) : t_(t) {}

protected:
    static constexpr int kMaxNesting = 100;
    // Counts nesting (expressions in expressions, blocks in blocks) so that a
    // hostile template fails with an error instead of exhausting the stack.
    struct Nest {
        TokenStream* s;
        explicit Nest(TokenStream* t) : s(t) {
            if (++s->depth_ > kMaxNesting) fail("line {}: template nested too deeply", s->peek().line);
        }
        ~Nest() { --s->depth_; }
    };
    int depth_ = 0;
    const std::vector<Token>& t_;
    size_t p_ = 0;

    const Token& peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
    const Token& next() {
        const Token& tok = peek();
        if (p_ < t_.size() - 1) ++p_;
        return tok;
    }
    bool is_op(const char* op, size_t ahead = 0) const {
        return peek(ahead).kind == TokenKind::Op && peek(ahead).text == op;
    }
    bool is_name(const char* name, size_t ahead = 0) const {
        return peek(ahead).kind == TokenKind::Name && peek(ahead).text == name;
    }
    bool accept_op(const char* op) { return is_op(op) ? (next(), true) : false; }
    bool accept_name(const char* name) { return is_name(name) ? (next(), true) : false; }
    [[noreturn]] void unexpected(const char* wanted) const {
        const Token& tok = peek();
        std::string got = tok.kind == TokenKind::End        ? "end of template"
                          : tok.kind == TokenKind::BlockEnd ? "'%}'"
                          : tok.kind == TokenKind::VarEnd   ? "'}}'"
                                                            : "'" + tok.text + "'";
        fail("line {}: expected {}, got {}", tok.line, wanted, got);
    }
    void expect_op(const char* op) {
        if (!accept_op(op)) unexpected(op);
    }
    void expect(TokenKind k, const char* what) {
        if (peek().kind != k) unexpected(what);
        next();
    }
    std::string expect_name() {
        if (peek().kind != TokenKind::Name) unexpected("a name");
        return next().text;
    }

};

}  // namespace lightllm::jinja
