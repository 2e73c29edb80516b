// The prefix-cache bench workloads (shared-prefix, multi-turn) and the
// driver's conversation replay, without a model; then `lightllm bench` on
// them with the tiny fixture model: the cache finds the shared tokens, and
// --no-prefix-cache finds none.
#include "bench_driver.h"
#include "check.h"
#include "test_util.h"
#include "tokenizer.h"
#include "workload.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace lightllm;
using json = nlohmann::json;

namespace {

std::string temp_path(const char* name) { return "/tmp/lightllm_wlprefix_test_" + std::to_string(getpid()) + "_" + name; }

}  // namespace

TEST_CASE("workload: shared-prefix gives groups x prompts requests, each group's prompts share its system prompt") {
    WorkloadSpec s;
    s.dataset_name = "shared-prefix";
    s.prefix_len = 50;
    s.groups = 5;
    s.prompts_per_group = 4;
    s.question_len = 7;
    s.output_len = 9;
    s.seed = 1;
    const std::vector<WorkloadItem> w = make_workload(s, nullptr, 1000);
    REQUIRE(w.size() == 20);
    std::map<std::vector<int32_t>, int> per_prefix;
    std::vector<size_t> first_index;
    for (size_t i = 0; i < w.size(); ++i) {
        const WorkloadItem& it = w[i];
        REQUIRE(it.prompt_ids.size() == 57);
        CHECK(it.n_prompt == 57);
        CHECK(it.max_new_tokens == 9);
        CHECK(it.follows == -1);
        for (int32_t id : it.prompt_ids) CHECK((id >= 0 && id < 1000));
        const std::vector<int32_t> prefix(it.prompt_ids.begin(), it.prompt_ids.begin() + 50);
        if (per_prefix[prefix]++ == 0) first_index.push_back(i);
    }
    CHECK(per_prefix.size() == 5);
    for (const auto& [p, n] : per_prefix) CHECK(n == 4);
    // Shuffled: the groups are not sent one after another.
    CHECK(first_index != std::vector<size_t>{0, 4, 8, 12, 16});
    CHECK(make_workload(s, nullptr, 1000)[3].prompt_ids == w[3].prompt_ids);
    s.groups = 0;
    CHECK_THROWS_WITH_AS(make_workload(s, nullptr, 1000), doctest::Contains("--groups"), Error);
}

TEST_CASE("workload: multi-turn from ShareGPT conversations: human turns in order, later turns follow the earlier") {
    auto tok = load_tokenizer(test_data("tiny-tokenizer"));
    const std::string path = temp_path("sharegpt.json");
    std::ofstream(path) << R"([
      {"id": "a", "conversations": [{"from": "human", "value": "Hello there"}, {"from": "gpt", "value": "Hi!"},
                                    {"from": "human", "value": "How are you"}, {"from": "gpt", "value": "Fine, thanks"},
                                    {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Goodbye"}]},
      {"id": "b", "conversations": [{"from": "human", "value": "one turn only"}, {"from": "gpt", "value": "ok"}]},
      {"id": "c", "conversations": [{"from": "human", "value": "first"}, {"from": "gpt", "value": "reply"},
                                    {"from": "human", "value": "second"}, {"from": "gpt", "value": "x"}]}
    ])";
    WorkloadSpec s;
    s.dataset_name = "multi-turn";
    s.dataset_path = path;
    s.num_prompts = 10;
    s.request_rate = 5.0;
    const std::vector<WorkloadItem> w = make_workload(s, tok.get(), tok->n_vocab());
    REQUIRE(w.size() == 5);  // b has one human turn: dropped
    std::map<std::string, const WorkloadItem*> by_text;
    for (const WorkloadItem& it : w) by_text[tok->decode(it.prompt_ids)] = &it;
    REQUIRE(by_text.count("Hello there"));
    REQUIRE(by_text.count("How are you"));
    REQUIRE(by_text.count("Bye"));
    REQUIRE(by_text.count("second"));
    const WorkloadItem& a1 = *by_text["Hello there"];
    const WorkloadItem& a2 = *by_text["How are you"];
    const WorkloadItem& a3 = *by_text["Bye"];
    CHECK(a1.follows == -1);
    CHECK(&w[size_t(a2.follows)] == &a1);
    CHECK(&w[size_t(a3.follows)] == &a2);
    CHECK(a1.max_new_tokens == 3);   // "Hi!": one token per character
    CHECK(a2.max_new_tokens == 12);  // "Fine, thanks"
    CHECK(a2.n_prompt == 11 + 3 + 11);
    CHECK(a2.arrival_s == 0.0);  // later turns have no arrival time of their own
    // A conversation stops before passing --max-conversation-len.
    s.max_conversation_len = 30;
    for (const WorkloadItem& it : make_workload(s, tok.get(), tok->n_vocab())) CHECK(tok->decode(it.prompt_ids) != "Bye");
    CHECK_THROWS_WITH_AS(make_workload(s, nullptr, 256), doctest::Contains("tokenizer"), Error);
    std::remove(path.c_str());
}

TEST_CASE("bench driver: a later turn is sent after the one it follows, with its prompt, answer and new message") {
    WorkloadSpec s;
    s.dataset_name = "multi-turn";
    s.num_prompts = 3;
    s.turns = 3;
    s.question_len = 4;
    s.output_len = 2;
    const std::vector<WorkloadItem> w = make_workload(s, nullptr, 100);
    REQUIRE(w.size() == 9);
    std::mutex m;
    std::map<size_t, std::vector<int32_t>> sent;  // by index of the first message
    std::vector<std::thread> threads;
    std::vector<std::vector<int32_t>> prompts;
    auto sender = [&](const WorkloadItem& item, std::function<void(RequestRecord)> done) {
        std::lock_guard<std::mutex> lock(m);
        prompts.push_back(item.prompt_ids);
        // A fake engine that answers with the prompt's length, from another thread.
        threads.emplace_back([item, done] {
            RequestRecord r;
            r.ok = true;
            r.n_prompt = int(item.prompt_ids.size());
            r.output_ids = {int32_t(item.prompt_ids.size()), 99};
            r.n_output = 2;
            done(r);
        });
    };
    DriveResult res = drive_workload(w, sender, false);
    for (auto& t : threads) t.join();
    REQUIRE(prompts.size() == 9);
    for (size_t c = 0; c < 3; ++c) {
        const WorkloadItem& t0 = w[c * 3];
        std::vector<int32_t> want = t0.prompt_ids;
        CHECK(res.records[c * 3].n_prompt == 4);
        for (size_t k = 1; k < 3; ++k) {
            want.insert(want.end(), {int32_t(want.size()), 99});
            want.insert(want.end(), w[c * 3 + k].prompt_ids.begin(), w[c * 3 + k].prompt_ids.end());
            CHECK(res.records[c * 3 + k].n_prompt == int(want.size()));
            CHECK(std::find(prompts.begin(), prompts.end(), want) != prompts.end());
        }
    }
}

namespace {

json bench_json(const std::string& extra) {
    const std::string out = temp_path("bench.json");
    auto r = run_lightllm("bench -m " + test_data("tiny-llama-gqa") + " --tokenizer " + test_data("tiny-tokenizer") +
                          " --device cpu --max-total-tokens 3000 --ignore-eos --seed 3 --json " + out + " " + extra);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("Prefix cache") != std::string::npos);
    std::ifstream f(out);
    REQUIRE(f.good());
    json j = json::parse(f);
    std::remove(out.c_str());
    return j;
}

}  // namespace

TEST_CASE("bench cli: shared-prefix and multi-turn find their shared tokens in the prefix cache") {
    const std::string shared = "--dataset-name shared-prefix --prefix-len 30 --groups 3 --prompts-per-group 4 "
                               "--question-len 4 --output-len 5";
    json on = bench_json(shared);
    CHECK(on["completed"] == 12);
    CHECK(on["config"]["prefix_cache"] == true);
    const json& pc = on["prefix_cache"];
    CHECK(pc["query_tokens"] == 12 * 34);
    // Each group computes its system prompt once (the others wait a step for it).
    CHECK(pc["hit_tokens"] == 9 * 30);
    CHECK(pc["hit_requests"] == 9);
    CHECK(pc["miss_requests"] == 3);
    CHECK(pc["cached_prompt_tokens"] == 9 * 30);
    json off = bench_json(shared + " --no-prefix-cache");
    CHECK(off["config"]["prefix_cache"] == false);
    CHECK(off["prefix_cache"]["hit_tokens"] == 0);
    CHECK(off["prefix_cache"]["hit_requests"] == 0);
    // Cascade attention is on by default and recorded; --no-cascade-attention turns it off.
    CHECK(on["config"]["cascade_attention"] == true);
    json flat = bench_json(shared + " --no-cascade-attention");
    CHECK(flat["config"]["cascade_attention"] == false);
    CHECK(flat["completed"] == 12);
    CHECK(flat["prefix_cache"]["hit_tokens"] == 9 * 30);

    json turns = bench_json("--dataset-name multi-turn --num-prompts 3 --turns 3 --question-len 5 --output-len 4");
    CHECK(turns["completed"] == 9);
    // Turn k resends turns 1..k-1 (prompts and answers): all of it but the
    // previous answer's last token (never fed back) is in the cache.
    CHECK(turns["prefix_cache"]["hit_requests"] == 6);
    CHECK(turns["prefix_cache"]["cached_prompt_tokens"] == 3 * ((5 + 4 - 1) + (2 * (5 + 4) - 1)));
    CHECK(turns["total_input_tokens"] == 3 * (5 + 14 + 23));
}
