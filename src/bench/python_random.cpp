#include "python_random.h"
#include "check.h"
#include <array>

namespace lightllm {

namespace {

// A seed sequence whose generate() writes MT19937's initial state as
// CPython's init_by_array(key) leaves it; std::mt19937::seed(seq) copies it
// unchanged (624 32-bit words) and twists before the first output, as CPython
// does.
class InitByArray {
public:
    using result_type = uint32_t;
    explicit InitByArray(std::vector<uint32_t> key) : key_(std::move(key)) {}
    size_t size() const { return key_.size(); }

    template <typename It>
    void generate(It begin, It end) const {
        constexpr int n = 624;
        LL_CHECK(end - begin == n, "MT19937 state of {} words", end - begin);
        std::array<uint32_t, n> mt;
        mt[0] = 19650218u;  // init_genrand(19650218)
        for (int i = 1; i < n; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + uint32_t(i);
        const int key_len = int(key_.size());
        int i = 1, j = 0;
        for (int k = std::max(n, key_len); k > 0; --k) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key_[size_t(j)] + uint32_t(j);
            ++i;
            ++j;
            if (i >= n) {
                mt[0] = mt[n - 1];
                i = 1;
            }
            if (j >= key_len) j = 0;
        }
        for (int k = n - 1; k > 0; --k) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - uint32_t(i);
            ++i;
            if (i >= n) {
                mt[0] = mt[n - 1];
                i = 1;
            }
        }
        mt[0] = 0x80000000u;  // the top bit set: the state is never all zero
        std::copy(mt.begin(), mt.end(), begin);
    }

private:
    std::vector<uint32_t> key_;
};

std::vector<uint32_t> seed_words(uint64_t seed) {
    std::vector<uint32_t> key{uint32_t(seed)};
    if (seed >> 32) key.push_back(uint32_t(seed >> 32));
    return key;
}

}  // namespace

PythonRandom::PythonRandom(uint64_t seed) {
    InitByArray seq(seed_words(seed));
    mt_.seed(seq);
}

uint32_t PythonRandom::getrandbits(int k) {
    LL_CHECK(k >= 1 && k <= 32, "getrandbits({})", k);
    return uint32_t(mt_()) >> (32 - k);
}

uint32_t PythonRandom::randbelow(uint32_t n) {
    LL_CHECK(n >= 1, "randbelow({})", n);
    int k = 0;
    for (uint32_t x = n; x; x >>= 1) ++k;  // n.bit_length()
    uint32_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
}

}  // namespace lightllm
