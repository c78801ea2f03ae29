// LibTorch's torch::einsum at the shapes of bench/bench_einsum.cpp (same timing helper); one
// JSON object with the best ms per call. Run by scripts/bench_einsum.sh.
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../common/bench_util.hpp"

int main() {
  torch::set_num_threads(bench::bench_threads());
  torch::NoGradGuard no_grad;
  struct W {
    std::string eq;
    std::vector<int64_t> a, b;
  };
  const std::vector<W> ws = {{"bij,bjk->bik", {256, 128, 64}, {256, 64, 128}},
                             {"bhqd,bhkd->bhqk", {32, 8, 128, 64}, {32, 8, 128, 64}}};
  std::printf("{\"library\": \"libtorch\", \"workloads\": [");
  for (size_t i = 0; i < ws.size(); ++i) {
    torch::manual_seed(1);
    auto a = torch::randn(ws[i].a), b = torch::randn(ws[i].b);
    const long iters = bench::scaled(40);
    const double ms = bench::best_ns_per_iter(iters,
                                              2,
                                              [&](long n) {
                                                torch::Tensor last;
                                                for (long k = 0; k < n; ++k)
                                                  last = torch::einsum(ws[i].eq, {a, b});
                                              }) /
                      1e6;
    std::printf(
        "%s\n  {\"name\": \"%s\", \"einsum_ms\": %.4f}", i ? "," : "", ws[i].eq.c_str(), ms);
  }
  std::printf("\n]}\n");
  return 0;
}
