// The tensor-parallel group and the CPU communicator, with every rank a
// thread of this process joined over loopback TCP (as separate processes
// would be): collectives give the same result on every rank, a fingerprint
// mismatch or a missing rank is refused with the rank named, and a rank that
// goes away is an error naming it instead of a hang.
#include "check.h"
#include "communicator.h"
#include "tp_group.h"
#include <doctest/doctest.h>
#include <functional>
#include <thread>
#include <vector>

using namespace lightllm;

namespace {

// Runs body(group) on `world` ranks (threads); collects each rank's error text.
std::vector<std::string> run_group(int world, const std::function<void(TpGroup&)>& body, double timeout_s = 10.0,
                                   const std::function<std::string(int)>& fingerprint = nullptr) {
    auto listener = std::make_unique<TcpListener>("127.0.0.1", 0);
    const int port = listener->port();
    std::vector<std::string> errors(static_cast<size_t>(world));
    std::vector<std::thread> threads;
    for (int r = 0; r < world; ++r) {
        threads.emplace_back([&, r, l = r == 0 ? std::move(listener) : nullptr]() mutable {
            TpPlace p;
            p.rank = r;
            p.world_size = world;
            p.master_port = port;
            p.timeout_s = timeout_s;
            try {
                auto g = TpGroup::form(p, fingerprint ? fingerprint(r) : "model=a\nflags=b\n", std::move(l));
                body(*g);
            } catch (const Error& e) {
                errors[size_t(r)] = e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    return errors;
}

Tensor host_tensor(std::vector<float>& v, int64_t rows, int64_t cols) {
    return Tensor(v.data(), DType::F32, Device::CPU, {rows, cols});
}

}  // namespace

TEST_CASE("tp group: CPU all-reduce and column gather agree on every rank at world sizes 1, 2, 3 and 4") {
    for (int world : {1, 2, 3, 4}) {
        CAPTURE(world);
        std::vector<std::vector<float>> reduced(static_cast<size_t>(world)), gathered(static_cast<size_t>(world));
        const auto errors = run_group(world, [&](TpGroup& g) {
            auto comm = make_cpu_communicator(g);
            const int r = comm->rank();
            std::vector<float> x(6);
            for (int i = 0; i < 6; ++i) x[size_t(i)] = float((r + 1) * 10 + i);
            Tensor t = host_tensor(x, 2, 3);
            comm->all_reduce_sum(t);
            reduced[size_t(r)] = x;
            // Vocabulary of 2 * world - 1 columns, 2 per rank: the last rank's block is cut.
            std::vector<float> local = {float(r), float(r) + 0.5f, float(-r), float(-r) - 0.5f};
            std::vector<float> full(size_t(2 * (2 * world - 1)), -99.0f);
            Tensor lt = host_tensor(local, 2, 2), ft = host_tensor(full, 2, 2 * world - 1);
            comm->gather_columns(lt, ft, 2);
            gathered[size_t(r)] = full;
        });
        for (const std::string& e : errors) CHECK(e == "");
        const float ranks_sum = float(world * (world + 1) / 2);
        for (int r = 0; r < world; ++r)
            for (int i = 0; i < 6; ++i) CHECK(reduced[size_t(r)][size_t(i)] == doctest::Approx(10 * ranks_sum + world * i));
        const int V = 2 * world - 1;
        for (int c = 0; c < V; ++c) {
            const int owner = c / 2;
            CHECK(gathered[0][size_t(c)] == float(owner) + (c % 2 ? 0.5f : 0.0f));
            CHECK(gathered[0][size_t(V + c)] == float(-owner) - (c % 2 ? 0.5f : 0.0f));
        }
        if (world > 1) CHECK(gathered[1][0] == -99.0f);  // only rank 0 receives
    }
}

TEST_CASE("tp group: steps reach every worker in order and Stop ends their loop") {
    std::vector<std::vector<int>> seen(3);
    const auto errors = run_group(3, [&](TpGroup& g) {
        if (g.rank() == 0) {
            for (uint8_t s = 1; s <= 3; ++s) g.send_step({s, uint8_t(s * 2)});
            CHECK(g.all_gather_i64(100) == std::vector<int64_t>{100, 101, 102});
            g.stop();
            return;
        }
        std::vector<uint8_t> plan;
        for (int i = 0; i < 3; ++i) {
            REQUIRE(g.recv_step(plan));
            seen[size_t(g.rank())].push_back(plan[0] * 100 + plan[1]);
        }
        CHECK(g.all_gather_i64(100 + g.rank()) == std::vector<int64_t>{100, 101, 102});
        CHECK_FALSE(g.recv_step(plan));
    });
    for (const std::string& e : errors) CHECK(e == "");
    for (int r = 1; r < 3; ++r) CHECK(seen[size_t(r)] == std::vector<int>{102, 204, 306});
}

TEST_CASE("tp group: a rank started with other flags is refused on every rank, naming the rank and the flag") {
    const auto errors = run_group(
        3, [](TpGroup&) {}, 10.0,
        [](int r) { return std::string("model=m\n") + (r == 2 ? "kv_cache_dtype=int8\n" : "kv_cache_dtype=f32\n"); });
    CHECK(errors[0].find("rank 2 was started with a different model or flags") != std::string::npos);
    CHECK(errors[0].find("kv_cache_dtype=int8") != std::string::npos);
    CHECK(errors[2].find("rank 2") != std::string::npos);
}

TEST_CASE("tp group: a rank that never joins is an error naming it after the timeout") {
    auto listener = std::make_unique<TcpListener>("127.0.0.1", 0);
    TpPlace p;
    p.world_size = 3;
    p.timeout_s = 0.5;
    std::thread worker([port = listener->port()] {
        TpPlace w;
        w.rank = 1;
        w.world_size = 3;
        w.master_port = port;
        w.timeout_s = 0.5;
        CHECK_THROWS_WITH_AS(TpGroup::form(w, "fp", nullptr), doctest::Contains("rank(s) 2 did not join"), Error);
    });
    CHECK_THROWS_WITH_AS(TpGroup::form(p, "fp", std::move(listener)), doctest::Contains("rank(s) 2 did not join"), Error);
    worker.join();
}

TEST_CASE("tp group: a worker that leaves mid-run or stops answering is an error on rank 0 naming it") {
    SUBCASE("closed") {
        const auto errors = run_group(2, [](TpGroup& g) {
            if (g.rank() == 1) return;  // leaves: its connection closes
            std::vector<float> x(4, 1.0f);
            g.all_reduce_sum(x.data(), x.size());
        });
        CHECK(errors[0].find("rank 1: connection closed") != std::string::npos);
    }
    SUBCASE("hung") {
        const auto errors = run_group(
            2,
            [](TpGroup& g) {
                if (g.rank() == 1) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                    return;
                }
                std::vector<float> x(4, 1.0f);
                g.all_reduce_sum(x.data(), x.size());
            },
            0.3);
        CHECK(errors[0].find("rank 1: no answer within --tp-timeout 0.3 s") != std::string::npos);
    }
    SUBCASE("failure handler sees the message") {
        std::string seen;
        run_group(2, [&](TpGroup& g) {
            if (g.rank() == 1) return;
            g.set_failure_handler([&](const std::string& m) { seen = m; });
            std::vector<uint8_t> all;
            int64_t v = 1;
            g.gather(&v, sizeof v, all);
        });
        CHECK(seen.find("rank 1") != std::string::npos);
    }
}
