#pragma once

// What Model's fit / evaluate / train_on_batch do differently under a tf::distribute strategy
// (CompileOptions::distribute): which rows of a batch are this replica's, the logs summed over
// the replicas, flags every replica must agree on, and the chief's state broadcast to all.
// Replicas without a strategy is one process; the loops in model.cpp then run as before.

#include <cstdint>
#include <utility>
#include <vector>

#include "nn/model_state.hpp"
#include "tapeflow/distribute.hpp"

namespace tapeflow::detail {

class Replicas {
 public:
  explicit Replicas(distribute::MultiWorkerMirroredStrategy* strategy) : strategy_(strategy) {}
  explicit Replicas(const Model::State& s) : strategy_(s.strategy.get()) {}

  /// Under a strategy (of any number of replicas, one included).
  bool on() const { return strategy_ != nullptr; }
  distribute::MultiWorkerMirroredStrategy& strategy() const { return *strategy_; }
  int size() const;
  int rank() const;
  bool chief() const;

  /// Element-wise sums over the replicas, added in replica order, so that every replica gets
  /// the same bits. A collective: every replica calls it with as many values.
  std::vector<double> sum(const std::vector<double>& local) const;
  /// Whether `local` is true on any replica (a collective).
  bool any(bool local) const;
  /// This replica's rows [begin, end) of `rows` rows split as evenly as possible, in replica
  /// order (the first rows to replica 0).
  std::pair<int64_t, int64_t> share(int64_t rows) const;
  /// InvalidArgumentError on every replica unless all pass the same number of rows (tensors
  /// given to fit are the whole data set, the same on every replica). A collective.
  void check_same_rows(const char* where, int64_t rows) const;
  /// The logs of s's running loss and metrics over all replicas' examples (s.results() with
  /// one replica). A collective.
  Logs results(const Model::State& s) const;
  /// The chief's shuffle seed (a collective).
  uint64_t chief_seed(uint64_t local) const;
  /// Assigns the chief's variables (trainable and not) and optimizer state to every replica's
  /// model, once built. A collective.
  void broadcast_state(const Model& model, Model::State& s) const;

 private:
  distribute::MultiWorkerMirroredStrategy* strategy_;
};

}  // namespace tapeflow::detail
