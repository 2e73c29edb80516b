#include "jinja_expr_parser.h"
#include <cstdlib>

namespace lightllm::jinja {

NodePtr ExprParser::parse_tuple(bool with_cond) {
    int line = peek().line;
    NodePtr first = with_cond ? parse_expr() : parse_or();
    if (!is_op(",")) return first;
    auto list = make_node(NodeKind::ListLit, line);
    list->negate = true;  // a tuple
    list->kids.push_back(first);
    while (accept_op(",")) {
        if (peek().kind == TokenKind::BlockEnd || peek().kind == TokenKind::VarEnd || is_op("=")) break;
        list->kids.push_back(with_cond ? parse_expr() : parse_or());
    }
    return list;
}

NodePtr ExprParser::parse_expr() {
    Nest nest(this);
    NodePtr then = parse_or();
    while (is_name("if")) {
        auto n = make_node(NodeKind::Cond, next().line);
        NodePtr cond = parse_or();
        NodePtr other = accept_name("else") ? parse_expr() : nullptr;
        n->kids = {cond, then, other};
        then = n;
    }
    return then;
}

NodePtr ExprParser::binary(const std::string& op, NodePtr a, NodePtr b, int line) {
    auto n = make_node(NodeKind::Binary, line, op);
    n->kids = {std::move(a), std::move(b)};
    return n;
}

NodePtr ExprParser::parse_or() {
    NodePtr a = parse_and();
    while (is_name("or")) a = binary("or", a, (next(), parse_and()), peek().line);
    return a;
}
NodePtr ExprParser::parse_and() {
    NodePtr a = parse_not();
    while (is_name("and")) a = binary("and", a, (next(), parse_not()), peek().line);
    return a;
}
NodePtr ExprParser::parse_not() {
    if (is_name("not")) {
        Nest nest(this);
        auto n = make_node(NodeKind::Unary, next().line, "not");
        n->kids.push_back(parse_not());
        return n;
    }
    return parse_compare();
}
NodePtr ExprParser::parse_compare() {
    NodePtr a = parse_math1();
    NodePtr result;
    for (;;) {
        int line = peek().line;
        std::string op;
        if (peek().kind == TokenKind::Op &&
            (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
             peek().text == "<=" || peek().text == ">="))
            op = next().text;
        else if (is_name("in")) op = (next(), "in");
        else if (is_name("not") && is_name("in", 1)) op = (next(), next(), "not in");
        else break;
        NodePtr b = parse_math1();
        NodePtr cmp = binary(op, a, b, line);
        result = result ? binary("and", result, cmp, line) : cmp;
        a = b;
    }
    return result ? result : a;
}
NodePtr ExprParser::parse_math1() {
    NodePtr a = parse_concat();
    while (is_op("+") || is_op("-")) {
        const Token& op = next();
        a = binary(op.text, a, parse_concat(), op.line);
    }
    return a;
}
NodePtr ExprParser::parse_concat() {
    NodePtr a = parse_math2();
    while (is_op("~")) {
        int line = next().line;
        a = binary("~", a, parse_math2(), line);
    }
    return a;
}
NodePtr ExprParser::parse_math2() {
    NodePtr a = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
        const Token& op = next();
        a = binary(op.text, a, parse_pow(), op.line);
    }
    return a;
}
NodePtr ExprParser::parse_pow() {
    NodePtr a = parse_unary(true);
    while (is_op("**")) {
        int line = next().line;
        a = binary("**", a, parse_unary(true), line);
    }
    return a;
}
NodePtr ExprParser::parse_unary(bool with_filter) {
    NodePtr n;
    if (is_op("-") || is_op("+")) {
        Nest nest(this);
        auto u = make_node(NodeKind::Unary, peek().line, next().text);
        u->kids.push_back(parse_unary(false));
        n = u;
    } else {
        n = parse_primary();
    }
    n = parse_postfix(n);
    return with_filter ? parse_filter_expr(n) : n;
}

NodePtr ExprParser::parse_primary() {
    const Token& tok = next();
    switch (tok.kind) {
        case TokenKind::Name: {
            const std::string& s = tok.text;
            if (s == "true" || s == "True" || s == "false" || s == "False") {
                auto n = make_node(NodeKind::Literal, tok.line);
                n->value = Value::boolean(s[0] == 't' || s[0] == 'T');
                return n;
            }
            if (s == "none" || s == "None") {
                auto n = make_node(NodeKind::Literal, tok.line);
                n->value = Value::none();
                return n;
            }
            return make_node(NodeKind::Name, tok.line, s);
        }
        case TokenKind::String: {
            std::string s = tok.text;
            while (peek().kind == TokenKind::String) s += next().text;  // adjacent literals concatenate
            auto n = make_node(NodeKind::Literal, tok.line);
            n->value = Value::string(s);
            return n;
        }
        case TokenKind::Int: {
            auto n = make_node(NodeKind::Literal, tok.line);
            n->value = Value::integer(std::strtoll(tok.text.c_str(), nullptr, 10));
            return n;
        }
        case TokenKind::Float: {
            auto n = make_node(NodeKind::Literal, tok.line);
            n->value = Value::number(std::strtod(tok.text.c_str(), nullptr));
            return n;
        }
        case TokenKind::Op:
            if (tok.text == "(") {
                if (accept_op(")")) {
                    auto empty = make_node(NodeKind::ListLit, tok.line);
                    empty->negate = true;
                    return empty;
                }
                NodePtr inner = parse_tuple();
                expect_op(")");
                return inner;
            }
            if (tok.text == "[") {
                auto n = make_node(NodeKind::ListLit, tok.line);
                while (!accept_op("]")) {
                    if (!n->kids.empty()) expect_op(",");
                    if (accept_op("]")) break;
                    n->kids.push_back(parse_expr());
                }
                return n;
            }
            if (tok.text == "{") {
                auto n = make_node(NodeKind::DictLit, tok.line);
                while (!accept_op("}")) {
                    if (!n->kids.empty()) expect_op(",");
                    if (accept_op("}")) break;
                    n->kids.push_back(parse_expr());
                    expect_op(":");
                    n->kids.push_back(parse_expr());
                }
                return n;
            }
            break;
        default: break;
    }
    --p_;
    unexpected("an expression");
}

NodePtr ExprParser::parse_postfix(NodePtr n) {
    for (;;) {
        int line = peek().line;
        if (accept_op(".")) {
            auto a = make_node(NodeKind::GetAttr, line);
            if (peek().kind == TokenKind::Int) a->name = next().text;
            else a->name = expect_name();
            a->kids.push_back(n);
            n = a;
        } else if (accept_op("[")) {
            n = parse_subscript(n, line);
        } else if (is_op("(")) {
            n = parse_call(n);
        } else {
            return n;
        }
    }
}

NodePtr ExprParser::parse_subscript(NodePtr obj, int line) {
    NodePtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
        if (accept_op(":")) {
            if (++colons > 2) unexpected("']'");
            continue;
        }
        if (parts[colons]) unexpected("':' or ']'");
        parts[colons] = parse_expr();
    }
    next();
    auto n = make_node(colons ? NodeKind::Slice : NodeKind::GetItem, line);
    n->kids.push_back(obj);
    if (colons) n->kids.insert(n->kids.end(), {parts[0], parts[1], parts[2]});
    else if (!parts[0]) fail("line {}: empty subscript", line);
    else n->kids.push_back(parts[0]);
    return n;
}

void ExprParser::parse_args(Node& n) {
    expect_op("(");
    bool first = true;
    while (!accept_op(")")) {
        if (!first) expect_op(",");
        first = false;
        if (accept_op(")")) break;
        if (peek().kind == TokenKind::Name && is_op("=", 1)) {
            n.names.push_back(next().text);
            next();
        } else if (!n.names.empty()) {
            fail("line {}: positional argument after a keyword argument", peek().line);
        }
        n.kids.push_back(parse_expr());
    }
}

NodePtr ExprParser::parse_call(NodePtr callee) {
    auto n = make_node(NodeKind::Call, peek().line);
    n->kids.push_back(callee);
    parse_args(*n);
    return n;
}

NodePtr ExprParser::parse_filter(NodePtr obj) {
    int line = peek().line;
    auto n = make_node(NodeKind::Filter, line, expect_name());
    n->kids.push_back(obj);
    if (is_op("(")) parse_args(*n);
    return n;
}

NodePtr ExprParser::parse_filter_expr(NodePtr n) {
    for (;;) {
        if (accept_op("|")) {
            n = parse_filter(n);
        } else if (is_name("is")) {
            auto t = make_node(NodeKind::Test, next().line);
            t->negate = accept_name("not");
            t->name = expect_name();
            t->kids.push_back(n);
            const Token& a = peek();
            bool bare_arg = (a.kind == TokenKind::Name && a.text != "else" && a.text != "or" && a.text != "and") ||
                            a.kind == TokenKind::String || a.kind == TokenKind::Int || a.kind == TokenKind::Float ||
                            (a.kind == TokenKind::Op && (a.text == "[" || a.text == "{"));
            if (is_op("(")) parse_args(*t);
            else if (bare_arg) t->kids.push_back(parse_postfix(parse_primary()));
            n = t;
        } else if (is_op("(")) {
            n = parse_call(n);
        } else {
            return n;
        }
    }
}
}  // namespace lightllm::jinja
