// Bench workloads and report math, without a model.
#include "bench_report.h"
#include "check.h"
#include "test_util.h"
#include "tokenizer.h"
#include "workload.h"
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <map>
#include <fstream>
#include <unistd.h>

using namespace lightllm;

namespace {

std::string write_temp(const char* name, const std::string& text) {
    std::string path = "/tmp/lightllm_workload_test_" + std::to_string(getpid()) + "_" + name;
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("workload: random lengths stay in range, ids in the vocabulary, same seed same workload") {
    WorkloadSpec s;
    s.num_prompts = 200;
    s.input_len = 100;
    s.output_len = 50;
    s.range_ratio = 0.2;
    s.seed = 3;
    auto a = make_workload(s, nullptr, 1000);
    auto b = make_workload(s, nullptr, 1000);
    REQUIRE(a.size() == 200);
    int min_in = 1 << 30, max_in = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].n_prompt == int(a[i].prompt_ids.size()));
        CHECK(a[i].n_prompt >= 80);
        CHECK(a[i].n_prompt <= 120);
        CHECK(a[i].max_new_tokens >= 40);
        CHECK(a[i].max_new_tokens <= 60);
        for (int32_t id : a[i].prompt_ids) CHECK((id >= 0 && id < 1000));
        CHECK(a[i].prompt_ids == b[i].prompt_ids);
        CHECK(a[i].arrival_s == 0.0);
        min_in = std::min(min_in, a[i].n_prompt);
        max_in = std::max(max_in, a[i].n_prompt);
    }
    CHECK(max_in > min_in);  // lengths do vary
    s.seed = 4;
    CHECK(make_workload(s, nullptr, 1000)[0].prompt_ids != a[0].prompt_ids);
}

TEST_CASE("workload: Poisson arrivals have the requested mean rate") {
    WorkloadSpec s;
    s.num_prompts = 4000;
    s.input_len = 4;
    s.output_len = 4;
    s.request_rate = 50.0;
    auto w = make_workload(s, nullptr, 100);
    CHECK(w.front().arrival_s == 0.0);
    for (size_t i = 1; i < w.size(); ++i) CHECK(w[i].arrival_s >= w[i - 1].arrival_s);
    double mean_gap = w.back().arrival_s / double(w.size() - 1);
    CHECK(mean_gap == doctest::Approx(1.0 / 50.0).epsilon(0.06));  // ~4 sigma for 4000 draws
}

TEST_CASE("workload: synthetic lengths are long-tailed around the given medians") {
    WorkloadSpec s;
    s.dataset_name = "synthetic";
    s.num_prompts = 2000;
    s.input_len = 200;
    s.output_len = 100;
    auto w = make_workload(s, nullptr, 100);
    std::vector<int> in;
    for (auto& it : w) in.push_back(it.n_prompt);
    std::sort(in.begin(), in.end());
    CHECK(in[in.size() / 2] == doctest::Approx(200).epsilon(0.1));
    CHECK(in.back() > 2 * 200);
    CHECK(in.back() <= 4 * 200);
}

TEST_CASE("workload: ShareGPT pairs, vLLM's length filters, first human turn and first reply") {
    auto tok = load_tokenizer(test_data("tiny-tokenizer"));
    std::string data = write_temp("sharegpt.json", R"([
      {"id": "a", "conversations": [{"from": "human", "value": "Tell me a joke"}, {"from": "gpt", "value": "No jokes today"},
                                    {"from": "human", "value": "why"}]},
      {"id": "b", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello there friend"}]},
      {"id": "c", "conversations": [{"from": "human", "value": "only one turn"}]},
      {"id": "d", "conversations": [{"from": "human", "value": "What is two plus two"}, {"from": "gpt", "value": "four"}]},
      {"id": "e", "conversations": [{"from": "human", "value": "Name a color please"}, {"from": "gpt", "value": "Blue is a color"}]}
    ])");
    WorkloadSpec s;
    s.dataset_name = "sharegpt";
    s.dataset_path = data;
    s.num_prompts = 10;
    auto w = make_workload(s, tok.get(), tok->n_vocab());
    // One token per character, plus BOS (this tokenizer adds one, and vLLM
    // counts it): b's prompt "hi" is 3 tokens (dropped); c has one turn; d's
    // reply "four" is 5 (kept).
    REQUIRE(w.size() == 3);
    std::map<std::string, int> out_len;
    for (auto& it : w) {
        out_len[it.prompt] = it.max_new_tokens;
        CHECK(it.n_prompt == int(it.prompt.size()) + 1);
    }
    CHECK(out_len["Tell me a joke"] == 15);
    CHECK(out_len["What is two plus two"] == 5);
    CHECK(out_len["Name a color please"] == 16);
    s.output_len = 7;
    s.output_len_given = true;
    for (auto& it : make_workload(s, tok.get(), tok->n_vocab())) CHECK(it.max_new_tokens == 7);

    std::string cut = write_temp("cut.json", R"([{"id": "a", "conversations": [{"from": "human", "value": "Tell)");
    s.dataset_path = cut;
    CHECK_THROWS_WITH_AS(make_workload(s, tok.get(), 256), doctest::Contains("cut.json"), Error);
    s.dataset_path = data;
    CHECK_THROWS_WITH_AS(make_workload(s, nullptr, 256), doctest::Contains("tokenizer"), Error);
    std::remove(data.c_str());
    std::remove(cut.c_str());
}

TEST_CASE("workload: JSON Lines with text, lengths, or both; bad entries name the line") {
    std::string data = write_temp("w.jsonl", "{\"prompt\": \"abcdef\", \"output_len\": 5}\n"
                                             "{\"prompt_len\": 9, \"output_len\": 3}\n"
                                             "{\"prompt\": \"xyz\", \"prompt_len\": 30, \"max_tokens\": 2}\n");
    WorkloadSpec s;
    s.dataset_name = "jsonl";
    s.dataset_path = data;
    s.num_prompts = 3;
    auto tok = load_tokenizer(test_data("tiny-tokenizer"));
    auto with_tok = make_workload(s, tok.get(), 256);
    REQUIRE(with_tok.size() == 3);
    int n_text = 0;
    for (auto& it : with_tok) n_text += !it.prompt.empty();
    CHECK(n_text == 2);
    // Without a tokenizer, recorded lengths become random ids; a text-only entry is an error.
    CHECK_THROWS_WITH_AS(make_workload(s, nullptr, 256), doctest::Contains("entry 1"), Error);
    std::string lens = write_temp("l.jsonl", "{\"prompt_len\": 9, \"output_len\": 3}\n{\"prompt_len\": 4}\n");
    s.dataset_path = lens;
    s.output_len = 11;
    auto ids = make_workload(s, nullptr, 256);
    REQUIRE(ids.size() == 2);
    for (auto& it : ids) {
        CHECK(it.prompt.empty());
        CHECK(int(it.prompt_ids.size()) == it.n_prompt);
        CHECK((it.max_new_tokens == 3 || (it.n_prompt == 4 && it.max_new_tokens == 11)));
    }
    std::string bad = write_temp("b.jsonl", "{\"prompt_len\": 9}\n{oops\n");
    s.dataset_path = bad;
    CHECK_THROWS_WITH_AS(make_workload(s, nullptr, 256), doctest::Contains("line 2"), Error);
    for (auto& p : {data, lens, bad}) std::remove(p.c_str());
}

TEST_CASE("bench report: percentiles as numpy computes them, TPOT and throughput") {
    LatencyStat l = latency_stat({4.0, 1.0, 3.0, 2.0}, 1.0);
    CHECK(l.mean == doctest::Approx(2.5));
    CHECK(l.p50 == doctest::Approx(2.5));   // numpy.percentile([1,2,3,4], 50)
    CHECK(l.p90 == doctest::Approx(3.7));   // numpy.percentile([1,2,3,4], 90)
    CHECK(l.p99 == doctest::Approx(3.97));  // numpy.percentile([1,2,3,4], 99)
    CHECK(latency_stat({}).p99 == 0.0);

    std::vector<RequestRecord> recs(3);
    recs[0] = {true, "", 10, 5, 0.0, 0.1, 0.5, {0.1, 0.1, 0.1, 0.1}};
    recs[1] = {true, "", 20, 1, 0.2, 0.3, 0.3, {}};
    recs[2] = {false, "engine failure: x", 7, 0, 0.0, 0.0, 0.0, {}};
    BenchConfig cfg;
    cfg.model = "m";
    BenchReport r = summarize_bench(recs, 2.0, cfg);
    CHECK(r.n_completed == 2);
    CHECK(r.n_failed == 1);
    CHECK(r.total_input_tokens == 30);
    CHECK(r.total_output_tokens == 6);
    CHECK(r.request_throughput == doctest::Approx(1.0));
    CHECK(r.input_throughput == doctest::Approx(15.0));
    CHECK(r.output_throughput == doctest::Approx(3.0));
    CHECK(r.tpot_ms.mean == doctest::Approx(100.0));  // (0.5 - 0.1) / 4, the one-token request has none
    CHECK(r.ttft_ms.mean == doctest::Approx(200.0));
    CHECK(r.itl_ms.p50 == doctest::Approx(100.0));
    CHECK(r.errors.size() == 1);
    auto j = bench_report_json(r);
    for (const char* k : {"request_throughput", "input_throughput", "output_throughput", "ttft_ms", "tpot_ms", "itl_ms",
                          "e2e_ms", "kv_capacity_tokens", "kv_peak_tokens", "pauses", "config"})
        CHECK(j.contains(k));
    CHECK(format_bench_report(r).find("engine failure: x") != std::string::npos);
}
