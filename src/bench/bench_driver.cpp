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

DriveResult drive_workload(const std::vector<WorkloadItem>& items, const RequestSender& send, bool progress) {
    DriveResult out;
    if (items.empty()) return out;
    out.records.resize(items.size());
    std::mutex m;
    std::condition_variable cv;
    int n_done = 0;
    Clock::time_point last_finish;
    const Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < items.size(); ++i) {
        std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(items[i].arrival_s)));
        const double start_s = seconds(Clock::now() - t0);
        send(items[i], [&, i, start_s](RequestRecord rec) {
            rec.start_s = start_s;
            std::lock_guard<std::mutex> lock(m);
            out.records[i] = std::move(rec);
            ++n_done;
            last_finish = Clock::now();
            cv.notify_all();
        });
    }
    std::unique_lock<std::mutex> lock(m);
    const int total = int(items.size());
    while (n_done < total) {
        cv.wait_for(lock, std::chrono::milliseconds(200));
        if (progress) draw_progress(n_done, total);
    }
    if (progress) std::fputc('\n', stderr);
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
