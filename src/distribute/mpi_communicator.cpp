// world() over MPI. MPI is initialized here unless the program already did (then the program
// finalizes it too); a process no launcher started and whose program did not initialize MPI is a
// group of one without MPI at all (local.hpp), so a plain ./train needs no mpirun or orted.
//
// Every collective is nonblocking (MPI_Iallreduce, MPI_Ibcast, ...) and waited for with
// MPI_Testall in a loop, so that a wait can give up: after the timeout the job is aborted with a
// message naming the collective, instead of hanging when a replica died or stopped calling
// collectives. An uncaught exception in a replica of a job of several is reported and aborts the
// job too (std::set_terminate), so the others do not wait for it.
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "distribute/local.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::distribute::detail {
namespace {

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::float32:
      return MPI_FLOAT;
    case DType::float64:
      return MPI_DOUBLE;
    case DType::int32:
      return MPI_INT32_T;
    case DType::int64:
      return MPI_INT64_T;
    case DType::boolean:
      break;
  }
  throw InternalError("MPI communicator: no MPI datatype for bool (a tapeflow bug; please report)");
}

int checked_count(int64_t n, const std::string& what) {
  if (n < 0 || n > INT_MAX)
    throw ResourceExhaustedError(what + ": " + std::to_string(n) +
                                 " bytes is more than one MPI call takes (2^31 - 1)");
  return int(n);
}

int g_rank = 0;
int g_size = 1;

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

[[noreturn]] void abort_job(const std::string& why) {
  std::fprintf(stderr,
               "tapeflow.distribute: replica %d of %d: %s; aborting all %d replicas (MPI_Abort)\n",
               g_rank,
               g_size,
               why.c_str(),
               g_size);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 70);
  std::_Exit(70);
}

void on_terminate() {
  std::string why = "terminated (std::terminate)";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      why = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      why = "uncaught exception of an unknown type";
    }
  }
  abort_job(why);
}

/// How long a wait polls without yielding the core.
constexpr double kSpinSeconds = 0.05;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);  // our traffic never matches the program's own
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  bool threads_may_poke() const override {
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    return level >= MPI_THREAD_SERIALIZED;
  }

  int start_allreduce_sum(
      const void* send, void* recv, int64_t count, DType dtype, const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t elem = dtype_size(dtype);
    for (int64_t done = 0; done < count;) {  // MPI counts are int: split huge buffers
      const int n = int(std::min<int64_t>(count - done, INT_MAX));
      const char* s = static_cast<const char*>(send) + done * elem;
      char* r = static_cast<char*>(recv) + done * elem;
      MPI_Request req;
      MPI_Iallreduce(s == r ? MPI_IN_PLACE : s, r, n, mpi_type(dtype), MPI_SUM, comm_, &req);
      pending_.push_back(req);
      done += n;
    }
    what_ = what;
    return int(pending_.size());
  }
  void poke() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return;
    int flag = 0;
    MPI_Testall(int(pending_.size()), pending_.data(), &flag, MPI_STATUSES_IGNORE);
    if (flag) pending_.clear();
  }
  void wait_all() override {
    std::lock_guard<std::mutex> lock(mu_);
    wait(pending_, what_);
  }
  void broadcast(void* data, int64_t bytes, int root, const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MPI_Request> reqs;
    for (int64_t done = 0; done < bytes;) {
      const int n = int(std::min<int64_t>(bytes - done, INT_MAX));
      reqs.emplace_back();
      MPI_Ibcast(static_cast<char*>(data) + done, n, MPI_BYTE, root, comm_, &reqs.back());
      done += n;
    }
    wait(reqs, what);
  }
  void all_gather(const void* data, int64_t bytes, void* out, const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MPI_Request> reqs(1);
    const int n = checked_count(bytes, what);
    MPI_Iallgather(data, n, MPI_BYTE, out, n, MPI_BYTE, comm_, &reqs[0]);
    wait(reqs, what);
  }
  void all_gather_v(const void* data,
                    const std::vector<int64_t>& bytes_per_rank,
                    void* out,
                    const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    int64_t offset = 0;
    for (int r = 0; r < size_; ++r) {
      counts[size_t(r)] = checked_count(bytes_per_rank[size_t(r)], what);
      displs[size_t(r)] = checked_count(offset, what);
      offset += bytes_per_rank[size_t(r)];
    }
    std::vector<MPI_Request> reqs(1);
    MPI_Iallgatherv(data,
                    counts[size_t(rank_)],
                    MPI_BYTE,
                    out,
                    counts.data(),
                    displs.data(),
                    MPI_BYTE,
                    comm_,
                    &reqs[0]);
    wait(reqs, what);
  }
  void max_int64(int64_t* values, int n, const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MPI_Request> reqs(1);
    MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_INT64_T, MPI_MAX, comm_, &reqs[0]);
    wait(reqs, what);
  }
  void barrier(const std::string& what) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MPI_Request> reqs(1);
    MPI_Ibarrier(comm_, &reqs[0]);
    wait(reqs, what);
  }

 private:
  /// MPI_Testall until done, yielding the core between polls (replicas may share cores); after
  /// the timeout the job is aborted, as nothing can be recovered from a half-done collective.
  void wait(std::vector<MPI_Request>& reqs, const std::string& what) {
    if (reqs.empty()) return;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (unsigned polls = 0;; ++polls) {
      int flag = 0;
      MPI_Testall(int(reqs.size()), reqs.data(), &flag, MPI_STATUSES_IGNORE);
      if (flag) break;
      if (polls % 256 != 255) continue;
      const double waited = std::chrono::duration<double>(clock::now() - start).count();
      if (timeout_seconds_ > 0 && waited > timeout_seconds_)
        abort_job(what + " did not complete within " + std::to_string(int(timeout_seconds_)) +
                  " s: another replica died, hangs, or skipped this collective");
      // Spin like MPI_Wait while the collective is moving; after a while (a replica is late),
      // yield the core so that replicas sharing cores can catch up.
      if (waited > kSpinSeconds) std::this_thread::yield();
    }
    reqs.clear();
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::mutex mu_;  // MPI_THREAD_SERIALIZED: one thread in MPI at a time
  std::vector<MPI_Request> pending_;
  std::string what_;
};

}  // namespace

std::shared_ptr<Communicator> world() {
  static std::mutex mu;
  static std::shared_ptr<Communicator> comm;
  std::lock_guard<std::mutex> lock(mu);
  if (comm) return comm;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && launcher_world().processes == 0) return comm = make_local_communicator();
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw FailedPreconditionError("MultiWorkerMirroredStrategy: MPI_Init_thread failed");
    std::atexit(finalize_at_exit);
  }
  auto mpi = std::make_shared<MpiCommunicator>();
  g_rank = mpi->rank();
  g_size = mpi->size();
  if (g_size > 1) std::set_terminate(on_terminate);
  return comm = mpi;
}

}  // namespace tapeflow::distribute::detail
