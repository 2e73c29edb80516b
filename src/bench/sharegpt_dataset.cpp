#include "sharegpt_dataset.h"
#include "check.h"
#include "python_random.h"
#include "tokenizer.h"
#include <fstream>
#include <sstream>

namespace lightllm {

namespace {

using json = nlohmann::json;

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open the dataset file", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// End (one past) of the JSON value starting at `begin`, or npos when the text
// ends inside it. Strings are skipped whole (escapes included), so brackets
// inside them do not count.
size_t value_end(const std::string& t, size_t begin) {
    int depth = 0;
    for (size_t i = begin; i < t.size(); ++i) {
        const char c = t[i];
        if (c == '"') {
            for (++i; i < t.size() && t[i] != '"'; ++i)
                if (t[i] == '\\') ++i;
            if (i >= t.size()) return std::string::npos;
            if (depth == 0) return i + 1;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i;  // the array's own ']' ends a bare scalar
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (c == ',' || is_space(c))) {
            return i;  // end of a bare scalar (number, true, null...)
        }
    }
    return std::string::npos;
}

std::vector<ShareGptPair> pairs_of(const std::vector<json>& records) {
    std::vector<ShareGptPair> pairs;
    for (const json& c : records) {
        if (!c.is_object() || !c.contains("conversations") || !c["conversations"].is_array()) continue;
        const json& turns = c["conversations"];
        if (turns.size() < 2) continue;
        const json& a = turns[0];
        const json& b = turns[1];
        if (!a.is_object() || !b.is_object() || !a.contains("value") || !b.contains("value")) continue;
        if (!a["value"].is_string() || !b["value"].is_string()) continue;
        pairs.push_back({a["value"].get<std::string>(), b["value"].get<std::string>()});
    }
    return pairs;
}

}  // namespace

std::vector<json> read_json_array_prefix(const std::string& text, const std::string& path) {
    size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size() || text[i] != '[') fail("{}: expected a JSON array", path);
    ++i;
    std::vector<json> out;
    for (;;) {
        while (i < text.size() && (is_space(text[i]) || text[i] == ',')) ++i;
        if (i == text.size() || text[i] == ']') return out;
        const size_t end = value_end(text, i);
        if (end == std::string::npos || end == text.size()) return out;  // cut short here
        try {
            out.push_back(json::parse(text.begin() + long(i), text.begin() + long(end)));
        } catch (const json::parse_error& e) {
            fail("{}: record {} is not valid JSON ({})", path, out.size() + 1, e.what());
        }
        i = end;
    }
}

std::vector<ShareGptPair> read_sharegpt(const std::string& path) {
    const std::string text = read_text(path);
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) fail("{}: the dataset file is empty", path);
    std::vector<json> records;
    if (text[first] == '[') {
        records = read_json_array_prefix(text, path);
    } else {
        std::istringstream in(text);
        std::string line;
        for (int line_no = 1; std::getline(in, line); ++line_no) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            try {
                records.push_back(json::parse(line));
            } catch (const json::parse_error& e) {
                fail("{}: line {}: not valid JSON ({})", path, line_no, e.what());
            }
        }
    }
    std::vector<ShareGptPair> pairs = pairs_of(records);
    if (pairs.empty())
        fail("{}: no conversations with two turns (expected ShareGPT records with \"conversations\")", path);
    return pairs;
}

std::vector<WorkloadItem> sample_sharegpt(std::vector<ShareGptPair> pairs, const Tokenizer& tok,
                                          const ShareGptSampling& s) {
    PythonRandom(s.seed).shuffle(pairs);
    const bool bos = tok.add_bos();
    std::vector<WorkloadItem> items;
    for (ShareGptPair& p : pairs) {
        if (int(items.size()) == s.num_prompts) break;
        const int n_in = int(tok.encode(p.prompt, bos).size());
        const int n_out = s.fixed_output_len > 0 ? s.fixed_output_len : int(tok.encode(p.reply, bos).size());
        if (n_in < 4 || (s.fixed_output_len <= 0 && n_out < 4)) continue;
        if (n_in > 1024 || n_in + n_out > 2048) continue;
        WorkloadItem it;
        it.prompt = std::move(p.prompt);
        it.n_prompt = n_in;
        it.max_new_tokens = n_out;
        items.push_back(std::move(it));
    }
    return items;
}

}  // namespace lightllm
