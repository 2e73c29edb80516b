// Communicator: the collective operations tensor parallelism needs, on
// tensors of this rank's backend. Two implementations:
//   - CPU (communicator_cpu.cpp): host tensors of the CPU backend, summed and
//     gathered through rank 0 over the group's TCP star (loopback on one
//     machine), so TP runs and is tested without GPUs;
//   - NCCL (cuda/nccl_communicator.cpp, CUDA builds): device tensors on the
//     backend's stream; libnccl.so.2 is loaded at run time, and the NCCL unique
//     id travels from rank 0 over the group's TCP connections, so ranks on
//     several hosts form one NCCL group. Every collective only queues work on
//     the stream (no host synchronisation, no allocation once reserve_gather
//     has sized its buffer), so a decode step's CUDA graph captures them.
// A model calls these at the same points on every rank (after o_proj, after
// the MLP's down projection, after the embedding, for the logits).
#pragma once
#include "backend.h"
#include <memory>

namespace lightllm {

class TpGroup;

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int world_size() const = 0;
    // t = sum of every rank's t, in place (F32 on the CPU; F32/F16/BF16 with NCCL).
    virtual void all_reduce_sum(Tensor& t) = 0;
    // Rank 0 gets the first `cols` columns of every rank's local [n, >= cols]
    // F32 tensor side by side: full[:, r*cols + j] = local_r[:, j], for the
    // columns that fit in full [n, total] (the last rank's block may be cut).
    // Other ranks' `full` is not written (may be empty). Used for the
    // vocabulary-split logits.
    virtual void gather_columns(const Tensor& local, Tensor& full, int64_t cols) = 0;
    // Sizes whatever device buffers gather_columns needs for local tensors of
    // up to rows x stride, so that no later gather allocates: a CUDA graph
    // that captured a gather replays it into the same addresses.
    virtual void reserve_gather(int64_t rows, int64_t stride) {}
};

// The CPU communicator over `group` (which must outlive it).
std::unique_ptr<Communicator> make_cpu_communicator(TpGroup& group);
// NCCL over `group` on `backend`'s device and stream; nullptr when lightllm was
// built without CUDA. Fails with a clear error when libnccl.so.2 cannot be loaded.
std::unique_ptr<Communicator> make_nccl_communicator(TpGroup& group, Backend& backend);

}  // namespace lightllm
