#include "request_validation.h"
#include <cmath>

namespace lightllm {

namespace {

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer";
        case json::value_t::number_float: return "a number";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "a list";
        case json::value_t::object: return "an object";
        default: return "an unsupported value";
    }
}

const json* find_field(const json& obj, const char* name) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string number_text(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
    return fmt::format("{}", v);
}

}  // namespace

void bad_request(const std::string& param, const std::string& message) {
    throw ApiError(400, message, param);
}

json parse_json_object(const std::string& body) {
    if (body.empty()) throw ApiError(400, "the request body is empty; expected a JSON object");
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
    if (!j.is_object()) throw ApiError(400, fmt::format("the request body must be a JSON object, got {}", type_name(j)));
    return j;
}

std::optional<bool> opt_bool(const json& obj, const char* name) {
    const json* v = find_field(obj, name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad_request(name, fmt::format("'{}' must be a boolean, got {}", name, type_name(*v)));
    return v->get<bool>();
}

std::optional<int64_t> opt_int(const json& obj, const char* name, int64_t lo, int64_t hi) {
    const json* v = find_field(obj, name);
    if (!v) return std::nullopt;
    double d = 0;
    if (v->is_number_unsigned()) {
        uint64_t u = v->get<uint64_t>();
        d = u > static_cast<uint64_t>(INT64_MAX) ? 1e19 : static_cast<double>(u);
        if (u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo) return static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
        int64_t i = v->get<int64_t>();
        if (i >= lo && i <= hi) return i;
        d = static_cast<double>(i);
    } else if (v->is_number_float()) {
        d = v->get<double>();
        if (!std::isfinite(d) || d != std::floor(d))
            bad_request(name, fmt::format("'{}' must be an integer, got {}", name, v->dump()));
        if (d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) return static_cast<int64_t>(d);
    } else {
        bad_request(name, fmt::format("'{}' must be an integer, got {}", name, type_name(*v)));
    }
    bad_request(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, number_text(d)));
}

std::optional<double> opt_number(const json& obj, const char* name, double lo, double hi) {
    const json* v = find_field(obj, name);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad_request(name, fmt::format("'{}' must be a number, got {}", name, type_name(*v)));
    double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi)
        bad_request(name, fmt::format("'{}' must be between {} and {}, got {}", name, number_text(lo), number_text(hi), v->dump()));
    return d;
}

std::optional<std::string> opt_string(const json& obj, const char* name) {
    const json* v = find_field(obj, name);
    if (!v) return std::nullopt;
    if (!v->is_string()) bad_request(name, fmt::format("'{}' must be a string, got {}", name, type_name(*v)));
    return v->get<std::string>();
}

const json* opt_object(const json& obj, const char* name) {
    const json* v = find_field(obj, name);
    if (v && !v->is_object()) bad_request(name, fmt::format("'{}' must be an object, got {}", name, type_name(*v)));
    return v;
}

std::vector<std::string> string_or_list(const json& obj, const char* name, int max_count, size_t max_chars) {
    const json* v = find_field(obj, name);
    std::vector<std::string> out;
    if (!v) return out;
    auto add = [&](const json& s) {
        if (!s.is_string()) bad_request(name, fmt::format("'{}' must be a string or a list of strings, got {} in it", name, type_name(s)));
        std::string text = s.get<std::string>();
        if (text.empty()) bad_request(name, fmt::format("'{}' may not contain an empty string", name));
        if (text.size() > max_chars) bad_request(name, fmt::format("each '{}' string may be at most {} bytes, got {}", name, max_chars, text.size()));
        out.push_back(std::move(text));
    };
    if (v->is_string()) {
        add(*v);
    } else if (v->is_array()) {
        if (static_cast<int64_t>(v->size()) > max_count)
            bad_request(name, fmt::format("'{}' may hold at most {} strings, got {}", name, max_count, v->size()));
        for (const json& s : *v) add(s);
    } else {
        bad_request(name, fmt::format("'{}' must be a string or a list of strings, got {}", name, type_name(*v)));
    }
    return out;
}

std::vector<int32_t> token_id_list(const json& value, const char* name, int n_vocab) {
    if (!value.is_array()) bad_request(name, fmt::format("'{}' must be a list of token ids, got {}", name, type_name(value)));
    std::vector<int32_t> ids;
    ids.reserve(value.size());
    for (const json& t : value) {
        if (!t.is_number_integer()) bad_request(name, fmt::format("'{}' must hold integer token ids, got {}", name, type_name(t)));
        int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : t.get<int64_t>();
        int64_t hi = n_vocab > 0 ? n_vocab : INT32_MAX;
        if (id < 0 || id >= hi) bad_request(name, fmt::format("token id {} in '{}' is out of range [0, {})", id, name, hi));
        ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
}

bool is_valid_utf8(const std::string& s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > n) return false;
        for (int k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
        i += len;
    }
    return true;
}

void check_text(const std::string& text, const char* name, size_t max_chars) {
    if (text.size() > max_chars)
        bad_request(name, fmt::format("'{}' is {} bytes, more than the limit of {} (--max-prompt-bytes)", name, text.size(), max_chars));
    if (!is_valid_utf8(text)) bad_request(name, fmt::format("'{}' is not valid UTF-8", name));
}

void reject_unsupported(const json& obj, const char* name, const json& neutral) {
    const json* v = find_field(obj, name);
    if (!v || *v == neutral) return;
    if ((v->is_array() || v->is_object()) && v->empty()) return;
    bad_request(name, fmt::format("'{}' is not supported by this server", name));
}

}  // namespace lightllm
