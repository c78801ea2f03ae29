// Run by mpirun -np N: replica 1 fails at step 3 while the others keep calling collectives; the
// job must end with a clear error within a bounded time (CTest's TIMEOUT), never hang.
//   mpi_failure throw   an uncaught exception in replica 1 (the terminate handler aborts the job)
//   mpi_failure hang    replica 1 stops calling collectives (the others' wait times out:
//                       run with TAPEFLOW_DISTRIBUTE_TIMEOUT=3)
//   mpi_failure die     replica 1 exits at once without finalizing MPI (mpirun ends the job)
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <tapeflow/tapeflow.hpp>
#include <thread>

namespace tf = tapeflow;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "throw";
  tf::distribute::MultiWorkerMirroredStrategy strategy;
  const int r = strategy.worker_index();
  for (int step = 0; step < 1000000; ++step) {
    if (r == 1 && step == 3) {
      if (mode == "throw") throw std::runtime_error("injected failure at step 3");
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
      if (mode == "die") std::_Exit(3);
    }
    strategy.all_reduce({tf::constant(1.f)}, tf::distribute::ReduceOp::SUM);
  }
  std::fprintf(stderr, "mpi_failure: the job did not stop\n");
  return 0;
}
