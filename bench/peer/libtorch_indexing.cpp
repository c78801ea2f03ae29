// LibTorch peer of bench/bench_indexing.cpp: torch::sort, torch::topk(k=10) on 1e6 floats and
// torch::cumsum on 1e7 floats, same inputs and timing (bench/common/indexing_bench.hpp).
#include <torch/torch.h>

#include "../common/bench_util.hpp"
#include "../common/indexing_bench.hpp"

using namespace bench_indexing;

int main() {
  torch::set_num_threads(bench::bench_threads());
  auto sv = inputs(kSortElems, 1), cv = inputs(kCumsumElems, 2);
  const auto s = torch::from_blob(sv.data(), {kSortElems}, torch::kFloat32).clone();
  const auto c = torch::from_blob(cv.data(), {kCumsumElems}, torch::kFloat32).clone();
  torch::NoGradGuard no_grad;
  double check = 0;
  torch::Tensor out;
  const double sort_ms = best_ms([&] { out = std::get<0>(torch::sort(s)); });
  check += out[0].item<float>();
  const double topk_ms = best_ms([&] { out = std::get<0>(torch::topk(s, kTopK)); });
  check += out[0].item<float>();
  const double cumsum_ms = best_ms([&] { out = torch::cumsum(c, 0); });
  check += out[kCumsumElems - 1].item<float>();
  report("libtorch", torch::get_num_threads(), sort_ms, topk_ms, cumsum_ms, check);
}
