// Micro-benchmark of the decode linears (lightllm_kernel_bench): the
// tensor-core skinny GEMM (cuda/skinny_gemm.cu) against what LinearPlans
// runs without it (cuBLASLt, tuned as at start-up, for 3+ rows; the GEMV of
// gemv.cu for 1-2), bf16, Llama-3-8B's shapes at 1..64 rows. Each timing
// rotates over copies of the weight that together exceed twice the L2, so
// every call streams its weight from DRAM; ms is per call, launches back to
// back on one stream (the skinny GEMM and the GEMV with PDL, as in a step).
// GBps counts the weight, x and out bytes. Rows skinny_* are the default
// variant (2 row tiles per warp), skinny_mt1_* the one-tile variant. Speed is never asserted; the
// outputs of the two are compared.
#include "cuda_test_util.h"
#ifdef LIGHTLLM_WITH_CUDA
#include "kernel_timing.h"
#include "kernels.h"
#include <fmt/format.h>

using namespace lightllm;
using namespace lightllm::testing;

TEST_CASE("cuda bench: skinny GEMM vs cuBLASLt / GEMV on Llama-3-8B decode shapes, weights from DRAM") {
    LL_REQUIRE_GPU();
    const DType dt = DType::BF16;
    std::unique_ptr<Backend> be = make_cuda_backend(0, dt);
    CudaBackend& cb = dynamic_cast<CudaBackend&>(*be);
    const gpu::Stream s = cb.launch_stream();
    int dev = 0, l2 = 0, n_sm = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
    const size_t ws_bytes = size_t(32) << 20;
    void* ws = nullptr;
    CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
    CudaOptions base_options;
    base_options.skinny_gemm_max_rows = 0;
    auto base = std::make_unique<gpu::LinearPlans>(ws, ws_bytes, base_options);
    base->set_tuning(true);
    Tensor partials = be->alloc(DType::F32, {int64_t(ws_bytes / sizeof(float))});
    Tensor counters = be->alloc(DType::I32, {4096});
    gpu::SkinnyGemmPlan plan;
    plan.partials = partials.data;
    plan.partial_bytes = partials.nbytes();
    plan.counters = counters.ptr<int>();
    plan.n_counters = 4096;
    Tensor none;
    struct Shape { const char* name; int64_t k, m; };
    for (Shape sh : {Shape{"qkv", 4096, 6144}, {"o", 4096, 4096}, {"gate_up", 4096, 28672}, {"down", 14336, 4096},
                     {"lm_head", 4096, 128256}}) {
        const double w_bytes = 2.0 * double(sh.k) * double(sh.m);
        const int copies = int(std::ceil(2.0 * l2 / w_bytes)) + 1;
        std::vector<Tensor> w;
        for (int i = 0; i < copies; ++i) {
            w.push_back(be->alloc(dt, {sh.m, sh.k}));
            be->fill_random(w.back(), uint64_t(10 + i), 1.0f / std::sqrt(float(sh.k)));
        }
        Tensor x = be->alloc(dt, {64, sh.k}), out = be->alloc(dt, {64, sh.m}), out_base = be->alloc(dt, {64, sh.m});
        be->fill_random(x, 3, 1.0f);
        for (int n : {1, 2, 3, 4, 8, 16, 32, 64}) {
            const Tensor xn = x.slice_rows(0, n);
            Tensor on = out.slice_rows(0, n), ob = out_base.slice_rows(0, n);
            const auto per_call = [&](const std::function<void(const Tensor&)>& call) {
                return time_ms(cb.stream(), [&] { for (const Tensor& wi : w) call(wi); }, 10, 2) / copies;
            };
            const double bs = per_call([&](const Tensor& wi) { base->run(xn, wi, none, ob, s); });
            const std::vector<float> base_out = download_f32(*be, ob);
            const double bytes = w_bytes + 2.0 * double(n) * double(sh.k + sh.m);
            for (int row_tiles : {2, 1}) {  // the default, then one 16-row tile per warp with 8 steps in flight
                plan.row_tiles = row_tiles;
                plan.splits = gpu::skinny_gemm_splits(n, sh.k, sh.m, n_sm, row_tiles);
                const double sk = per_call([&](const Tensor& wi) { gpu::skinny_gemm(xn, wi, none, on, plan, s); });
                report(fmt::format("skinny{}_{}_{}_n{}_k{}_m{}", row_tiles == 2 ? "" : "_mt1", dtype_name(dt),
                                   sh.name, n, sh.k, sh.m),
                       sk,
                       fmt::format(", \"GBps\": {:.1f}, \"splits\": {}, \"base\": \"{}\", \"base_ms\": {:.4f}, "
                                   "\"base_GBps\": {:.1f}, \"speedup\": {:.3f}",
                                   bytes / sk / 1e6, plan.splits, n <= 2 ? "gemv" : "cublas", bs, bytes / bs / 1e6,
                                   bs / sk));
                const ErrorStats e = compare(download_f32(*be, on), base_out);
                CHECK(e.finite);
                CHECK(e.rel_l2 <= tol_reduction(dt));
            }
        }
        for (Tensor* t : {&x, &out, &out_base}) be->free(*t);
        for (Tensor& t : w) be->free(t);
    }
    be->free(partials);
    be->free(counters);
    base.reset();
    cudaFree(ws);
}
#endif
