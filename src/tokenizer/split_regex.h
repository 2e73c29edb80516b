// A small regex engine for tokenizer split patterns (Hugging Face
// tokenizer.json Split / ByteLevel regexes, llama.cpp's pre-tokenizer
// regexes), over code points.
//
// Syntax: literals and escapes (\r \n \t \f \v \e \0 \xHH \x{H..} \uHHHH, \s
// \S \d \D \w \W, \p{..} \P{..} \pL with the general categories L Lu Ll Lt Lm
// Lo M Mn Mc Me N Nd Nl No P.. S.. Z.. C.., LC/L& and Han), classes with
// ranges, negation, nested classes and `&&` intersection, `.` (anything but
// \n), groups (capturing, named and (?:..); captures are not reported),
// (?i:..) and (?i), alternation with leftmost-first priority (PCRE,
// Oniguruma), quantifiers * + ? {n} {n,} {n,m} {,m}, each greedy, lazy (?) or
// possessive (+), atomic groups (?>..), lookahead (?=..) (?!..), lookbehind
// (?<=..) (?<!..) of a fixed width, anchors ^ $ (line anchors, as Oniguruma's
// Ruby syntax in tokenizers has them), \A \z \Z, word boundaries \b \B.
// Compile errors name the pattern and the byte position.
//
// Matching: the pattern compiles to a small instruction program (Split
// instructions order the alternatives) run by a backtracking search that
// marks each (instruction, position) state it has explored (RE2's "bit
// state" idea): a state that failed once fails again from any start, so a
// search for all matches of a piece costs O(program size x piece length)
// outside lookaheads. Lookahead and atomic bodies are sub-programs whose result
// at each position is memoized.
#pragma once
#include "split_regex_class.h"
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lightllm {

struct RegexInst {
    enum Op : uint8_t {
        Class, Any, Split, Jmp, Match, LineBegin, LineEnd, TextBegin, TextEnd, TextEndNewline, WordBoundary, NotWordBoundary,
        Look, NegLook, LookBehind, NegLookBehind, Atomic
    };
    Op op = Match;
    // Class: class index; Split: preferred x, then y; Jmp: x; Look*/Atomic:
    // program index x; LookBehind/NegLookBehind: the body's width y.
    uint32_t x = 0, y = 0;
};

class SplitRegex {
public:
    // Throws Error naming the pattern and position on syntax it does not support.
    explicit SplitRegex(const std::string& pattern);

    // The non-overlapping matches in c[0, n) left to right as [begin, end)
    // code point offsets, empty matches included (after an empty match the
    // search resumes one code point further).
    std::vector<std::pair<size_t, size_t>> find_all(const uint32_t* c, size_t n) const;

    const std::string& pattern() const { return pattern_; }

private:
    friend class RegexCompiler;
    std::string pattern_;
    std::vector<RegexClass> classes_;
    std::vector<std::vector<RegexInst>> programs_;  // [0]: the pattern; others: lookahead / atomic bodies
};

}  // namespace lightllm
