// ProgressReporter: the progress of a long job (loading or initialising
// weights, converting a model) on stderr. On a terminal one line is redrawn
// in place ("\r"), at most every `redraw_s` seconds and only once the job has
// run `quiet_s` (a fast load shows just the summary); elsewhere (a log file,
// a pipe) nothing until finish(), which writes one summary line: "lightllm:
// <done> 272 tensors, 538.0 MiB in 3.4 s (158.2 MiB/s)". The sink and the
// clock are injected, so tests drive it with a fake clock and read what it
// wrote.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace lightllm {

// Where the reporter writes: `terminal` decides in-place redraws.
struct ProgressSink {
    bool terminal = false;
    std::function<void(const std::string&)> write;
};
// Seconds since some fixed point.
using ProgressClock = std::function<double()>;

// stderr (terminal when isatty(2)) and the steady clock.
ProgressSink stderr_progress_sink();
ProgressClock steady_progress_clock();

struct ProgressLabels {
    std::string running;  // "loading weights"
    std::string done;     // "loaded weights:"
};

class ProgressReporter {
public:
    ProgressReporter(ProgressLabels labels, ProgressSink sink, ProgressClock clock);
    // Ends an unfinished in-place line (a load that threw) so the error starts a line.
    ~ProgressReporter();
    ProgressReporter(const ProgressReporter&) = delete;
    ProgressReporter& operator=(const ProgressReporter&) = delete;
    // Adds `bytes` to the total to be written.
    void expect(uint64_t bytes) { total_bytes_ += bytes; }
    // One tensor of `bytes` written.
    void add(uint64_t bytes);
    // The summary line (clears the in-place line first on a terminal). Once.
    void finish();

    // The in-place line as it would be drawn now.
    std::string status_line() const;
    int64_t n_tensors() const { return n_tensors_; }
    uint64_t done_bytes() const { return done_bytes_; }
    uint64_t total_bytes() const { return total_bytes_; }

    static constexpr double quiet_s = 1.0;
    static constexpr double redraw_s = 0.25;

private:
    double elapsed() const { return clock_() - start_; }

    ProgressLabels labels_;
    ProgressSink sink_;
    ProgressClock clock_;
    double start_ = 0.0;
    double last_draw_ = -1.0;
    size_t drawn_width_ = 0;
    int64_t n_tensors_ = 0;
    uint64_t done_bytes_ = 0;
    uint64_t total_bytes_ = 0;
    bool finished_ = false;
};

}  // namespace lightllm
