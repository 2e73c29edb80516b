#include "admission_order.h"
#include "check.h"
#include "request_state.h"
#include <algorithm>

namespace lightllm {

AdmissionOrder parse_admission_order(const std::string& name) {
    if (name == "fifo") return AdmissionOrder::Fifo;
    if (name == "longest-first") return AdmissionOrder::LongestFirst;
    fail("--admission-order '{}': expected fifo or longest-first", name);
}

int remaining_output(const EngineRequest& req) {
    return std::max(0, req.params.max_new_tokens - int(req.output.size()));
}

void order_waiting(std::deque<std::unique_ptr<EngineRequest>>& waiting, AdmissionOrder order) {
    if (order == AdmissionOrder::Fifo || waiting.size() < 2) return;
    // Paused requests go back to the queue's head with their original window,
    // so sorting by window keeps them ahead of everything that came later.
    std::stable_sort(waiting.begin(), waiting.end(), [](const auto& a, const auto& b) {
        if (a->arrival_window != b->arrival_window) return a->arrival_window < b->arrival_window;
        return remaining_output(*a) > remaining_output(*b);
    });
}

}  // namespace lightllm
