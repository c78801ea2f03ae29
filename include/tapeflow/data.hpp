#pragma once

// tf::data: input pipelines iterated with range-for, as tf.data in TensorFlow 2.
//
//   auto ds = tf::data::Dataset::from_tensor_slices({x, y}).shuffle(60000, 42).batch(128)
//                 .prefetch(2);
//   for (const std::vector<tf::Tensor>& batch : ds) {
//     const tf::Tensor& xb = batch[0];
//     const tf::Tensor& yb = batch[1];
//   }
//
// A Dataset is a cheap value: copies share one immutable pipeline. Each range-for (each
// begin()) is one epoch. Elements are CPU tensors, created off any GradientTape.

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::data {

namespace detail {
class DatasetNode;
class IteratorState;
}  // namespace detail

/// An input pipeline whose elements are tuples of tensors (`std::vector<Tensor>`).
class TAPEFLOW_API Dataset {
 public:
  class Iterator;

  /// Slices each component along its first dimension: element i is {c[i] for c in components}.
  /// All components need rank >= 1 and the same first dimension (InvalidArgumentError otherwise).
  /// The values are copied to the CPU once; slicing and batching then copy rows with memcpy.
  static Dataset from_tensor_slices(std::vector<Tensor> components);
  static Dataset from_tensor_slices(const Tensor& component);

  /// Randomly shuffles with TensorFlow's buffer semantics: keeps a buffer of `buffer_size`
  /// elements and emits a uniformly chosen one, refilling from the input. With
  /// buffer_size >= the dataset size every epoch is a uniform random permutation. The order
  /// is a pure function of (seed, epoch): the same seed gives the same sequence of epochs, and
  /// each new iteration reshuffles (TF's reshuffle_each_iteration=True, made deterministic).
  /// Our generator is not TF's: orders match TF's in distribution, not element for element.
  Dataset shuffle(int64_t buffer_size, uint64_t seed) const;
  /// Stacks `batch_size` consecutive elements into one (a new leading dimension). The last
  /// batch is smaller unless `drop_remainder`.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  /// Produces up to `buffer_size` elements ahead on a background thread (bounded queue).
  /// Destroying the iterator mid-epoch stops and joins the thread.
  Dataset prefetch(int64_t buffer_size) const;
  /// At most the first `count` elements (-1: all of them).
  Dataset take(int64_t count) const;

  /// Every `num_shards`-th element starting at element `index` (tf.data's shard): element i of
  /// the input is kept when i % num_shards == index. Put it before shuffle() (or shuffle with
  /// the same seed on every replica) so that the shards of a distributed job are disjoint.
  /// InvalidArgumentError unless num_shards > 0 and 0 <= index < num_shards.
  Dataset shard(int64_t num_shards, int64_t index) const;

  /// Number of elements per epoch.
  int64_t cardinality() const;

  /// Starts a new epoch.
  Iterator begin() const;
  std::default_sentinel_t end() const { return {}; }

  explicit Dataset(std::shared_ptr<const detail::DatasetNode> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<const detail::DatasetNode> node_;
};

/// One pass over a Dataset (an input iterator; compare with `std::default_sentinel`).
class TAPEFLOW_API Dataset::Iterator {
 public:
  using value_type = std::vector<Tensor>;
  using difference_type = std::ptrdiff_t;
  using reference = const std::vector<Tensor>&;
  using iterator_category = std::input_iterator_tag;

  Iterator();
  explicit Iterator(std::unique_ptr<detail::IteratorState> state);
  Iterator(Iterator&&) noexcept;
  Iterator& operator=(Iterator&&) noexcept;
  ~Iterator();

  const std::vector<Tensor>& operator*() const { return current_; }
  const std::vector<Tensor>* operator->() const { return &current_; }
  Iterator& operator++();
  void operator++(int) { ++*this; }
  friend bool operator==(const Iterator& it, std::default_sentinel_t) { return it.done_; }

 private:
  std::unique_ptr<detail::IteratorState> state_;
  std::vector<Tensor> current_;
  bool done_ = true;
};

}  // namespace tapeflow::data
