// Tensor-parallel launch: which rank this process is, and the worker
// processes it starts.
//
// Rank discovery, first match wins:
//   1. --tp-rank (set by our own spawner on the workers it starts);
//   2. Open MPI: OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK;
//   3. Slurm: SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID;
//   4. torchrun style: RANK / WORLD_SIZE / LOCAL_RANK;
//   5. --nnodes K --node-rank k: this process is rank k * (tp / K) and spawns
//      the tp / K - 1 ranks that follow it on this host;
//   6. otherwise (one machine): rank 0 of --tp N, which spawns ranks 1..N-1.
// Rank 0's address: --master-addr / --master-port, else MASTER_ADDR /
// MASTER_PORT, else 127.0.0.1:29500 (port 0, any free one, when everything is
// spawned here). A launcher's world size must equal --tp when both are given.
//
// Spawned workers are this binary with the same arguments plus --tp-rank,
// --tp-local-rank and rank 0's address; each asks the kernel to kill it when
// its parent dies (PR_SET_PDEATHSIG), sits in its own process group (so Ctrl-C
// reaches rank 0, which stops them), and is watched: a worker that exits
// unexpectedly stops every rank with an error naming it.
#pragma once
#include "engine_options.h"
#include "tp_group.h"
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

struct TpFlags {
    int tp = 0;                 // --tp / --tensor-parallel-size (0: 1, or the launcher's world size)
    int nnodes = 1;             // --nnodes
    int node_rank = -1;         // --node-rank (-1: not given)
    std::string master_addr;    // --master-addr
    int master_port = -1;       // --master-port (-1: not given)
    double timeout_s = 60.0;    // --tp-timeout
    int spawned_rank = -1;      // --tp-rank (internal)
    int spawned_local_rank = -1;  // --tp-local-rank (internal)
};

// Where this process sits, and which ranks it must spawn on this host.
struct RankPlan {
    TpPlace place;
    std::vector<int> spawn_ranks;  // global ranks to start here (their local ranks follow this one's)
    std::string source;            // "--tp", "Open MPI", "Slurm", "torchrun", "--nnodes", "spawned"
};

using EnvLookup = std::function<const char*(const char* name)>;
// Applies the rules above; throws Error naming the flag or variable at fault.
RankPlan discover_rank(const TpFlags& flags, const EnvLookup& env);

// A start-up fingerprint of what must be equal on every rank (model, dtypes,
// KV and batching limits, world size, version), "key=value" lines.
std::string tp_fingerprint(const EngineOptions& o, int world_size);

// The running group of this process: owns the TpGroup and the workers it
// spawned. Destroying it tells the workers to stop and reaps them (killing
// any still there after --tp-timeout).
class TpSession {
public:
    ~TpSession();
    std::shared_ptr<TpGroup> group() const { return group_; }
    int rank() const { return plan_.place.rank; }

    // Discovers this rank, spawns local workers, forms the group and installs
    // the failure handler (message to stderr, every rank stops, exit 1).
    // World size 1: no group (group() is null), nothing spawned.
    static std::unique_ptr<TpSession> start(const TpFlags& flags, const EngineOptions& engine);

private:
    TpSession() = default;
    void spawn(const std::vector<std::string>& argv, int rank, int local_rank, int port);
    void watch_children();
    void kill_children(int sig);

    struct Child {
        int pid = -1;
        int rank = -1;
        bool reaped = false;
    };
    RankPlan plan_;
    std::shared_ptr<TpGroup> group_;
    std::vector<Child> children_;
    std::shared_ptr<struct TpWatch> watch_;
};

// Ranks > 0: loads this rank's shard and runs the steps rank 0 sends until it
// says stop. Returns the exit code.
int run_tp_worker(const EngineOptions& engine);

}  // namespace lightllm
