#include "prompt_jsonl.h"
#include "check.h"
#include <nlohmann/json.hpp>
#include <cmath>
#include <limits>
#include <type_traits>

namespace lightllm {

namespace {

using json = nlohmann::json;

template <typename T>
T get_field(const json& j, const char* key, int line_no) {
    try {
        return j.at(key).get<T>();
    } catch (const json::exception&) {
        fail("line {}: field '{}' has the wrong type ({})", line_no, key, j.at(key).type_name());
    }
}

// An integer field that fits T; a non-integer (2.9, "2") or a value out of T's
// range (4294967297 for an int) is an error showing the value as written.
template <typename T>
T int_field(const json& j, const char* key, int line_no) {
    const json& v = j.at(key);
    if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
    } else if (v.is_number_integer()) {
        int64_t i = v.get<int64_t>();
        if (std::is_signed<T>::value ? i >= static_cast<int64_t>(std::numeric_limits<T>::min()) && i <= static_cast<int64_t>(std::numeric_limits<T>::max())
                                     : i >= 0)
            return static_cast<T>(i);
    } else {
        fail("line {}: field '{}' must be an integer, got {}", line_no, key, v.dump());
    }
    fail("line {}: field '{}' must be an integer between {} and {}, got {}", line_no, key, std::numeric_limits<T>::min(),
         std::numeric_limits<T>::max(), v.dump());
}

// A finite number that fits a float.
float float_field(const json& j, const char* key, int line_no) {
    const json& v = j.at(key);
    if (!v.is_number()) fail("line {}: field '{}' must be a number, got {}", line_no, key, v.dump());
    double d = v.get<double>();
    if (!(std::fabs(d) <= std::numeric_limits<float>::max())) fail("line {}: field '{}' is out of range, got {}", line_no, key, v.dump());
    return static_cast<float>(d);
}

}  // namespace

RequestInput parse_prompt_jsonl_line(const std::string& line, int line_no, const SamplingParams& defaults) {
    json j;
    try {
        j = json::parse(line);
    } catch (const json::parse_error& e) {
        fail("line {}: not valid JSON ({})", line_no, e.what());
    }
    if (!j.is_object()) fail("line {}: expected a JSON object, got {}", line_no, j.type_name());
    RequestInput in;
    in.params = defaults;
    SamplingParams& p = in.params;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        if (k == "prompt") {
            in.prompt = get_field<std::string>(j, "prompt", line_no);
        } else if (k == "messages") {
            if (!it->is_array()) fail("line {}: 'messages' must be a list", line_no);
            for (const json& m : *it) {
                if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
                    !m["content"].is_string())
                    fail("line {}: each message needs string 'role' and 'content'", line_no);
                in.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
            }
        } else if (k == "max_tokens") {
            p.max_new_tokens = int_field<int>(j, "max_tokens", line_no);
        } else if (k == "min_tokens") {
            p.min_new_tokens = int_field<int>(j, "min_tokens", line_no);
        } else if (k == "temperature") {
            p.temperature = float_field(j, "temperature", line_no);
        } else if (k == "top_k") {
            p.top_k = int_field<int>(j, "top_k", line_no);
        } else if (k == "top_p") {
            p.top_p = float_field(j, "top_p", line_no);
        } else if (k == "min_p") {
            p.min_p = float_field(j, "min_p", line_no);
        } else if (k == "repetition_penalty") {
            p.repetition_penalty = float_field(j, "repetition_penalty", line_no);
        } else if (k == "presence_penalty") {
            p.presence_penalty = float_field(j, "presence_penalty", line_no);
        } else if (k == "frequency_penalty") {
            p.frequency_penalty = float_field(j, "frequency_penalty", line_no);
        } else if (k == "seed") {
            p.seed = int_field<uint64_t>(j, "seed", line_no);
        } else if (k == "ignore_eos") {
            p.ignore_eos = get_field<bool>(j, "ignore_eos", line_no);
        } else if (k == "stop") {
            if (it->is_string())
                p.stop = {it->get<std::string>()};
            else
                p.stop = get_field<std::vector<std::string>>(j, "stop", line_no);
        } else {
            fail("line {}: unknown field '{}'", line_no, k);
        }
    }
    if (in.prompt.empty() == in.messages.empty())
        fail("line {}: give exactly one of 'prompt' (non-empty text) or 'messages'", line_no);
    return in;
}

}  // namespace lightllm
