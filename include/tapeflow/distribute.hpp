#pragma once

// tf::distribute: synchronous data-parallel training, one replica per process
// (docs/distributed.md).
//
//   // mpirun -np 4 ./train        (or srun; a plain ./train is one replica)
//   tf::distribute::MultiWorkerMirroredStrategy strategy;
//   auto ds = tf::data::Dataset::from_tensor_slices({x, y})
//                 .shard(strategy.num_replicas_in_sync(), strategy.worker_index())
//                 .shuffle(60000, 42).batch(64);
//   strategy.broadcast_variables(model.trainable_variables());        // from the chief
//   for (auto& batch : ds) {
//     tf::GradientTape tape;
//     tf::Tensor loss = ...;
//     auto grads = strategy.gradient(tape, loss, vars);   // all-reduced while the walk runs
//     opt.apply_gradients(grads, vars);
//   }
//
// Collectives are synchronous: every replica calls the same collectives in the same order with
// tensors of the same shapes and dtypes (checked; a mismatch is an InvalidArgumentError on every
// replica). The engine underneath is MPI (Open MPI) for processes and CPU tensors, and NCCL for
// GPU tensors where the CUDA plugin has it (gpu_backend()).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tape.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::optimizers {
class Optimizer;
}

namespace tapeflow::distribute {

namespace detail {
class Runtime;
}

/// How all_reduce combines the replicas' values (tf.distribute.ReduceOp).
enum class ReduceOp { SUM, MEAN };

struct MultiWorkerOptions {
  /// Gradients and small tensors are concatenated into buffers of about this many bytes, one
  /// all-reduce per buffer (Horovod's tensor fusion, DDP's buckets). A tensor at least this big
  /// is reduced on its own, with no copy.
  int64_t fusion_bytes = 4 << 20;
  /// A collective that has not completed after this many seconds (a replica died or stopped
  /// calling collectives) aborts the whole job with an error naming the collective. 0: wait
  /// forever. The environment variable TAPEFLOW_DISTRIBUTE_TIMEOUT overrides it.
  double timeout_seconds = 300.0;
  /// Overlap the gradient all-reduce with the backward walk in gradient(): each bucket is sent
  /// as soon as the tape has finished its gradients. false: reduce after the walk.
  bool overlap_backward = true;
  /// With overlap_backward: a helper thread drives the reductions in flight during the walk, as
  /// nonblocking MPI moves data only inside MPI calls (without it the overlap bought nothing in
  /// bench D2; with it, 14-71 % of the communication was hidden on a loaded 2-core machine).
  bool progress_thread = true;
};

/// What a strategy's last gradient() call did (for tests and benchmarks).
struct GradientStats {
  int buckets = 0;           // all-reduces of fused buffers or single large tensors
  int sent_during_walk = 0;  // of those, started before the backward walk ended
  bool nccl = false;         // reduced on the GPUs by NCCL (one group: buckets == 1)
};

/// Synchronous data parallelism across processes (tf.distribute.MultiWorkerMirroredStrategy):
/// one replica per process, launched by mpirun or srun. Initializes MPI unless the program
/// already did, and then finalizes it at exit. Run without a launcher it is one replica and
/// every collective returns its input. Built without MPI (TAPEFLOW_MPI=OFF), a launch of several
/// processes is refused with FailedPreconditionError; one process works unchanged.
class TAPEFLOW_API MultiWorkerMirroredStrategy {
 public:
  explicit MultiWorkerMirroredStrategy(MultiWorkerOptions options = {});
  ~MultiWorkerMirroredStrategy();
  MultiWorkerMirroredStrategy(const MultiWorkerMirroredStrategy&) = delete;
  MultiWorkerMirroredStrategy& operator=(const MultiWorkerMirroredStrategy&) = delete;

  /// Number of replicas (processes) training in lockstep.
  int num_replicas_in_sync() const;
  /// This replica's index in [0, num_replicas_in_sync()) (the MPI rank).
  int worker_index() const;
  /// True on replica 0, which writes checkpoints and summaries.
  bool is_chief() const;
  /// "mpi" or "local" (a single process without MPI).
  std::string backend() const;
  /// How collectives move GPU tensors: "nccl" where this process has a GPU and the CUDA plugin
  /// was built with NCCL (a communicator across the replicas, one GPU each, bootstrapped over MPI
  /// on first use; taken by a collective when every replica has all its tensors on its GPU),
  /// else "host" (copied to host memory and reduced by MPI, as CPU tensors are).
  std::string gpu_backend() const;

  /// Sum or mean over replicas of each tensor, element-wise. Tensors must have the same shapes
  /// and dtypes on every replica (InvalidArgumentError naming the first difference otherwise).
  /// Floating and integer dtypes; MEAN needs floating. Small tensors are fused into a few buffers.
  /// Undefined tensors stay undefined (every replica must agree which are undefined).
  std::vector<Tensor> all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) const;
  Tensor all_reduce(const Tensor& tensor, ReduceOp op) const;
  /// The chief's (or `root`'s) value of each tensor, on every replica.
  std::vector<Tensor> broadcast(const std::vector<Tensor>& tensors, int root = 0) const;
  Tensor broadcast(const Tensor& tensor, int root = 0) const;
  /// Every replica's tensor concatenated along axis 0, in replica order. Shapes may differ in
  /// the first dimension only.
  Tensor all_gather(const Tensor& tensor) const;
  /// Waits until every replica has arrived.
  void barrier() const;

  /// Assigns the chief's values to `vars` on every replica, so that all replicas start alike.
  void broadcast_variables(const std::vector<Variable>& vars) const;
  /// The same, then the optimizer's state: its slots for `vars` (built first if missing) and
  /// its iteration count.
  void broadcast_variables(const std::vector<Variable>& vars,
                           optimizers::Optimizer& optimizer) const;

  /// tape.gradient(target, vars) all-reduced over replicas with `op` (MEAN: the gradient of the
  /// mean loss over the global batch). With overlap_backward the buckets are reduced while the
  /// tape is still walking back through earlier layers. Undefined gradients are reduced as zeros.
  std::vector<Tensor> gradient(GradientTape& tape,
                               const Tensor& target,
                               const std::vector<Variable>& vars,
                               ReduceOp op = ReduceOp::MEAN) const;
  /// Bucket counts of the last gradient() call with more than one replica.
  GradientStats last_gradient_stats() const;

 private:
  MultiWorkerOptions options_;
  std::shared_ptr<detail::Runtime> runtime_;
};

/// One process driving several devices (tf.distribute.MirroredStrategy): a list of distinct
/// GPUs ("/gpu:0", "/gpu:1", ...), reduced with NCCL when the CUDA plugin was built with it, or
/// of CPU devices. A GPU that is not there is an InvalidArgumentError naming it and why;
/// mixing CPU and GPU devices, or listing a GPU twice, is an InvalidArgumentError.
class TAPEFLOW_API MirroredStrategy {
 public:
  explicit MirroredStrategy(std::vector<std::string> devices = {"/cpu:0"});
  int num_replicas_in_sync() const { return int(devices_.size()); }
  const std::vector<std::string>& devices() const { return devices_; }
  /// How all_reduce communicates: "nccl" (GPUs, NCCL's all-reduce on each device's stream) or
  /// "host" (CPU devices, or GPUs in a build without NCCL: summed on the first device through
  /// host copies).
  std::string backend() const;
  /// One tensor per device (tensor i is reduced from, and its result placed on, devices()[i]):
  /// their element-wise sum or mean, once per device. Not differentiable (a new value).
  std::vector<Tensor> all_reduce(const std::vector<Tensor>& per_device, ReduceOp op) const;

 private:
  std::vector<std::string> devices_;
  bool gpu_ = false;   // a GPU list
  bool nccl_ = false;  // reduced with NCCL
};

}  // namespace tapeflow::distribute
