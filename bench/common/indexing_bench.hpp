// Inputs and timing of the indexing benchmarks (issue #11: sort and top_k(k=10) on 1e6
// floats, cumsum on 1e7 floats), shared by bench/bench_indexing.cpp (tapeflow) and
// bench/peer/libtorch_indexing.cpp (LibTorch) so both measure the same data the same way.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace bench_indexing {

inline constexpr long kSortElems = 1'000'000;
inline constexpr long kTopK = 10;
inline constexpr long kCumsumElems = 10'000'000;
inline constexpr int kReps = 7;

/// n uniform floats in [-1, 1), the same for both libraries.
inline std::vector<float> inputs(long n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(gen);
  return v;
}

/// Best wall time of `reps` calls of body(), in milliseconds, after one warm-up call.
template <class Body>
double best_ms(Body&& body, int reps = kReps) {
  body();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

/// One JSON object on stdout.
inline void report(const std::string& library,
                   int threads,
                   double sort_ms,
                   double topk_ms,
                   double cumsum_ms,
                   double check) {
  std::printf(
      "{\"library\": \"%s\", \"threads\": %d, \"sort_1e6_ms\": %.4f, \"top_k10_1e6_ms\": %.4f, "
      "\"cumsum_1e7_ms\": %.4f, \"check\": %.6g}\n",
      library.c_str(),
      threads,
      sort_ms,
      topk_ms,
      cumsum_ms,
      check);
}

}  // namespace bench_indexing
