// Code generation of split regexes: the parse tree (split_regex_ast.h) into
// instruction programs. Alternation a|b|c: Split(a, next) a Jmp(end) Split(b,
// next) b Jmp(end) c; X*: L: Split(X, out) X Jmp(L) (lazy: Split(out, X));
// X{n,m}: n copies, then m-n optional copies; lookahead and atomic bodies are
// separate programs the Look/NegLook/Atomic instruction names.
#include "check.h"
#include "split_regex_ast.h"

namespace lightllm {

namespace {

constexpr size_t kMaxProgram = 200000;  // instructions, after expanding counted repetitions

class RegexCodegen {
public:
    RegexCodegen(const std::string& pattern, std::vector<std::vector<RegexInst>>& programs) : pattern_(pattern), programs_(programs) {}

    // Appends `n` to program `prog`.
    void emit(const RegexNode& n, size_t prog) {
        std::vector<RegexInst>& code = programs_[prog];
        if (code.size() > kMaxProgram) fail("split regex '{}': pattern too large after expanding repetitions", pattern_);
        auto push = [&](RegexInst::Op op, uint32_t x = 0, uint32_t y = 0) {
            programs_[prog].push_back({op, x, y});
            return uint32_t(programs_[prog].size() - 1);
        };
        auto at = [&](uint32_t i) -> RegexInst& { return programs_[prog][i]; };
        auto here = [&] { return uint32_t(programs_[prog].size()); };
        switch (n.kind) {
            case RegexNode::Empty: break;
            case RegexNode::Cls: push(RegexInst::Class, n.cls); break;
            case RegexNode::Any: push(RegexInst::Any); break;
            case RegexNode::LineBegin: push(RegexInst::LineBegin); break;
            case RegexNode::LineEnd: push(RegexInst::LineEnd); break;
            case RegexNode::TextBegin: push(RegexInst::TextBegin); break;
            case RegexNode::TextEnd: push(RegexInst::TextEnd); break;
            case RegexNode::TextEndNewline: push(RegexInst::TextEndNewline); break;
            case RegexNode::WordBoundary: push(RegexInst::WordBoundary); break;
            case RegexNode::NotWordBoundary: push(RegexInst::NotWordBoundary); break;
            case RegexNode::LookBehind:
            case RegexNode::NegLookBehind: {
                uint32_t sub = emit_program(n.kids[0], programs_.size());
                push(n.kind == RegexNode::LookBehind ? RegexInst::LookBehind : RegexInst::NegLookBehind, sub,
                     uint32_t(regex_width(n.kids[0])));
                break;
            }
            case RegexNode::Cat:
                for (const RegexNode& k : n.kids) emit(k, prog);
                break;
            case RegexNode::Alt: {
                std::vector<uint32_t> jumps;
                for (size_t i = 0; i < n.kids.size(); ++i) {
                    uint32_t split = 0;
                    if (i + 1 < n.kids.size()) split = push(RegexInst::Split);
                    if (i + 1 < n.kids.size()) at(split).x = here();
                    emit(n.kids[i], prog);
                    if (i + 1 < n.kids.size()) {
                        jumps.push_back(push(RegexInst::Jmp));
                        at(split).y = here();
                    }
                }
                for (uint32_t j : jumps) at(j).x = here();
                break;
            }
            case RegexNode::Rep: {
                for (int i = 0; i < n.min; ++i) emit(n.kids[0], prog);
                if (n.max < 0) {
                    uint32_t loop = push(RegexInst::Split);
                    emit(n.kids[0], prog);
                    push(RegexInst::Jmp, loop);
                    at(loop).x = n.greedy ? loop + 1 : here();
                    at(loop).y = n.greedy ? here() : loop + 1;
                } else {
                    std::vector<uint32_t> splits;
                    for (int i = n.min; i < n.max; ++i) {
                        splits.push_back(push(RegexInst::Split));
                        emit(n.kids[0], prog);
                    }
                    for (uint32_t s : splits) {
                        at(s).x = n.greedy ? s + 1 : here();
                        at(s).y = n.greedy ? here() : s + 1;
                    }
                }
                break;
            }
            case RegexNode::Look:
            case RegexNode::NegLook:
            case RegexNode::Atomic: {
                uint32_t sub = emit_program(n.kids[0], programs_.size());
                push(n.kind == RegexNode::Look ? RegexInst::Look : n.kind == RegexNode::NegLook ? RegexInst::NegLook : RegexInst::Atomic, sub);
                break;
            }
        }
    }

    uint32_t emit_program(const RegexNode& body, size_t prog) {
        if (prog == programs_.size()) programs_.emplace_back();
        emit(body, prog);
        programs_[prog].push_back({RegexInst::Match, 0, 0});
        return uint32_t(prog);
    }

private:
    const std::string& pattern_;
    std::vector<std::vector<RegexInst>>& programs_;
};

}  // namespace

long regex_width(const RegexNode& n) {
    switch (n.kind) {
        case RegexNode::Cls:
        case RegexNode::Any: return 1;
        case RegexNode::Cat: {
            long w = 0;
            for (const RegexNode& k : n.kids) {
                long kw = regex_width(k);
                if (kw < 0) return -1;
                w += kw;
            }
            return w;
        }
        case RegexNode::Alt: {
            long w = regex_width(n.kids[0]);
            for (const RegexNode& k : n.kids)
                if (regex_width(k) != w) return -1;
            return w;
        }
        case RegexNode::Rep: {
            long kw = regex_width(n.kids[0]);
            return (n.max == n.min && kw >= 0) ? kw * n.min : -1;
        }
        case RegexNode::Atomic: return regex_width(n.kids[0]);
        default: return 0;  // anchors, lookarounds, empty
    }
}

void regex_codegen(const RegexNode& root, const std::string& pattern, std::vector<std::vector<RegexInst>>& programs) {
    programs.emplace_back();
    RegexCodegen(pattern, programs).emit_program(root, 0);
}

}  // namespace lightllm
