// world() of a build without MPI (TAPEFLOW_MPI=OFF or MPI not found): one process only.
#include "distribute/local.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::distribute::detail {

std::shared_ptr<Communicator> world() {
  static const std::shared_ptr<Communicator> comm = [] {
    const LaunchInfo launch = launcher_world();
    if (launch.processes > 1)
      throw FailedPreconditionError(
          "MultiWorkerMirroredStrategy: this process was started by " + launch.launcher +
          " as one of " + std::to_string(launch.processes) +
          " processes, but tapeflow was built without MPI (TAPEFLOW_MPI=OFF or MPI not found), so "
          "the replicas cannot communicate; install Open MPI (scripts/install-deps.sh) and "
          "rebuild, "
          "or run a single process");
    return make_local_communicator();
  }();
  return comm;
}

}  // namespace tapeflow::distribute::detail
