#include "prompt_jsonl.h"
#include "check.h"
#include <nlohmann/json.hpp>

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
            p.max_new_tokens = get_field<int>(j, "max_tokens", line_no);
        } else if (k == "min_tokens") {
            p.min_new_tokens = get_field<int>(j, "min_tokens", line_no);
        } else if (k == "temperature") {
            p.temperature = get_field<float>(j, "temperature", line_no);
        } else if (k == "top_k") {
            p.top_k = get_field<int>(j, "top_k", line_no);
        } else if (k == "top_p") {
            p.top_p = get_field<float>(j, "top_p", line_no);
        } else if (k == "min_p") {
            p.min_p = get_field<float>(j, "min_p", line_no);
        } else if (k == "repetition_penalty") {
            p.repetition_penalty = get_field<float>(j, "repetition_penalty", line_no);
        } else if (k == "presence_penalty") {
            p.presence_penalty = get_field<float>(j, "presence_penalty", line_no);
        } else if (k == "frequency_penalty") {
            p.frequency_penalty = get_field<float>(j, "frequency_penalty", line_no);
        } else if (k == "seed") {
            p.seed = get_field<uint64_t>(j, "seed", line_no);
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
