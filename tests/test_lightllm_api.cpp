// LightLLM's /generate and /generate_stream: parameter parsing, response
// shapes (as LightLLM's api_lightllm.py answers), and the endpoints over HTTP
// against a scripted model.
#include "http_test_server.h"
#include "lightllm_api.h"
#include <doctest/doctest.h>

using namespace lightllm;
using lightllm::testing::scripted_limits;
using lightllm::testing::TestServer;

namespace {


LightllmRequest parse(const std::string& body, bool stream = false) {
    return parse_lightllm_request(json::parse(body), scripted_limits(), 42, stream);
}

// The status and message of the ApiError that parsing `body` throws.
std::pair<int, std::string> parse_error(const std::string& body, bool stream = false) {
    try {
        parse(body, stream);
    } catch (const ApiError& e) {
        return {e.status, e.what()};
    }
    return {0, ""};
}

TokenEvent tok_event(int32_t id, const std::string& text, float lp) {
    TokenEvent t;
    t.id = id;
    t.text = text;
    t.logprob = lp;
    return t;
}

ChoiceOutput finished_choice(const std::vector<TokenEvent>& toks, FinishReason why, int n_prompt) {
    ChoiceOutput o;
    for (const TokenEvent& t : toks) {
        o.tokens.push_back(t);
        o.streamed_text += t.text;
        o.result.output_ids.push_back(t.id);
    }
    o.result.text = o.streamed_text;
    o.result.finish_reason = why;
    o.result.n_prompt_tokens = n_prompt;
    o.finished = true;
    return o;
}

std::vector<json> sse_lines(const std::string& body, const std::string& prefix) {
    std::vector<json> out;
    size_t pos = 0;
    while ((pos = body.find(prefix, pos)) != std::string::npos) {
        size_t end = body.find("\n\n", pos);
        out.push_back(json::parse(body.substr(pos + prefix.size(), end - pos - prefix.size())));
        pos = end;
    }
    return out;
}

}  // namespace

TEST_CASE("lightllm_api: defaults are LightLLM's: 16 new tokens, at least 1, greedy unless do_sample") {
    LightllmRequest r = parse(R"({"inputs": "hello", "parameters": {"temperature": 0.7}})");
    CHECK(r.input.prompt == "hello");
    CHECK(r.input.params.max_new_tokens == 16);
    CHECK(r.input.params.min_new_tokens == 1);
    CHECK(r.input.params.greedy());
    CHECK(r.n == 1);
    CHECK_FALSE(r.return_details);

    LightllmRequest s = parse(R"({"inputs": "hi", "parameters": {"do_sample": true, "temperature": 0.7, "top_p": 0.9,
        "top_k": -1, "max_new_tokens": 5, "stop_sequences": "\n", "ignore_eos": true, "repetition_penalty": 1.1,
        "presence_penalty": 0.5, "frequency_penalty": 0.25, "seed": 7, "skip_special_tokens": false, "return_details": true}})");
    const SamplingParams& p = s.input.params;
    CHECK(p.temperature == doctest::Approx(0.7));
    CHECK(p.top_p == doctest::Approx(0.9));
    CHECK(p.top_k == 0);
    CHECK(p.max_new_tokens == 5);
    CHECK(p.stop == std::vector<std::string>{"\n"});
    CHECK(p.ignore_eos);
    CHECK(p.repetition_penalty == doctest::Approx(1.1));
    CHECK(p.presence_penalty == doctest::Approx(0.5));
    CHECK(p.frequency_penalty == doctest::Approx(0.25));
    CHECK(p.seed == 7);
    CHECK_FALSE(p.skip_special_tokens);
    CHECK(s.return_details);
    CHECK(p.n_logprobs == 0);
}

TEST_CASE("lightllm_api: do_sample with temperature ~0 is greedy; token-id inputs; n == best_of") {
    CHECK(parse(R"({"inputs": "x", "parameters": {"do_sample": true, "temperature": 0}})").input.params.greedy());
    CHECK(parse(R"({"inputs": [1, 2, 3]})").input.prompt_ids == std::vector<int32_t>{1, 2, 3});
    CHECK(parse(R"({"inputs": "x", "parameters": {"best_of": 3}})").n == 3);
    CHECK(parse(R"({"inputs": "x", "parameters": {"n": 2, "best_of": 2}})").n == 2);
}

TEST_CASE("lightllm_api: bad requests are 400s naming the field") {
    struct Case {
        const char* body;
        const char* needle;
        bool stream = false;
    };
    const Case cases[] = {
        {R"({})", "'inputs' is required"},
        {R"({"inputs": ""})", "'inputs' is empty"},
        {R"({"inputs": []})", "'inputs' is an empty list"},
        {R"({"inputs": 5})", "'inputs' must be a string"},
        {R"({"inputs": [1, 99]})", "token id 99"},
        {R"({"inputs": "x", "parameters": []})", "'parameters' must be an object"},
        {R"({"inputs": "x", "parameters": {"max_new_tokens": 0}})", "'max_new_tokens' must be between 1 and 64"},
        {R"({"inputs": "x", "parameters": {"max_new_tokens": -5}})", "'max_new_tokens'"},
        {R"({"inputs": "x", "parameters": {"max_new_tokens": 100000000000000000000}})", "'max_new_tokens'"},
        {R"({"inputs": "x", "parameters": {"max_new_tokens": "10"}})", "'max_new_tokens' must be an integer, got a string"},
        {R"({"inputs": "x", "parameters": {"max_new_tokens": 2.5}})", "'max_new_tokens' must be an integer"},
        {R"({"inputs": "x", "parameters": {"do_sample": "yes"}})", "'do_sample' must be a boolean"},
        {R"({"inputs": "x", "parameters": {"temperature": -1}})", "'temperature'"},
        {R"({"inputs": "x", "parameters": {"top_p": 0}})", "'top_p'"},
        {R"({"inputs": "x", "parameters": {"repetition_penalty": 0.5}})", "'repetition_penalty'"},
        {R"({"inputs": "x", "parameters": {"stop_sequences": [1]}})", "'stop_sequences'"},
        {R"({"inputs": "x", "parameters": {"stop_sequences": [""]}})", "'stop_sequences' may not contain an empty string"},
        {R"({"inputs": "x", "parameters": {"n": 2, "best_of": 3}})", "must equal 'best_of'"},
        {R"({"inputs": "x", "parameters": {"n": 1000}})", "'n' must be between 1 and 16"},
        {R"({"inputs": "x", "parameters": {"min_new_tokens": 9, "max_new_tokens": 4}})", "'min_new_tokens'"},
        {R"({"inputs": "x", "parameters": {"regular_constraint": "a+"}})", "'regular_constraint' is not supported"},
        {R"({"inputs": "x", "parameters": {"best_of": 2}})", "'n' and 'best_of' must be 1", true},
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        auto [status, msg] = parse_error(c.body, c.stream);
        CHECK(status == 400);
        CHECK_MESSAGE(msg.find(c.needle) != std::string::npos, msg);
    }
}

TEST_CASE("lightllm_api: /generate response shape, one sequence and several") {
    lightllm::testing::LetterTokenizer tok;
    auto a = finished_choice({tok_event(1, "b", -0.1f), tok_event(27, "", -0.2f)}, FinishReason::Stop, 3);
    json one = lightllm_response({a}, true, tok);
    CHECK(one["generated_text"] == json::array({"b"}));
    CHECK(one["count_output_tokens"] == 2);
    CHECK(one["finish_reason"] == "stop");
    CHECK(one["prompt_tokens"] == 3);
    REQUIRE(one["tokens"].size() == 2);
    CHECK(one["tokens"][0]["id"] == 1);
    CHECK(one["tokens"][0]["text"] == "b");
    CHECK(one["tokens"][0]["logprob"].get<double>() == doctest::Approx(-0.1));
    CHECK_FALSE(one["tokens"][0]["special"].get<bool>());
    CHECK(one["tokens"][1]["special"].get<bool>());

    auto b = finished_choice({tok_event(2, "c", -0.3f)}, FinishReason::Length, 3);
    json two = lightllm_response({a, b}, false, tok);
    CHECK(two["generated_text"] == json::array({"b", "c"}));
    CHECK(two["count_output_tokens"] == json::array({2, 1}));
    CHECK(two["finish_reason"] == json::array({"stop", "length"}));
    CHECK_FALSE(two.contains("tokens"));
}

TEST_CASE("lightllm_api: /generate_stream sends each token's line when the next shows whether it is last") {
    lightllm::testing::LetterTokenizer tok;
    GenerationCall call = lightllm_call(json::parse(R"({"inputs": "abc", "parameters": {"max_new_tokens": 3}})"), scripted_limits(), 1, true, tok);
    REQUIRE(call.stream);
    CHECK(std::string(call.content_type) == "text/event-stream");
    ChoiceOutput o;
    std::string body;
    for (auto [id, text] : {std::pair{1, "b"}, {2, "c"}, {3, "d"}}) {
        TokenEvent t = tok_event(id, text, -1.0f);
        o.tokens.push_back(t);
        o.streamed_text += t.text;
        body += call.on_token(0, t, o);
    }
    o.result.text = "bcd!";  // the end released held-back text: it rides on the last line
    o.result.finish_reason = FinishReason::Length;
    o.result.n_prompt_tokens = 3;
    o.result.output_ids = {1, 2, 3};
    o.finished = true;
    body += call.on_finish(0, o);
    body += call.on_end({o});
    auto lines = sse_lines(body, "data:");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["token"]["text"] == "b");
    CHECK_FALSE(lines[0]["finished"].get<bool>());
    CHECK(lines[0]["finish_reason"].is_null());
    CHECK(lines[0]["generated_text"].is_null());
    CHECK(lines[1]["token"]["count_output_tokens"] == 2);
    CHECK(lines[2]["token"]["id"] == 3);
    CHECK(lines[2]["token"]["text"] == "d!");
    CHECK(lines[2]["finished"].get<bool>());
    CHECK(lines[2]["finish_reason"] == "length");
    CHECK(lines[2]["generated_text"] == "bcd!");
    CHECK(lines[2]["token"]["prompt_tokens"] == 3);
}

TEST_CASE("lightllm_api: /generate and /generate_stream over HTTP") {
    TestServer ts;
    auto cli = ts.client();
    auto r = cli.Post("/generate", R"({"inputs": "abc", "parameters": {"max_new_tokens": 5, "return_details": true}})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    json j = json::parse(r->body);
    CHECK(j["generated_text"] == json::array({"bcdbc"}));
    CHECK(j["count_output_tokens"] == 5);
    CHECK(j["finish_reason"] == "length");
    CHECK(j["prompt_tokens"] == 3);
    CHECK(j["tokens"].size() == 5);

    auto s = cli.Post("/generate_stream", R"({"inputs": "xyz", "parameters": {"max_new_tokens": 4}})", "application/json");
    REQUIRE(s);
    CHECK(s->status == 200);
    auto lines = sse_lines(s->body, "data:");
    REQUIRE(lines.size() == 4);
    std::string text;
    for (const json& l : lines) text += l["token"]["text"].get<std::string>();
    CHECK(text == "yzay");
    CHECK(lines.back()["finished"].get<bool>());

    auto n2 = cli.Post("/generate", R"({"inputs": "ab", "parameters": {"max_new_tokens": 2, "n": 2, "best_of": 2}})", "application/json");
    REQUIRE(n2);
    CHECK(json::parse(n2->body)["generated_text"] == json::array({"bc", "bc"}));
}

TEST_CASE("lightllm_api: a prompt the pipeline rejects and malformed JSON are 400 with a message") {
    TestServer ts;
    auto cli = ts.client();
    std::string long_prompt(100, 'a');
    auto r = cli.Post("/generate_stream", json{{"inputs", long_prompt}}.dump(), "application/json");
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["error"].get<std::string>().find("more than the context") != std::string::npos);

    auto bad = cli.Post("/generate", "{\"inputs\": ", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(json::parse(bad->body)["error"] == "the request body is not valid JSON");
    auto ok = cli.Post("/generate", R"({"inputs": "a"})", "application/json");
    REQUIRE(ok);
    CHECK(ok->status == 200);
}
