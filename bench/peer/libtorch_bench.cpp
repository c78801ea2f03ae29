// LibTorch peer for the tapeflow benchmarks: workloads W1-W5 with the same definitions,
// the same timing code (bench/common/bench_util.hpp) and the same JSON shape as
// bench/bench_core.cpp. Prints one JSON object on stdout.
#include <torch/torch.h>

#include <cstring>
#include <iostream>

#include "../common/bench_util.hpp"

namespace {

torch::Tensor scalar(float v, bool requires_grad = false) {
  return torch::scalar_tensor(
      v, torch::TensorOptions().dtype(torch::kFloat32).requires_grad(requires_grad));
}

}  // namespace

int main() {
  using namespace bench;
  Report rep;
  rep.library = "libtorch";
  // LibTorch's own default here is 1 (it counts cores via cpuinfo/OpenMP and gets 1 on this
  // VM even with OMP_NUM_THREADS unset); use the same thread count as tapeflow and OpenBLAS.
  torch::set_num_threads(bench_threads());
  rep.threads = torch::get_num_threads();
  double check = 0.0;

  // ---- W1: y = a*w*w + b*w + c on 0-d float32 tensors ----
  {
    auto a = scalar(1.f), b = scalar(2.f), c = scalar(1.f), w = scalar(4.f);
    torch::Tensor y;
    const long iters = scaled(kW1Iters);
    rep.w1_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) y = a * w * w + b * w + c;
    });
    rep.w1_y = y.item<float>();  // 25
  }

  // ---- W2: W1 plus dy/dw each iteration ----
  {
    auto a = scalar(1.f), b = scalar(2.f), c = scalar(1.f), w = scalar(4.f, true);
    torch::Tensor g;
    const long iters = scaled(kW1Iters);
    rep.w2_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        auto y = a * w * w + b * w + c;
        g = torch::autograd::grad({y}, {w})[0];
      }
    });
    rep.w2_dydw = g.item<float>();  // 10
  }

  // ---- W3: 10 chained elementwise ops on 64 floats ----
  {
    auto xv = w3_input();
    auto x = torch::from_blob(xv.data(), {kW3Len}, torch::kFloat32).clone();
    auto b = torch::full({kW3Len}, kW3B, torch::kFloat32);
    torch::Tensor y;
    const long iters = scaled(kW3Chains);
    rep.w3_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        y = x + b;
        y = y * b;
        y = torch::exp(y);
        y = torch::tanh(y);
        y = y - b;
        y = y * b;
        y = torch::relu(y);
        y = y + b;
        y = torch::sigmoid(y);
        y = y * b;
      }
    });
    check += y.sum().item<float>();
  }

  // ---- W3t: W3 with 10 of the long-tail ops (issue #11) ----
  {
    auto xv = w3_input();
    auto x = torch::from_blob(xv.data(), {kW3Len}, torch::kFloat32).clone();
    auto b = torch::full({kW3Len}, kW3B, torch::kFloat32);
    torch::Tensor y;
    const long iters = scaled(kW3Chains);
    rep.w3t_ns = best_ns_per_iter(iters, iters / 10, [&](long n) {
      for (long i = 0; i < n; ++i) {
        y = torch::atan(x);
        y = torch::sinh(y);
        y = torch::asinh(y);
        y = torch::expm1(y);
        y = torch::atan2(y, b);
        y = torch::erfc(y);
        y = torch::remainder(y, b);  // floormod: the sign of the divisor, as TF
        y = torch::asin(y);
        y = torch::cosh(y);
        y = torch::round(y);  // half to even, as tf::round
      }
    });
    check += y.sum().item<float>();
  }

  // ---- W4: square float32 matmul vs raw cblas_sgemm ----
  for (int n : kMatmulSizes) {
    torch::manual_seed(42);
    auto a = torch::rand({n, n}, torch::kFloat32), b = torch::rand({n, n}, torch::kFloat32);
    torch::Tensor c;
    const long iters = matmul_iters(n);
    const double ns = best_ns_per_iter(iters, std::max<long>(1, iters / 4), [&](long k) {
      for (long i = 0; i < k; ++i) c = torch::matmul(a, b);
    });
    check += c[0][0].item<float>() / n;
    rep.w4[n].gflops = gflops(n, ns);
    rep.w4[n].cblas_gflops = cblas_sgemm_gflops(n, bench_threads());
  }

  // ---- W5: memory-bound elementwise and reduction on 1e7 floats ----
  {
    torch::manual_seed(7);
    auto a = torch::rand({kW5Elems}, torch::kFloat32) * 2 - 1;  // uniform [-1, 1)
    auto b = torch::rand({kW5Elems}, torch::kFloat32);
    torch::Tensor r;
    const long iters = std::max<long>(3, scaled(20));
    double ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = a + b;  // fresh result each call
    });
    rep.add_GBps = gbps(kAddBytes, ns);
    check += r[0].item<float>();
    ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = torch::relu(a);
    });
    rep.relu_GBps = gbps(kReluBytes, ns);
    check += r[0].item<float>();
    ns = best_ns_per_iter(iters, 2, [&](long k) {
      for (long i = 0; i < k; ++i) r = torch::sum(a);
    });
    rep.sum_GBps = gbps(kSumBytes, ns);
    check += r.item<float>() / kW5Elems;
  }

  rep.check = check;
  std::cout << rep.json() << std::endl;
  return 0;
}
