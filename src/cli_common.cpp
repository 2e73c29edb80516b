#include "cli.h"
#include <cstdio>

namespace lightllm {

int not_implemented(const char* what) {
    std::fprintf(stderr, "lightllm %s: not implemented yet\n", what);
    return 2;
}

}  // namespace lightllm
