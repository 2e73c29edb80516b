// Python's `random` module, for the few calls a benchmark workload needs to
// come out exactly as in vLLM's benchmark_serving: random.seed(int) followed
// by random.shuffle(list).
//
// CPython's generator is MT19937 (the same recurrence as std::mt19937); only
// its seeding differs from std::mt19937's: random.seed(n) splits |n| into
// 32-bit words, low first, and runs Matsumoto and Nishimura's init_by_array
// over them. shuffle() is Fisher-Yates from the end; the index for position i
// is randbelow(i + 1): draw k = bit_length(i + 1) bits (the top k bits of one
// 32-bit output) until the value is below i + 1.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace lightllm {

class PythonRandom {
public:
    // random.seed(seed) for a non-negative integer seed.
    explicit PythonRandom(uint64_t seed);

    // random.getrandbits(k) for 1 <= k <= 32.
    uint32_t getrandbits(int k);
    // random.randrange(n) for 1 <= n < 2^32 (Random._randbelow).
    uint32_t randbelow(uint32_t n);

    // random.shuffle(v).
    template <typename T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i-- > 1;) {
            size_t j = randbelow(uint32_t(i + 1));
            std::swap(v[i], v[j]);
        }
    }

private:
    std::mt19937 mt_;
};

}  // namespace lightllm
