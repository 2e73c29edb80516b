// ModelRunner: start-up (backend choice, weights, KV sizing) and one engine
// step (pack the StepSeqs into a Batch, forward, sample: on the GPU through the
// DecodeAccelerator when there is one, else on the host).
//
// Tensor parallelism with CUDA graphs: every rank has a DecodeAccelerator
// (workers only for its graphs; rank 0 samples). Rank 0 decides each step's
// bucket and sends it in the plan, so all ranks run the eager first step of a
// bucket, capture it (collectives included) and later replay it together, in
// the same order, as NCCL requires. Rank 0 captures the buckets at start-up
// after the ranks are ready, its plans driving the workers' loop; the plan
// also says whether GEMM tuning is on, so the workers tune the same steps.
//
// KV capacity: --max-total-tokens when given; otherwise the device memory
// still free after the weights and the activation workspace are allocated,
// times mem_fraction, over kv_bytes_per_token. Either way it is capped at
// max_running_requests * max_context, the most the ReqToTokenTable can
// address. On the CPU backend the default budget is also capped at
// kCpuKvBudgetBytes: host RAM is shared with everything else on the machine.
#include "model_runner.h"
#include "cascade_plan.h"
#include "step_plan.h"
#include "communicator.h"
#include "decode_accelerator.h"
#include "model.h"
#include "model_files.h"
#include "progress.h"
#include "presets.h"
#include "sampler.h"
#include "tp_group.h"
#include <algorithm>
#include <chrono>

namespace lightllm {

constexpr size_t kCpuKvBudgetBytes = size_t(4) << 30;  // default CPU KV budget: 4 GiB

namespace {

std::unique_ptr<Backend> choose_backend(const EngineOptions& o, const ModelConfig& cfg, int device_index) {
    bool cuda = false;
    switch (o.device) {
        case DeviceChoice::Cuda:
            if (!cuda_device_available()) fail("--device cuda: no CUDA device found (or lightllm was built without CUDA)");
            cuda = true;
            break;
        case DeviceChoice::Auto: cuda = cuda_device_available(); break;
        case DeviceChoice::Cpu: break;
    }
    if (!cuda) return make_cpu_backend();
    DType dt = cfg.dtype == DType::F16 ? DType::F16 : DType::BF16;
    switch (o.dtype) {
        case DTypeChoice::F16: dt = DType::F16; break;
        case DTypeChoice::BF16: dt = DType::BF16; break;
        case DTypeChoice::F32: dt = DType::F32; break;
        case DTypeChoice::Auto: break;
        case DTypeChoice::I8: fail("--dtype int8: int8 is a KV cache dtype only");
    }
    return make_cuda_backend(device_index, dt, o.cuda);
}

DType kv_dtype_for(DTypeChoice c, const Backend& be) {
    switch (c) {
        case DTypeChoice::Auto: return be.compute_dtype();
        case DTypeChoice::F16: return DType::F16;
        case DTypeChoice::BF16: return DType::BF16;
        case DTypeChoice::F32: return DType::F32;
        case DTypeChoice::I8: return DType::I8;
    }
    return be.compute_dtype();
}

}  // namespace

struct ModelRunner::Impl {
    EngineOptions opts;
    ModelConfig cfg;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
    std::unique_ptr<ReqToTokenTable> table;
    std::unique_ptr<TokenKvPool> kv;
    int max_context = 0;
    int max_tokens = 0;  // packed tokens per step
    int max_logits = 0;  // rows of logits per step
    // One step's index arrays travel to the device in one copy, packed into
    // `step_arrays` (I32): ids, positions, slots, token_rows [n tokens],
    // logit_rows [n logits], q_start [n reqs + 1], kv_len, req_rows [n reqs].
    // Offsets depend only on those three counts, so a CUDA graph captured for
    // a batch bucket finds the same addresses every time it is replayed.
    // Cascade steps (never graphs) append the groups' arrays: group_start,
    // members, shared_len, req_shared.
    Tensor step_arrays;
    std::vector<int32_t> h_step_arrays;
    // CUDA only: decode steps as CUDA graphs, sampling on the device.
    std::unique_ptr<DecodeAccelerator> accel;
    // Tensor parallelism: the group, this rank's collectives and shard.
    std::shared_ptr<TpGroup> tp;
    std::unique_ptr<Communicator> comm;
    TpShard shard;
    std::vector<uint8_t> plan_bytes;
    bool gemm_tuning = false;  // set_gemm_tuning's state (workers: as the last plan said)
    int64_t graph_steps = 0;   // steps run as a CUDA graph
    int64_t cascade_steps = 0; // steps whose decodes ran with cascade groups
    bool cascade = false;      // plan cascade groups (off for sliding-window and ALiBi models)
    bool tp_active() const { return shard.active(); }

    ~Impl() {
        accel.reset();
        kv.reset();
        table.reset();
        model.reset();
        if (backend && !step_arrays.empty()) backend->free(step_arrays);
    }

    // One forward over `seqs`; returns device logits [rows_wanted.size(), n_vocab] F32.
    // Under TP rank 0 sends the plan to the other ranks first.
    Tensor forward(const std::vector<StepSeq>& seqs, const std::vector<int32_t>& rows_wanted);
    // Runs a plan on this rank (the part of forward every rank does).
    Tensor execute(const StepPlan& plan);
    // The same, downloaded.
    std::vector<float> run(const std::vector<StepSeq>& seqs, const std::vector<int32_t>& rows_wanted);
    // Runs one decode step of every CUDA-graph bucket size on do-nothing
    // sequences (no cached token, KV slot -1: they read and write no KV), with
    // GEMM tuning on, so tuning and graph capture happen at start-up, not in
    // the middle of serving. Returns the number of buckets.
    int capture_decode_graphs();
    // capture_decode_graphs and the line that says how many and how long.
    void capture_and_report();
    void set_gemm_tuning(bool on) {
        gemm_tuning = on;
        backend->set_gemm_tuning(on);
    }
};

ModelRunner::ModelRunner(const EngineOptions& opts) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.opts = opts;
    ModelFiles files;
    if (opts.load_dummy) {
        m.cfg = load_preset_config(opts.model_path);
    } else {
        files = open_model_files(opts.model_path);
        m.cfg = files.config;
    }
    if (opts.max_running_requests <= 0) fail("--max-running-requests must be positive (got {})", opts.max_running_requests);
    if (opts.max_prefill_tokens <= 0) fail("--max-prefill-tokens must be positive (got {})", opts.max_prefill_tokens);
    if (opts.max_context < 0) fail("--max-context must not be negative (got {})", opts.max_context);
    m.max_context = opts.max_context > 0 ? opts.max_context : m.cfg.max_position;
    if (m.max_context <= 0) fail("{}: the model gives no context length; pass --max-context", opts.model_path);
    m.max_tokens = opts.max_prefill_tokens + opts.max_running_requests;
    m.max_logits = opts.max_running_requests;

    m.tp = opts.tp;
    const int world = m.tp ? m.tp->world_size() : 1;
    m.backend = choose_backend(opts, m.cfg, m.tp ? m.tp->local_rank() : 0);
    Backend& be = *m.backend;
    m.shard = plan_tp_shard(m.cfg, m.tp ? m.tp->rank() : 0, world);
    if (m.tp) {  // a group of one still runs its collectives (the NCCL check at TP=1)
        m.comm = be.device() == Device::CPU ? make_cpu_communicator(*m.tp) : make_nccl_communicator(*m.tp, be);
        m.shard.comm = m.comm.get();
    }
    if (opts.profile_ops && !be.enable_op_profile())
        fmt::print(stderr, "lightllm: --profile-ops times GPU ops only; the {} backend is not profiled\n", be.name());
    // Rank 0 alone shows the load's progress (the ranks load alike).
    ProgressLabels labels{"loading weights", "loaded weights:"};
    if (opts.load_dummy) labels = {"initialising dummy weights", "initialised dummy weights:"};
    ProgressReporter progress(labels, stderr_progress_sink(), steady_progress_clock());
    ProgressReporter* shown = m.shard.rank == 0 ? &progress : nullptr;
    m.model = opts.load_dummy ? make_dummy_model(m.cfg, be, opts.dummy_seed, m.max_context, m.shard, shown)
                              : load_model(m.cfg, *files.tensors, be, m.max_context, m.shard, shown);
    if (shown) progress.finish();
    files.tensors.reset();
    m.model->reserve(m.max_tokens, m.max_logits);
    m.step_arrays = be.alloc(DType::I32, {4 * int64_t(m.max_tokens) + m.max_logits + 3 * int64_t(m.max_tokens) + 1 +
                                              3 * int64_t(m.max_logits) + 1 + m.max_tokens});  // + cascade arrays
    m.cascade = opts.cascade_attention && m.cfg.sliding_window <= 0 && !m.cfg.alibi && m.cfg.arch != Arch::Bloom;
    m.table = std::make_unique<ReqToTokenTable>(be, opts.max_running_requests, m.max_context);
    // Every rank replays the same decode graphs; only rank 0 samples (the gathered logits).
    m.accel = be.make_decode_accelerator(m.max_logits);

    const DType kv_dtype = kv_dtype_for(opts.kv_cache_dtype, be);
    const KvPoolShape shape{m.cfg.n_layer, m.shard.n_kv_head, m.cfg.head_dim};  // this rank's KV heads
    const size_t per_token = kv_bytes_per_token(shape, kv_dtype);
    const int64_t addressable = int64_t(opts.max_running_requests) * m.max_context;
    int64_t capacity = opts.max_total_tokens;
    if (capacity <= 0) {
        if (!(opts.mem_fraction > 0.0f && opts.mem_fraction <= 1.0f))
            fail("--mem-fraction must be in (0, 1] (got {})", opts.mem_fraction);
        double budget = double(be.free_memory()) * opts.mem_fraction;
        if (be.device() == Device::CPU) budget = std::min(budget, double(kCpuKvBudgetBytes));
        capacity = int64_t(budget / double(per_token));
        capacity = std::min(capacity, addressable);
        if (capacity < 1) fail("not enough {} memory left for the KV cache after loading the weights", be.name());
    }
    if (m.tp_active()) {  // every rank holds a slot for every token: the smallest rank's memory decides
        for (int64_t c : m.tp->all_gather_i64(capacity)) capacity = std::min(capacity, c);
    }
    if (capacity > INT32_MAX) fail("--max-total-tokens {} is too large", capacity);
    m.kv = std::make_unique<TokenKvPool>(be, shape, kv_dtype, capacity);
    // Rank 0 drives the capture; under TP the workers must be in their step loop first.
    const bool capture = m.accel && !opts.profile_ops && m.shard.rank == 0;
    if (capture && !m.tp_active()) m.capture_and_report();
    fmt::print(stderr,
               "lightllm: {}{} backend, {} layers, weights {:.1f} MiB; KV cache capacity {} tokens ({}, {:.1f} MiB{})\n",
               m.tp_active() ? fmt::format("rank {}/{}: ", m.shard.rank, world) : "", be.name(), m.cfg.n_layer,
               double(m.model->weight_bytes()) / 1048576.0, capacity, dtype_name(kv_dtype),
               double(per_token) * double(capacity) / 1048576.0, m.tp_active() ? " per rank" : "");
    if (m.tp_active()) {
        m.tp->report_ready();
        m.tp->wait_ready();
        if (capture) m.capture_and_report();
    }
}

ModelRunner::~ModelRunner() = default;

const ModelConfig& ModelRunner::config() const { return impl_->cfg; }
Backend& ModelRunner::backend() { return *impl_->backend; }
TokenKvPool& ModelRunner::kv_pool() { return *impl_->kv; }
ReqToTokenTable& ModelRunner::req_to_token() { return *impl_->table; }
int64_t ModelRunner::graph_steps() const { return impl_->graph_steps; }
int64_t ModelRunner::cascade_steps() const { return impl_->cascade_steps; }

Tensor ModelRunner::Impl::forward(const std::vector<StepSeq>& seqs, const std::vector<int32_t>& rows_wanted) {
    std::vector<int32_t> h_ids, h_pos, h_slots, h_rows, h_q_start{0}, h_kv_len, h_req_rows, h_stale;
    int max_q = 0, max_kv = 0;
    for (const StepSeq& s : seqs) {
        LL_CHECK(s.row >= 0 && s.row < table->max_requests(), "step: table row {} of {}", s.row, table->max_requests());
        LL_CHECK(s.n_new > 0 && s.n_cached >= 0 && s.tokens && s.slots, "step: a sequence feeds {} tokens", s.n_new);
        LL_CHECK(s.n_table_stale >= 0 && s.n_table_stale <= s.n_cached, "step: {} stale table entries of {} cached",
                 s.n_table_stale, s.n_cached);
        if (s.n_table_stale > 0) {  // every rank writes them (execute): [row, first position, count, slots...]
            h_stale.insert(h_stale.end(), {s.row, s.n_cached - s.n_table_stale, s.n_table_stale});
            h_stale.insert(h_stale.end(), s.slots - s.n_table_stale, s.slots);
        }
        if (int64_t(s.n_cached) + s.n_new > max_context)
            fail("a sequence of {} tokens exceeds the context length {}", int64_t(s.n_cached) + s.n_new, max_context);
        for (int j = 0; j < s.n_new; ++j) {
            if (s.tokens[j] < 0 || s.tokens[j] >= cfg.n_vocab)
                fail("token id {} is outside the vocabulary (size {})", s.tokens[j], cfg.n_vocab);
            h_ids.push_back(s.tokens[j]);
            h_pos.push_back(s.n_cached + j);
            h_slots.push_back(s.slots[j]);
            h_rows.push_back(s.row);
        }
        h_q_start.push_back(int32_t(h_ids.size()));
        h_kv_len.push_back(s.n_cached + s.n_new);
        h_req_rows.push_back(s.row);
        max_q = std::max(max_q, s.n_new);
        max_kv = std::max(max_kv, s.n_cached + s.n_new);
    }
    int n_decode_first = 0;
    while (n_decode_first < int(seqs.size()) && seqs[size_t(n_decode_first)].n_new == 1) ++n_decode_first;
    CascadePlan casc;
    if (cascade && n_decode_first >= 2) {
        std::vector<CascadeSeq> cs(static_cast<size_t>(n_decode_first));
        for (int i = 0; i < n_decode_first; ++i) cs[size_t(i)] = {seqs[size_t(i)].context_slots, seqs[size_t(i)].n_cached};
        casc = plan_cascade(cs, opts.cascade_rules);
    }
    // A decode step where every sequence samples runs as the CUDA graph of its
    // batch bucket, padded with sequences that have no cached token and no
    // slot (they read and write nothing; see cuda_graph_cache.h). A step with
    // cascade groups runs eagerly: its launch shape follows the groups.
    const int bucket = accel && !opts.profile_ops && max_q == 1 && rows_wanted.size() == seqs.size() &&
                               casc.n_groups() == 0
                           ? accel->graph_bucket(int(seqs.size())) : 0;
    std::vector<int32_t> wanted = rows_wanted;
    for (int i = int(seqs.size()); i < bucket; ++i) {
        h_ids.push_back(0);
        h_pos.push_back(0);
        h_slots.push_back(-1);
        h_rows.push_back(seqs[0].row);
        h_q_start.push_back(int32_t(h_ids.size()));
        h_kv_len.push_back(0);
        h_req_rows.push_back(seqs[0].row);
        wanted.push_back(i);
    }
    StepPlan plan;
    plan.n = int(h_ids.size());
    plan.n_reqs = int(h_kv_len.size());
    plan.n_out = int(wanted.size());
    plan.n_wanted = int(rows_wanted.size());
    plan.max_q = max_q;
    plan.max_kv = max_kv;
    plan.bucket = bucket;
    plan.tune = gemm_tuning ? 1 : 0;
    plan.n_decode_first = n_decode_first;
    LL_CHECK(plan.n > 0 && plan.n <= max_tokens, "step: {} tokens, at most {} per step", plan.n, max_tokens);
    LL_CHECK(plan.n_out <= max_logits, "step: {} logit rows, at most {}", plan.n_out, max_logits);
    for (const std::vector<int32_t>* v : {&h_ids, &h_pos, &h_slots, &h_rows, &wanted, &h_q_start, &h_kv_len, &h_req_rows})
        plan.arrays.insert(plan.arrays.end(), v->begin(), v->end());
    plan.append_cascade(casc);
    plan.n_stale = int(h_stale.size());
    plan.arrays.insert(plan.arrays.end(), h_stale.begin(), h_stale.end());
    if (tp_active()) {
        plan.encode(plan_bytes);
        tp->send_step(plan_bytes);
    }
    return execute(plan);
}

Tensor ModelRunner::Impl::execute(const StepPlan& plan) {
    Backend& be = *backend;
    const int n = plan.n, n_reqs = plan.n_reqs, n_out = plan.n_out;
    h_step_arrays = plan.arrays;
    for (int i = 0; i < n; ++i) h_step_arrays[size_t(i)] = shard.local_id(h_step_arrays[size_t(i)]);  // this rank's vocabulary rows
    int64_t offset = 0;
    auto take = [&](int64_t count) {
        Tensor t = step_arrays.slice_rows(offset, count);
        offset += count;
        return t;
    };
    Batch b;
    b.ids = take(n);
    b.positions = take(n);
    b.slots = take(n);
    Tensor rows_t = take(n);
    b.logit_rows = take(n_out);
    b.attn.q_start = take(n_reqs + 1);
    b.attn.kv_len = take(n_reqs);
    b.attn.req_rows = take(n_reqs);
    if (plan.casc_groups > 0) {
        CascadeGroups& c = b.attn.cascade;
        c.group_start = take(plan.casc_groups + 1);
        c.members = take(plan.casc_members);
        c.shared_len = take(plan.casc_groups);
        c.req_shared = take(n_reqs);
        c.n_groups = plan.casc_groups;
        c.n_members = plan.casc_members;
        c.max_members = plan.casc_max_members;
        c.max_shared_len = plan.casc_max_len;
        ++cascade_steps;
    }
    Tensor packed = step_arrays.slice_rows(0, offset);
    be.upload(packed, h_step_arrays.data(), DType::I32);
    for (size_t i = size_t(offset); i < plan.arrays.size();) {  // table entries of prefix-cache hits
        const int32_t row = plan.arrays[i], first = plan.arrays[i + 1], count = plan.arrays[i + 2];
        Tensor cols = table->table().slice_rows(row, 1).view({int64_t(max_context)}).slice_rows(first, count);
        be.upload(cols, plan.arrays.data() + i + 3, DType::I32);
        i += 3 + size_t(count);
    }
    b.attn.table = table->table();
    b.attn.n_reqs = n_reqs;
    b.attn.n_tokens = n;
    b.attn.max_q_len = plan.max_q;
    b.attn.max_kv_len = plan.max_kv;
    b.attn.n_decode_first = plan.n_decode_first;
    b.n_tokens = n;
    b.n_logits = n_out;
    auto run_forward = [&] {
        be.set_token_slots(table->table(), rows_t, b.positions, b.slots);
        return model->forward(b, kv->layers());
    };
    graph_steps += plan.bucket ? 1 : 0;
    Tensor logits = plan.bucket ? accel->run_graph(plan.bucket, run_forward) : run_forward();
    return logits.slice_rows(0, int64_t(plan.n_wanted));
}

void ModelRunner::run_tp_worker_steps() {
    Impl& m = *impl_;
    LL_CHECK(m.tp_active() && m.shard.rank > 0, "run_tp_worker_steps on rank {} of {}", m.shard.rank, m.shard.world);
    StepPlan plan;
    while (m.tp->recv_step(m.plan_bytes)) {
        plan.decode(m.plan_bytes);
        if ((plan.tune != 0) != m.gemm_tuning) m.set_gemm_tuning(plan.tune != 0);
        m.execute(plan);
        m.backend->synchronize();
    }
}

int ModelRunner::Impl::capture_decode_graphs() {
    const int32_t token = 0, no_slot = -1;
    StepSeq idle;
    idle.row = 0;
    idle.n_cached = 0;
    idle.tokens = &token;
    idle.n_new = 1;
    idle.slots = &no_slot;
    idle.sample = true;
    int n = 0;
    set_gemm_tuning(true);
    for (int b = 1; b <= max_logits; ++b) {
        if (accel->graph_bucket(b) != b) continue;
        std::vector<StepSeq> seqs(static_cast<size_t>(b), idle);
        std::vector<int32_t> rows(static_cast<size_t>(b));
        for (int i = 0; i < b; ++i) rows[size_t(i)] = i;
        forward(seqs, rows);
        backend->synchronize();
        ++n;
    }
    set_gemm_tuning(false);
    return n;
}

void ModelRunner::Impl::capture_and_report() {
    const auto t0 = std::chrono::steady_clock::now();
    const int n = capture_decode_graphs();
    if (n > 0)
        fmt::print(stderr, "lightllm: captured {} CUDA graphs (decode batches of 1..{}) in {:.1f} s{}\n", n, max_logits,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                   tp_active() ? fmt::format(", on each of {} ranks", shard.world) : "");
}

std::vector<float> ModelRunner::Impl::run(const std::vector<StepSeq>& seqs, const std::vector<int32_t>& rows_wanted) {
    Tensor logits = forward(seqs, rows_wanted);
    std::vector<float> host(size_t(rows_wanted.size()) * size_t(cfg.n_vocab));
    if (!host.empty()) backend->download(logits, host.data());
    return host;
}

std::vector<SampledToken> ModelRunner::step(const std::vector<StepSeq>& seqs) {
    Impl& m = *impl_;
    std::vector<int32_t> rows;
    int32_t end = 0;
    for (const StepSeq& s : seqs) {
        end += s.n_new;
        if (s.sample) rows.push_back(end - 1);
    }
    if (seqs.empty()) return {};
    std::vector<SampledToken> out;
    bool on_device = m.accel != nullptr;
    for (const StepSeq& s : seqs)
        if (s.sample && !DecodeAccelerator::can_sample(s.params)) on_device = false;
    if (on_device) {  // only the ids (and their logprobs) come back from the GPU
        std::vector<DecodeAccelerator::SampleRequest> requests;
        for (const StepSeq& s : seqs)
            if (s.sample) requests.push_back({s.params, s.prompt, s.output});
        m.accel->sample(m.forward(seqs, rows), requests, out);
        return out;
    }
    const std::vector<float> logits = m.run(seqs, rows);
    const SamplingParams greedy;
    const std::vector<int32_t> none;
    size_t i = 0;
    for (const StepSeq& s : seqs) {
        if (!s.sample) continue;
        out.push_back(sample_token(logits.data() + i * size_t(m.cfg.n_vocab), m.cfg.n_vocab,
                                   s.params ? *s.params : greedy, s.prompt ? *s.prompt : none,
                                   s.output ? *s.output : none));
        ++i;
    }
    return out;
}

std::vector<float> ModelRunner::forward_all_logits(const StepSeq& seq) {
    Impl& m = *impl_;
    const int chunk = std::max(1, std::min(m.max_logits, m.opts.max_prefill_tokens));
    std::vector<float> all;
    for (int off = 0; off < seq.n_new; off += chunk) {
        StepSeq c = seq;
        c.n_cached = seq.n_cached + off;
        c.tokens = seq.tokens + off;
        c.slots = seq.slots + off;
        c.n_table_stale = off == 0 ? seq.n_table_stale : 0;
        c.n_new = std::min(chunk, seq.n_new - off);
        std::vector<int32_t> rows(size_t(c.n_new));
        for (int j = 0; j < c.n_new; ++j) rows[size_t(j)] = j;
        const std::vector<float> part = m.run({c}, rows);
        all.insert(all.end(), part.begin(), part.end());
    }
    return all;
}

}  // namespace lightllm
