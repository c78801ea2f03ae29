#pragma once

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so element i of a random op depends only on (seed, op counter, i)
// and every backend produces the same numbers. Plain C++ so CUDA code can include it.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/host_device.hpp"

namespace tapeflow::detail {

struct Philox4 {
  uint32_t v[4];
};

TAPEFLOW_HD inline Philox4 philox4x32(Philox4 ctr, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = uint64_t(0xD2511F53u) * ctr.v[0];
    uint64_t p1 = uint64_t(0xCD9E8D57u) * ctr.v[2];
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return ctr;
}

/// Four 32-bit words for element group `i` of draw `attempt` of the op numbered `counter`.
TAPEFLOW_HD inline Philox4 random_words(uint64_t seed,
                                        uint64_t counter,
                                        uint64_t i,
                                        uint32_t attempt) {
  Philox4 c{{uint32_t(i),
             uint32_t(i >> 32) ^ (attempt << 16),
             uint32_t(counter),
             uint32_t(counter >> 32)}};
  return philox4x32(c, uint32_t(seed), uint32_t(seed >> 32));
}

/// Uniform in [0, 1) from 24 (float) or 53 (double) random bits.
TAPEFLOW_HD inline float u01f(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }
TAPEFLOW_HD inline double u01d(uint32_t hi, uint32_t lo) {
  return double((uint64_t(hi) << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}

enum class RandomKind { Uniform, Normal, TruncatedNormal };

/// Draw `attempt` of a uniform element in [a, b) (b itself is possible by rounding; the caller
/// retries). Branch-free, so a CPU loop over elements vectorizes.
template <class T>
TAPEFLOW_HD inline T uniform_draw(
    double a, double b, uint64_t seed, uint64_t counter, uint64_t i, uint32_t attempt) {
  const Philox4 w = random_words(seed, counter, i, attempt);
  const double u = std::is_same_v<T, float> ? double(u01f(w.v[0])) : u01d(w.v[0], w.v[1]);
  return static_cast<T>(::fma(b - a, u, a));
}

/// Element i of the random op numbered `counter`: uniform in [a, b), or normal / truncated
/// normal with mean a and standard deviation b. The one definition every backend's random
/// kernel calls, so (seed, counter) give the same numbers on every device. Uniform retries the
/// rare value rounded up to b (at most 8 times); truncated normal redraws beyond 2 sigma. The
/// multiply-adds are explicit fma, so host and device round alike.
template <class T>
TAPEFLOW_HD inline T random_value(
    RandomKind kind, double a, double b, uint64_t seed, uint64_t counter, uint64_t i) {
  for (uint32_t attempt = 0;; ++attempt) {
    if (kind == RandomKind::Uniform) {
      const T v = uniform_draw<T>(a, b, seed, counter, i, attempt);
      if (v >= static_cast<T>(b) && attempt < 8) continue;
      return v;
    }
    const Philox4 w = random_words(seed, counter, i, attempt);
    double u1, u2;
    if constexpr (std::is_same_v<T, float>) {
      u1 = u01f(w.v[0]);
      u2 = u01f(w.v[1]);
    } else {
      u1 = u01d(w.v[0], w.v[1]);
      u2 = u01d(w.v[2], w.v[3]);
    }
    // Box–Muller; 1 - u1 is in (0, 1] so the log is finite.
    const double z = ::sqrt(-2.0 * ::log(1.0 - u1)) * ::cos(6.283185307179586 * u2);
    if (kind == RandomKind::TruncatedNormal && ::fabs(z) > 2.0) continue;
    return static_cast<T>(::fma(b, z, a));
  }
}

}  // namespace tapeflow::detail
