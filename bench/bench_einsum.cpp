// einsum at attention sizes against the tapeflow matmul it lowers to (issue #11: >= 95%), and
// LibTorch's torch::einsum on the same shapes (bench/peer/libtorch_einsum.cpp; goal: faster).
// Prints one JSON object: per workload the best ms per call of einsum and of the equivalent
// matmul, and their ratio. scripts/bench_einsum.sh runs both libraries and prints the table.
//
//   bench_einsum            (BENCH_QUICK=1: fewer iterations; TAPEFLOW_DEVICE=cpu|gpu)
#include <cstdio>
#include <functional>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/bench_util.hpp"

namespace tf = tapeflow;

namespace {

struct Workload {
  std::string name, equation;
  tf::Shape a, b;
  bool transpose_b;  // the equivalent matmul's flag
};

double best_ms(const std::function<tf::Tensor()>& f) {
  const long iters = bench::scaled(40);
  return bench::best_ns_per_iter(iters,
                                 2,
                                 [&](long n) {
                                   tf::Tensor last;
                                   for (long i = 0; i < n; ++i) last = f();
                                   (void)last.cpu();  // wait for the device
                                 }) /
         1e6;
}

}  // namespace

int main() {
  // b=32, h=8, q=k=128, d=64: "bij,bjk->bik" is Q·Kᵀ with the batch and heads merged.
  const std::vector<Workload> ws = {
      {"bij,bjk->bik", "bij,bjk->bik", {256, 128, 64}, {256, 64, 128}, false},
      {"bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", {32, 8, 128, 64}, {32, 8, 128, 64}, true},
  };
  std::printf("{\"library\": \"tapeflow\", \"device\": \"%s\", \"workloads\": [",
              tf::zeros({1}).device().c_str());
  for (size_t i = 0; i < ws.size(); ++i) {
    const Workload& w = ws[i];
    tf::random::set_seed(1);
    tf::Tensor a = tf::random::normal(w.a), b = tf::random::normal(w.b);
    const double e = best_ms([&] { return tf::einsum(w.equation, {a, b}); });
    const double m = best_ms([&] { return tf::matmul(a, b, false, w.transpose_b); });
    std::printf(
        "%s\n  {\"name\": \"%s\", \"einsum_ms\": %.4f, \"matmul_ms\": %.4f, \"einsum_vs_matmul\": "
        "%.3f}",
        i ? "," : "",
        w.name.c_str(),
        e,
        m,
        m / e);
  }
  std::printf("\n]}\n");
  return 0;
}
