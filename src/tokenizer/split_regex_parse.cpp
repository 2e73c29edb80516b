// Parser of split regexes (split_regex.h): recursive descent into the tree of
// split_regex_ast.h, classes collected on the SplitRegex; then code
// generation (split_regex_codegen.cpp).
#include "check.h"
#include "split_regex_ast.h"
#include "unicode.h"

namespace lightllm {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

class RegexCompiler {
public:
    RegexCompiler(SplitRegex& re) : re_(re), p_(re.pattern_) {}

    void compile() {
        RegexNode root = parse_alt();
        if (pos_ < p_.size()) error("unmatched ')'");
        regex_codegen(root, p_, re_.programs_);
        for (RegexClass& c : re_.classes_) c.finalize();
    }

private:
    [[noreturn]] void error(const std::string& what) const { fail("split regex '{}': {} at byte {}", p_, what, pos_); }
    bool at_end() const { return pos_ >= p_.size(); }
    char peek(size_t k = 0) const { return pos_ + k < p_.size() ? p_[pos_ + k] : '\0'; }
    bool eat(const char* s) {
        size_t n = std::char_traits<char>::length(s);
        if (p_.compare(pos_, n, s) != 0) return false;
        pos_ += n;
        return true;
    }
    uint32_t next_cp() {
        size_t len;
        uint32_t cp = utf8_decode(p_.data() + pos_, p_.size() - pos_, &len);
        pos_ += len;
        return cp;
    }

    RegexNode class_node(RegexClass c) {
        c.icase = c.icase || icase_;
        re_.classes_.push_back(std::move(c));
        RegexNode n;
        n.kind = RegexNode::Cls;
        n.cls = uint32_t(re_.classes_.size() - 1);
        return n;
    }
    static RegexClass single(uint32_t lo, uint32_t hi) {
        RegexClass c;
        c.items.push_back({RegexClassItem::Range, false, lo, hi, 0});
        return c;
    }

    RegexNode parse_alt() {
        RegexNode alt;
        alt.kind = RegexNode::Alt;
        alt.kids.push_back(parse_cat());
        while (eat("|")) alt.kids.push_back(parse_cat());
        return alt.kids.size() == 1 ? std::move(alt.kids[0]) : alt;
    }

    RegexNode parse_cat() {
        RegexNode cat;
        cat.kind = RegexNode::Cat;
        while (!at_end() && peek() != '|' && peek() != ')') {
            if (eat("(?i)")) {
                icase_ = true;
                continue;
            }
            if (eat("(?-i)")) {
                icase_ = false;
                continue;
            }
            cat.kids.push_back(parse_quantified());
        }
        return cat;
    }

    // {n}, {n,}, {n,m}, {,m} at pos_ ('{'); false (pos_ unchanged) when it is a literal brace.
    bool parse_braces(int* min, int* max) {
        size_t save = pos_++;
        auto number = [&](int* out) {
            size_t start = pos_;
            long v = 0;
            while (peek() >= '0' && peek() <= '9') {
                v = v * 10 + (p_[pos_++] - '0');
                if (v > 100000) error("repetition count too large");
            }
            *out = int(v);
            return pos_ > start;
        };
        bool has_min = number(min);
        if (!has_min) *min = 0;
        if (eat("}")) {
            if (has_min) {
                *max = *min;
                return true;
            }
        } else if (eat(",")) {
            bool has_max = number(max);
            if (!has_max) *max = -1;
            if ((has_min || has_max) && eat("}")) {
                if (*max >= 0 && *max < *min) error("repetition {n,m} with m < n");
                return true;
            }
        }
        pos_ = save;
        return false;
    }

    RegexNode parse_quantified() {
        RegexNode atom = parse_atom();
        for (;;) {
            int min, max;
            if (eat("*")) min = 0, max = -1;
            else if (eat("+")) min = 1, max = -1;
            else if (eat("?")) min = 0, max = 1;
            else if (peek() == '{' && parse_braces(&min, &max)) {}
            else break;
            if (atom.kind == RegexNode::LineBegin || atom.kind == RegexNode::LineEnd || atom.kind == RegexNode::TextBegin ||
                atom.kind == RegexNode::TextEnd || atom.kind == RegexNode::TextEndNewline || atom.kind == RegexNode::WordBoundary ||
                atom.kind == RegexNode::NotWordBoundary)
                error("quantifier after an anchor");
            RegexNode rep;
            rep.kind = RegexNode::Rep;
            rep.min = min;
            rep.max = max;
            if (eat("?")) rep.greedy = false;
            bool possessive = eat("+");
            rep.kids.push_back(std::move(atom));
            if (possessive) {
                RegexNode at;
                at.kind = RegexNode::Atomic;
                at.kids.push_back(std::move(rep));
                atom = std::move(at);
            } else {
                atom = std::move(rep);
            }
        }
        return atom;
    }

    RegexNode parse_group() {  // after '('
        bool saved_icase = icase_;
        RegexNode::Kind kind = RegexNode::Cat;
        if (eat("?")) {
            if (eat(":")) {}
            else if (eat("=")) kind = RegexNode::Look;
            else if (eat("!")) kind = RegexNode::NegLook;
            else if (eat(">")) kind = RegexNode::Atomic;
            else if (eat("i:")) icase_ = true;
            else if (eat("-i:")) icase_ = false;
            else if (eat("<=")) kind = RegexNode::LookBehind;
            else if (eat("<!")) kind = RegexNode::NegLookBehind;
            else if (eat("P<") || eat("<")) {
                while (!at_end() && peek() != '>') ++pos_;
                if (!eat(">")) error("unterminated group name");
            } else {
                error("unsupported group flag");
            }
        }
        RegexNode body = parse_alt();
        if (!eat(")")) error("missing ')'");
        if ((kind == RegexNode::LookBehind || kind == RegexNode::NegLookBehind) && regex_width(body) < 0)
            error("lookbehind of variable width is not supported");
        icase_ = saved_icase;
        if (kind == RegexNode::Cat) return body;
        RegexNode n;
        n.kind = kind;
        n.kids.push_back(std::move(body));
        return n;
    }

    RegexNode parse_atom() {
        char c = peek();
        if (c == '(') {
            ++pos_;
            return parse_group();
        }
        if (c == '[') {
            ++pos_;
            return class_node(parse_class());
        }
        RegexNode n;
        if (c == '.') {
            ++pos_;
            n.kind = RegexNode::Any;
            return n;
        }
        if (c == '^' || c == '$') {
            ++pos_;
            n.kind = c == '^' ? RegexNode::LineBegin : RegexNode::LineEnd;
            return n;
        }
        if (c == '*' || c == '+' || c == '?') error("nothing to repeat");
        if (c == '\\') {
            if (eat("\\A")) n.kind = RegexNode::TextBegin;
            else if (eat("\\z")) n.kind = RegexNode::TextEnd;
            else if (eat("\\Z")) n.kind = RegexNode::TextEndNewline;
            else if (eat("\\b")) n.kind = RegexNode::WordBoundary;
            else if (eat("\\B")) n.kind = RegexNode::NotWordBoundary;
            if (n.kind != RegexNode::Empty) return n;
            RegexClass cls;
            parse_escape(cls, false);
            return class_node(std::move(cls));
        }
        uint32_t cp = next_cp();
        return class_node(single(cp, cp));
    }

    uint32_t parse_hex(size_t digits) {
        uint32_t v = 0;
        for (size_t i = 0; i < digits; ++i) {
            if (!is_hex(peek())) error("malformed hexadecimal escape");
            char h = p_[pos_++];
            v = v * 16 + uint32_t(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        return v;
    }

    // An escape at pos_ ('\\'), added to `cls` as an item; returns the code
    // point when the escape is a single character (for ranges), else -1.
    long parse_escape(RegexClass& cls, bool in_class) {
        ++pos_;
        if (at_end()) error("pattern ends with '\\'");
        char c = p_[pos_++];
        auto add_cp = [&](uint32_t cp) {
            cls.items.push_back({RegexClassItem::Range, false, cp, cp, 0});
            return long(cp);
        };
        auto add = [&](RegexClassItem::Kind k, bool neg, uint32_t mask) {
            cls.items.push_back({k, neg, 0, 0, mask});
            return -1L;
        };
        switch (c) {
            case 'r': return add_cp('\r');
            case 'n': return add_cp('\n');
            case 't': return add_cp('\t');
            case 'f': return add_cp('\f');
            case 'v': return add_cp('\v');
            case 'a': return add_cp('\a');
            case 'e': return add_cp(0x1B);
            case '0': return add_cp(0);
            case 's': return add(RegexClassItem::Space, false, 0);
            case 'S': return add(RegexClassItem::Space, true, 0);
            case 'd': return add(RegexClassItem::Gc, false, 1u << uint32_t(UnicodeGc::Nd));
            case 'D': return add(RegexClassItem::Gc, true, 1u << uint32_t(UnicodeGc::Nd));
            case 'w':
            case 'W':  // lo = 1: Oniguruma's \w outside classes also has ² ³ ¹ ¼ ½ ¾
                cls.items.push_back({RegexClassItem::Word, c == 'W', in_class ? 0u : 1u, 0, 0});
                return -1;
            case 'x':
                if (eat("{")) {
                    size_t start = pos_;
                    while (is_hex(peek())) ++pos_;
                    if (pos_ == start || pos_ - start > 6 || !eat("}")) error("malformed \\x{...}");
                    pos_ = start;
                    uint32_t v = parse_hex(std::string_view(p_).substr(start).find('}'));
                    ++pos_;
                    if (v > 0x10FFFF) error("code point above U+10FFFF");
                    return add_cp(v);
                }
                return add_cp(parse_hex(2));
            case 'u': return add_cp(parse_hex(4));
            case 'U': return add_cp(parse_hex(8));
            case 'p':
            case 'P': {
                std::string name;
                if (eat("{")) {
                    while (!at_end() && peek() != '}') name += p_[pos_++];
                    if (!eat("}")) error("unterminated \\p{...}");
                } else if (!at_end()) {
                    name = std::string(1, p_[pos_++]);
                }
                bool neg = c == 'P';
                if (!name.empty() && name[0] == '^') {
                    neg = !neg;
                    name.erase(0, 1);
                }
                if (name == "Han" || name == "Hani") return add(RegexClassItem::Han, neg, 0);
                uint32_t mask = regex_gc_mask(name);
                if (!mask) error("unknown property \\p{" + name + "}");
                return add(RegexClassItem::Gc, neg, mask);
            }
            default:
                if ((c >= '1' && c <= '9')) error("backreferences are not supported");
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) error(std::string("unsupported escape \\") + c);
                --pos_;
                return add_cp(next_cp());
        }
    }

    // After '['; through the closing ']'.
    RegexClass parse_class() {
        RegexClass cls;
        cls.icase = icase_;
        cls.negated = eat("^");
        RegexClass operand;  // items up to the first `&&`
        operand.icase = icase_;
        std::vector<RegexClass> more;  // operands after each `&&`
        RegexClass* cur = &operand;
        bool first = true;
        for (;;) {
            if (at_end()) error("unterminated character class");
            if (peek() == ']' && !first) {
                ++pos_;
                break;
            }
            first = false;
            if (eat("&&")) {
                more.emplace_back();
                more.back().icase = icase_;
                cur = &more.back();
                continue;
            }
            if (peek() == '[') {
                if (peek(1) == ':') error("POSIX classes [:name:] are not supported");
                ++pos_;
                cur->nested.push_back(parse_class());
                cur->items.push_back({RegexClassItem::Nested, false, uint32_t(cur->nested.size() - 1), 0, 0});
                continue;
            }
            long lo = peek() == '\\' ? parse_escape(*cur, true) : long(next_cp());
            if (lo < 0) continue;
            if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
                ++pos_;
                RegexClass tmp;
                long hi = peek() == '\\' ? parse_escape(tmp, true) : long(next_cp());
                if (hi < 0) error("class range ends in a set");
                if (hi < lo) error("class range out of order");
                if (!cur->items.empty() && cur->items.back().kind == RegexClassItem::Range && cur->items.back().lo == uint32_t(lo) &&
                    cur->items.back().hi == uint32_t(lo))
                    cur->items.back().hi = uint32_t(hi);
                else
                    cur->items.push_back({RegexClassItem::Range, false, uint32_t(lo), uint32_t(hi), 0});
            } else if (cur->items.empty() || cur->items.back().kind != RegexClassItem::Range || cur->items.back().lo != uint32_t(lo)) {
                cur->items.push_back({RegexClassItem::Range, false, uint32_t(lo), uint32_t(lo), 0});
            }
        }
        if (more.empty()) {
            operand.negated = cls.negated;
            return operand;
        }
        RegexClass inter;
        inter.icase = icase_;
        inter.nested.push_back(std::move(operand));
        inter.items.push_back({RegexClassItem::Nested, false, 0, 0, 0});
        inter.intersect = std::move(more);
        cls.nested.push_back(std::move(inter));
        cls.items.push_back({RegexClassItem::Nested, false, 0, 0, 0});
        return cls;
    }

    SplitRegex& re_;
    const std::string& p_;
    size_t pos_ = 0;
    bool icase_ = false;
};

SplitRegex::SplitRegex(const std::string& pattern) : pattern_(pattern) {
    RegexCompiler(*this).compile();
}

}  // namespace lightllm
