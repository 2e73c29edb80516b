#include "hf_normalizer.h"
#include "check.h"
#include "unicode.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lightllm {

using json = nlohmann::json;

namespace {

std::vector<uint32_t> to_code_points(std::string_view s, std::vector<size_t>* offs) {
    std::vector<uint32_t> cps;
    for (size_t i = 0; i < s.size();) {
        size_t len;
        cps.push_back(utf8_decode(s.data() + i, s.size() - i, &len));
        offs->push_back(i);
        i += len;
    }
    offs->push_back(s.size());
    return cps;
}

// Every non-empty match replaced by `content`. *z (a byte offset into text)
// becomes the matching offset of the result; a match that begins before it
// counts whole.
std::string replace_all(const SplitRegex& re, std::string_view text, const std::string& content, size_t* z) {
    std::vector<size_t> offs;
    std::vector<uint32_t> cps = to_code_points(text, &offs);
    std::string out;
    size_t pos = 0, new_z = std::string::npos;
    for (auto [b, e] : re.find_all(cps.data(), cps.size())) {
        if (e == b) continue;
        if (new_z == std::string::npos && *z <= offs[b]) new_z = out.size() + (*z - offs[pos]);
        out.append(text.substr(offs[pos], offs[b] - offs[pos]));
        out += content;
        if (new_z == std::string::npos && *z < offs[e]) new_z = out.size();
        pos = e;
    }
    if (new_z == std::string::npos) new_z = out.size() + (*z - offs[pos]);
    out.append(text.substr(offs[pos]));
    *z = new_z;
    return out;
}

std::string strip(std::string_view text, bool left, bool right) {
    std::vector<size_t> offs;
    std::vector<uint32_t> cps = to_code_points(text, &offs);
    size_t b = 0, e = cps.size();
    while (left && b < e && unicode_is_whitespace(cps[b])) ++b;
    while (right && e > b && unicode_is_whitespace(cps[e - 1])) --e;
    return std::string(text.substr(offs[b], offs[e] - offs[b]));
}

// z extended over the combining marks that follow it (they compose with the
// first code point and share its original offset).
size_t over_marks(std::string_view s, size_t z) {
    while (z < s.size()) {
        size_t len;
        uint32_t cp = utf8_decode(s.data() + z, s.size() - z, &len);
        UnicodeGc g = unicode_gc(cp);
        if (g != UnicodeGc::Mn && g != UnicodeGc::Mc && g != UnicodeGc::Me) break;
        z += len;
    }
    return z;
}

}  // namespace

std::string regex_escape_literal(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        size_t len;
        uint32_t cp = utf8_decode(s.data() + i, s.size() - i, &len);
        i += len;
        out += fmt::format("\\x{{{:X}}}", cp);
    }
    return out;
}

HfNormalizer::HfNormalizer(const std::string& json_text, const std::string& path) {
    json j = json::parse(json_text);
    if (!j.is_null()) add(j, path);
}

void HfNormalizer::add(const json& j, const std::string& path) {
    std::string type = j.value("type", "");
    if (type == "Sequence") {
        for (const json& n : j.value("normalizers", json::array())) add(n, path);
        return;
    }
    Step s{Step::Nfc, {}, nullptr, false, false};
    if (type == "NFC") {
        s.kind = Step::Nfc;
    } else if (type == "NFKC") {
        s.kind = Step::Nfkc;
    } else if (type == "Lowercase") {
        s.kind = Step::Lowercase;
    } else if (type == "Prepend") {
        s.kind = Step::Prepend;
        s.content = j.at("prepend").get<std::string>();
    } else if (type == "Strip") {
        s.kind = Step::Strip;
        s.left = j.value("strip_left", false);
        s.right = j.value("strip_right", false);
    } else if (type == "Replace") {
        s.kind = Step::Replace;
        s.content = j.at("content").get<std::string>();
        const json& pat = j.at("pattern");
        std::string re;
        if (pat.contains("Regex")) re = pat["Regex"].get<std::string>();
        else if (pat.contains("String")) re = regex_escape_literal(pat["String"].get<std::string>());
        else fail("{}: normalizer Replace needs a String or Regex pattern", path);
        try {
            s.pattern = std::make_shared<SplitRegex>(re);
        } catch (const Error& e) {
            fail("{}: normalizer Replace: {}", path, e.what());
        }
    } else {
        fail("{}: unsupported normalizer '{}' (supported: NFC, NFKC, Lowercase, Replace, Prepend, Strip, Sequence)", path, type);
    }
    steps_.push_back(std::move(s));
}

std::string HfNormalizer::apply(std::string_view text, size_t* origin_prefix) const {
    std::string s(text);
    size_t& z = *origin_prefix;
    for (const Step& st : steps_) {
        std::string_view head = std::string_view(s).substr(0, z ? over_marks(s, z) : 0);
        switch (st.kind) {
            case Step::Nfc:
                z = unicode_nfc(head).size();
                s = unicode_nfc(s);
                break;
            case Step::Nfkc:
                z = unicode_nfkc(head).size();
                s = unicode_nfkc(s);
                break;
            case Step::Lowercase:
                z = unicode_lowercase(head).size();
                s = unicode_lowercase(s);
                break;
            case Step::Replace: s = replace_all(*st.pattern, s, st.content, &z); break;
            case Step::Prepend:
                if (!s.empty()) {
                    s = st.content + s;
                    z += st.content.size();
                }
                break;
            case Step::Strip: {
                std::string stripped = strip(s, st.left, false);
                size_t removed = s.size() - stripped.size();
                z = z > removed ? z - removed : 0;
                s = strip(stripped, false, st.right);
                z = std::min(z, s.size());
                break;
            }
        }
    }
    return s;
}

}  // namespace lightllm
