// The parse tree of a split regex (split_regex_parse.cpp builds it,
// split_regex_codegen.cpp turns it into instruction programs). Internal to
// the engine.
#pragma once
#include "split_regex.h"
#include <string>
#include <vector>

namespace lightllm {

struct RegexNode {
    enum Kind {
        Empty, Cls, Any, Cat, Alt, Rep, Look, NegLook, LookBehind, NegLookBehind, Atomic, LineBegin, LineEnd, TextBegin,
        TextEnd, TextEndNewline, WordBoundary, NotWordBoundary
    };
    Kind kind = Empty;
    uint32_t cls = 0;              // Cls: index into the class list
    std::vector<RegexNode> kids;
    int min = 0, max = -1;         // Rep; max -1: unbounded
    bool greedy = true;
};

// The number of code points every match of `n` has, or -1 when it varies.
long regex_width(const RegexNode& n);

// Appends the program of `root` (ending in Match) to `programs` as
// programs[0], and one program per lookahead / atomic body after it. Throws
// Error naming `pattern` when counted repetitions expand past the limit.
void regex_codegen(const RegexNode& root, const std::string& pattern, std::vector<std::vector<RegexInst>>& programs);

}  // namespace lightllm
