#include "jinja_parser.h"
#include "jinja_expr_parser.h"
#include <set>

namespace lightllm::jinja {

namespace {

class Parser : public ExprParser {
public:
    using ExprParser::ExprParser;

    NodePtr run() {
        std::string stop;
        auto body = parse_body({}, &stop);
        if (peek().kind != TokenKind::End) fail("line {}: unexpected '{}'", peek().line, peek().text);
        return body;
    }

private:
    // Statements up to a {% tag %} named in `stops` (consumed through its name).
    NodePtr parse_body(const std::set<std::string>& stops, std::string* stop) {
        auto body = make_node(NodeKind::Body, peek().line);
        for (;;) {
            const Token& tok = peek();
            if (tok.kind == TokenKind::End) {
                for (const std::string& s : stops)
                    if (s.rfind("end", 0) == 0) fail("line {}: missing {{% {} %}}", tok.line, s);
                return body;
            }
            if (tok.kind == TokenKind::Text) {
                body->kids.push_back(make_node(NodeKind::Text, tok.line, next().text));
            } else if (tok.kind == TokenKind::VarBegin) {
                next();
                auto out = make_node(NodeKind::Output, tok.line);
                out->kids.push_back(parse_tuple());
                expect(TokenKind::VarEnd, "'}}'");
                body->kids.push_back(out);
            } else if (tok.kind == TokenKind::BlockBegin) {
                next();
                if (peek().kind == TokenKind::Name && stops.count(peek().text)) {
                    *stop = next().text;
                    return body;
                }
                if (auto st = parse_statement()) body->kids.push_back(st);
            } else {
                unexpected("template text or a tag");
            }
        }
    }

    NodePtr parse_statement() {
        Nest nest(this);
        int line = peek().line;
        std::string kw = expect_name();
        if (kw == "if") return parse_if(line);
        if (kw == "for") return parse_for(line);
        if (kw == "set") return parse_set(line);
        if (kw == "macro") return parse_macro(line);
        if (kw == "call") return parse_call_block(line);
        if (kw == "filter") return parse_filter_block(line);
        if (kw == "break" || kw == "continue") {
            expect(TokenKind::BlockEnd, "'%}'");
            return make_node(kw == "break" ? NodeKind::Break : NodeKind::Continue, line);
        }
        if (kw == "generation") {
            expect(TokenKind::BlockEnd, "'%}'");
            std::string stop;
            auto body = parse_body({"endgeneration"}, &stop);
            expect(TokenKind::BlockEnd, "'%}'");
            return body;
        }
        fail("line {}: unknown tag '{}'", line, kw);
    }

    NodePtr parse_if(int line) {
        auto n = make_node(NodeKind::If, line);
        for (;;) {
            n->kids.push_back(parse_expr());
            expect(TokenKind::BlockEnd, "'%}'");
            std::string stop;
            n->kids.push_back(parse_body({"elif", "else", "endif"}, &stop));
            if (stop == "elif") continue;
            if (stop == "else") {
                expect(TokenKind::BlockEnd, "'%}'");
                n->kids.push_back(parse_body({"endif"}, &stop));
            }
            expect(TokenKind::BlockEnd, "'%}'");
            return n;
        }
    }

    std::vector<std::string> parse_targets() {
        std::vector<std::string> names;
        bool paren = accept_op("(");
        do names.push_back(expect_name());
        while (accept_op(","));
        if (paren) expect_op(")");
        return names;
    }

    NodePtr parse_for(int line) {
        auto n = make_node(NodeKind::For, line);
        n->names = parse_targets();
        if (!accept_name("in")) unexpected("'in'");
        n->kids.push_back(parse_tuple(false));
        NodePtr filter;
        if (accept_name("if")) filter = parse_expr();
        if (accept_name("recursive")) fail("line {}: recursive loops are not supported", line);
        expect(TokenKind::BlockEnd, "'%}'");
        std::string stop;
        n->kids.push_back(parse_body({"else", "endfor"}, &stop));
        NodePtr else_body;
        if (stop == "else") {
            expect(TokenKind::BlockEnd, "'%}'");
            else_body = parse_body({"endfor"}, &stop);
        }
        expect(TokenKind::BlockEnd, "'%}'");
        n->kids.push_back(else_body);
        n->kids.push_back(filter);
        return n;
    }

    NodePtr parse_set(int line) {
        if (peek().kind == TokenKind::Name && is_op(".", 1)) {
            auto n = make_node(NodeKind::Set, line);
            n->negate = true;
            n->names.push_back(next().text);
            next();
            n->names.push_back(expect_name());
            expect_op("=");
            n->kids.push_back(parse_tuple());
            expect(TokenKind::BlockEnd, "'%}'");
            return n;
        }
        auto targets = parse_targets();
        if (accept_op("=")) {
            auto n = make_node(NodeKind::Set, line);
            n->names = targets;
            n->kids.push_back(parse_tuple());
            expect(TokenKind::BlockEnd, "'%}'");
            return n;
        }
        if (targets.size() != 1) unexpected("'='");
        auto n = make_node(NodeKind::SetBlock, line, targets[0]);
        n->kids.push_back(nullptr);
        while (accept_op("|")) n->kids.push_back(parse_filter(nullptr));
        expect(TokenKind::BlockEnd, "'%}'");
        std::string stop;
        n->kids[0] = parse_body({"endset"}, &stop);
        expect(TokenKind::BlockEnd, "'%}'");
        return n;
    }

    void parse_params(Node& n) {
        expect_op("(");
        while (!accept_op(")")) {
            if (!n.names.empty()) expect_op(",");
            if (accept_op(")")) break;
            n.names.push_back(expect_name());
            if (accept_op("=")) n.kids.push_back(parse_expr());
            else if (n.kids.size() > 1) fail("line {}: parameter without a default after one with a default", n.line);
        }
    }

    NodePtr parse_macro(int line) {
        auto n = make_node(NodeKind::Macro, line, expect_name());
        n->kids.push_back(nullptr);
        parse_params(*n);
        expect(TokenKind::BlockEnd, "'%}'");
        std::string stop;
        n->kids[0] = parse_body({"endmacro"}, &stop);
        if (peek().kind == TokenKind::Name) next();
        expect(TokenKind::BlockEnd, "'%}'");
        return n;
    }

    NodePtr parse_call_block(int line) {
        auto n = make_node(NodeKind::CallBlock, line);
        auto params = make_node(NodeKind::Macro, line);
        params->kids.push_back(nullptr);
        if (is_op("(")) parse_params(*params);
        auto call = parse_expr();
        if (call->kind != NodeKind::Call) fail("line {}: {{% call %}} needs a macro call", line);
        expect(TokenKind::BlockEnd, "'%}'");
        std::string stop;
        params->kids[0] = parse_body({"endcall"}, &stop);
        expect(TokenKind::BlockEnd, "'%}'");
        n->kids = {call, params};
        return n;
    }

    NodePtr parse_filter_block(int line) {
        auto n = make_node(NodeKind::FilterBlock, line);
        n->kids.push_back(nullptr);
        do n->kids.push_back(parse_filter(nullptr));
        while (accept_op("|"));
        expect(TokenKind::BlockEnd, "'%}'");
        std::string stop;
        n->kids[0] = parse_body({"endfilter"}, &stop);
        expect(TokenKind::BlockEnd, "'%}'");
        return n;
    }

};

}  // namespace

NodePtr parse_template(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace lightllm::jinja
