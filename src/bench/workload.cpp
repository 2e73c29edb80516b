#include "workload.h"
#include "check.h"
#include "sharegpt_dataset.h"
#include "workload_prefix.h"
#include "tokenizer.h"
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace lightllm {

namespace {

using json = nlohmann::json;

int uniform_len(std::mt19937_64& rng, int len, double ratio) {
    int lo = std::max(1, int(std::floor(len * (1.0 - ratio))));
    int hi = std::max(lo, int(std::ceil(len * (1.0 + ratio))));
    return std::uniform_int_distribution<int>(lo, hi)(rng);
}

int lognormal_len(std::mt19937_64& rng, int median) {
    std::lognormal_distribution<double> d(std::log(double(median)), 0.6);
    return std::clamp(int(std::lround(d(rng))), 1, 4 * median);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open the dataset file", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Objects of a JSON array file, or of a JSON Lines file.
std::vector<json> read_objects(const std::string& path) {
    std::string text = read_file(path);
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) fail("{}: the dataset file is empty", path);
    std::vector<json> out;
    if (text[first] == '[') {
        try {
            json j = json::parse(text);
            for (json& x : j) out.push_back(std::move(x));
        } catch (const json::parse_error& e) {
            fail("{}: not valid JSON ({}); a cut-short download?", path, e.what());
        }
        return out;
    }
    std::istringstream in(text);
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            out.push_back(json::parse(line));
        } catch (const json::parse_error& e) {
            fail("{}: line {}: not valid JSON ({})", path, line_no, e.what());
        }
    }
    return out;
}

std::vector<WorkloadItem> sharegpt(const WorkloadSpec& s, const Tokenizer* tok) {
    if (!tok)
        fail("--dataset-name sharegpt needs the model's tokenizer: for a dummy preset run bench/prepare_sharegpt.sh "
             "(the Llama-3 presets find its tokenizer) or give --tokenizer");
    ShareGptSampling sampling;
    sampling.num_prompts = s.num_prompts;
    sampling.seed = s.seed;
    sampling.fixed_output_len = s.output_len_given ? s.output_len : 0;
    return sample_sharegpt(read_sharegpt(s.dataset_path), *tok, sampling);
}

std::vector<WorkloadItem> jsonl(const WorkloadSpec& s, const Tokenizer* tok, int n_vocab, std::mt19937_64& rng) {
    std::vector<json> rows = read_objects(s.dataset_path);
    std::vector<WorkloadItem> items;
    for (size_t i = 0; i < rows.size(); ++i) {
        const json& r = rows[i];
        auto where = [&] { return fmt::format("{}: entry {}", s.dataset_path, i + 1); };
        if (!r.is_object()) fail("{}: expected an object", where());
        WorkloadItem it;
        bool has_text = r.contains("prompt") && r["prompt"].is_string();
        bool has_len = r.contains("prompt_len") && r["prompt_len"].is_number_integer();
        if (has_text && tok) {
            it.prompt = r["prompt"].get<std::string>();
            it.n_prompt = has_len ? r["prompt_len"].get<int>() : int(tok->encode(it.prompt, false).size());
        } else if (has_len) {
            it.n_prompt = r["prompt_len"].get<int>();
            if (it.n_prompt < 1) fail("{}: prompt_len must be >= 1", where());
            it.prompt_ids = random_ids(rng, it.n_prompt, n_vocab);
        } else {
            fail("{}: needs \"prompt_len\" (or \"prompt\" text and a model with a tokenizer)", where());
        }
        const char* out_key = r.contains("output_len") ? "output_len" : r.contains("max_tokens") ? "max_tokens" : nullptr;
        if (s.output_len_given || !out_key) {
            it.max_new_tokens = s.output_len;
        } else {
            if (!r[out_key].is_number_integer() || r[out_key].get<int>() < 1)
                fail("{}: \"{}\" must be a positive integer", where(), out_key);
            it.max_new_tokens = r[out_key].get<int>();
        }
        items.push_back(std::move(it));
    }
    if (items.empty()) fail("{}: no prompts", s.dataset_path);
    std::shuffle(items.begin(), items.end(), rng);
    if (int(items.size()) > s.num_prompts) items.resize(size_t(s.num_prompts));
    return items;
}

}  // namespace

std::vector<WorkloadItem> make_workload(const WorkloadSpec& s, const Tokenizer* tok, int n_vocab) {
    if (s.num_prompts < 1) fail("--num-prompts must be >= 1 (got {})", s.num_prompts);
    if (s.input_len < 1 || s.output_len < 1) fail("--input-len and --output-len must be >= 1");
    if (s.range_ratio < 0.0 || s.range_ratio >= 1.0) fail("--range-ratio must be in [0, 1) (got {})", s.range_ratio);
    if (!(s.request_rate > 0.0)) fail("--request-rate must be > 0 (got {}); inf sends everything at once", s.request_rate);
    std::mt19937_64 rng(s.seed);
    std::vector<WorkloadItem> items;
    if (s.dataset_name == "random" || s.dataset_name == "synthetic") {
        const bool logn = s.dataset_name == "synthetic";
        for (int i = 0; i < s.num_prompts; ++i) {
            WorkloadItem it;
            it.n_prompt = logn ? lognormal_len(rng, s.input_len) : uniform_len(rng, s.input_len, s.range_ratio);
            it.max_new_tokens = logn ? lognormal_len(rng, s.output_len) : uniform_len(rng, s.output_len, s.range_ratio);
            it.prompt_ids = random_ids(rng, it.n_prompt, n_vocab);
            items.push_back(std::move(it));
        }
    } else if (is_prefix_workload(s.dataset_name)) {
        items = make_prefix_workload(s, tok, n_vocab);
    } else if (s.dataset_name == "sharegpt" || s.dataset_name == "jsonl") {
        if (s.dataset_path.empty()) fail("--dataset-name {} needs --dataset-path", s.dataset_name);
        items = s.dataset_name == "sharegpt" ? sharegpt(s, tok) : jsonl(s, tok, n_vocab, rng);
    } else {
        fail("--dataset-name '{}': expected random, synthetic, sharegpt, jsonl, shared-prefix or multi-turn",
             s.dataset_name);
    }
    if (items.empty()) fail("{}: no prompts left after the length filters", s.dataset_path);
    if (std::isfinite(s.request_rate)) {
        std::exponential_distribution<double> gap(s.request_rate);
        double t = 0.0;
        for (WorkloadItem& it : items) {
            if (it.follows >= 0) continue;
            it.arrival_s = t;
            t += gap(rng);
        }
    }
    return items;
}

std::string describe_workload(const WorkloadSpec& s) {
    std::string rate = std::isfinite(s.request_rate) ? fmt::format("{:g}/s", s.request_rate) : "inf";
    if (s.dataset_name == "random" || s.dataset_name == "synthetic")
        return fmt::format("{} n={} in={} out={} range={:g} rate={}", s.dataset_name, s.num_prompts, s.input_len,
                           s.output_len, s.range_ratio, rate);
    if (s.dataset_name == "shared-prefix")
        return fmt::format("shared-prefix groups={} per_group={} prefix={} question={} out={} rate={}", s.groups,
                           s.prompts_per_group, s.prefix_len, s.question_len, s.output_len, rate);
    if (s.dataset_name == "multi-turn")
        return fmt::format("multi-turn {} conversations={} turns={} question={} out={} max_len={} rate={}",
                           s.dataset_path.empty() ? "random" : s.dataset_path, s.num_prompts, s.turns, s.question_len,
                           s.output_len, s.max_conversation_len, rate);
    return fmt::format("{} {} n={} rate={}", s.dataset_name, s.dataset_path, s.num_prompts, rate);
}

std::vector<int32_t> random_ids(std::mt19937_64& rng, int n, int n_vocab) {
    std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& id : ids) id = pick(rng);
    return ids;
}

}  // namespace lightllm
