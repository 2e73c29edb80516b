// Bench driver: sends a workload's requests at their arrival times through a
// RequestSender and collects one RequestRecord per request. The in-process
// sender goes through the Pipeline; an HTTP client (bench --url) plugs in its
// own sender and reuses the driver and the report unchanged.
#pragma once
#include "bench_report.h"
#include "pipeline.h"
#include "workload.h"
#include <functional>

namespace lightllm {

// Sends one request and returns; calls `done` exactly once, from any thread,
// with times measured from the moment it was sent (start_s is the driver's).
using RequestSender = std::function<void(const WorkloadItem& item, std::function<void(RequestRecord)> done)>;

struct DriveResult {
    std::vector<RequestRecord> records;  // in workload order
    double duration_s = 0.0;             // first send to last finish
};

// `progress`: draw a progress bar on stderr.
DriveResult drive_workload(const std::vector<WorkloadItem>& items, const RequestSender& send, bool progress);

// Sends through `pipeline` with `base` sampling parameters (max_new_tokens
// from each item); waits while the pipeline is overloaded.
RequestSender pipeline_sender(Pipeline& pipeline, const SamplingParams& base);

}  // namespace lightllm
