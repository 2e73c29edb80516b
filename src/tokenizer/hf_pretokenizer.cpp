#include "hf_pretokenizer.h"
#include "check.h"
#include "hf_normalizer.h"
#include "unicode.h"
#include <nlohmann/json.hpp>

namespace lightllm {

using json = nlohmann::json;

namespace {

struct Piece {
    std::string text;
    size_t origin;  // leading bytes that come from offset 0 of the original text
};

struct Part {
    size_t b, e;
    bool flag;  // before the behavior: is a match; after: to remove
};

// tokenizers' NormalizedString::split over code point offsets of a piece of n code points.
std::vector<Part> split_parts(const std::vector<std::pair<size_t, size_t>>& matches, size_t n, SplitBehavior behavior,
                              bool invert) {
    std::vector<Part> parts;
    size_t prev = 0;
    for (auto [b, e] : matches) {
        if (prev != b) parts.push_back({prev, b, false});
        parts.push_back({b, e, true});
        prev = e;
    }
    if (prev != n || parts.empty()) parts.push_back({prev, n, false});
    if (invert)
        for (Part& p : parts) p.flag = !p.flag;
    std::vector<Part> out;
    bool previous = false;
    switch (behavior) {
        case SplitBehavior::Isolated:
            for (Part p : parts) out.push_back({p.b, p.e, false});
            return out;
        case SplitBehavior::Removed: return parts;
        case SplitBehavior::Contiguous:
            for (Part p : parts) {
                if (p.flag == previous && !out.empty()) out.back().e = p.e;
                else out.push_back({p.b, p.e, false});
                previous = p.flag;
            }
            return out;
        case SplitBehavior::MergedWithPrevious:
            for (Part p : parts) {
                if (p.flag && !previous && !out.empty()) out.back().e = p.e;
                else out.push_back({p.b, p.e, false});
                previous = p.flag;
            }
            return out;
        case SplitBehavior::MergedWithNext:
            for (size_t i = parts.size(); i-- > 0;) {
                Part p = parts[i];
                if (p.flag && !previous && !out.empty()) out.back().b = p.b;
                else out.push_back({p.b, p.e, false});
                previous = p.flag;
            }
            return std::vector<Part>(out.rbegin(), out.rend());
    }
    return out;
}

SplitBehavior behavior_of(const std::string& name, const std::string& path) {
    if (name == "Removed") return SplitBehavior::Removed;
    if (name == "Isolated") return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (name == "Contiguous") return SplitBehavior::Contiguous;
    fail("{}: unknown Split behavior '{}' (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)", path, name);
}

std::shared_ptr<SplitRegex> compile(const std::string& re, const std::string& path, const std::string& what) {
    try {
        return std::make_shared<SplitRegex>(re);
    } catch (const Error& e) {
        fail("{}: pre_tokenizer {}: {}", path, what, e.what());
    }
}

void split_pieces(std::vector<Piece>& pieces, const SplitRegex& re, SplitBehavior behavior, bool invert, bool onig_empty_rule) {
    std::vector<Piece> out;
    for (const Piece& piece : pieces) {
        std::vector<uint32_t> cps;
        std::vector<size_t> offs;
        for (size_t i = 0; i < piece.text.size();) {
            size_t len;
            cps.push_back(utf8_decode(piece.text.data() + i, piece.text.size() - i, &len));
            offs.push_back(i);
            i += len;
        }
        offs.push_back(piece.text.size());
        std::vector<std::pair<size_t, size_t>> matches;
        size_t last_end = std::string::npos;
        for (auto [b, e] : re.find_all(cps.data(), cps.size())) {
            if (onig_empty_rule && b == e && b == last_end) continue;
            matches.push_back({b, e});
            last_end = e;
        }
        for (const Part& p : split_parts(matches, cps.size(), behavior, invert))
            if (!p.flag && p.e > p.b)
                out.push_back({piece.text.substr(offs[p.b], offs[p.e] - offs[p.b]),
                               std::min(piece.origin > offs[p.b] ? piece.origin - offs[p.b] : 0, offs[p.e] - offs[p.b])});
    }
    pieces.swap(out);
}

}  // namespace

HfPreTokenizer::HfPreTokenizer(const std::string& json_text, const std::string& path) {
    json j = json::parse(json_text);
    if (j.is_null()) fail("{}: byte-level BPE without a pre_tokenizer is not supported", path);
    add(j, path);
    for (size_t i = 0; i + 1 < steps_.size(); ++i)
        if (steps_[i].kind == Step::ByteLevel)
            fail("{}: a ByteLevel pre-tokenizer followed by other steps is not supported (ByteLevel must come last)", path);
}

void HfPreTokenizer::add(const json& j, const std::string& path) {
    std::string type = j.value("type", "");
    Step s;
    auto predicate = [&](const std::string& re, SplitBehavior b) {
        s.regex = compile(re, path, type);
        s.behavior = b;
        s.onig_empty_rule = false;
    };
    if (type == "Sequence") {
        for (const json& p : j.value("pretokenizers", json::array())) add(p, path);
        return;
    } else if (type == "Split") {
        const json& pat = j.at("pattern");
        std::string re;
        if (pat.contains("Regex")) re = pat["Regex"].get<std::string>();
        else if (pat.contains("String")) re = regex_escape_literal(pat["String"].get<std::string>());
        else fail("{}: Split pre-tokenizer needs a String or Regex pattern", path);
        s.regex = compile(re, path, "Split");
        s.behavior = behavior_of(j.value("behavior", "Isolated"), path);
        s.invert = j.value("invert", false);
    } else if (type == "ByteLevel") {
        s.kind = Step::ByteLevel;
        s.add_prefix_space = j.value("add_prefix_space", false);
        s.use_regex = j.value("use_regex", true);
    } else if (type == "Digits") {
        predicate("\\p{N}", j.value("individual_digits", false) ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
    } else if (type == "WhitespaceSplit") {
        predicate("\\s", SplitBehavior::Removed);
    } else if (type == "Whitespace") {
        // \w+|[^\w\s]+ in the Rust regex crate (not Oniguruma): its \w has the joiners
        // U+200C/U+200D and not the Latin-1 numbers ² ³ ¹ ¼ ½ ¾.
        const std::string word = "[\\w\\x{200C}\\x{200D}&&[^\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}]]";
        s.regex = compile(word + "+|[^\\s" + word + "]+", path, type);
        s.behavior = SplitBehavior::Removed;
        s.invert = true;
    } else if (type == "Punctuation") {
        predicate("[\\p{P}!-/:-@\\[-`{-~]", behavior_of(j.value("behavior", "Isolated"), path));
    } else if (type == "CharDelimiterSplit") {
        predicate(regex_escape_literal(j.at("delimiter").get<std::string>()), SplitBehavior::Removed);
    } else if (type == "Metaspace") {
        s.kind = Step::Metaspace;
        s.replacement = j.value("replacement", "\u2581");
        std::string scheme = j.value("prepend_scheme", j.value("add_prefix_space", true) ? "always" : "never");
        if (scheme == "always") s.prepend = 0;
        else if (scheme == "first") s.prepend = 1;
        else if (scheme == "never") s.prepend = 2;
        else fail("{}: Metaspace prepend_scheme '{}' (always, first, never)", path, scheme);
        s.split = j.value("split", true);
        s.regex = compile(regex_escape_literal(s.replacement), path, type);
    } else {
        fail("{}: unsupported pre_tokenizer '{}' (supported: Split, ByteLevel, Digits, Metaspace, WhitespaceSplit, "
             "Whitespace, Punctuation, CharDelimiterSplit, Sequence)",
             path, type);
    }
    steps_.push_back(std::move(s));
}

std::vector<std::string> HfPreTokenizer::pre_tokenize(std::string_view text, size_t origin_prefix) const {
    std::vector<Piece> pieces;
    if (!text.empty()) pieces.push_back({std::string(text), origin_prefix});
    for (const Step& st : steps_) {
        switch (st.kind) {
            case Step::Split: split_pieces(pieces, *st.regex, st.behavior, st.invert, st.onig_empty_rule); break;
            case Step::ByteLevel: {
                std::vector<Piece> out;
                for (Piece& p : pieces) {
                    if (st.add_prefix_space && p.text[0] != ' ') {
                        p.text.insert(0, 1, ' ');
                        if (p.origin) ++p.origin;
                    }
                    if (!st.use_regex) {
                        out.push_back(std::move(p));
                        continue;
                    }
                    for (std::string_view v : bpe_pre_tokenize(BpePreKind::Gpt2, p.text)) out.push_back({std::string(v), false});
                }
                pieces.swap(out);
                break;
            }
            case Step::Metaspace: {
                for (Piece& p : pieces) {
                    std::string r;
                    size_t origin = 0;
                    for (size_t i = 0; i < p.text.size(); ++i) {
                        if (p.text[i] == ' ') r += st.replacement;
                        else r += p.text[i];
                        if (i + 1 == p.origin) origin = r.size();
                    }
                    bool starts = r.compare(0, st.replacement.size(), st.replacement) == 0;
                    if (!starts && (st.prepend == 0 || (st.prepend == 1 && origin > 0))) {
                        r = st.replacement + r;
                        if (origin) origin += st.replacement.size();
                    }
                    p.text = std::move(r);
                    p.origin = origin;
                }
                if (st.split) split_pieces(pieces, *st.regex, SplitBehavior::MergedWithNext, false, false);
                break;
            }
        }
    }
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (Piece& p : pieces) out.push_back(std::move(p.text));
    return out;
}

}  // namespace lightllm
