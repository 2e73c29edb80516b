// Splits Jinja template source into tokens the way jinja2's lexer does with
// transformers' settings: text, {{ }} and {% %} delimiters with the
// expression tokens between them; {# #} comments dropped.
// Whitespace control:
//   {%- / {{- / {#-   strip all whitespace before the tag
//   -%} / -}} / -#}   strip all whitespace after it
//   trim_blocks       the first newline after %} or #} is dropped
//   lstrip_blocks     spaces/tabs from the start of a line to {% or {# are
//                     dropped ({%+ keeps them)
// The source's newlines are normalised to \n and one trailing newline is
// dropped (keep_trailing_newline = False). {% raw %}...{% endraw %} is text.
#pragma once
#include <string>
#include <vector>

namespace lightllm::jinja {

enum class TokenKind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
    TokenKind kind;
    std::string text;  // Text: the text; Name/Op: the spelling; String: the unescaped value; numbers: digits
    int line = 1;
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws Error naming the line for an unterminated tag or string, or a
// character no token starts with.
std::vector<Token> lex_template(const std::string& source, const LexOptions& opts = {});

}  // namespace lightllm::jinja
