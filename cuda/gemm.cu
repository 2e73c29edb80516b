// Linear layers through cuBLASLt: out [n, m] = x [n, k] @ w [m, k]^T (+ bias [m]).
// Row-major out^T is column-major out, so this is one column-major GEMM
// out(m x n) = w^T(m x k) * x(k x n) with w read transposed; f16/bf16 in,
// fp32 accumulation (plain fp32 for F32 tensors), the bias fused as the
// epilogue. Each (m, n, k, dtype, bias) shape gets a plan on first use. While
// tuning is on (set_tuning: ModelRunner's start-up warm-up, which runs every
// decode batch bucket), up to kCandidates of the heuristic's algorithms are
// timed and the fastest kept; otherwise, inside a CUDA-graph capture, for
// n > kTuneMaxRows or with --no-gemm-tune (runs reproducible across
// processes) the heuristic's first choice is taken. Candidates are timed
// with a cold L2 (a forward step streams every weight once, so a weight that
// fits in L2 must not be timed from L2) and ranked by their median. Batches of at most 4 rows
// go to the weight-streaming kernel of gemv.cu instead.
#include "common.cuh"
#include "kernels.h"
#include <cublasLt.h>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

namespace lightllm::gpu {

namespace {

constexpr int kTuneMaxRows = 1024;
constexpr int kCandidates = 24;
constexpr int kTuneRuns = 5;  // timed runs per candidate, after one warm-up



cudaDataType_t cuda_type(DType t) {
    switch (t) {
        case DType::F16: return CUDA_R_16F;
        case DType::BF16: return CUDA_R_16BF;
        case DType::F32: return CUDA_R_32F;
        default: LL_CHECK(false, "linear: unsupported dtype {}", dtype_name(t));
    }
    return CUDA_R_32F;
}

}  // namespace

struct LinearPlans::Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    ~Plan() {
        if (desc) cublasLtMatmulDescDestroy(desc);
        for (auto l : {a, b, c})
            if (l) cublasLtMatrixLayoutDestroy(l);
    }
};

LinearPlans::LinearPlans(void* workspace, size_t workspace_bytes, bool tune)
    : ws_(workspace), ws_bytes_(workspace_bytes), tune_(tune) {
    CUBLAS_CHECK(cublasLtCreate(&lt_));
}

LinearPlans::~LinearPlans() {
    set_tuning(false);
    plans_.clear();
    cublasLtDestroy(lt_);
}

void LinearPlans::set_tuning(bool on) {
    tuning_ = on;
    if (on && !l2_flush_) {
        int dev = 0, l2 = 0;
        CUDA_CHECK(cudaGetDevice(&dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
        l2_flush_bytes_ = size_t(l2) * 2;
        if (cudaMalloc(&l2_flush_, l2_flush_bytes_) != cudaSuccess) {
            (void)cudaGetLastError();  // no room: tune with a warm L2
            l2_flush_ = nullptr;
        }
    } else if (!on && l2_flush_) {
        cudaFree(l2_flush_);
        l2_flush_ = nullptr;
    }
}

void LinearPlans::run(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, Stream s) {
    int64_t k = x.dim(-1), n = x.rows(), m = w.dim(0);
    LL_CHECK(w.ndim == 2 && w.dim(1) == k && out.rows() == n && out.dim(-1) == m && x.dtype == w.dtype &&
                 out.dtype == x.dtype,
             "linear: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    LL_CHECK(bias.empty() || (bias.numel() == m && bias.dtype == out.dtype), "linear: bias {} for {} outputs",
             bias.shape_str(), m);
    if (n == 0) return;
    if (gemv_applies(x, w)) {
        gemv(x, w, bias, out, s);
        return;
    }
    bool has_bias = !bias.empty();
    auto key = std::make_tuple(m, n, k, int(x.dtype), has_bias);
    auto it = plans_.find(key);
    Plan* plan = it == plans_.end() ? nullptr : it->second.get();
    float alpha = 1.0f, beta = 0.0f;
    if (!plan) {
        auto p = std::make_unique<Plan>();
        cudaDataType_t t = cuda_type(x.dtype);
        cublasComputeType_t ct = CUBLAS_COMPUTE_32F;  // full fp32 for F32 data (no TF32)
        CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, ct, CUDA_R_32F));
        cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
        if (has_bias) {
            cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof(ep)));
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t, sizeof(t)));
        }
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, t, uint64_t(k), uint64_t(m), k));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, t, uint64_t(k), uint64_t(n), k));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->c, t, uint64_t(m), uint64_t(n), m));
        cublasLtMatmulPreference_t pref;
        CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes_,
                                                            sizeof(ws_bytes_)));
        cublasLtMatmulHeuristicResult_t res[kCandidates];
        int found = 0;
        CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt_, p->desc, p->a, p->b, p->c, p->c, pref, kCandidates, res,
                                                      &found));
        cublasLtMatmulPreferenceDestroy(pref);
        LL_CHECK(found > 0, "linear: cuBLASLt has no algorithm for m={} n={} k={} {}", m, n, k, dtype_name(x.dtype));
        p->algo = res[0].algo;
        cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
        CUDA_CHECK(cudaStreamIsCapturing(s, &cap));
        bool tune = tune_ && tuning_ && n <= kTuneMaxRows && found > 1 && cap == cudaStreamCaptureStatusNone;
        if (has_bias) {
            const void* bp = bias.data;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof(bp)));
        }
        if (tune) {  // time each candidate (median of kTuneRuns cold-L2 runs), keep the fastest
            cudaEvent_t e0, e1;
            CUDA_CHECK(cudaEventCreate(&e0));
            CUDA_CHECK(cudaEventCreate(&e1));
            float best = 1e30f;
            for (int i = 0; i < found; ++i) {
                if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
                bool ok = true;
                std::vector<float> times;
                for (int rep = 0; rep <= kTuneRuns && ok; ++rep) {
                    if (l2_flush_) CUDA_CHECK(cudaMemsetAsync(l2_flush_, rep, l2_flush_bytes_, s));
                    CUDA_CHECK(cudaEventRecord(e0, s));
                    ok = cublasLtMatmul(lt_, p->desc, &alpha, w.data, p->a, x.data, p->b, &beta, out.data, p->c,
                                        out.data, p->c, &res[i].algo, ws_, ws_bytes_, s) == CUBLAS_STATUS_SUCCESS;
                    CUDA_CHECK(cudaEventRecord(e1, s));
                    CUDA_CHECK(cudaEventSynchronize(e1));
                    float ms = 0;
                    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
                    if (rep > 0) times.push_back(ms);
                }
                if (!ok) continue;
                std::nth_element(times.begin(), times.begin() + kTuneRuns / 2, times.end());
                const float median = times[kTuneRuns / 2];
                if (median < best) {
                    best = median;
                    p->algo = res[i].algo;
                }
            }
            cudaEventDestroy(e0);
            cudaEventDestroy(e1);
        }
        plan = p.get();
        if (cap == cudaStreamCaptureStatusNone) plans_.emplace(key, std::move(p));
        else held_.push_back(std::move(p));
    }
    if (has_bias) {
        const void* bp = bias.data;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof(bp)));
    }
    CUBLAS_CHECK(cublasLtMatmul(lt_, plan->desc, &alpha, w.data, plan->a, x.data, plan->b, &beta, out.data, plan->c,
                                  out.data, plan->c, &plan->algo, ws_, ws_bytes_, s));
}

}  // namespace lightllm::gpu
