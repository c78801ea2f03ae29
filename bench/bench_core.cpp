// tapeflow benchmarks W1-W5 (CPU). Same definitions, timing code (bench/common/bench_util.hpp)
// and JSON shape as the LibTorch peer (bench/peer/libtorch_bench.cpp). Prints one JSON
// object on stdout. Run by scripts/bench.sh.
#include <iostream>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/bench_util.hpp"

namespace tf = tapeflow;

int main() {
  using namespace bench;
  // These are CPU workloads: pin every op to CPU:0 even in a CUDA build with a GPU present.
  tf::DeviceScope cpu_scope("/cpu:0");

  Report rep;
  rep.library = "tapeflow";
  rep.threads = bench_threads();  // informational: tapeflow/OpenBLAS use their own defaults
  double check = 0.0;

  // ---- W1: y = a*w*w + b*w + c on 0-d float32 tensors ----
  {
    auto a = tf::constant(1.f), b = tf::constant(2.f), c = tf::constant(1.f);
    auto w = tf::constant(4.f);
    tf::Tensor y;
    const long iters = scaled(kW1Iters);
    rep.w1_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) y = a * w * w + b * w + c;
    });
    rep.w1_y = y.item<float>();  // 25
  }

  // ---- W2: W1 plus dy/dw through a GradientTape each iteration ----
  {
    auto a = tf::constant(1.f), b = tf::constant(2.f), c = tf::constant(1.f);
    auto w = tf::constant(4.f);
    tf::Tensor g;
    const long iters = scaled(kW1Iters);
    rep.w2_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        tf::GradientTape tape;
        tape.watch(w);
        auto y = a * w * w + b * w + c;
        g = tape.gradient(y, w);
      }
    });
    rep.w2_dydw = g.item<float>();  // 10
  }

  // ---- W3: 10 chained elementwise ops on 64 floats ----
  {
    auto x = tf::constant(w3_input(), tf::Shape{kW3Len});
    auto b = tf::fill(tf::Shape{kW3Len}, kW3B);
    tf::Tensor y;
    const long iters = scaled(kW3Chains);
    rep.w3_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        y = x + b;
        y = y * b;
        y = tf::exp(y);
        y = tf::tanh(y);
        y = y - b;
        y = y * b;
        y = tf::nn::relu(y);
        y = y + b;
        y = tf::sigmoid(y);
        y = y * b;
      }
    });
    check += tf::reduce_sum(y).item<float>();
  }

  // ---- W3t: W3 with 10 of the long-tail ops (issue #11): their per-op overhead ----
  {
    auto x = tf::constant(w3_input(), tf::Shape{kW3Len});
    auto b = tf::fill(tf::Shape{kW3Len}, kW3B);
    tf::Tensor y;
    const long iters = scaled(kW3Chains);
    rep.w3t_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        y = tf::atan(x);
        y = tf::sinh(y);
        y = tf::asinh(y);
        y = tf::expm1(y);
        y = tf::atan2(y, b);
        y = tf::erfc(y);
        y = tf::floormod(y, b);
        y = tf::asin(y);
        y = tf::cosh(y);
        y = tf::round(y);
      }
    });
    check += tf::reduce_sum(y).item<float>();
  }

  // ---- W4: square float32 matmul vs raw cblas_sgemm ----
  for (int n : kMatmulSizes) {
    tf::random::set_seed(42);
    auto a = tf::random::uniform({n, n}), b = tf::random::uniform({n, n});
    tf::Tensor c;
    const long iters = matmul_iters(n);
    const double ns = best_ns_per_iter(iters, std::max<long>(1, iters / 4), [&](long k) {
      for (long i = 0; i < k; ++i) c = tf::matmul(a, b);
    });
    check += c.to_vector<float>()[0] / n;
    rep.w4[n].gflops = gflops(n, ns);
    rep.w4[n].cblas_gflops = cblas_sgemm_gflops(n, tf::config::num_threads());
  }

  // ---- W5: memory-bound elementwise and reduction on 1e7 floats ----
  {
    tf::random::set_seed(7);
    auto a = tf::random::uniform({kW5Elems}, -1.0, 1.0);
    auto b = tf::random::uniform({kW5Elems});
    tf::Tensor r;
    const long iters = std::max<long>(3, scaled(20));
    double ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = a + b;  // fresh result each call
    });
    rep.add_GBps = gbps(kAddBytes, ns);
    check += r.to_vector<float>()[0];
    ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = tf::nn::relu(a);
    });
    rep.relu_GBps = gbps(kReluBytes, ns);
    check += r.to_vector<float>()[0];
    ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = tf::reduce_sum(a);
    });
    rep.sum_GBps = gbps(kSumBytes, ns);
    check += r.item<float>() / kW5Elems;
  }

  rep.check = check;
  std::cout << rep.json() << std::endl;
  return 0;
}
