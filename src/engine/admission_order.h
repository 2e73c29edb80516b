// The order in which waiting requests are offered to admission.
//   fifo          arrival order
//   longest-first among the requests that reached the router in the same
//                 scheduling window (the same engine step), the one with the
//                 most output tokens left goes first (max_new_tokens minus
//                 what it already produced; with ignore_eos that is its exact
//                 length). Windows keep their arrival order, so no request
//                 is ever overtaken by one that arrived after its window:
//                 nothing starves.
// Why: when many requests arrive at once, the longest ones decide when the
// batch ends. Admitted last, they decode their tail alone at small batch
// after everyone else is done; admitted first, their tail overlaps the bulk.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace lightllm {

struct EngineRequest;

enum class AdmissionOrder : uint8_t { Fifo, LongestFirst };

// "fifo" or "longest-first"; throws Error naming the flag otherwise.
AdmissionOrder parse_admission_order(const std::string& name);

// Output tokens `req` may still produce.
int remaining_output(const EngineRequest& req);

// Stable reorder of `waiting` (each request's arrival_window set by the
// router when it was queued). Fifo leaves it as it is.
void order_waiting(std::deque<std::unique_ptr<EngineRequest>>& waiting, AdmissionOrder order);

}  // namespace lightllm
