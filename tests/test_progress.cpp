// ProgressReporter with an injected clock and sink: nothing but one summary
// line off a terminal; on a terminal an in-place line after quiet_s, redrawn
// at most every redraw_s, cleared by the summary. Then the models: a load and
// a dummy initialisation of every architecture report each weight once and
// end at 100 % of the weights' bytes.
#include "cpu_backend.h"
#include "model.h"
#include "model_files.h"
#include "presets.h"
#include "progress.h"
#include "test_util.h"
#include <doctest/doctest.h>

using namespace lightllm;

namespace {

struct FakeTerminal {
    double now = 100.0;
    std::vector<std::string> writes;
    ProgressReporter reporter(bool terminal) {
        ProgressSink sink;
        sink.terminal = terminal;
        sink.write = [this](const std::string& s) { writes.push_back(s); };
        return ProgressReporter({"loading weights", "loaded weights:"}, sink, [this] { return now; });
    }
};

constexpr uint64_t kMiB = 1048576;

}  // namespace

TEST_CASE("progress: off a terminal only one summary line, written at finish") {
    FakeTerminal t;
    ProgressReporter p = t.reporter(false);
    p.expect(4 * kMiB);
    for (int i = 0; i < 4; ++i) {
        t.now += 10.0;
        p.add(kMiB);
    }
    CHECK(t.writes.empty());
    p.finish();
    p.finish();  // once
    REQUIRE(t.writes.size() == 1);
    CHECK(t.writes[0] == "lightllm: loaded weights: 4 tensors, 4.0 MiB in 40.0 s (0.1 MiB/s)\n");
}

TEST_CASE("progress: on a terminal the line waits quiet_s, redraws at most every redraw_s, then the summary") {
    FakeTerminal t;
    ProgressReporter p = t.reporter(true);
    p.expect(10 * kMiB);
    t.now += ProgressReporter::quiet_s / 2;
    p.add(kMiB);
    CHECK(t.writes.empty());  // a fast load shows only its summary
    t.now += ProgressReporter::quiet_s;
    p.add(kMiB);
    REQUIRE(t.writes.size() == 1);
    CHECK(t.writes[0] == "\rlightllm: loading weights  20% 2 tensors, 2.0 MiB of 10.0 MiB, 1.5 s");
    t.now += ProgressReporter::redraw_s / 2;
    p.add(kMiB);
    CHECK(t.writes.size() == 1);  // throttled
    t.now += ProgressReporter::redraw_s;
    p.add(7 * kMiB);
    REQUIRE(t.writes.size() == 2);
    CHECK(t.writes[1] == "\rlightllm: loading weights 100% 4 tensors, 10.0 MiB of 10.0 MiB, 1.9 s");
    p.finish();
    REQUIRE(t.writes.size() == 3);
    const std::string blank(t.writes[1].size() - 1, ' ');
    CHECK(t.writes[2] == "\r" + blank + "\rlightllm: loaded weights: 4 tensors, 10.0 MiB in 1.9 s (5.3 MiB/s)\n");
}

TEST_CASE("progress: a load that throws ends the in-place line; a total that grows keeps the percentage true") {
    FakeTerminal t;
    {
        ProgressReporter p = t.reporter(true);
        p.expect(2 * kMiB);
        t.now += 2.0;
        p.add(2 * kMiB);
        p.expect(2 * kMiB);  // an untied lm_head allocated after the rest
        CHECK(p.status_line() == "lightllm: loading weights  50% 1 tensors, 2.0 MiB of 4.0 MiB, 2.0 s");
    }
    REQUIRE(t.writes.size() == 2);
    CHECK(t.writes[1] == "\n");
}

TEST_CASE("progress: every architecture reports each weight once, loaded or dummy, ending at 100 %") {
    for (const char* dir : {"tiny-llama-gqa", "tiny-llama-mha-tied", "tiny-qwen2", "tiny-bloom", "tiny-starcoder",
                            "tiny-starcoder-mha"}) {
        CAPTURE(dir);
        const ModelFiles files = open_model_files(test_data(dir));
        for (bool dummy : {false, true}) {
            CAPTURE(dummy);
            FakeTerminal t;
            ProgressReporter p = t.reporter(false);
            CpuBackend be;
            auto model = dummy ? make_dummy_model(files.config, be, 7, 16, {}, &p)
                               : load_model(files.config, *files.tensors, be, 16, {}, &p);
            CHECK(p.total_bytes() == model->weight_bytes());
            CHECK(p.done_bytes() == model->weight_bytes());
            CHECK(p.status_line().find("100%") != std::string::npos);
            if (!dummy) CHECK(size_t(p.n_tensors()) == files.tensors->names().size());
        }
    }
}
