// Shared timing and reporting helpers for the tapeflow benchmarks and the LibTorch peer.
//
// Header-only, no dependencies beyond the standard library and <cblas.h>, so that the
// tapeflow benchmark (bench/bench_core.cpp) and the peer (bench/peer/libtorch_bench.cpp)
// measure with exactly the same code.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using clock = std::chrono::steady_clock;

// Number of timed repetitions per workload; the best (minimum) is reported.
inline constexpr int kReps = 5;

// Workload sizes, as defined by the issue.
inline constexpr long kW1Iters = 200'000;   // W1 and W2
inline constexpr long kW3Chains = 100'000;  // W3: chains of 10 ops on 64 floats
inline constexpr long kW3Len = 64;
inline constexpr long kW5Elems = 10'000'000;  // W5: 1e7 float32
inline constexpr int kMatmulSizes[] = {256, 1024, 2048};

// Iteration scale: BENCH_QUICK=1 in the environment divides loop counts by 20, for smoke
// runs. Reported numbers should come from a full run.
inline long scaled(long n) {
  const char* q = std::getenv("BENCH_QUICK");
  if (q != nullptr && *q != '\0' && std::strcmp(q, "0") != 0) return std::max<long>(1, n / 20);
  return n;
}

// Intra-op threads to use: BENCH_THREADS if set, else all hardware threads.
inline int bench_threads() {
  if (const char* t = std::getenv("BENCH_THREADS"); t != nullptr && std::atoi(t) > 0)
    return std::atoi(t);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Runs `body(iters)` once as warm-up with `warm_iters`, then `reps` times with `iters`
// and returns the best wall time per iteration in nanoseconds.
template <class Body>
double best_ns_per_iter(long iters, long warm_iters, Body&& body, int reps = kReps) {
  body(warm_iters);
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock::now();
    body(iters);
    const auto t1 = clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    best = std::min(best, ns / static_cast<double>(iters));
  }
  return best;
}

// Matmul repetitions: enough calls that one timed repetition does >= ~8 GFLOP (at least 2).
inline long matmul_iters(int n) {
  const double flop = 2.0 * n * n * static_cast<double>(n);
  return std::max<long>(2, static_cast<long>(std::ceil(8e9 / flop)));
}

inline double gflops(int n, double ns_per_call) {
  return 2.0 * n * n * static_cast<double>(n) / ns_per_call;  // flop/ns == GFLOP/s
}

// W4 reference: raw OpenBLAS sgemm on row-major n x n buffers, best of kReps, with OpenBLAS's
// own threads (tapeflow keeps OpenBLAS at one thread and splits GEMMs over its pool).
inline double cblas_sgemm_gflops(int n, int threads) {
  openblas_set_num_threads(threads);
  struct Restore {
    ~Restore() { openblas_set_num_threads(1); }
  } restore;
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  std::mt19937 gen(42);
  std::uniform_real_distribution<float> dist(0.f, 1.f);
  for (auto& v : a) v = dist(gen);
  for (auto& v : b) v = dist(gen);
  auto call = [&](long iters) {
    for (long i = 0; i < iters; ++i)
      cblas_sgemm(CblasRowMajor,
                  CblasNoTrans,
                  CblasNoTrans,
                  n,
                  n,
                  n,
                  1.f,
                  a.data(),
                  n,
                  b.data(),
                  n,
                  0.f,
                  c.data(),
                  n);
  };
  const long iters = matmul_iters(n);
  const double ns = best_ns_per_iter(iters, std::max<long>(1, iters / 4), call);
  volatile float sink = c[0];
  (void)sink;
  return gflops(n, ns);
}

// Minimal JSON writer for the fixed report shape.
inline std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

struct Report {
  std::string library;
  int threads = 0;
  double w1_ns = NAN, w2_ns = NAN, w3_ns = NAN;
  double w3t_ns = NAN;  // W3 with 10 ops of issue #11's long tail
  struct Mm {
    double gflops = NAN, cblas_gflops = NAN;
  };
  std::map<int, Mm> w4;
  double add_GBps = NAN, relu_GBps = NAN, sum_GBps = NAN;
  double w1_y = NAN;     // last W1 result: must be 25
  double w2_dydw = NAN;  // last W2 gradient: must be 10
  double check = NAN;    // a value derived from results, printed so nothing is optimised away

  std::string json() const {
    std::ostringstream o;
    o << "{\"library\":\"" << library << "\",\"threads\":" << threads << ",\"W1_ns\":" << num(w1_ns)
      << ",\"W2_ns\":" << num(w2_ns) << ",\"W3_ns\":" << num(w3_ns) << ",\"W3t_ns\":" << num(w3t_ns)
      << ",\"W4\":{";
    bool first = true;
    for (const auto& [n, m] : w4) {
      if (!first) o << ",";
      first = false;
      o << "\"" << n << "\":{\"gflops\":" << num(m.gflops)
        << ",\"cblas_gflops\":" << num(m.cblas_gflops) << "}";
    }
    o << "},\"W5\":{\"add_GBps\":" << num(add_GBps) << ",\"relu_GBps\":" << num(relu_GBps)
      << ",\"sum_GBps\":" << num(sum_GBps) << "},\"W1_y\":" << num(w1_y)
      << ",\"W2_dydw\":" << num(w2_dydw) << ",\"check\":" << num(check) << "}";
    return o.str();
  }
};

// W5 byte counts per call (read + written), as defined by the issue.
inline constexpr double kAddBytes = 3.0 * 4.0 * kW5Elems;
inline constexpr double kReluBytes = 2.0 * 4.0 * kW5Elems;
inline constexpr double kSumBytes = 1.0 * 4.0 * kW5Elems;

inline double gbps(double bytes, double ns_per_call) {
  return bytes / ns_per_call;
}  // B/ns == GB/s

// Deterministic inputs shared by both implementations.
inline std::vector<float> w3_input() {  // 64 values in [-1, 1]
  std::vector<float> x(kW3Len);
  for (long i = 0; i < kW3Len; ++i) x[i] = -1.f + 2.f * static_cast<float>(i) / (kW3Len - 1);
  return x;
}
inline constexpr float kW3B = 0.5f;  // second operand of the binary ops in W3 (64 copies)

}  // namespace bench
