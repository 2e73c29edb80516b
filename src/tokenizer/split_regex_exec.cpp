// Matching of split regexes (split_regex.h): a backtracking search over the
// instruction program with an explicit stack and a visited bit per
// (position, instruction). Leftmost-first: a Split explores x before y.
//
// Why the visited bits may persist: whether a state (pc, pos) can reach Match
// depends only on pc, pos and the text, not on where the search started. So
// a state found failing stays failing for later start positions. The states
// of a successful search lie at positions <= its end and searches only move
// forward, so after a match ending at e only the bits of position e are
// cleared. Sub-programs (lookahead, atomic groups) run anchored; their
// results are memoized per position, and the bits their successful runs set
// are cleared again (those states were not failures).
#include "check.h"
#include "split_regex.h"
#include <cstring>

namespace lightllm {

namespace {

class RegexSearch {
public:
    RegexSearch(const std::vector<std::vector<RegexInst>>& programs, const std::vector<RegexClass>& classes, const uint32_t* c,
                size_t n)
        : programs_(programs), classes_(classes), c_(c), n_(n), subs_(programs.size()) {}

    // The end of the match of program `prog` anchored at `start`, or -1.
    long run(size_t prog, size_t start, bool record) {
        Sub& s = sub(prog);
        const std::vector<RegexInst>& code = programs_[prog];
        std::vector<std::pair<uint32_t, size_t>>& stack = s.stack;
        stack.clear();
        stack.push_back({0, start});
        size_t touched_begin = s.touched.size();
        while (!stack.empty()) {
            auto [pc, pos] = stack.back();
            stack.pop_back();
            for (;;) {
                size_t bit = pos * s.stride + pc;
                uint64_t& word = s.visited[bit >> 6];
                uint64_t mask = uint64_t(1) << (bit & 63);
                if (word & mask) break;
                word |= mask;
                if (record) s.touched.push_back(bit);
                const RegexInst& in = code[pc];
                bool ok = true;
                switch (in.op) {
                    case RegexInst::Class:
                        ok = pos < n_ && classes_[in.x].matches(c_[pos]);
                        ++pos;
                        break;
                    case RegexInst::Any:
                        ok = pos < n_ && c_[pos] != '\n';
                        ++pos;
                        break;
                    case RegexInst::Split:
                        stack.push_back({in.y, pos});
                        pc = in.x;
                        continue;
                    case RegexInst::Jmp: pc = in.x; continue;
                    case RegexInst::Match:
                        if (record) {  // a success: its states were not failures
                            for (size_t i = touched_begin; i < s.touched.size(); ++i)
                                s.visited[s.touched[i] >> 6] &= ~(uint64_t(1) << (s.touched[i] & 63));
                        }
                        if (record) s.touched.resize(touched_begin);
                        return long(pos);
                    case RegexInst::LineBegin: ok = pos == 0 || c_[pos - 1] == '\n'; break;
                    case RegexInst::LineEnd: ok = pos == n_ || c_[pos] == '\n'; break;
                    case RegexInst::TextBegin: ok = pos == 0; break;
                    case RegexInst::TextEnd: ok = pos == n_; break;
                    case RegexInst::TextEndNewline: ok = pos == n_ || (pos + 1 == n_ && c_[pos] == '\n'); break;
                    case RegexInst::WordBoundary:
                    case RegexInst::NotWordBoundary: {
                        bool before = pos > 0 && regex_is_word(c_[pos - 1], true), after = pos < n_ && regex_is_word(c_[pos], true);
                        ok = (before != after) == (in.op == RegexInst::WordBoundary);
                        break;
                    }
                    case RegexInst::Look:
                    case RegexInst::NegLook: ok = look(in.x, pos) == (in.op == RegexInst::Look); break;
                    case RegexInst::LookBehind:
                    case RegexInst::NegLookBehind:  // a fixed-width body matching right before pos
                        ok = (pos >= in.y && look(in.x, pos - in.y)) == (in.op == RegexInst::LookBehind);
                        break;
                    case RegexInst::Atomic: {
                        long e = atomic(in.x, pos);
                        ok = e >= 0;
                        if (ok) pos = size_t(e);
                        break;
                    }
                }
                if (!ok) break;
                ++pc;
            }
        }
        if (record) s.touched.resize(touched_begin);  // failures: their bits stay
        return -1;
    }

    // Leftmost match starting at or after `from`: {begin, end}, or begin = npos.
    std::pair<size_t, size_t> search(size_t from) {
        for (size_t s = from; s <= n_; ++s) {
            long e = run(0, s, false);
            if (e >= 0) return {s, size_t(e)};
        }
        return {std::string::npos, 0};
    }

    // Forget position `pos` of the main program (states of a success there).
    void clear_position(size_t pos) {
        Sub& s = sub(0);
        for (size_t pc = 0; pc < s.stride; ++pc) {
            size_t bit = pos * s.stride + pc;
            s.visited[bit >> 6] &= ~(uint64_t(1) << (bit & 63));
        }
    }

private:
    struct Sub {
        size_t stride = 0;                 // program length
        std::vector<uint64_t> visited;     // bit pos * stride + pc
        std::vector<size_t> touched;       // bits set by the current sub-program runs
        std::vector<std::pair<uint32_t, size_t>> stack;
        std::vector<long> memo;            // lookahead: 0/1, atomic: end; -2 unknown
    };

    Sub& sub(size_t prog) {
        Sub& s = subs_[prog];
        if (s.stride == 0) {
            s.stride = programs_[prog].size();
            s.visited.assign((s.stride * (n_ + 1) + 63) / 64, 0);
            if (prog != 0) s.memo.assign(n_ + 1, -2);
        }
        return s;
    }

    bool look(size_t prog, size_t pos) {
        if (sub(prog).memo[pos] == -2) {
            long r = run(prog, pos, true) >= 0 ? 1 : 0;
            sub(prog).memo[pos] = r;
        }
        return sub(prog).memo[pos] == 1;
    }

    long atomic(size_t prog, size_t pos) {
        if (sub(prog).memo[pos] == -2) {
            long r = run(prog, pos, true);
            sub(prog).memo[pos] = r;
        }
        return sub(prog).memo[pos];
    }

    const std::vector<std::vector<RegexInst>>& programs_;
    const std::vector<RegexClass>& classes_;
    const uint32_t* c_;
    size_t n_;
    std::vector<Sub> subs_;
};

}  // namespace

std::vector<std::pair<size_t, size_t>> SplitRegex::find_all(const uint32_t* c, size_t n) const {
    std::vector<std::pair<size_t, size_t>> out;
    RegexSearch search(programs_, classes_, c, n);
    size_t from = 0;
    while (from <= n) {
        auto [b, e] = search.search(from);
        if (b == std::string::npos) break;
        out.push_back({b, e});
        if (e == b) {
            from = b + 1;
        } else {
            search.clear_position(e);
            from = e;
        }
    }
    return out;
}

}  // namespace lightllm
