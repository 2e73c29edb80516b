#include "http_bench_client.h"
#include "git_commit.h"
#include "check.h"
#include "tokenizer.h"
#include <httplib.h>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace lightllm {

using json = nlohmann::json;

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

double prometheus_value(const std::string& text, const std::string& name) {
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
        char next = line.size() > name.size() ? line[name.size()] : '\0';
        if (next != '{' && next != ' ') continue;
        size_t sp = line.find_last_of(' ');
        try {
            sum += std::stod(line.substr(sp + 1));
        } catch (const std::exception&) {
        }
    }
    return sum;
}

int CompletionStreamParser::feed(const std::string& data) {
    buf_ += data;
    int before = n_token_chunks_;
    size_t end;
    while ((end = buf_.find("\n\n")) != std::string::npos) {
        std::string ev = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        if (!ev.empty() && ev.back() == '\r') ev.pop_back();
        if (ev.rfind("data:", 0) != 0) continue;  // comments, other fields
        size_t p = 5;
        while (p < ev.size() && ev[p] == ' ') ++p;
        event(ev.substr(p));
    }
    return n_token_chunks_ - before;
}

void CompletionStreamParser::event(const std::string& payload) {
    if (payload == "[DONE]") {
        done_ = true;
        return;
    }
    json j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        error_ = "unparsable stream event: " + payload.substr(0, 200);
        return;
    }
    if (j.contains("error")) {
        const json& e = j["error"];
        error_ = e.is_object() && e.contains("message") ? e["message"].dump() : e.dump();
        return;
    }
    if (j.contains("usage") && j["usage"].is_object()) {
        usage_prompt_ = j["usage"].value("prompt_tokens", -1);
        usage_completion_ = j["usage"].value("completion_tokens", -1);
    }
    if (j.contains("choices") && j["choices"].is_array())
        for (const json& c : j["choices"])
            if (c.is_object() && c.value("finish_reason", json(nullptr)).is_null()) ++n_token_chunks_;
}

struct HttpBenchClient::Impl {
    HttpBenchOptions opts;
    std::string model;
    int max_model_len = 0;
    int vocab_size = 0;

    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    std::vector<std::thread> workers;
    int n_idle = 0;
    bool stopping = false;

    httplib::Headers headers() const {
        httplib::Headers h;
        if (!opts.api_key.empty()) h.emplace("Authorization", "Bearer " + opts.api_key);
        return h;
    }
    std::unique_ptr<httplib::Client> client() const {
        auto c = std::make_unique<httplib::Client>(opts.url);
        c->set_connection_timeout(10, 0);
        c->set_read_timeout(600, 0);
        c->set_write_timeout(60, 0);
        return c;
    }

    // Runs `job` on a free worker; starts one while under the cap.
    void post(std::function<void()> job) {
        std::lock_guard<std::mutex> lock(mu);
        jobs.push_back(std::move(job));
        int cap = opts.concurrency > 0 ? opts.concurrency : 4096;
        if (static_cast<int>(jobs.size()) > n_idle && static_cast<int>(workers.size()) < cap) workers.emplace_back([this] { work(); });
        cv.notify_one();
    }

    void work() {
        std::unique_lock<std::mutex> lock(mu);
        for (;;) {
            ++n_idle;
            cv.wait(lock, [this] { return stopping || !jobs.empty(); });
            --n_idle;
            if (jobs.empty()) return;
            auto job = std::move(jobs.front());
            jobs.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    }

    RequestRecord run_one(const WorkloadItem& item, Clock::time_point queued_at) {
        json body = {{"model", model}, {"max_tokens", item.max_new_tokens}, {"stream", true},
                     {"stream_options", {{"include_usage", true}}}, {"temperature", opts.sampling.temperature},
                     {"seed", opts.sampling.seed}};
        const SamplingParams& sp = opts.sampling;
        if (sp.top_k > 0) body["top_k"] = sp.top_k;
        if (sp.top_p < 1.0f) body["top_p"] = sp.top_p;
        if (sp.min_p > 0.0f) body["min_p"] = sp.min_p;
        if (sp.repetition_penalty != 1.0f) body["repetition_penalty"] = sp.repetition_penalty;
        if (sp.presence_penalty != 0.0f) body["presence_penalty"] = sp.presence_penalty;
        if (sp.frequency_penalty != 0.0f) body["frequency_penalty"] = sp.frequency_penalty;
        if (sp.ignore_eos) body["ignore_eos"] = true;
        if (!item.prompt_ids.empty()) body["prompt"] = item.prompt_ids;
        else body["prompt"] = item.prompt;

        RequestRecord rec;
        CompletionStreamParser parser;
        std::vector<Clock::time_point> token_times;
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/completions";
        req.headers = headers();
        req.set_header("Content-Type", "application/json");
        req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
        int status = 0;
        std::string error_body;
        req.response_handler = [&status](const httplib::Response& r) {
            status = r.status;
            return true;
        };
        req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
            if (status != 200) {
                error_body.append(data, std::min(n, size_t(2000)));
                return true;
            }
            int k = parser.feed(std::string(data, n));
            for (int i = 0; i < k; ++i) token_times.push_back(Clock::now());
            return true;
        };
        const Clock::time_point t0 = Clock::now();
        rec.queued_s = seconds(t0 - queued_at);
        httplib::Response res;
        httplib::Error err = httplib::Error::Success;
        bool sent = client()->send(req, res, err);
        const Clock::time_point t1 = Clock::now();
        rec.e2e_s = seconds(t1 - t0);
        if (!sent) {
            rec.error = fmt::format("{}: {}", opts.url, httplib::to_string(err));
        } else if (status != 200) {
            rec.error = fmt::format("HTTP {}: {}", status, error_body);
        } else if (!parser.error().empty()) {
            rec.error = parser.error();
        } else if (!parser.done()) {
            rec.error = "the stream ended without data: [DONE]";
        } else {
            rec.ok = true;
        }
        rec.n_output = parser.usage_completion_tokens() >= 0 ? parser.usage_completion_tokens() : parser.n_token_chunks();
        rec.n_prompt = parser.usage_prompt_tokens() >= 0 ? parser.usage_prompt_tokens() : item.n_prompt;
        if (!token_times.empty()) rec.ttft_s = seconds(token_times.front() - t0);
        for (size_t k = 1; k < token_times.size(); ++k) rec.itl_s.push_back(seconds(token_times[k] - token_times[k - 1]));
        return rec;
    }
};

HttpBenchClient::HttpBenchClient(HttpBenchOptions opts) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.opts = std::move(opts);
    if (m.opts.url.rfind("http://", 0) != 0) fail("--url '{}': expected http://HOST:PORT", m.opts.url);
    while (!m.opts.url.empty() && m.opts.url.back() == '/') m.opts.url.pop_back();
    auto res = m.client()->Get("/v1/models", m.headers());
    if (!res) fail("--url {}: cannot reach the server ({})", m.opts.url, httplib::to_string(res.error()));
    if (res->status != 200) fail("--url {}: GET /v1/models answered {}: {}", m.opts.url, res->status, res->body.substr(0, 300));
    json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() || !j["data"][0].is_object())
        fail("--url {}: GET /v1/models did not list a model", m.opts.url);
    const json& first = j["data"][0];
    m.model = m.opts.model.empty() ? first.value("id", std::string()) : m.opts.model;
    m.max_model_len = first.value("max_model_len", 0);
    m.vocab_size = first.value("vocab_size", 0);
}

HttpBenchClient::~HttpBenchClient() {
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    for (auto& t : impl_->workers) t.join();
}

const std::string& HttpBenchClient::model() const { return impl_->model; }
int HttpBenchClient::max_model_len() const { return impl_->max_model_len; }
int HttpBenchClient::vocab_size() const { return impl_->vocab_size; }

RequestSender HttpBenchClient::sender() {
    Impl* m = impl_.get();
    return [m](const WorkloadItem& item, std::function<void(RequestRecord)> done) {
        m->post([m, item, done, queued_at = Clock::now()] { done(m->run_one(item, queued_at)); });
    };
}

ServerKvStats HttpBenchClient::kv_stats() {
    ServerKvStats s;
    auto res = impl_->client()->Get("/metrics", impl_->headers());
    if (!res || res->status != 200) return s;
    s.capacity_tokens = static_cast<int64_t>(prometheus_value(res->body, "lightllm_kv_capacity_tokens"));
    s.used_tokens = static_cast<int64_t>(prometheus_value(res->body, "lightllm_kv_used_tokens"));
    s.peak_tokens = static_cast<int64_t>(prometheus_value(res->body, "lightllm_kv_peak_tokens"));
    s.pauses = static_cast<int64_t>(prometheus_value(res->body, "lightllm_pauses_total"));
    return s;
}

namespace {

// The most KV tokens the requests held at once, from their token times: a
// request holds its prompt and the tokens so far from its first token to its
// end.
int64_t kv_held_at_once(const std::vector<RequestRecord>& records) {
    std::vector<std::pair<double, int64_t>> events;  // (time, change)
    for (const RequestRecord& rec : records) {
        if (rec.n_output == 0) continue;
        double sent = rec.start_s + rec.queued_s;
        double t = sent + rec.ttft_s;
        events.emplace_back(t, rec.n_prompt + 1);
        for (double gap : rec.itl_s) events.emplace_back(t += gap, 1);
        int64_t held = rec.n_prompt + 1 + static_cast<int64_t>(rec.itl_s.size());
        events.emplace_back(std::max(t, sent + rec.e2e_s), -held);
    }
    std::sort(events.begin(), events.end());  // at one time, releases (negative) first
    int64_t now = 0, peak = 0;
    for (const auto& e : events) peak = std::max(peak, now += e.second);
    return peak;
}

}  // namespace

int run_http_bench(const HttpBenchOptions& opts, const WorkloadSpec& workload, const std::string& tokenizer_path,
                   const std::string& json_path) {
    HttpBenchClient client(opts);
    std::unique_ptr<Tokenizer> tok;
    if (!tokenizer_path.empty()) tok = load_tokenizer(tokenizer_path);
    int n_vocab = tok ? tok->n_vocab() : client.vocab_size();
    if (n_vocab <= 0) fail("--url {}: the server does not tell its vocabulary size; pass --tokenizer (or -m) of its model", opts.url);
    std::vector<WorkloadItem> items = make_workload(workload, tok.get(), n_vocab);
    const ServerKvStats before = client.kv_stats();
    DriveResult run = drive_workload(items, client.sender(), isatty(STDERR_FILENO));
    const ServerKvStats after = client.kv_stats();

    BenchConfig c;
    c.model = client.model();
    c.device = "server " + opts.url;
    c.workload = describe_workload(workload);
    c.seed = workload.seed;
    c.commit = LIGHTLLM_GIT_COMMIT;
    c.num_prompts = workload.num_prompts;
    c.request_rate = workload.request_rate;
    c.max_running_requests = opts.concurrency;
    c.sampling = opts.sampling;
    BenchReport r = summarize_bench(run.records, run.duration_s, c);
    r.kv_capacity_tokens = after.capacity_tokens;
    // The server's KV peak is over its lifetime: it is this run's when the run
    // raised it; else the most KV this run's requests held at once.
    r.kv_peak_tokens = after.peak_tokens > before.peak_tokens ? after.peak_tokens : std::min(after.peak_tokens, kv_held_at_once(run.records));
    r.pauses = after.pauses - before.pauses;
    std::fputs(format_bench_report(r).c_str(), stdout);
    std::fflush(stdout);
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        if (!f) fail("--json {}: cannot write the file", json_path);
        f << bench_report_json(r).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    }
    return r.n_failed ? 1 : 0;
}

}  // namespace lightllm
