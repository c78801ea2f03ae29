// D1: all-reduce bandwidth. 100 MB of float32 summed across the replicas of an mpirun launch,
// through strategy.all_reduce and through Open MPI's own MPI_Allreduce on the same buffer, in
// alternation (same machine state for both). Prints medians and the ratio.
//   mpirun -np 2 bench_allreduce [megabytes=100] [reps=7]      (scripts/bench_distribute.sh)
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const double mb = argc > 1 ? std::atof(argv[1]) : 100.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  tf::distribute::MultiWorkerMirroredStrategy strategy;  // initializes MPI
  const int n = strategy.num_replicas_in_sync();
  const int64_t count = int64_t(mb * 1e6 / 4);
  tf::Tensor x = tf::fill(tf::Shape{count}, tf::constant(float(strategy.worker_index() + 1)));
  std::vector<float> send(static_cast<size_t>(count), float(strategy.worker_index() + 1));
  std::vector<float> recv(static_cast<size_t>(count));

  std::vector<double> ours, raw, raw_nb;
  for (int rep = 0; rep < reps + 1; ++rep) {  // the first round warms up both
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    MPI_Allreduce(send.data(), recv.data(), int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    auto t1 = std::chrono::steady_clock::now();
    MPI_Barrier(MPI_COMM_WORLD);
    auto t2 = std::chrono::steady_clock::now();
    tf::Tensor y = strategy.all_reduce(x, tf::distribute::ReduceOp::SUM);
    auto t3 = std::chrono::steady_clock::now();
    MPI_Barrier(MPI_COMM_WORLD);
    auto t4 = std::chrono::steady_clock::now();
    MPI_Request req;
    MPI_Iallreduce(send.data(), recv.data(), int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    auto t5 = std::chrono::steady_clock::now();
    if (rep == 0) {
      const float want = float(n * (n + 1) / 2);
      if (recv[0] != want || y.to_vector<float>()[size_t(count - 1)] != want) {
        std::fprintf(stderr, "bench_allreduce: wrong sums\n");
        return 1;
      }
      continue;
    }
    raw.push_back(std::chrono::duration<double>(t1 - t0).count());
    ours.push_back(std::chrono::duration<double>(t3 - t2).count());
    raw_nb.push_back(std::chrono::duration<double>(t5 - t4).count());
  }
  if (strategy.is_chief()) {
    const double r = median(raw), o = median(ours);
    std::printf("D1 all-reduce %.0f MB float32, %d ranks, median of %d:\n", mb, n, reps);
    std::printf("  MPI_Allreduce (Open MPI)         %8.1f ms  %6.2f GB/s\n", r * 1e3, mb / 1e3 / r);
    const double nb = median(raw_nb);
    std::printf(
        "  MPI_Iallreduce + MPI_Wait        %8.1f ms  %6.2f GB/s\n", nb * 1e3, mb / 1e3 / nb);
    std::printf("  strategy.all_reduce (tapeflow)   %8.1f ms  %6.2f GB/s\n", o * 1e3, mb / 1e3 / o);
    std::printf("  tapeflow / MPI time ratio        %8.3f\n", o / r);
  }
  return 0;
}
