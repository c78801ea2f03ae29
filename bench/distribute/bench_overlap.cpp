// D2: what overlapping the gradient all-reduce with the backward walk buys. An MLP of `layers`
// Dense layers of `width` units, batch `batch` per replica, one CPU thread per replica; per step
// (forward + backward + all-reduce, no optimizer) the median time of
//   local      tape.gradient alone (no communication: the floor)
//   after      strategy.gradient with overlap_backward = false (reduce after the walk)
//   overlapped strategy.gradient with overlap_backward = true  (buckets sent during the walk)
//   threaded   the same with progress_thread = true (a helper thread drives MPI meanwhile)
// run in alternation so that all four see the same machine load.
//   mpirun -np 2 bench_overlap [layers=8] [width=512] [batch=64] [steps=15]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;
using clock_type = std::chrono::steady_clock;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const int layers = argc > 1 ? std::atoi(argv[1]) : 8;
  const int width = argc > 2 ? std::atoi(argv[2]) : 512;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 64;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 15;
  tf::config::set_num_threads(1);
  const int64_t bucket = int64_t(width) * width * 4;  // one weight matrix per bucket
  tf::distribute::MultiWorkerMirroredStrategy overlapped(
      {.fusion_bytes = bucket, .overlap_backward = true});
  tf::distribute::MultiWorkerMirroredStrategy threaded(
      {.fusion_bytes = bucket, .overlap_backward = true, .progress_thread = true});
  tf::distribute::MultiWorkerMirroredStrategy after(
      {.fusion_bytes = bucket, .overlap_backward = false});
  tf::random::set_seed(1);
  std::vector<tf::Variable> vars;
  for (int l = 0; l < layers; ++l) {
    vars.emplace_back(
        tf::random::normal(tf::Shape{width, width}, 0.0, 1.0 / std::sqrt(double(width))),
        tf::VariableOptions{.name = "w"});
    vars.emplace_back(tf::zeros(tf::Shape{width}), tf::VariableOptions{.name = "b"});
  }
  overlapped.broadcast_variables(vars);
  tf::Tensor x = tf::random::normal(tf::Shape{batch, width});
  auto loss_of = [&] {
    tf::Tensor h = x;
    for (int l = 0; l < layers; ++l)
      h = tf::nn::relu(tf::matmul(h, vars[size_t(2 * l)]) + vars[size_t(2 * l + 1)]);
    return tf::reduce_mean(tf::square(h));
  };
  std::vector<double> t_local, t_after, t_overlap, t_threaded;
  for (int s = 0; s < steps + 1; ++s) {
    overlapped.barrier();
    auto t0 = clock_type::now();
    {
      tf::GradientTape tape;
      tape.gradient(loss_of(), vars);
    }
    overlapped.barrier();
    auto t1 = clock_type::now();
    {
      tf::GradientTape tape;
      after.gradient(tape, loss_of(), vars);
    }
    overlapped.barrier();
    auto t2 = clock_type::now();
    {
      tf::GradientTape tape;
      overlapped.gradient(tape, loss_of(), vars);
    }
    overlapped.barrier();
    auto t3 = clock_type::now();
    {
      tf::GradientTape tape;
      threaded.gradient(tape, loss_of(), vars);
    }
    auto t4 = clock_type::now();
    if (s == 0) continue;
    t_threaded.push_back(std::chrono::duration<double>(t4 - t3).count());
    t_local.push_back(std::chrono::duration<double>(t1 - t0).count());
    t_after.push_back(std::chrono::duration<double>(t2 - t1).count());
    t_overlap.push_back(std::chrono::duration<double>(t3 - t2).count());
  }
  if (overlapped.is_chief()) {
    const double l = median(t_local), a = median(t_after), o = median(t_overlap);
    std::printf(
        "D2 gradient step, %d replicas x 1 thread, MLP %d x %d, batch %d, %.1f MB of gradients, "
        "median of %d:\n",
        overlapped.num_replicas_in_sync(),
        layers,
        width,
        batch,
        layers * (double(width) * width + width) * 4 / 1e6,
        steps);
    std::printf("  local (no all-reduce)        %8.2f ms\n", l * 1e3);
    std::printf("  reduce after the walk        %8.2f ms  (+%.2f ms communication)\n",
                a * 1e3,
                (a - l) * 1e3);
    std::printf("  reduce during the walk       %8.2f ms  (+%.2f ms)\n", o * 1e3, (o - l) * 1e3);
    const double th = median(t_threaded);
    std::printf("  during, with progress thread %8.2f ms  (+%.2f ms)\n", th * 1e3, (th - l) * 1e3);
    std::printf(
        "  overlap hides                %8.0f %% of the exposed communication (%.0f %% with the "
        "progress thread)\n",
        a > l ? 100.0 * (a - o) / (a - l) : 0.0,
        a > l ? 100.0 * (a - th) / (a - l) : 0.0);
  }
  return 0;
}
