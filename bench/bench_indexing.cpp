// Indexing benchmarks for tapeflow on the CPU (issue #11): sort and top_k(k=10) on 1e6 floats,
// cumsum on 1e7 floats. The LibTorch peer (bench/peer/libtorch_indexing.cpp) runs the same
// inputs; scripts/bench_indexing.sh runs both and prints the ratios.
#include <tapeflow/tapeflow.hpp>

#include "common/bench_util.hpp"
#include "common/indexing_bench.hpp"

namespace tf = tapeflow;
using namespace bench_indexing;

int main() {
  tf::DeviceScope cpu("/cpu:0");
  const auto sv = inputs(kSortElems, 1), cv = inputs(kCumsumElems, 2);
  const tf::Tensor s = tf::constant(sv, tf::Shape{kSortElems});
  const tf::Tensor c = tf::constant(cv, tf::Shape{kCumsumElems});
  double check = 0;
  tf::Tensor out;
  const double sort_ms = best_ms([&] { out = tf::sort(s); });
  check += out.to_vector<float>()[0];
  const double topk_ms = best_ms([&] { out = tf::math::top_k(s, kTopK).values; });
  check += out.to_vector<float>()[0];
  const double cumsum_ms = best_ms([&] { out = tf::cumsum(c); });
  check += out.to_vector<float>()[size_t(kCumsumElems - 1)];
  report("tapeflow", bench::bench_threads(), sort_ms, topk_ms, cumsum_ms, check);
}
