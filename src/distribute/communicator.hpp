#pragma once

// The process group under tf::distribute: rank, size and collectives on raw host buffers.
// mpi_communicator.cpp implements it over MPI; local_communicator.cpp is the one-process group
// of a build without MPI (it refuses a launch of several processes). Which one is linked is
// decided by CMake (TAPEFLOW_MPI), so the strategies have no #ifdef.
//
// Every wait is bounded: a collective still pending after `timeout_seconds` (another replica
// died or stopped calling collectives) prints what was pending and aborts the whole job, since
// a half-finished collective leaves nothing to recover in this process.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow/dtype.hpp"

namespace tapeflow::distribute::detail {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "mpi" or "local".
  virtual std::string backend() const = 0;
  /// Seconds a wait may take before the job is aborted; <= 0: forever.
  void set_timeout(double seconds) { timeout_seconds_ = seconds; }
  double timeout() const { return timeout_seconds_; }

  /// Starts an element-wise sum over ranks of `count` elements of `dtype` from `send` into
  /// `recv` (send == recv: in place). Returns a handle for wait(); `what` names it in errors.
  virtual int start_allreduce_sum(
      const void* send, void* recv, int64_t count, DType dtype, const std::string& what) = 0;
  /// Drives pending collectives without blocking (nonblocking MPI needs calls to progress).
  virtual void poke() = 0;
  /// Whether poke() may be called from another thread than the one that started collectives
  /// (MPI initialized with at least MPI_THREAD_SERIALIZED).
  virtual bool threads_may_poke() const { return false; }
  /// Waits for every collective started so far.
  virtual void wait_all() = 0;

  /// Blocking collectives, each bounded by the timeout.
  virtual void broadcast(void* data, int64_t bytes, int root, const std::string& what) = 0;
  /// Rank r's `bytes` at out[r * bytes]; out holds size() * bytes.
  virtual void all_gather(const void* data, int64_t bytes, void* out, const std::string& what) = 0;
  /// Rank r's block at out + offset_r, blocks of the given sizes (bytes) in rank order.
  virtual void all_gather_v(const void* data,
                            const std::vector<int64_t>& bytes_per_rank,
                            void* out,
                            const std::string& what) = 0;
  /// Element-wise max over ranks of `n` int64 values, in place.
  virtual void max_int64(int64_t* values, int n, const std::string& what) = 0;
  virtual void barrier(const std::string& what) = 0;

 protected:
  double timeout_seconds_ = 300.0;
};

/// The process group of this process, created (and MPI initialized) on first use; shared by every
/// strategy. Throws FailedPreconditionError when the launch cannot be served (several processes
/// and no MPI in this build).
std::shared_ptr<Communicator> world();

}  // namespace tapeflow::distribute::detail
