// Rank discovery from the launcher's environment and the flags (tp_launch.h):
// Open MPI, Slurm, torchrun, --nnodes/--node-rank and our own --tp spawning,
// with conflicts refused naming the flag or variable.
#include "check.h"
#include "tp_launch.h"
#include <doctest/doctest.h>
#include <map>

using namespace lightllm;

namespace {

RankPlan discover(const TpFlags& f, const std::map<std::string, std::string>& env) {
    return discover_rank(f, [&env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

}  // namespace

TEST_CASE("tp launch: --tp N alone is rank 0 spawning ranks 1..N-1 on a free loopback port") {
    TpFlags f;
    f.tp = 4;
    const RankPlan p = discover(f, {});
    CHECK(p.source == "--tp");
    CHECK(p.place.rank == 0);
    CHECK(p.place.world_size == 4);
    CHECK(p.spawn_ranks == std::vector<int>{1, 2, 3});
    CHECK(p.place.master_addr == "127.0.0.1");
    CHECK(p.place.master_port == 0);
    f.tp = 0;
    CHECK(discover(f, {}).place.world_size == 1);
}

TEST_CASE("tp launch: Open MPI, Slurm and torchrun variables give rank, world size and local rank") {
    TpFlags f;
    RankPlan p = discover(f, {{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"}});
    CHECK(p.source == "Open MPI");
    CHECK(p.place.rank == 5);
    CHECK(p.place.world_size == 8);
    CHECK(p.place.local_rank == 1);
    CHECK(p.place.master_addr == "node0");
    CHECK(p.place.master_port == 29500);
    CHECK(p.spawn_ranks.empty());
    p = discover(f, {{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "3"}, {"MASTER_PORT", "1234"}});
    CHECK(p.source == "Slurm");
    CHECK(p.place.rank == 3);
    CHECK(p.place.local_rank == 3);
    CHECK(p.place.master_port == 1234);
    f.master_addr = "10.0.0.1";
    f.master_port = 4321;
    p = discover(f, {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "x"}, {"MASTER_PORT", "9"}});
    CHECK(p.source == "torchrun");
    CHECK(p.place.rank == 1);
    CHECK(p.place.local_rank == 0);
    CHECK(p.place.master_addr == "10.0.0.1");  // flags win over the environment
    CHECK(p.place.master_port == 4321);
}

TEST_CASE("tp launch: --nnodes/--node-rank place each host's first rank and its local ranks") {
    TpFlags f;
    f.tp = 8;
    f.nnodes = 2;
    f.node_rank = 1;
    f.master_addr = "head";
    const RankPlan p = discover(f, {});
    CHECK(p.source == "--nnodes");
    CHECK(p.place.rank == 4);
    CHECK(p.spawn_ranks == std::vector<int>{5, 6, 7});
    CHECK(p.place.master_addr == "head");
    CHECK(p.place.master_port == 29500);
}

TEST_CASE("tp launch: conflicts are refused naming the flag or variable") {
    TpFlags f;
    f.tp = 4;
    CHECK_THROWS_WITH_AS(discover(f, {{"RANK", "0"}, {"WORLD_SIZE", "2"}}),
                         doctest::Contains("--tp 4 differs from the torchrun world size 2"), Error);
    f.tp = 3;
    f.nnodes = 2;
    CHECK_THROWS_WITH_AS(discover(f, {}), doctest::Contains("--tp 3 must be a multiple of --nnodes 2"), Error);
    f = TpFlags{};
    CHECK_THROWS_WITH_AS(discover(f, {{"RANK", "x"}, {"WORLD_SIZE", "2"}}), doctest::Contains("RANK='x'"), Error);
    CHECK_THROWS_WITH_AS(discover(f, {{"RANK", "2"}, {"WORLD_SIZE", "2"}}),
                         doctest::Contains("rank 2 is outside the world of 2"), Error);
    f.timeout_s = 0;
    CHECK_THROWS_WITH_AS(discover(f, {}), doctest::Contains("--tp-timeout"), Error);
}
