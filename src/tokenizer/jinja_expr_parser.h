// Jinja expressions, with jinja2's operator precedence (lowest first):
//   x if c else y  <  or  <  and  <  not  <  comparisons, in, not in
//   <  + -  <  ~  <  * / // %  <  **  <  unary - +  <  postfix . [] () | is
// Comparison chains (a < b < c) become `and`s; adjacent string literals join.
#pragma once
#include "jinja_token_stream.h"

namespace lightllm::jinja {

class ExprParser : public TokenStream {
public:
    using TokenStream::TokenStream;

    // A tuple `a, b` (a tuple node) or one expression; with_cond = false
    // leaves a trailing `if` alone (the filter of a for loop).
    NodePtr parse_tuple(bool with_cond = true);
    NodePtr parse_expr();
    NodePtr parse_or();
    NodePtr parse_postfix(NodePtr n);
    NodePtr parse_primary();
    // `name(args)` after a '|', applied to obj (nullptr in filter blocks).
    NodePtr parse_filter(NodePtr obj);
    // Arguments after '(': positional first, then name=value.
    void parse_args(Node& n);

private:
    NodePtr binary(const std::string& op, NodePtr a, NodePtr b, int line);
    NodePtr parse_and();
    NodePtr parse_not();
    NodePtr parse_compare();
    NodePtr parse_math1();
    NodePtr parse_concat();
    NodePtr parse_math2();
    NodePtr parse_pow();
    NodePtr parse_unary(bool with_filter);
    NodePtr parse_subscript(NodePtr obj, int line);
    NodePtr parse_call(NodePtr callee);
    NodePtr parse_filter_expr(NodePtr n);
};

}  // namespace lightllm::jinja
