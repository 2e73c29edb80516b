// ProgressReporter: in-place line on a terminal, one summary line elsewhere.
#include "progress.h"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace lightllm {

namespace {

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / 1048576.0); }

}  // namespace

ProgressSink stderr_progress_sink() {
    ProgressSink s;
    s.terminal = isatty(STDERR_FILENO) != 0;
    s.write = [](const std::string& text) {
        std::fputs(text.c_str(), stderr);
        std::fflush(stderr);
    };
    return s;
}

ProgressClock steady_progress_clock() {
    return [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
}

ProgressReporter::ProgressReporter(ProgressLabels labels, ProgressSink sink, ProgressClock clock)
    : labels_(std::move(labels)), sink_(std::move(sink)), clock_(std::move(clock)), start_(clock_()) {}

ProgressReporter::~ProgressReporter() {
    if (drawn_width_ > 0 && !finished_) sink_.write("\n");
}

std::string ProgressReporter::status_line() const {
    const uint64_t total = std::max(total_bytes_, done_bytes_);
    const int pct = total > 0 ? int(100 * done_bytes_ / total) : 100;
    return fmt::format("lightllm: {} {:3d}% {} tensors, {} of {}, {:.1f} s", labels_.running, pct, n_tensors_,
                       mib(done_bytes_), mib(total), elapsed());
}

void ProgressReporter::add(uint64_t bytes) {
    ++n_tensors_;
    done_bytes_ += bytes;
    if (!sink_.terminal || finished_) return;
    const double t = elapsed();
    if (t < quiet_s || (last_draw_ >= 0.0 && t - last_draw_ < redraw_s)) return;
    last_draw_ = t;
    std::string line = status_line();
    const size_t width = line.size();
    if (width < drawn_width_) line.append(drawn_width_ - width, ' ');  // cover a longer previous line
    drawn_width_ = width;
    sink_.write("\r" + line);
}

void ProgressReporter::finish() {
    if (finished_) return;
    finished_ = true;
    const double t = elapsed();
    std::string text;
    if (drawn_width_ > 0) text = "\r" + std::string(drawn_width_, ' ') + "\r";
    text += fmt::format("lightllm: {} {} tensors, {} in {:.1f} s", labels_.done, n_tensors_, mib(done_bytes_), t);
    if (t >= 0.1) text += fmt::format(" ({:.1f} MiB/s)", double(done_bytes_) / 1048576.0 / t);  // a rate of a few ms says nothing
    sink_.write(text + "\n");
}

}  // namespace lightllm
