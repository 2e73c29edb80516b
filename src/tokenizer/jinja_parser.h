// Parses the tokens of a Jinja template into a syntax tree, with jinja2's
// grammar and operator precedence (lowest first):
//   x if c else y  <  or  <  and  <  not  <  comparisons, in, not in
//   <  + -  <  ~  <  * / // %  <  **  <  unary - +  <  postfix . [] () | is
// Statements: if/elif/else, for (targets, `if` filter, else), set (names,
// tuples, ns.attr, block form), macro, call, filter, break/continue, and
// generation blocks (their body is kept, the markers ignored as
// transformers renders them).
#pragma once
#include "jinja_ast.h"
#include "jinja_lexer.h"
#include <vector>

namespace lightllm::jinja {

// Throws Error "line N: ..." for syntax errors.
NodePtr parse_template(const std::vector<Token>& tokens);

}  // namespace lightllm::jinja
