// --profile-ops: the CUDA backend brackets every op with events and sums the
// GPU time per op kind; the CPU backend declines. Skipped without a GPU.
#include "cuda_test_util.h"

using namespace lightllm;
using namespace lightllm::testing;

TEST_CASE("op profile: the CPU backend declines --profile-ops") {
    auto cpu = make_cpu_backend();
    CHECK_FALSE(cpu->enable_op_profile());
}

#ifdef LIGHTLLM_WITH_CUDA
TEST_CASE("cuda: --profile-ops counts each op kind and its GPU time") {
    LL_REQUIRE_GPU();
    auto be = make_cuda_backend(0, DType::F16);
    auto& cuda = dynamic_cast<CudaBackend&>(*be);
    CHECK(cuda.op_profile_report().empty());
    REQUIRE(be->enable_op_profile());
    Tensor x1 = be->alloc(DType::F16, {1, 1024}), x64 = be->alloc(DType::F16, {64, 1024});
    Tensor w = be->alloc(DType::F16, {4096, 1024}), nw = be->alloc(DType::F16, {1024});
    Tensor y1 = be->alloc(DType::F16, {1, 4096}), y64 = be->alloc(DType::F16, {64, 4096});
    Tensor n1 = be->alloc(DType::F16, {1, 1024});
    for (Tensor* t : {&x1, &x64, &w, &nw}) be->fill_random(*t, 1, 0.5f);
    for (int i = 0; i < 3; ++i) be->linear(x1, w, Tensor(), y1);
    be->linear(x64, w, Tensor(), y64);
    be->rms_norm(x1, nw, n1, 1e-5f);
    be->synchronize();
    const std::string report = cuda.op_profile_report();
    MESSAGE(report);
    auto row = [&](const std::string& kind) {
        size_t at = report.find(kind);
        REQUIRE(at != std::string::npos);
        return report.substr(at, report.find('\n', at) - at);
    };
    CHECK(row("linear n=1-4").find(" 3 ") != std::string::npos);
    CHECK(row("linear n=5-64").find(" 1 ") != std::string::npos);
    CHECK(row("rms_norm").find(" 1 ") != std::string::npos);
    CHECK(report.find("all ops") != std::string::npos);
    for (Tensor* t : {&x1, &x64, &w, &nw, &y1, &y64, &n1}) be->free(*t);
}
#endif
