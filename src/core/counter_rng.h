// Counter-based random numbers: every value is a pure function of
// (seed, counter), so a stream can be replayed from any point and computed in
// any order (no state to carry between calls or threads).
//   mix64(x)            splitmix64's finalizer, a bijection on 64 bits
//   uniform01(s, c)     in [0, 1): top 24 bits of mix64(mix64(s) + c) / 2^24
//   normal01(s, c)      Box-Muller on uniform01(s, 2c) and uniform01(s, 2c+1)
// The sampler draws the k-th output token of a request with uniform01(seed, k);
// Backend::fill_random uses normal01(seed, element index).
#pragma once
#include <cmath>
#include <cstdint>

namespace lightllm {

inline uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline float uniform01(uint64_t seed, uint64_t counter) {
    return float(mix64(mix64(seed) + counter) >> 40) * (1.0f / 16777216.0f);
}

inline float normal01(uint64_t seed, uint64_t counter) {
    const double u1 = (double(mix64(mix64(seed) + 2 * counter) >> 11) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
    const double u2 = double(mix64(mix64(seed) + 2 * counter + 1) >> 11) * (1.0 / 9007199254740992.0);
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace lightllm
