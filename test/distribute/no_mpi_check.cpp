// The process group of a build without MPI (src/distribute/no_mpi.cpp), compiled into this
// program so that every build checks it: a plain process is rank 0 of 1 whose collectives copy,
// and a process that mpirun or srun started as one of several is refused with a clear error.
//   no_mpi_check single      expects one replica
//   no_mpi_check refused     expects FailedPreconditionError (run with OMPI_COMM_WORLD_SIZE=2)
#include <cstdio>
#include <string>
#include <vector>

#include "distribute/communicator.hpp"
#include "tapeflow/errors.hpp"

namespace d = tapeflow::distribute::detail;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "single";
  try {
    auto comm = d::world();
    if (mode != "single") {
      std::fprintf(
          stderr, "FAILED: expected a refusal, got %d of %d\n", comm->rank(), comm->size());
      return 1;
    }
    std::vector<float> in{1.f, 2.f}, out(2);
    comm->start_allreduce_sum(in.data(), out.data(), 2, tapeflow::float32, "test");
    comm->wait_all();
    const bool ok =
        comm->rank() == 0 && comm->size() == 1 && comm->backend() == "local" && out == in;
    std::printf("%s: one local replica\n", ok ? "PASSED" : "FAILED");
    return ok ? 0 : 1;
  } catch (const tapeflow::FailedPreconditionError& e) {
    const std::string what = e.what();
    const bool ok = mode == "refused" && what.find("one of 2 processes") != std::string::npos &&
                    what.find("built without MPI") != std::string::npos;
    std::printf("%s: %s\n", ok ? "PASSED" : "FAILED", e.what());
    return ok ? 0 : 1;
  }
}
