// `lightllm bench` smoke runs on the CPU with the tiny fixture model: the JSON
// report has every field, with values consistent with the workload.
#include "test_util.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <fstream>
#include <unistd.h>

using json = nlohmann::json;

namespace {

std::string bench_args() {
    return "bench -m " + test_data("tiny-llama-gqa") + " --tokenizer " + test_data("tiny-tokenizer") + " --device cpu ";
}

std::string temp_path(const char* name) { return "/tmp/lightllm_bench_test_" + std::to_string(getpid()) + "_" + name; }

json read_json(const std::string& path) {
    std::ifstream f(path);
    REQUIRE(f.good());
    json j = json::parse(f);
    std::remove(path.c_str());
    return j;
}

void check_stat(const json& s) {
    for (const char* k : {"mean", "p50", "p90", "p99"}) REQUIRE(s.contains(k));
    CHECK(s["p50"].get<double>() <= s["p90"].get<double>());
    CHECK(s["p90"].get<double>() <= s["p99"].get<double>());
    CHECK(s["p50"].get<double>() >= 0.0);
}

}  // namespace

TEST_CASE("bench cli: random workload, JSON report fields") {
    std::string out = temp_path("random.json");
    auto r = run_lightllm(bench_args() + "--num-prompts 12 --input-len 10 --output-len 6 --ignore-eos --seed 7 "
                                         "--max-total-tokens 200 --json " + out);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("Output token throughput") != std::string::npos);
    json j = read_json(out);
    CHECK(j["completed"] == 12);
    CHECK(j["failed"] == 0);
    CHECK(j["total_input_tokens"] == 12 * 10);
    CHECK(j["total_output_tokens"] == 12 * 6);
    for (const char* k : {"request_throughput", "input_throughput", "output_throughput", "duration_s"})
        CHECK(j[k].get<double>() > 0.0);
    for (const char* k : {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}) check_stat(j[k]);
    CHECK(j["e2e_ms"]["p50"].get<double>() >= j["ttft_ms"]["p50"].get<double>());
    CHECK(j["kv_capacity_tokens"] == 200);
    CHECK(j["kv_peak_tokens"].get<int>() > 0);
    CHECK(j["kv_peak_tokens"].get<int>() <= 200);
    CHECK(j["pauses"] == 0);
    const json& c = j["config"];
    CHECK(c["model"].get<std::string>().find("tiny-llama-gqa") != std::string::npos);
    CHECK(c["device"] == "cpu");
    CHECK(c["seed"] == 7);
    CHECK(!c["commit"].get<std::string>().empty());
    CHECK(c["workload"].get<std::string>().find("random") == 0);
    CHECK(c.contains("dtype"));
}

TEST_CASE("bench cli: JSON Lines dataset with Poisson arrivals") {
    std::string data = temp_path("data.jsonl");
    {
        std::ofstream f(data);
        f << "{\"prompt\": \"Hello there\", \"output_len\": 4}\n"
             "{\"prompt_len\": 9, \"output_len\": 3}\n"
             "{\"prompt\": \"abc\", \"prompt_len\": 3, \"max_tokens\": 5}\n";
    }
    std::string out = temp_path("jsonl.json");
    auto r = run_lightllm(bench_args() + "--dataset-name jsonl --dataset-path " + data +
                          " --num-prompts 3 --request-rate 20 --ignore-eos --json " + out);
    std::remove(data.c_str());
    REQUIRE(r.exit_code == 0);
    json j = read_json(out);
    CHECK(j["completed"] == 3);
    CHECK(j["total_output_tokens"] == 4 + 3 + 5);
    CHECK(j["config"]["request_rate"] == 20.0);
}

TEST_CASE("bench cli: static-batch mode reports prefill and decode speed per batch size") {
    std::string out = temp_path("batch.json");
    auto r = run_lightllm(bench_args() + "--batch 1,4 --input-len 8 --output-len 5 --json " + out);
    REQUIRE_MESSAGE(r.exit_code == 0, r.out);
    CHECK(r.out.find("S_TG t/s") != std::string::npos);
    json j = read_json(out);
    REQUIRE(j["batched"].size() == 2);
    CHECK(j["batched"][0]["batch"] == 1);
    CHECK(j["batched"][1]["batch"] == 4);
    for (const auto& row : j["batched"]) {
        CHECK(row["prefill_tok_s"].get<double>() > 0.0);
        CHECK(row["decode_tok_s"].get<double>() > 0.0);
        CHECK(row["total_s"].get<double>() >= row["prefill_s"].get<double>());
    }
}

TEST_CASE("bench cli: sampling flags reach the requests and the JSON config") {
    std::string out = temp_path("sampled.json");
    auto r = run_lightllm(bench_args() + "--batch 2 --input-len 6 --output-len 4 --temperature 0.8 --top-k 50 "
                                         "--top-p 0.9 --min-p 0.05 --repetition-penalty 1.1 --presence-penalty 0.2 "
                                         "--frequency-penalty -0.3 --json " + out);
    REQUIRE_MESSAGE(r.exit_code == 0, r.out);
    json j = read_json(out);
    const json& s = j["config"]["sampling"];
    CHECK(s["temperature"].get<double>() == doctest::Approx(0.8));
    CHECK(s["top_k"] == 50);
    CHECK(s["top_p"].get<double>() == doctest::Approx(0.9));
    CHECK(s["min_p"].get<double>() == doctest::Approx(0.05));
    CHECK(s["repetition_penalty"].get<double>() == doctest::Approx(1.1));
    CHECK(s["presence_penalty"].get<double>() == doctest::Approx(0.2));
    CHECK(s["frequency_penalty"].get<double>() == doctest::Approx(-0.3));
    CHECK(j["batched"][0]["decode_tok_s"].get<double>() > 0.0);

    out = temp_path("greedy.json");
    r = run_lightllm(bench_args() + "--num-prompts 2 --input-len 6 --output-len 3 --json " + out);
    REQUIRE_MESSAGE(r.exit_code == 0, r.out);
    j = read_json(out);
    CHECK(j["config"]["sampling"]["temperature"] == 0.0);
    CHECK(j["config"]["sampling"]["top_k"] == 0);
    CHECK(j["config"]["sampling"]["top_p"] == 1.0);
    CHECK(j["config"]["sampling"]["repetition_penalty"] == 1.0);
}

TEST_CASE("bench cli: out-of-range sampling flags are refused, naming the flag") {
    for (const char* bad : {"--top-p 1.5", "--top-p 0", "--min-p 2", "--top-k -1", "--temperature -1",
                            "--repetition-penalty 0", "--presence-penalty 3", "--frequency-penalty -2.5"}) {
        CAPTURE(bad);
        auto r = run_lightllm(bench_args() + "--num-prompts 1 " + bad);
        CHECK(r.exit_code != 0);
        const std::string flag = std::string(bad).substr(0, std::string(bad).find(' '));
        CHECK_MESSAGE(r.out.find(flag) != std::string::npos, r.out);
    }
}

TEST_CASE("bench cli: a static batch larger than the KV cache is refused, not run in waves") {
    auto r = run_lightllm(bench_args() + "--batch 1,4 --input-len 8 --output-len 5 --max-total-tokens 40");
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(r.out.find("--batch 4: 4 requests of 8 + 5 tokens need 52 KV slots, the cache holds 40") !=
                      std::string::npos,
                  r.out);
    r = run_lightllm(bench_args() + "--batch 1,4 --input-len 8 --output-len 5 --max-total-tokens 52");
    CHECK(r.exit_code == 0);
}

TEST_CASE("bench cli: clear errors for bad workloads") {
    auto r = run_lightllm(bench_args() + "--dataset-name sharegpt");
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("--dataset-path") != std::string::npos);
    r = run_lightllm(bench_args() + "--dataset-name jsonl --dataset-path /nonexistent/x.jsonl");
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("/nonexistent/x.jsonl") != std::string::npos);
    r = run_lightllm(bench_args() + "--request-rate fast");
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("--request-rate") != std::string::npos);
}
