// OpenAI's /v1/completions, /v1/chat/completions and /v1/models: parsing,
// response and chunk shapes, errors; then the HTTP server's behaviour around
// them (auth, limits, overload, hang-ups, shutdown, /metrics, /health,
// /tokenize) against a scripted model.
#include "http_test_server.h"
#include "openai_api.h"
#include "openai_request.h"
#include <doctest/doctest.h>

using namespace lightllm;
using lightllm::testing::eventually;
using lightllm::testing::scripted_limits;
using lightllm::testing::TestServer;

namespace {


OpenAiContext ctx() { return {"abc123", "fake-letters", 1700000000, 99}; }

std::pair<int, ApiError> error_of(const std::string& body, bool chat) {
    try {
        json j = json::parse(body);
        if (chat) parse_chat_request(j, scripted_limits(), ctx());
        else parse_completion_request(j, scripted_limits(), ctx());
    } catch (const ApiError& e) {
        return {e.status, e};
    }
    return {0, ApiError(0, "")};
}

std::vector<json> sse_data(const std::string& body, bool* done = nullptr) {
    std::vector<json> out;
    size_t pos = 0;
    if (done) *done = false;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        size_t end = body.find("\n\n", pos);
        std::string payload = body.substr(pos + 6, end - pos - 6);
        if (payload == "[DONE]") {
            if (done) *done = true;
        } else {
            out.push_back(json::parse(payload));
        }
        pos = end;
    }
    return out;
}

}  // namespace

TEST_CASE("openai_api: completion fields map onto sampling params") {
    OpenAiRequest r = parse_completion_request(json::parse(R"({"model": "m", "prompt": "abc", "max_tokens": 7,
        "temperature": 0, "top_p": 0.5, "stop": ["x", "yz"], "seed": 3, "presence_penalty": -1.5, "frequency_penalty": 2,
        "n": 2, "logprobs": 2, "stream": true, "stream_options": {"include_usage": true}, "user": "ignored", "whatever": 1})"),
        scripted_limits(), ctx());
    CHECK(r.prompts.size() == 1);
    CHECK(r.prompts[0].prompt == "abc");
    CHECK(r.params.max_new_tokens == 7);
    CHECK(r.params.greedy());
    CHECK(r.params.top_p == doctest::Approx(0.5));
    CHECK(r.params.stop == std::vector<std::string>{"x", "yz"});
    CHECK(r.params.seed == 3);
    CHECK(r.params.presence_penalty == doctest::Approx(-1.5));
    CHECK(r.params.frequency_penalty == doctest::Approx(2.0));
    CHECK(r.params.n_logprobs == 2);
    CHECK(r.n == 2);
    CHECK(r.stream);
    CHECK(r.include_usage);
    auto inputs = r.inputs();
    REQUIRE(inputs.size() == 2);
    CHECK(inputs[0].params.seed == 3);
    CHECK(inputs[1].params.seed == 4);

    OpenAiRequest d = parse_completion_request(json::parse(R"({"prompt": "a"})"), scripted_limits(), ctx());
    CHECK(d.params.max_new_tokens == 16);
    CHECK(d.params.temperature == doctest::Approx(1.0));
    CHECK(d.params.n_logprobs == -1);
    CHECK(d.params.stop.empty());

    OpenAiRequest many = parse_completion_request(json::parse(R"({"prompt": ["ab", [1, 2]], "n": 2})"), scripted_limits(), ctx());
    REQUIRE(many.inputs().size() == 4);
    CHECK(many.inputs()[2].prompt_ids == std::vector<int32_t>{1, 2});
}

TEST_CASE("openai_api: chat messages, max_completion_tokens, logprobs") {
    OpenAiRequest r = parse_chat_request(json::parse(R"({"messages": [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]},
        {"role": "assistant", "content": null}],
        "max_completion_tokens": 9, "max_tokens": 3, "logprobs": true, "top_logprobs": 2, "response_format": {"type": "text"},
        "tool_choice": "none", "tools": []})"),
        scripted_limits(), ctx());
    REQUIRE(r.prompts.size() == 1);
    const auto& m = r.prompts[0].messages;
    REQUIRE(m.size() == 3);
    CHECK(m[0].role == "system");
    CHECK(m[1].content == "hi there");
    CHECK(m[2].content.empty());
    CHECK(r.params.max_new_tokens == 9);
    CHECK(r.params.n_logprobs == 2);
    CHECK(parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 3})"), scripted_limits(), ctx())
              .params.max_new_tokens == 3);
    CHECK(parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})"), scripted_limits(), ctx())
              .params.n_logprobs == 0);
}

TEST_CASE("openai_api: tools, tool calls, documents and chat_template_kwargs reach the chat template") {
    OpenAiRequest r = parse_chat_request(json::parse(R"({"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "21 C"}],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}], "tool_choice": "auto",
        "documents": [{"title": "t", "text": "d"}],
        "chat_template_kwargs": {"enable_thinking": false, "date_string": "1 Jan 2025"}})"),
        scripted_limits(), ctx());
    REQUIRE(r.prompts.size() == 1);
    const RequestInput& in = r.prompts[0];
    REQUIRE(in.messages.size() == 3);
    CHECK(in.messages[0].fields_json.empty());
    json calls = json::parse(in.messages[1].fields_json);
    CHECK(calls["content"].is_null());
    CHECK(calls["tool_calls"][0]["function"]["arguments"] == json{{"city", "Paris"}});  // parsed, as vLLM hands it over
    CHECK(in.messages[2].role == "tool");
    CHECK(json::parse(in.messages[2].fields_json) == json{{"tool_call_id", "c1"}});
    CHECK(json::parse(in.chat_args.tools_json)[0]["function"]["name"] == "get_weather");
    CHECK(json::parse(in.chat_args.documents_json).size() == 1);
    CHECK(json::parse(in.chat_args.kwargs_json) == json{{"enable_thinking", false}, {"date_string", "1 Jan 2025"}});
}

TEST_CASE("openai_api: bad and unsupported fields are 400s that name the param") {
    struct Case {
        const char* body;
        bool chat;
        const char* param;
        const char* needle;
    };
    const Case cases[] = {
        {R"({})", false, "prompt", "'prompt' is required"},
        {R"({"prompt": ""})", false, "prompt", "empty"},
        {R"({"prompt": []})", false, "prompt", "empty list"},
        {R"({"prompt": {"a": 1}})", false, "prompt", "must be a string"},
        {R"({"prompt": "a", "max_tokens": -1})", false, "max_tokens", "between 1 and 64"},
        {R"({"prompt": "a", "max_tokens": 1000000})", false, "max_tokens", "between 1 and 64"},
        {R"({"prompt": "a", "max_tokens": "5"})", false, "max_tokens", "must be an integer, got a string"},
        {R"({"prompt": "a", "temperature": 3})", false, "temperature", "between 0 and 2"},
        {R"({"prompt": "a", "temperature": "hot"})", false, "temperature", "must be a number"},
        {R"({"prompt": "a", "n": 0})", false, "n", "between 1 and 16"},
        {R"({"prompt": "a", "stop": 5})", false, "stop", "string or a list of strings"},
        {R"({"prompt": "a", "stream": "yes"})", false, "stream", "boolean"},
        {R"({"prompt": "a", "logprobs": 10})", false, "logprobs", "between 0 and 5"},
        {R"({"prompt": "a", "echo": true})", false, "echo", "not supported"},
        {R"({"prompt": "a", "suffix": "z"})", false, "suffix", "not supported"},
        {R"({"prompt": "a", "best_of": 3})", false, "best_of", "not supported"},
        {R"({"prompt": "a", "logit_bias": {"1": 5}})", false, "logit_bias", "not supported"},
        {R"({"prompt": "a", "model": 5})", false, "model", "must be a string"},
        {R"({})", true, "messages", "'messages' is required"},
        {R"({"messages": []})", true, "messages", "empty"},
        {R"({"messages": "hi"})", true, "messages", "must be a list"},
        {R"({"messages": [{"content": "x"}]})", true, "messages[0].role", "required"},
        {R"({"messages": [{"role": "robot", "content": "x"}]})", true, "messages[0].role", "system, user, assistant or tool"},
        {R"({"messages": [{"role": "assistant", "tool_calls": 3}]})", true, "messages[0].tool_calls", "must be a list"},
        {R"({"messages": [{"role": "user", "content": 5}]})", true, "messages[0].content", "string or a list"},
        {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", true, "messages[0].content", "not supported"},
        {R"({"messages": [{"role": "user", "content": "x"}], "tools": {"type": "function"}})", true, "tools", "must be a list"},
        {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})", true, "tool_choice", "not supported"},
        {R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": [1]})", true, "chat_template_kwargs", "must be an object"},
        {R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"messages": []}})", true, "chat_template_kwargs", "may not set 'messages'"},
        {R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", true, "top_logprobs", "needs 'logprobs'"},
        {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 50})", true, "top_logprobs", "between 0 and 20"},
        {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})", true, "response_format", "not supported"},
        {R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 0})", true, "max_completion_tokens", "between 1"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        auto [status, e] = error_of(c.body, c.chat);
        CHECK(status == 400);
        CHECK(e.param == c.param);
        CHECK_MESSAGE(std::string(e.what()).find(c.needle) != std::string::npos, e.what());
    }
}

TEST_CASE("openai_api: error objects, models list") {
    json e = openai_error(400, "bad 'n'", "n");
    CHECK(e["error"]["message"] == "bad 'n'");
    CHECK(e["error"]["type"] == "invalid_request_error");
    CHECK(e["error"]["param"] == "n");
    CHECK(e["error"]["code"].is_null());
    CHECK(openai_error(503, "busy")["error"]["type"] == "overloaded_error");
    json m = openai_models("tiny", 5, 64, 256);
    CHECK(m["data"][0]["max_model_len"] == 64);
    CHECK(m["data"][0]["vocab_size"] == 256);
    CHECK(m["object"] == "list");
    CHECK(m["data"][0]["id"] == "tiny");
    CHECK(m["data"][0]["object"] == "model");
}

TEST_CASE("openai_api: completions over HTTP, plain and streamed, with usage and logprobs") {
    TestServer ts;
    auto cli = ts.client();
    auto r = cli.Post("/v1/completions", R"({"model": "x", "prompt": "abc", "max_tokens": 4, "temperature": 0, "logprobs": 1})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    json j = json::parse(r->body);
    CHECK(j["object"] == "text_completion");
    CHECK(j["model"] == "fake-letters");
    CHECK(j["id"].get<std::string>().rfind("cmpl-", 0) == 0);
    CHECK(j["choices"][0]["text"] == "bcdb");
    CHECK(j["choices"][0]["finish_reason"] == "length");
    CHECK(j["choices"][0]["logprobs"]["tokens"] == json::array({"b", "c", "d", "b"}));
    CHECK(j["choices"][0]["logprobs"]["text_offset"] == json::array({0, 1, 2, 3}));
    CHECK(j["choices"][0]["logprobs"]["top_logprobs"][0].contains("b"));
    CHECK(j["usage"] == json{{"prompt_tokens", 3}, {"completion_tokens", 4}, {"total_tokens", 7},
                             {"prompt_tokens_details", {{"cached_tokens", 0}}}});

    auto s = cli.Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 3, "stream": true, "n": 2,
        "stream_options": {"include_usage": true}})", "application/json");
    REQUIRE(s);
    REQUIRE(s->status == 200);
    CHECK(s->get_header_value("Content-Type").find("text/event-stream") == 0);
    bool done = false;
    auto chunks = sse_data(s->body, &done);
    CHECK(done);
    std::string text[2];
    int finishes = 0;
    for (size_t i = 0; i + 1 < chunks.size(); ++i) {
        const json& c = chunks[i]["choices"][0];
        text[c["index"].get<int>()] += c["text"].get<std::string>();
        if (!c["finish_reason"].is_null()) ++finishes;
        CHECK(chunks[i]["usage"].is_null());
    }
    CHECK(text[0] == "bcd");
    CHECK(text[1] == "bcd");
    CHECK(finishes == 2);
    CHECK(chunks.back()["choices"].empty());
    CHECK(chunks.back()["usage"]["completion_tokens"] == 6);
    CHECK(chunks.back()["usage"]["prompt_tokens"] == 3);
}

TEST_CASE("openai_api: chat over HTTP: the role comes first, then content, then the finish") {
    TestServer ts;
    auto cli = ts.client();
    auto r = cli.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2,
        "logprobs": true, "top_logprobs": 2})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    json j = json::parse(r->body);
    CHECK(j["object"] == "chat.completion");
    CHECK(j["choices"][0]["message"] == json{{"role", "assistant"}, {"content", "ij"}});
    const json& lp = j["choices"][0]["logprobs"]["content"];
    REQUIRE(lp.size() == 2);
    CHECK(lp[0]["token"] == "i");
    CHECK(lp[0]["bytes"] == json::array({105}));
    CHECK(lp[0]["top_logprobs"].size() == 2);

    auto s = cli.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stream": true,
        "stop": "j"})", "application/json");
    REQUIRE(s);
    auto chunks = sse_data(s->body);
    REQUIRE(chunks.size() == 3);
    CHECK(chunks[0]["object"] == "chat.completion.chunk");
    CHECK(chunks[0]["choices"][0]["delta"] == json{{"role", "assistant"}, {"content", ""}});
    CHECK(chunks[1]["choices"][0]["delta"] == json{{"content", "i"}});
    CHECK(chunks[2]["choices"][0]["delta"] == json::object());
    CHECK(chunks[2]["choices"][0]["finish_reason"] == "stop");

    auto models = cli.Get("/v1/models");
    REQUIRE(models);
    CHECK(json::parse(models->body)["data"][0]["id"] == "fake-letters");
}

TEST_CASE("http_server: errors are OpenAI error objects with the right status, and the server keeps serving") {
    ServerOptions opts;
    opts.max_body_bytes = 4096;
    TestServer ts(opts);
    auto cli = ts.client();
    auto check = [&](const httplib::Result& r, int status, const char* needle) {
        REQUIRE(r);
        CHECK(r->status == status);
        json j = json::parse(r->body);
        std::string msg = j["error"]["message"];
        CHECK_MESSAGE(msg.find(needle) != std::string::npos, msg);
    };
    check(cli.Post("/v1/completions", "not json", "application/json"), 400, "not valid JSON");
    check(cli.Post("/v1/completions", "[1, 2]", "application/json"), 400, "must be a JSON object");
    check(cli.Post("/v1/completions", R"({"prompt": "abc", "max_tokens": -3})", "application/json"), 400, "'max_tokens'");
    check(cli.Post("/v1/completions", json{{"prompt", std::string(100, 'a')}}.dump(), "application/json"), 400, "more than the context");
    check(cli.Post("/v1/completions", json{{"prompt", std::string(5000, 'a')}}.dump(), "application/json"), 413, "larger than the limit of 4096");
    check(cli.Get("/v1/nothing"), 404, "no route");
    auto ok = cli.Post("/v1/completions", R"({"prompt": "a", "max_tokens": 1})", "application/json");
    REQUIRE(ok);
    CHECK(ok->status == 200);
}

TEST_CASE("http_server: --api-key guards every route but /health and /metrics") {
    ServerOptions opts;
    opts.api_key = "sekret";
    TestServer ts(opts);
    auto cli = ts.client();
    auto no_key = cli.Post("/v1/completions", R"({"prompt": "a", "max_tokens": 1})", "application/json");
    REQUIRE(no_key);
    CHECK(no_key->status == 401);
    CHECK(json::parse(no_key->body)["error"]["message"].get<std::string>().find("API key is required") != std::string::npos);
    auto wrong = cli.Post("/v1/completions", {{"Authorization", "Bearer nope"}}, R"({"prompt": "a", "max_tokens": 1})", "application/json");
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    auto right = cli.Post("/v1/completions", {{"Authorization", "Bearer sekret"}}, R"({"prompt": "a", "max_tokens": 1})", "application/json");
    REQUIRE(right);
    CHECK(right->status == 200);
    auto metrics = cli.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
}

TEST_CASE("http_server: a full queue is 503 with Retry-After") {
    TestServer ts;
    ts.model.max_active = 0;
    auto cli = ts.client();
    auto r = cli.Post("/v1/completions", R"({"prompt": "a"})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Retry-After") == "1");
    CHECK(json::parse(r->body)["error"]["message"].get<std::string>().find("overloaded") != std::string::npos);
}

TEST_CASE("http_server: a client that hangs up mid-stream cancels its request and frees its KV") {
    TestServer ts({}, 20);  // 20 ms a token: 60 tokens take over a second
    std::string got = lightllm::testing::raw_exchange(
        ts.port, lightllm::testing::http_post("/v1/completions", R"({"prompt": "abc", "max_tokens": 60, "stream": true})"), "\"text\":\"c\"");
    CHECK(got.find("200 OK") != std::string::npos);
    CHECK(eventually([&] { return ts.model.n_cancelled.load() == 1; }));
    CHECK(eventually([&] { return ts.model.kv_used.load() == 0 && ts.model.active.load() == 0; }));
    // The same for an answer that is not streamed.
    lightllm::testing::raw_exchange(ts.port, lightllm::testing::http_post("/generate", R"({"inputs": "abc", "parameters": {"max_new_tokens": 60}})"), "");
    CHECK(eventually([&] { return ts.model.n_cancelled.load() == 2; }));
    auto m = ts.client().Get("/metrics");
    REQUIRE(m);
    CHECK(m->body.find("lightllm_kv_used_tokens{model_name=\"fake-letters\"} 0") != std::string::npos);
    CHECK(m->body.find("finish_reason=\"cancelled\"} 2") != std::string::npos);
}

TEST_CASE("http_server: shutdown stops accepting, lets in-flight requests finish within the grace period, then cancels") {
    TestServer ts({}, 10);
    std::thread client([&] {
        auto r = ts.client().Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 20})", "application/json");
        CHECK(r);
        if (!r) return;
        CHECK(r->status == 200);
        CHECK(json::parse(r->body)["choices"][0]["finish_reason"] == "length");
    });
    REQUIRE(eventually([&] { return ts.server->n_in_flight() == 1; }));
    std::thread stopper([&] { ts.stop(std::chrono::seconds(10)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    auto late = ts.client().Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 2})", "application/json");
    CHECK_FALSE(late);  // no longer accepting connections
    CHECK(late.error() == httplib::Error::Connection);
    stopper.join();
    client.join();
    CHECK(ts.model.n_cancelled.load() == 0);

    TestServer slow({}, 50);
    std::thread client2([&] {
        auto r = slow.client().Post("/v1/completions", R"({"prompt": "abc", "max_tokens": 60, "stream": true})", "application/json");
        CHECK(r);
        if (!r) return;
        auto chunks = sse_data(r->body);
        CHECK_FALSE(chunks.empty());
        if (!chunks.empty()) CHECK(chunks.back()["choices"][0]["finish_reason"] == "abort");
    });
    REQUIRE(eventually([&] { return slow.server->n_in_flight() == 1; }));
    auto t0 = Clock::now();
    slow.stop(std::chrono::milliseconds(200));
    client2.join();
    CHECK(slow.model.n_cancelled.load() == 1);
    CHECK(Clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("http_server: /metrics, /health, /tokenize, /detokenize") {
    TestServer ts;
    auto cli = ts.client();
    REQUIRE(cli.Post("/v1/completions", R"({"prompt": "ab", "max_tokens": 3})", "application/json"));
    auto h = cli.Get("/health");
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(json::parse(h->body)["status"] == "ok");
    int submitted = ts.model.n_submitted.load();
    REQUIRE(cli.Get("/health"));
    CHECK(ts.model.n_submitted.load() == submitted);  // cached

    auto m = cli.Get("/metrics");
    REQUIRE(m);
    for (const char* name : {"lightllm_requests{", "lightllm_kv_usage_ratio", "lightllm_time_to_first_token_seconds_bucket",
                             "lightllm_time_per_output_token_seconds_count", "lightllm_queue_length", "lightllm_pauses_total",
                             "lightllm_http_requests_total{route=\"/v1/completions\",status=\"200\"} 1",
                             "lightllm_http_generation_tokens_total{model_name=\"fake-letters\"} 3"})
        CHECK_MESSAGE(m->body.find(name) != std::string::npos, name);

    auto t = cli.Post("/tokenize", R"({"text": "ab c"})", "application/json");
    REQUIRE(t);
    CHECK(json::parse(t->body)["tokens"] == json::array({0, 1, 26, 2}));
    auto d = cli.Post("/detokenize", R"({"tokens": [7, 8, 27]})", "application/json");
    REQUIRE(d);
    CHECK(json::parse(d->body)["text"] == "hi");
    auto bad = cli.Post("/detokenize", R"({"tokens": [7, 800]})", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
}
