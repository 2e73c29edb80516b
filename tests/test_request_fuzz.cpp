// A bounded random-JSON loop over every request parser: whatever the body,
// parsing ends in a call to submit or an ApiError with a 4xx status and a
// message — never a crash, another exception type, or a 5xx.
#include "fake_served_model.h"
#include "lightllm_api.h"
#include "openai_api.h"
#include "tokenize_api.h"
#include <doctest/doctest.h>
#include <random>

using namespace lightllm;

namespace {

// Values that are plausible for the field names below, and some that are not.
class JsonFuzzer {
public:
    explicit JsonFuzzer(uint64_t seed) : rng_(seed) {}

    json value(int depth) {
        switch (pick(depth > 2 ? 7 : 9)) {
            case 0: return nullptr;
            case 1: return pick(2) == 1;
            case 2: return static_cast<int64_t>(rng_()) >> pick(64);
            case 3: return std::uniform_real_distribution<double>(-5, 5)(rng_);
            case 4: return small_int();
            case 5: return text();
            case 6: return huge();
            case 7: {
                json a = json::array();
                for (int i = pick(5); i > 0; --i) a.push_back(pick(2) ? json(small_int()) : value(depth + 1));
                return a;
            }
            default: return object(depth + 1);
        }
    }

    json object(int depth) {
        static const char* names[] = {"inputs", "parameters", "prompt", "messages", "role", "content", "type", "text",
                                      "max_new_tokens", "max_tokens", "max_completion_tokens", "min_new_tokens", "min_tokens",
                                      "temperature", "top_p", "top_k", "min_p", "do_sample", "n", "best_of", "stop",
                                      "stop_sequences", "seed", "stream", "stream_options", "include_usage", "logprobs",
                                      "top_logprobs", "presence_penalty", "frequency_penalty", "repetition_penalty",
                                      "ignore_eos", "return_details", "skip_special_tokens", "echo", "suffix", "logit_bias",
                                      "tools", "tool_choice", "response_format", "model", "tokens", "user", "zzz"};
        json o = json::object();
        for (int i = pick(8); i > 0; --i) o[names[pick(std::size(names))]] = value(depth);
        return o;
    }

    // A body that is often nearly right: a valid request with a few fields replaced.
    json request(bool chat) {
        json o = chat ? json{{"messages", json::array({{{"role", "user"}, {"content", "abc"}}})}}
                      : json{{"prompt", "abc"}, {"inputs", "abc"}, {"parameters", json::object()}};
        json extra = object(1);
        for (auto& [k, v] : extra.items()) {
            if (pick(2) || !o["parameters"].is_object()) o[k] = v;
            else o["parameters"][k] = v;
        }
        if (pick(4) == 0) o["messages"] = json::array({object(1)});
        return o;
    }

    std::string mangle(std::string s) {
        int k = pick(4);
        if (k == 0 && !s.empty()) s.resize(pick(static_cast<int>(s.size())));
        if (k == 1 && !s.empty()) s[pick(static_cast<int>(s.size()))] = static_cast<char>(rng_());
        return s;
    }

    int pick(size_t n) { return static_cast<int>(rng_() % n); }

private:
    int64_t small_int() { return pick(40) - 8; }
    json huge() { return pick(2) ? json(1e300) : json(18446744073709551615ull); }
    std::string text() {
        static const char* texts[] = {"", "abc", "\n", "user", "assistant", "system", "text", "image_url", "none", "a b c", "\xc3\xa9"};
        return texts[pick(std::size(texts))];
    }

    std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("request_fuzz: every parser answers a call or a 4xx on random bodies") {
    lightllm::testing::LetterTokenizer tok;
    RequestLimits lim;
    lim.max_context = 64;
    lim.n_vocab = 28;
    OpenAiContext ctx{"id", "m", 0, 1};
    JsonFuzzer fz(20261125);
    int n_ok = 0, n_4xx = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        bool chat = fz.pick(2) == 1;
        std::string text = fz.mangle(json_text(iter % 5 == 0 ? fz.value(0) : fz.request(chat)));
        CAPTURE(text);
        int which = fz.pick(6);
        try {
            json body = parse_json_object(text);
            GenerationCall call;
            switch (which) {
                case 0: call = lightllm_call(body, lim, 7, false, tok); break;
                case 1: call = lightllm_call(body, lim, 7, true, tok); break;
                case 2: call = openai_completion_call(body, lim, ctx, tok); break;
                case 3: call = openai_chat_call(body, lim, ctx, tok); break;
                case 4: tokenize_response(body, tok, lim); break;
                default: detokenize_response(body, tok, lim); break;
            }
            if (which < 4) {
                REQUIRE_FALSE(call.inputs.empty());
                REQUIRE(static_cast<int>(call.inputs.size()) <= lim.max_n);
                for (const RequestInput& in : call.inputs) {
                    CHECK(in.params.max_new_tokens >= 1);
                    CHECK(in.params.max_new_tokens <= lim.max_context);
                    CHECK(in.params.min_new_tokens <= in.params.max_new_tokens);
                    CHECK((in.params.temperature >= 0.0f && in.params.top_p > 0.0f && in.params.top_p <= 1.0f));
                    CHECK((!in.prompt.empty() || !in.prompt_ids.empty() || !in.messages.empty()));
                }
            }
            ++n_ok;
        } catch (const ApiError& e) {
            CHECK(e.status >= 400);
            CHECK(e.status < 500);
            CHECK(std::string(e.what()).size() > 5);
            ++n_4xx;
        }
    }
    MESSAGE("accepted ", n_ok, ", rejected ", n_4xx);
    CHECK(n_ok > 100);   // the loop reaches past the parsers' first checks
    CHECK(n_4xx > 100);
}
