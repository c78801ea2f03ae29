// The one-process group: every collective is a copy. Used when no launcher started this process
// (a plain ./train) and, in a build without MPI, always; there it refuses a launch of several
// processes, which would otherwise train N unsynchronized copies of the model.
#include <cstdlib>
#include <cstring>
#include <string>

#include "distribute/communicator.hpp"
#include "distribute/local.hpp"

namespace tapeflow::distribute::detail {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  int start_allreduce_sum(
      const void* send, void* recv, int64_t count, DType dtype, const std::string&) override {
    if (send != recv) std::memmove(recv, send, size_t(count) * size_t(dtype_size(dtype)));
    return 0;
  }
  void poke() override {}
  void wait_all() override {}
  void broadcast(void*, int64_t, int, const std::string&) override {}
  void all_gather(const void* data, int64_t bytes, void* out, const std::string&) override {
    if (data != out) std::memmove(out, data, size_t(bytes));
  }
  void all_gather_v(const void* data,
                    const std::vector<int64_t>& bytes_per_rank,
                    void* out,
                    const std::string&) override {
    if (data != out) std::memmove(out, data, size_t(bytes_per_rank.at(0)));
  }
  void max_int64(int64_t*, int, const std::string&) override {}
  void barrier(const std::string&) override {}
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

}  // namespace

LaunchInfo launcher_world() {
  // Open MPI's mpirun, MPICH/Intel MPI's hydra (PMI), and Slurm's srun (a job step's task count;
  // SLURM_NTASKS alone is also set inside an sbatch script, where ./train is one process).
  if (int n = env_int("OMPI_COMM_WORLD_SIZE")) return {n, "mpirun (Open MPI)"};
  if (int n = env_int("PMI_SIZE")) return {n, "an MPI launcher (PMI_SIZE)"};
  if (std::getenv("SLURM_STEP_ID") && std::string(std::getenv("SLURM_STEP_ID")) != "batch")
    if (int n = env_int("SLURM_STEP_NUM_TASKS")) return {n, "srun (Slurm)"};
  return {0, ""};
}

std::shared_ptr<Communicator> make_local_communicator() {
  return std::make_shared<LocalCommunicator>();
}

}  // namespace tapeflow::distribute::detail
