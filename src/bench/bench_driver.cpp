#include "bench_driver.h"
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace lightllm {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void draw_progress(int done, int total) {
    const int width = 40;
    int filled = total ? done * width / total : width;
    std::fprintf(stderr, "\r[%.*s%*s] %d/%d", filled, "========================================", width - filled, "", done,
                 total);
    std::fflush(stderr);
}

}  // namespace

// The main thread sends first turns at their arrival times and later turns as
// soon as the turn they follow has finished (senders call back from other
// threads, which must not block on a send).
DriveResult drive_workload(const std::vector<WorkloadItem>& items, const RequestSender& send, bool progress) {
    DriveResult out;
    if (items.empty()) return out;
    const size_t n = items.size();
    out.records.resize(n);
    std::vector<int> next_turn(n, -1);
    std::vector<size_t> first_turns;
    for (size_t i = 0; i < n; ++i) {
        if (items[i].follows < 0) first_turns.push_back(i);
        else next_turn[size_t(items[i].follows)] = int(i);
    }
    std::vector<std::vector<int32_t>> sent_ids(n);  // the prompt ids each turn went out with
    std::mutex m;
    std::condition_variable cv;
    size_t n_done = 0;
    std::vector<size_t> ready;  // later turns whose previous turn finished
    Clock::time_point last_finish;
    const Clock::time_point t0 = Clock::now();
    auto send_one = [&](size_t i, const WorkloadItem& item) {
        const double start_s = seconds(Clock::now() - t0);
        sent_ids[i] = item.prompt_ids;
        send(item, [&, i, start_s](RequestRecord rec) {
            rec.start_s = start_s;
            std::lock_guard<std::mutex> lock(m);
            out.records[i] = std::move(rec);
            ++n_done;
            if (next_turn[i] >= 0) ready.push_back(size_t(next_turn[i]));
            last_finish = Clock::now();
            cv.notify_all();
        });
    };
    size_t next_first = 0;
    int last_drawn = -1;
    std::unique_lock<std::mutex> lock(m);
    while (n_done < n) {
        const Clock::time_point now = Clock::now();
        auto due = [&](size_t k) {
            return t0 + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(items[first_turns[k]].arrival_s));
        };
        std::vector<size_t> to_send;
        while (next_first < first_turns.size() && due(next_first) <= now) to_send.push_back(first_turns[next_first++]);
        to_send.insert(to_send.end(), ready.begin(), ready.end());
        ready.clear();
        if (!to_send.empty()) {
            lock.unlock();
            for (size_t i : to_send) {
                const WorkloadItem& item = items[i];
                if (item.follows < 0) {
                    send_one(i, item);
                    continue;
                }
                const size_t prev = size_t(item.follows);
                WorkloadItem turn = item;
                turn.prompt_ids = sent_ids[prev];
                turn.prompt_ids.insert(turn.prompt_ids.end(), out.records[prev].output_ids.begin(),
                                       out.records[prev].output_ids.end());
                turn.prompt_ids.insert(turn.prompt_ids.end(), item.prompt_ids.begin(), item.prompt_ids.end());
                turn.n_prompt = int(turn.prompt_ids.size());
                send_one(i, turn);
            }
            lock.lock();
            continue;
        }
        Clock::time_point wake = now + std::chrono::milliseconds(200);
        if (next_first < first_turns.size()) wake = std::min(wake, due(next_first));
        cv.wait_until(lock, wake, [&] { return !ready.empty() || n_done == n; });
        if (progress && int(n_done) != last_drawn) {
            draw_progress(int(n_done), int(n));
            last_drawn = int(n_done);
        }
    }
    if (progress) {
        draw_progress(int(n), int(n));
        std::fputc('\n', stderr);
    }
    out.duration_s = seconds(last_finish - t0);
    return out;
}

RequestSender pipeline_sender(Pipeline& pipeline, const SamplingParams& base) {
    return [&pipeline, base](const WorkloadItem& item, std::function<void(RequestRecord)> done) {
        RequestInput in;
        in.prompt = item.prompt;
        in.prompt_ids = item.prompt_ids;
        in.params = base;
        in.params.max_new_tokens = item.max_new_tokens;
        auto times = std::make_shared<std::vector<Clock::time_point>>();
        RequestSink sink;
        sink.on_token = [times](const TokenEvent& t) { times->push_back(t.time); };
        sink.on_finish = [times, done](const RequestResult& r) {
            RequestRecord rec;
            rec.ok = r.finish_reason == FinishReason::Stop || r.finish_reason == FinishReason::Length;
            if (!rec.ok) rec.error = r.finish_reason == FinishReason::Error ? r.error : finish_reason_name(r.finish_reason);
            rec.n_prompt = r.n_prompt_tokens;
            rec.n_output = int(r.output_ids.size());
            rec.n_cached = r.n_cached_tokens;
            rec.output_ids = r.output_ids;
            rec.ttft_s = seconds(r.t_first_token - r.t_submit);
            rec.e2e_s = seconds(r.t_finish - r.t_submit);
            for (size_t k = 1; k < times->size(); ++k) rec.itl_s.push_back(seconds((*times)[k] - (*times)[k - 1]));
            done(std::move(rec));
        };
        for (;;) {
            try {
                pipeline.submit(in, sink);
                return;
            } catch (const Overloaded&) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
    };
}

}  // namespace lightllm
