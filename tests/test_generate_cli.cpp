// `lightllm generate` as a user runs it, on the tiny fixture model and the
// tiny byte-level tokenizer (CPU).
#include "temp_dir.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>

using json = nlohmann::json;

namespace {

std::string tiny_args() {
    return "generate -m " + test_data("tiny-llama-gqa") + " --tokenizer " + test_data("tiny-tokenizer") + " --device cpu ";
}

// Runs a shell command line, stdout and stderr together.
CommandResult run_command(const std::string& cmd) {
    CommandResult r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// stdout lines that are JSON objects (stderr is merged into the output).
std::vector<json> json_lines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty() && line[0] == '{') v.push_back(json::parse(line));
    return v;
}

}  // namespace

TEST_CASE("generate cli: --tokenize-only prints the ids transformers gives, chat template included") {
    // tests/data/tiny-tokenizer/expected.json: ids from transformers (make_tiny_tokenizer.py)
    std::ifstream f(test_data("tiny-tokenizer/expected.json"));
    REQUIRE(f.good());
    json expected = json::parse(f);
    for (const auto& c : expected["prompts"]) {
        auto r = run_lightllm(tiny_args() + "--tokenize-only -p '" + c["text"].get<std::string>() + "'");
        CHECK(r.exit_code == 0);
        CHECK(r.out.find(c["ids"].dump()) != std::string::npos);
    }
    const json& chat = expected["chats"][0];
    REQUIRE(chat["messages"].size() == 1);
    auto r = run_lightllm(tiny_args() + "--tokenize-only --chat -p '" + chat["messages"][0]["content"].get<std::string>() + "'");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(chat["ids"].dump()) != std::string::npos);
    r = run_lightllm(tiny_args() + "--tokenize-only --no-bos -p Hello");
    CHECK(r.out.find("[43,72,79,79,82]") != std::string::npos);
    CHECK(r.out.find("not implemented") == std::string::npos);
}

TEST_CASE("generate cli: --chat one prompt, JSONL messages and the interactive chat agree") {
    auto single = run_lightllm(tiny_args() + "--chat -n 6 --ignore-eos -p hi");
    REQUIRE(single.exit_code == 0);
    auto batch = json_lines(run_lightllm(tiny_args() + "--jsonl -n 6 --ignore-eos",
                                         "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n")
                                .out);
    REQUIRE(batch.size() == 1);
    const std::string reply1 = batch[0]["text"];
    CHECK(single.out.find(reply1 + "\n") != std::string::npos);
    if (std::system("command -v script > /dev/null 2>&1") != 0) {
        MESSAGE("skipped the interactive part: `script` (util-linux) is not installed");
        return;
    }
    // A terminal on stdin (through script): two turns; the second sees the first.
    std::string cmd = lightllm_binary() + " " + tiny_args() + "--chat -n 6 --ignore-eos";
    auto r = run_command("printf 'hi\\nok\\n' | script -qec \"" + cmd + "\" /dev/null");
    std::vector<std::string> replies;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("> ", 0) == 0 && line.size() > 2) replies.push_back(line.substr(2));
    }
    REQUIRE(replies.size() == 2);
    CHECK(replies[0] == reply1);
    json turn2 = {{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", reply1}},
                                {{"role", "user"}, {"content", "ok"}}}}};
    auto second = json_lines(run_lightllm(tiny_args() + "--jsonl -n 6 --ignore-eos", turn2.dump() + "\n").out);
    REQUIRE(second.size() == 1);
    CHECK(replies[1] == second[0]["text"]);
}

TEST_CASE("generate cli: one prompt streams its text; piped lines give the same text as JSON, in order") {
    auto single = run_lightllm(tiny_args() + "-p 'Hello world' -n 12");
    REQUIRE(single.exit_code == 0);
    auto piped = run_lightllm(tiny_args() + "-n 12", "Hello world\nabc\nHello world\n");
    REQUIRE(piped.exit_code == 0);
    std::vector<json> lines = json_lines(piped.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["prompt"] == "Hello world");
    CHECK(lines[1]["prompt"] == "abc");
    CHECK(lines[2]["prompt"] == "Hello world");
    CHECK(lines[0]["text"] == lines[2]["text"]);
    CHECK(lines[0]["completion_tokens"] == 12);
    CHECK(lines[0]["prompt_tokens"] == 12);  // BOS + one token per character
    CHECK(lines[0]["finish_reason"] == "length");
    CHECK(lines[0]["timings"]["e2e_ms"].get<double>() >= lines[0]["timings"]["ttft_ms"].get<double>());
    // The streamed text is the JSON text (the model line is on stderr).
    CHECK(single.out.find(lines[0]["text"].get<std::string>() + "\n") != std::string::npos);
}

TEST_CASE("generate cli: JSON Lines keep input order, per-line overrides, and a bad line only fails itself") {
    std::string in =
        "{\"prompt\": \"aaa\", \"max_tokens\": 5, \"ignore_eos\": true}\n"
        "{\"prompt\": \"bbb\", \"max_tokens\": 1, \"ignore_eos\": true}\n"
        "{\"prompt\": \"ccc\" \n"
        "{\"prompt\": \"ddd\", \"max_tokens\": 9, \"ignore_eos\": true, \"temperature\": 0.8, \"seed\": 3, \"top_k\": 20}\n"
        "{\"prompt\": \"eee\", \"temprature\": 1}\n"
        "[1, 2]\n"
        "{\"prompt\": \"fff\", \"max_tokens\": 3, \"ignore_eos\": true, \"stop\": [\"zzzz\"]}\n";
    auto r = run_lightllm(tiny_args() + "--jsonl", in);
    CHECK(r.exit_code == 1);  // some lines were bad
    std::vector<json> lines = json_lines(r.out);
    REQUIRE(lines.size() == 7);
    const std::vector<int> want_tokens = {5, 1, -1, 9, -1, -1, 3};
    for (size_t i = 0; i < lines.size(); ++i) {
        CAPTURE(i);
        CHECK(lines[i]["line"] == int(i + 1));
        if (want_tokens[i] < 0) {
            CHECK(lines[i]["finish_reason"] == "error");
            CHECK(lines[i]["error"].get<std::string>().find("line " + std::to_string(i + 1)) == 0);
        } else {
            CHECK(lines[i]["completion_tokens"] == want_tokens[i]);
        }
    }
    CHECK(lines[0]["prompt"] == "aaa");
    CHECK(lines[4]["error"].get<std::string>().find("temprature") != std::string::npos);
    // The same seeded sampled request twice gives the same text.
    auto again = json_lines(run_lightllm(tiny_args() + "--jsonl", in).out);
    REQUIRE(again.size() == 7);
    CHECK(again[3]["text"] == lines[3]["text"]);
}

TEST_CASE("generate cli: a stop string ends the text before it") {
    auto full = json_lines(run_lightllm(tiny_args() + "-n 30 --ignore-eos", "Hello world\n").out);
    REQUIRE(full.size() == 1);
    std::string text = full[0]["text"];
    REQUIRE(text.size() > 10);
    std::string stop = text.substr(6, 3);
    if (stop.find('\'') != std::string::npos) return;  // not safe to quote in the shell
    auto cut = json_lines(run_lightllm(tiny_args() + "-n 30 --ignore-eos --stop '" + stop + "'", "Hello world\n").out);
    REQUIRE(cut.size() == 1);
    CHECK(cut[0]["finish_reason"] == "stop");
    CHECK(cut[0]["text"] == text.substr(0, text.find(stop)));
}

TEST_CASE("generate cli: clear errors") {
    auto r = run_lightllm(tiny_args() + "-p '" + std::string(100, 'x') + "'");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("context") != std::string::npos);
    r = run_lightllm("generate -m " + test_data("no-such-model") + " -p hi --device cpu");
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("no-such-model") != std::string::npos);
    r = run_lightllm(tiny_args() + "--jsonl", "{\"messages\": [{\"role\": \"user\"}]}\n");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("content") != std::string::npos);
    r = run_lightllm(tiny_args() + "-p hi --temperature -2");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("temperature") != std::string::npos);
    r = run_lightllm(tiny_args() + "-p hi --mem-fraction 2");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("--mem-fraction") != std::string::npos);
    r = run_lightllm(tiny_args() + "-p hi --prefill-chunk-decoding -1");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("--prefill-chunk-decoding") != std::string::npos);
}

TEST_CASE("generate cli: --prefill-chunk-decoding changes how prompts are chunked, not the outputs") {
    // Four prompts at once: the first steps prefill while the earlier ones
    // decode, with chunks of 1 or the whole budget per waiting request.
    const std::string prompts = "Hello world, how are you today my friend\nThe quick brown fox jumps\nOne two three four five six\nA B C D E F G\n";
    const std::string feed = "printf '" + prompts + "' | ";
    auto whole = run_command(feed + lightllm_binary() + " " + tiny_args() + "-n 6 --ignore-eos --prefill-chunk-decoding 0 --max-prefill-tokens 8");
    auto chunked = run_command(feed + lightllm_binary() + " " + tiny_args() + "-n 6 --ignore-eos --prefill-chunk-decoding 1 --max-prefill-tokens 8");
    REQUIRE(whole.exit_code == 0);
    REQUIRE(chunked.exit_code == 0);
    const std::vector<json> a = json_lines(whole.out), b = json_lines(chunked.out);
    REQUIRE(a.size() == 4);
    REQUIRE(b.size() == 4);
    for (size_t i = 0; i < 4; ++i) CHECK(a[i]["text"] == b[i]["text"]);
}

TEST_CASE("generate cli: -v prints the prefix cache's hit rate; --no-prefix-cache turns it off") {
    const std::string lines = "printf 'Hello world, how are you\\nHello world, how are we\\n' | ";
    auto on = run_command(lines + lightllm_binary() + " " + tiny_args() + "-n 4 -v");
    REQUIRE(on.exit_code == 0);
    CHECK(on.out.find("prefix cache hit rate") != std::string::npos);
    auto off = run_command(lines + lightllm_binary() + " " + tiny_args() + "-n 4 -v --no-prefix-cache");
    REQUIRE(off.exit_code == 0);
    CHECK(off.out.find("prefix cache hit rate") == std::string::npos);
    const std::vector<json> a = json_lines(on.out), b = json_lines(off.out);
    REQUIRE(a.size() == 2);
    REQUIRE(b.size() == 2);
    for (size_t i = 0; i < 2; ++i) CHECK(a[i]["text"] == b[i]["text"]);
}

TEST_CASE("generate cli: empty prompts and bad sampling flags are errors before anything loads") {
    auto r = run_lightllm(tiny_args() + "-p ''");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("-p/--prompt is empty") != std::string::npos);
    r = run_lightllm(tiny_args() + "-p hi -n -5");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("-n/--max-tokens must be >= 1 (got -5)") != std::string::npos);
    CHECK(r.out.find("KV cache") == std::string::npos);  // refused before the weights and the cache
    r = run_lightllm(tiny_args() + "-p hi --temperature -1");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("--temperature must be >= 0") != std::string::npos);
    CHECK(r.out.find("KV cache") == std::string::npos);
    r = run_lightllm(tiny_args() + "-n 2", "a\n\nb\n");
    CHECK(r.exit_code == 1);
    auto lines = json_lines(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1]["line"] == 2);
    CHECK(lines[1]["error"] == "line 2: the line is empty; expected a prompt");
    CHECK(lines[2]["line"] == 3);
    CHECK(lines[2]["finish_reason"] == "length");
}

TEST_CASE("generate cli: a random seed unless --seed, reported in each result") {
    const std::string in = "Hello\nHello\n";
    auto run = [&](const std::string& extra) {
        auto r = run_lightllm(tiny_args() + "-n 12 --ignore-eos --temperature 1.0 " + extra, in);
        REQUIRE(r.exit_code == 0);
        auto v = json_lines(r.out);
        REQUIRE(v.size() == 2);
        return v;
    };
    auto a = run(""), b = run("");
    CHECK(a[0]["seed"] != a[1]["seed"]);  // identical prompts in one batch
    CHECK(a[0]["seed"] != b[0]["seed"]);  // and across runs
    CHECK((a[0]["text"] != a[1]["text"] || a[0]["text"] != b[0]["text"]));
    auto c = run("--seed 7"), d = run("--seed 7");
    CHECK(c[0]["seed"] == 7);
    CHECK(c[1]["seed"] == 8);
    CHECK(c[0]["text"] == d[0]["text"]);
    CHECK(c[1]["text"] == d[1]["text"]);
    // Reproduce one line of the random run from its reported seed.
    auto one = run_lightllm(tiny_args() + "-n 12 --ignore-eos --temperature 1.0 --seed " + a[0]["seed"].dump(), "Hello\n");
    REQUIRE(one.exit_code == 0);
    CHECK(json_lines(one.out)[0]["text"] == a[0]["text"]);
    auto v = run_lightllm(tiny_args() + "-n 4 --temperature 1.0 -v -p Hello");
    CHECK(v.out.find("lightllm: seed ") != std::string::npos);
}

TEST_CASE("generate cli: a damaged .gguf is named as not a GGUF file") {
    TempDir dir;
    std::string path = dir.path + "/model.gguf";
    {
        std::ofstream f(path);
        f << "garbage, not a model";
    }
    auto r = run_lightllm("generate -m " + path + " -p hi --device cpu");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(path + ": not a GGUF file") != std::string::npos);
    CHECK(r.out.find("expected a .gguf file") == std::string::npos);
}
