#include "tp_launch.h"
#include "check.h"
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace lightllm {

struct TpWatch {
    std::atomic<bool> stopping{false};
    std::thread thread;
};

namespace {

int env_int(const EnvLookup& env, const char* name, bool required) {
    const char* v = env(name);
    if (!v || !*v) {
        if (required) fail("tensor parallel: the launcher set no {}", name);
        return -1;
    }
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end != '\0' || x < 0 || x > 1 << 20) fail("tensor parallel: {}='{}' is not a rank or a size", name, v);
    return int(x);
}

std::vector<std::string> own_argv() {
    std::ifstream f("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i] == '\0') {
            out.push_back(all.substr(start, i - start));
            start = i + 1;
        }
    return out;
}

std::string exit_text(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return "stopped";
}

[[noreturn]] void die_with(const std::string& message, const std::vector<int>& pids) {
    std::fprintf(stderr, "lightllm: error: %s\n", message.c_str());
    for (int pid : pids) ::kill(pid, SIGKILL);
    std::fflush(nullptr);
    _exit(1);
}

}  // namespace

RankPlan discover_rank(const TpFlags& f, const EnvLookup& env) {
    RankPlan plan;
    TpPlace& p = plan.place;
    p.timeout_s = f.timeout_s;
    if (!(f.timeout_s > 0)) fail("--tp-timeout must be positive (got {})", f.timeout_s);
    int world = -1, rank = -1, local = -1;
    if (f.spawned_rank >= 0) {
        plan.source = "spawned";
        rank = f.spawned_rank;
        world = f.tp;
        local = f.spawned_local_rank >= 0 ? f.spawned_local_rank : rank;
    } else if (env("OMPI_COMM_WORLD_RANK")) {
        plan.source = "Open MPI";
        rank = env_int(env, "OMPI_COMM_WORLD_RANK", true);
        world = env_int(env, "OMPI_COMM_WORLD_SIZE", true);
        local = env_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", false);
    } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
        plan.source = "Slurm";
        rank = env_int(env, "SLURM_PROCID", true);
        world = env_int(env, "SLURM_NTASKS", true);
        local = env_int(env, "SLURM_LOCALID", false);
    } else if (env("RANK") && env("WORLD_SIZE")) {
        plan.source = "torchrun";
        rank = env_int(env, "RANK", true);
        world = env_int(env, "WORLD_SIZE", true);
        local = env_int(env, "LOCAL_RANK", false);
    }
    if (!plan.source.empty() && plan.source != "spawned") {
        if (f.tp > 0 && f.tp != world)
            fail("--tp {} differs from the {} world size {}", f.tp, plan.source, world);
        if (f.node_rank >= 0 || f.nnodes > 1)
            fail("--nnodes/--node-rank are for starting ranks by hand; {} already gives rank {} of {}", plan.source,
                 rank, world);
        if (local < 0) local = rank;
    } else if (plan.source.empty()) {
        world = f.tp > 0 ? f.tp : 1;
        if (f.nnodes > 1 || f.node_rank >= 0) {
            plan.source = "--nnodes";
            const int node = f.node_rank >= 0 ? f.node_rank : 0;
            if (node >= f.nnodes) fail("--node-rank {} must be below --nnodes {}", node, f.nnodes);
            if (world % f.nnodes != 0) fail("--tp {} must be a multiple of --nnodes {}", world, f.nnodes);
            const int per_node = world / f.nnodes;
            rank = node * per_node;
            local = 0;
            for (int r = rank + 1; r < rank + per_node; ++r) plan.spawn_ranks.push_back(r);
        } else {
            plan.source = "--tp";
            rank = 0;
            local = 0;
            for (int r = 1; r < world; ++r) plan.spawn_ranks.push_back(r);
        }
    }
    if (world < 1) fail("tensor parallel: world size must be at least 1 (got {})", world);
    if (rank < 0 || rank >= world) fail("tensor parallel: rank {} is outside the world of {} ranks", rank, world);
    p.rank = rank;
    p.world_size = world;
    p.local_rank = local;
    const char* env_addr = env("MASTER_ADDR");
    p.master_addr = !f.master_addr.empty() ? f.master_addr : env_addr && *env_addr ? env_addr : "127.0.0.1";
    const int env_port = env_int(env, "MASTER_PORT", false);
    const bool all_here = plan.source == "--tp";
    p.master_port = f.master_port >= 0 ? f.master_port : env_port >= 0 ? env_port : all_here ? 0 : 29500;
    return plan;
}

std::string tp_fingerprint(const EngineOptions& o, int world_size) {
    std::ostringstream s;
    s << "version=" << LIGHTLLM_VERSION << "\n"
      << "tp=" << world_size << "\n"
      << "model=" << o.model_path << "\n"
      << "load_dummy=" << o.load_dummy << "\n"
      << "device=" << device_choice_name(o.device) << "\n"
      << "dtype=" << dtype_choice_name(o.dtype) << "\n"
      << "kv_cache_dtype=" << dtype_choice_name(o.kv_cache_dtype) << "\n"
      << "max_total_tokens=" << o.max_total_tokens << "\n"
      << "mem_fraction=" << o.mem_fraction << "\n"
      << "max_running_requests=" << o.max_running_requests << "\n"
      << "max_prefill_tokens=" << o.max_prefill_tokens << "\n"
      << "max_context=" << o.max_context << "\n"
      << "seed_weights=" << o.dummy_seed << "\n"
      << "profile_ops=" << o.profile_ops << "\n"
      << "cuda_graphs=" << o.cuda.graphs << "\n";
    return s.str();
}

std::unique_ptr<TpSession> TpSession::start(const TpFlags& flags, const EngineOptions& engine) {
    std::unique_ptr<TpSession> s(new TpSession());
    s->plan_ = discover_rank(flags, [](const char* n) { return std::getenv(n); });
    const TpPlace& p = s->plan_.place;
    if (p.world_size == 1) return s;
    std::unique_ptr<TcpListener> listener;
    int port = p.master_port;
    if (p.rank == 0) {
        listener = std::make_unique<TcpListener>(p.master_addr, p.master_port);
        port = listener->port();
    }
    if (!s->plan_.spawn_ranks.empty()) {
        const std::vector<std::string> argv = own_argv();
        int local = p.local_rank;
        for (int r : s->plan_.spawn_ranks) s->spawn(argv, r, ++local, port);
        s->watch_children();
    }
    fmt::print(stderr, "lightllm: tensor parallel rank {} of {} ({}), device {}, rank 0 at {}:{}\n", p.rank,
               p.world_size, s->plan_.source, p.local_rank, p.master_addr, port);
    TpPlace place = p;
    place.master_port = port;
    s->group_ = TpGroup::form(place, tp_fingerprint(engine, p.world_size), std::move(listener));
    std::vector<int> pids;
    for (const Child& c : s->children_) pids.push_back(c.pid);
    s->group_->set_failure_handler([pids](const std::string& m) { die_with(m, pids); });
    return s;
}

void TpSession::spawn(const std::vector<std::string>& argv, int rank, int local_rank, int port) {
    std::vector<std::string> args = argv;
    for (const std::string& a : {std::string("--tp-rank"), std::to_string(rank), std::string("--tp-local-rank"),
                                 std::to_string(local_rank), std::string("--master-addr"), plan_.place.master_addr,
                                 std::string("--master-port"), std::to_string(port)})
        args.push_back(a);
    std::vector<char*> cargv;
    for (std::string& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) fail("tensor parallel: cannot start rank {}: fork: {}", rank, std::strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        const int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execv("/proc/self/exe", cargv.data());
        std::fprintf(stderr, "lightllm: tensor parallel: cannot start rank %d: exec: %s\n", rank, std::strerror(errno));
        _exit(127);
    }
    children_.push_back(Child{pid, rank, false});
}

void TpSession::watch_children() {
    watch_ = std::make_shared<TpWatch>();
    std::vector<int> pids;
    for (const Child& c : children_) pids.push_back(c.pid);
    watch_->thread = std::thread([this, pids] {
        while (!watch_->stopping.load()) {
            for (Child& c : children_) {
                if (c.reaped) continue;
                int status = 0;
                if (waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
                c.reaped = true;
                if (!watch_->stopping.load())
                    die_with(fmt::format("tensor parallel: rank {} (pid {}) {}; stopping every rank", c.rank, c.pid,
                                         exit_text(status)),
                             pids);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
}

void TpSession::kill_children(int sig) {
    for (const Child& c : children_)
        if (!c.reaped) ::kill(c.pid, sig);
}

TpSession::~TpSession() {
    if (watch_) {
        watch_->stopping = true;
        watch_->thread.join();
    }
    if (group_) group_->stop();
    group_.reset();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(plan_.place.timeout_s * 1e6));
    for (Child& c : children_) {
        while (!c.reaped) {
            int status = 0;
            if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
                c.reaped = true;
            } else if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(c.pid, SIGKILL);
                waitpid(c.pid, &status, 0);
                c.reaped = true;
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    }
}

}  // namespace lightllm
