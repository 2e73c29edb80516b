// Helpers shared by tests: run the lightllm binary, find test data.
#pragma once
#include "check.h"
#include <array>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <sys/wait.h>

struct CommandResult {
    int exit_code = -1;
    std::string out;  // stdout and stderr together
};

// The compiled-in paths can be overridden (a build carried to another machine):
// LIGHTLLM_TEST_DATA, LIGHTLLM_SHARED_DATA, LIGHTLLM_BINARY.
inline std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The paths compiled into tests/test_paths.cpp (the only test file whose
// flags name this checkout, so the rest compile the same in every checkout).
extern const char* const kCompiledTestData;
extern const char* const kCompiledSharedData;
extern const char* const kCompiledBinary;
inline std::string lightllm_binary() { return env_or("LIGHTLLM_BINARY", kCompiledBinary); }

// Runs `lightllm ARGS` through the shell (stderr merged into out).
inline CommandResult run_lightllm(const std::string& args, const std::string& stdin_text = "") {
    std::string cmd = lightllm_binary() + " " + args + " 2>&1";
    std::string tmp;
    if (!stdin_text.empty()) {
        char path[] = "/tmp/lightllm_test_stdin_XXXXXX";
        int fd = mkstemp(path);
        FILE* f = fdopen(fd, "w");
        fwrite(stdin_text.data(), 1, stdin_text.size(), f);
        fclose(f);
        tmp = path;
        cmd += " < " + tmp;
    } else {
        cmd += " < /dev/null";
    }
    CommandResult r;
    FILE* p = popen(cmd.c_str(), "r");
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (!tmp.empty()) std::remove(tmp.c_str());
    return r;
}

// The demo model (SmolLM2-135M-Instruct, third_party/fetch_demo_model.sh):
// LIGHTLLM_DEMO_MODEL, else LIGHTLLM_DEMO_DIR/<file>, else ~/.cache/lightllm/<file>.
inline std::string demo_model_path() {
    const char* model = std::getenv("LIGHTLLM_DEMO_MODEL");
    if (model && *model) return model;
    const char* home = std::getenv("HOME");
    const std::string dir = env_or("LIGHTLLM_DEMO_DIR", (std::string(home ? home : "/root") + "/.cache/lightllm").c_str());
    return dir + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// The message of the lightllm::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const lightllm::Error& e) {
        return e.what();
    }
    return "(no error)";
}

inline std::string test_data(const std::string& name) { return env_or("LIGHTLLM_TEST_DATA", kCompiledTestData) + "/" + name; }
inline std::string shared_data(const std::string& name) { return env_or("LIGHTLLM_SHARED_DATA", kCompiledSharedData) + "/" + name; }

// Feeds `exercise` 300 copies of `good`, each with 3 bytes overwritten at
// places drawn from a fixed LCG seeded with `seed` (file-loader fuzzing: the
// loader must answer with an Error or succeed, never crash).
template <typename F>
void exercise_corrupted_copies(const std::string& good, uint64_t seed, F exercise) {
    uint64_t s = seed;
    for (int i = 0; i < 300; ++i) {
        std::string bad = good;
        for (int k = 0; k < 3; ++k) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            bad[size_t((s >> 33) % bad.size())] = char(s >> 20);
        }
        exercise(bad);
    }
}
