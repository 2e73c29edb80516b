// TpGroup: the processes of one tensor-parallel group and the TCP star that
// joins them (rank 0 in the middle). It carries the control plane: the
// start-up handshake (every rank's fingerprint of model and flags must equal
// rank 0's, else every rank stops with an error naming the first rank that
// differs), each engine step's plan from rank 0 to the workers, small
// agreements (KV capacity, the NCCL unique id), and the CPU communicator's
// tensor data.
//
// Failure: any receive waits at most timeout_s (except a worker waiting for
// the next step, which may idle forever; rank 0 going away closes its socket).
// A closed socket or a timeout becomes an Error naming the peer rank, passed
// to the failure handler (the launcher installs one that stops every rank and
// exits; tests keep the default, which throws).
#pragma once
#include "tcp_channel.h"
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

// Where this process sits in the group and how to reach rank 0.
struct TpPlace {
    int rank = 0;
    int world_size = 1;
    int local_rank = 0;                   // device index on this host
    std::string master_addr = "127.0.0.1";
    int master_port = 0;                  // rank 0 listens here (0 with a listener passed in)
    double timeout_s = 60.0;              // --tp-timeout
};

class TpGroup {
public:
    using FailureHandler = std::function<void(const std::string& message)>;

    // Forms the group: rank 0 accepts world_size - 1 workers on `listener`
    // (or a new one on master_addr:master_port), the others connect. Throws
    // Error when a rank is missing after timeout_s, or a fingerprint differs.
    static std::unique_ptr<TpGroup> form(const TpPlace& place, const std::string& fingerprint,
                                         std::unique_ptr<TcpListener> listener = nullptr);
    ~TpGroup();

    int rank() const { return place_.rank; }
    int world_size() const { return place_.world_size; }
    int local_rank() const { return place_.local_rank; }
    double timeout_s() const { return place_.timeout_s; }
    void set_failure_handler(FailureHandler h) { on_failure_ = std::move(h); }

    // Start-up: workers report that they loaded (or why they could not);
    // rank 0 waits for all of them.
    void report_ready(const std::string& error = "");
    void wait_ready();

    // Rank 0: one step's plan to every worker. Workers: the next plan; false
    // when rank 0 said Stop.
    void send_step(const std::vector<uint8_t>& plan);
    bool recv_step(std::vector<uint8_t>& plan);
    // Rank 0: tells every worker to exit (the destructor does it too).
    void stop();

    // Every rank's value, in rank order.
    std::vector<int64_t> all_gather_i64(int64_t v);
    // Rank 0's `bytes` bytes at `data` copied to every rank.
    void broadcast(void* data, size_t bytes);
    // data[i] = sum over ranks, in place, the same result on every rank.
    void all_reduce_sum(float* data, size_t n);
    // Rank 0 gets every rank's `bytes` bytes in rank order in `all`
    // (world_size * bytes); other ranks' `all` is untouched.
    void gather(const void* local, size_t bytes, std::vector<uint8_t>& all);

    // Reports a failure through the handler (the default throws Error).
    [[noreturn]] void failed(const std::string& message);

private:
    TpGroup() = default;
    [[noreturn]] void peer_failed(int peer, const ChannelError& e);

    TpPlace place_;
    std::vector<TcpChannel> peers_;  // rank 0: index = worker rank (0 unused); workers: [0] = rank 0
    FailureHandler on_failure_;
    bool stopped_ = false;
};

}  // namespace lightllm
