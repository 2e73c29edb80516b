// Error handling. Two kinds of failure:
//  - Invariants (a bug in lightllm): LL_CHECK aborts with file and line.
//  - Anything a user can get wrong (a model file, a config field, a request):
//    throw lightllm::Error with a message naming the file, tensor, field or
//    parameter. Callers at the boundary (CLI, server) turn it into a clear
//    message or an HTTP status; nothing aborts on user input.
#pragma once
#include <fmt/format.h>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace lightllm {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace lightllm

#define LL_CHECK(cond, ...)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "lightllm: internal error at %s:%d: check `%s` failed: %s\n", \
                         __FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__).c_str());   \
            std::abort();                                                                \
        }                                                                                \
    } while (0)
