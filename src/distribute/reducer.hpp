#pragma once

// Bucketed all-reduce of a fixed list of tensors (tensor fusion).
//
// The plan is made from shapes and dtypes alone, so every replica makes the same one: tensors are
// taken in the order given (gradient() gives them last layer first, the order the backward walk
// finishes them), a tensor of at least `fusion_bytes` is reduced on its own straight from its own
// memory into its result, and the others are concatenated into buckets of one dtype of up to
// `fusion_bytes`. A bucket is sent (nonblocking) once all its tensors were put; buckets are sent
// strictly in plan order, because MPI matches collectives on a communicator by order and the walk
// could finish a later bucket first. finish() waits, then cuts the buckets back into tensors.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "distribute/communicator.hpp"
#include "tapeflow/distribute.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::distribute::detail {

struct TensorSpec {
  Shape shape;
  DType dtype;
};

/// Reduce buffers kept from one call to the next, as Horovod keeps its fusion buffer: fresh
/// memory costs a page fault per 4 KiB on first touch (measured here: a 100 MB all-reduce into
/// fresh memory took 3x as long as into reused memory). Results are views of these buffers, so
/// a buffer is reused only once nothing refers to it any more (the results were dropped).
class BufferPool {
 public:
  /// A CPU tensor of `elements` elements of `dtype` that nobody else refers to; contents stale.
  Tensor acquire(DType dtype, int64_t elements);

 private:
  std::mutex mu_;
  std::vector<Tensor> buffers_;  // oldest first
};

class BucketedReduce {
 public:
  /// `track_defined`: an undefined tensor counts as zeros, and the result is undefined only
  /// where no replica had a value (one extra small reduce of flags in finish()).
  BucketedReduce(Communicator& comm,
                 BufferPool& pool,
                 std::vector<TensorSpec> specs,
                 int64_t fusion_bytes,
                 ReduceOp op,
                 bool track_defined);
  /// Left early (an exception in the walk): waits for the reductions already sent, which write
  /// into pooled buffers, before those can be handed out again (bounded by the timeout).
  ~BucketedReduce();
  BucketedReduce(const BucketedReduce&) = delete;
  BucketedReduce& operator=(const BucketedReduce&) = delete;
  /// Tensor i's local value (a CPU tensor of specs[i], or undefined); sends what became complete.
  void put(size_t i, const Tensor& t);
  /// Puts every tensor not put yet as undefined, waits for all, and returns the results.
  std::vector<Tensor> finish();
  int buckets() const { return int(buckets_.size()); }
  /// Buckets whose all-reduce has started.
  int sent() const { return int(next_to_send_); }

 private:
  struct Bucket {
    DType dtype;
    std::vector<size_t> members;
    std::vector<int64_t> offsets;  // element offset of each member in `buffer`
    int64_t elements = 0;
    bool own = false;  // one tensor reduced straight from its memory into `buffer`
    Tensor buffer;     // from the pool; the results are views of it
    size_t ready = 0;
  };
  void send_ready_buckets();

  Communicator& comm_;
  std::vector<TensorSpec> specs_;
  ReduceOp op_;
  bool track_defined_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<bool> put_;
  std::vector<Tensor> inputs_;    // kept alive while a reduce reads them
  std::vector<int64_t> defined_;  // per tensor: 1 if defined here (summed over replicas)
  size_t next_to_send_ = 0;
  bool finished_ = false;
};

/// "(2, 3) float32" per tensor, "undefined" for none, joined with ", ".
std::string describe(const std::vector<TensorSpec>& specs, const std::vector<bool>& defined);

/// Throws InvalidArgumentError on every replica unless all passed the same `signature`; the
/// message lists each replica's signature. `op` is TensorFlow's collective op name. In the same
/// collective, every replica casts `vote`: returns whether all voted true (how the replicas
/// agree on taking the NCCL path, which needs every one of them).
bool check_same_on_all_replicas(Communicator& comm,
                                const std::string& signature,
                                const char* op,
                                const char* what,
                                bool vote = false);

}  // namespace tapeflow::distribute::detail
