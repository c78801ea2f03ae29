// tf::data: a Dataset is an immutable tree of nodes (slices -> shuffle -> batch -> prefetch ...);
// each begin() asks the root for a fresh chain of iterators, which is one epoch.
//
// Speed comes from not materialising elements early: while a pipeline still indexes the rows of
// its from_tensor_slices source (slices, shuffle, take), an element in flight is only a row
// number (an Item with row >= 0). batch() then builds each component of a batch with one
// memcpy per row straight from the source, and only what reaches the user becomes tensors.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "core/fail.hpp"
#include "core/tensor_impl.hpp"
#include "tapeflow/data.hpp"

namespace tapeflow::data {
namespace detail {
namespace {

namespace core = ::tapeflow::detail;
using core::fail;

const Device kCpu{DeviceType::CPU, 0};

/// The tensors behind from_tensor_slices, on the CPU, with per-row geometry.
struct Source {
  std::vector<Tensor> components;
  std::vector<Shape> elem_shapes;  // each component's shape without the first dimension
  std::vector<size_t> row_bytes;
  int64_t rows = 0;

  const char* row(size_t c, int64_t i) const {
    return static_cast<const char*>(components[c].impl()->data) + size_t(i) * row_bytes[c];
  }
};

/// One element in flight: row `row` of the pipeline's Source (not yet copied), or `tensors`.
struct Item {
  int64_t row = -1;
  std::vector<Tensor> tensors;
};

Shape prepend(int64_t n, const Shape& s) {
  std::vector<int64_t> d{n};
  d.insert(d.end(), s.begin(), s.end());
  return Shape(d);
}

void* mutable_data(const Tensor& t) { return t.impl()->data; }

/// The tensors of `item`: a row is copied out of the source, one new tensor per component.
void materialize(Item& item, const Source* src, std::vector<Tensor>& out) {
  if (item.row < 0) {
    out = std::move(item.tensors);
    return;
  }
  out.resize(src->components.size());
  for (size_t c = 0; c < out.size(); ++c) {
    Tensor t = core::new_tensor(src->elem_shapes[c], src->components[c].dtype(), kCpu);
    std::memcpy(mutable_data(t), src->row(c, item.row), src->row_bytes[c]);
    out[c] = std::move(t);
  }
}

/// splitmix64's finaliser: a bijective mix of 64 bits.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// splitmix64 with unbiased bounded draws; our own so that orders agree across standard
/// libraries (std::uniform_int_distribution's output is implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  /// Uniform in [0, n), Lemire's multiply-and-reject.
  uint64_t below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    if (uint64_t(m) < n) {
      const uint64_t threshold = (0 - n) % n;
      while (uint64_t(m) < threshold) m = static_cast<unsigned __int128>(next()) * n;
    }
    return uint64_t(m >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace

class ItemIterator {
 public:
  virtual ~ItemIterator() = default;
  /// The next element into `out`; false at the end of the epoch.
  virtual bool next(Item& out) = 0;
};

class DatasetNode {
 public:
  virtual ~DatasetNode() = default;
  virtual std::unique_ptr<ItemIterator> make_iterator() const = 0;
  virtual int64_t cardinality() const = 0;
  /// The source whose rows this node's Items index; null once elements are tensors.
  virtual std::shared_ptr<const Source> source() const = 0;
};

namespace {

// ---- from_tensor_slices ---------------------------------------------------------------------

class SliceIterator final : public ItemIterator {
 public:
  explicit SliceIterator(int64_t rows) : rows_(rows) {}
  bool next(Item& out) override {
    if (i_ >= rows_) return false;
    out.row = i_++;
    out.tensors.clear();
    return true;
  }

 private:
  int64_t rows_, i_ = 0;
};

class SliceNode final : public DatasetNode {
 public:
  explicit SliceNode(std::shared_ptr<const Source> s) : src_(std::move(s)) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    return std::make_unique<SliceIterator>(src_->rows);
  }
  int64_t cardinality() const override { return src_->rows; }
  std::shared_ptr<const Source> source() const override { return src_; }

 private:
  std::shared_ptr<const Source> src_;
};

// ---- shuffle --------------------------------------------------------------------------------

/// TF's shuffle buffer: fill up to buffer_size, emit a uniformly chosen slot, refill.
class ShuffleIterator final : public ItemIterator {
 public:
  ShuffleIterator(std::unique_ptr<ItemIterator> in,
                  int64_t buffer_size,
                  int64_t expected,
                  uint64_t seed)
      : in_(std::move(in)), capacity_(size_t(buffer_size)), rng_(seed) {
    buf_.reserve(std::min(capacity_, size_t(std::max<int64_t>(expected, 0))));
  }
  bool next(Item& out) override {
    while (!in_done_ && buf_.size() < capacity_) {
      Item it;
      if (!in_->next(it)) {
        in_done_ = true;
        break;
      }
      buf_.push_back(std::move(it));
    }
    if (buf_.empty()) return false;
    const size_t i = size_t(rng_.below(buf_.size()));
    out = std::move(buf_[i]);
    if (i + 1 != buf_.size()) buf_[i] = std::move(buf_.back());
    buf_.pop_back();
    return true;
  }

 private:
  std::unique_ptr<ItemIterator> in_;
  size_t capacity_;
  Rng rng_;
  std::vector<Item> buf_;
  bool in_done_ = false;
};

class ShuffleNode final : public DatasetNode {
 public:
  ShuffleNode(std::shared_ptr<const DatasetNode> in, int64_t buffer_size, uint64_t seed)
      : in_(std::move(in)), buffer_size_(buffer_size), seed_(seed) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    // Epoch e shuffles with a seed derived from (seed, e): reshuffled every iteration, yet the
    // whole sequence of epochs is reproducible. Copies of a Dataset share this counter, as
    // TF's datasets share their seed generator.
    const uint64_t epoch = epoch_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t s = mix64(mix64(seed_) ^ mix64(epoch + 0x632be59bd9b4e019ULL));
    return std::make_unique<ShuffleIterator>(
        in_->make_iterator(), buffer_size_, in_->cardinality(), s);
  }
  int64_t cardinality() const override { return in_->cardinality(); }
  std::shared_ptr<const Source> source() const override { return in_->source(); }

 private:
  std::shared_ptr<const DatasetNode> in_;
  int64_t buffer_size_;
  uint64_t seed_;
  mutable std::atomic<uint64_t> epoch_{0};
};

// ---- batch ----------------------------------------------------------------------------------

class BatchIterator final : public ItemIterator {
 public:
  BatchIterator(std::unique_ptr<ItemIterator> in,
                std::shared_ptr<const Source> src,
                int64_t batch_size,
                bool drop_remainder)
      : in_(std::move(in)),
        src_(std::move(src)),
        batch_(size_t(batch_size)),
        drop_(drop_remainder) {
    items_.reserve(batch_);
  }
  bool next(Item& out) override {
    items_.clear();
    while (items_.size() < batch_) {
      Item it;
      if (!in_->next(it)) break;
      items_.push_back(std::move(it));
    }
    const size_t n = items_.size();
    if (n == 0 || (drop_ && n < batch_)) return false;
    const Source* src = src_.get();
    const size_t ncomp = src ? src->components.size() : items_[0].tensors.size();
    out.row = -1;
    out.tensors.resize(ncomp);
    for (size_t c = 0; c < ncomp; ++c) {
      if (src) {
        out.tensors[c] = gather_rows(c, n);
      } else {
        out.tensors[c] = stack_elements(c, n);
      }
    }
    items_.clear();  // don't hold this batch's elements until the next call
    return true;
  }

 private:
  // The rows of source component c picked by this batch's Items: one memcpy per row.
  Tensor gather_rows(size_t c, size_t n) const {
    const Source& s = *src_;
    Tensor t =
        core::new_tensor(prepend(int64_t(n), s.elem_shapes[c]), s.components[c].dtype(), kCpu);
    char* dst = static_cast<char*>(mutable_data(t));
    const size_t rb = s.row_bytes[c];
    for (size_t i = 0; i < n; ++i) std::memcpy(dst + i * rb, s.row(c, items_[i].row), rb);
    return t;
  }
  // Elements that are already tensors (batch of a batch): same shapes and dtypes, or an error.
  Tensor stack_elements(size_t c, size_t n) const {
    const Tensor& first = items_[0].tensors[c];
    for (size_t i = 1; i < n; ++i) {
      const Tensor& e = items_[i].tensors[c];
      if (e.shape() != first.shape() || e.dtype() != first.dtype())
        fail<InvalidArgumentError>("BatchDataset",
                                   "Cannot batch tensors with different shapes in component ",
                                   c,
                                   ". First element had shape ",
                                   first.shape(),
                                   " (",
                                   first.dtype(),
                                   ") and element ",
                                   i,
                                   " had shape ",
                                   e.shape(),
                                   " (",
                                   e.dtype(),
                                   ")");
    }
    Tensor t = core::new_tensor(prepend(int64_t(n), first.shape()), first.dtype(), kCpu);
    char* dst = static_cast<char*>(mutable_data(t));
    const size_t rb = size_t(first.num_elements()) * size_t(dtype_size(first.dtype()));
    for (size_t i = 0; i < n; ++i) {
      Tensor e = items_[i].tensors[c].cpu();
      std::memcpy(dst + i * rb, e.impl()->data, rb);
    }
    return t;
  }

  std::unique_ptr<ItemIterator> in_;
  std::shared_ptr<const Source> src_;
  size_t batch_;
  bool drop_;
  std::vector<Item> items_;
};

class BatchNode final : public DatasetNode {
 public:
  BatchNode(std::shared_ptr<const DatasetNode> in, int64_t batch_size, bool drop_remainder)
      : in_(std::move(in)), batch_(batch_size), drop_(drop_remainder) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    return std::make_unique<BatchIterator>(in_->make_iterator(), in_->source(), batch_, drop_);
  }
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    return drop_ ? n / batch_ : (n + batch_ - 1) / batch_;
  }
  std::shared_ptr<const Source> source() const override { return nullptr; }

 private:
  std::shared_ptr<const DatasetNode> in_;
  int64_t batch_;
  bool drop_;
};

// ---- take -----------------------------------------------------------------------------------

class TakeIterator final : public ItemIterator {
 public:
  TakeIterator(std::unique_ptr<ItemIterator> in, int64_t count)
      : in_(std::move(in)), left_(count) {}
  bool next(Item& out) override {
    if (left_ == 0) return false;
    if (!in_->next(out)) return false;
    if (left_ > 0) --left_;
    return true;
  }

 private:
  std::unique_ptr<ItemIterator> in_;
  int64_t left_;  // < 0: unlimited
};

class TakeNode final : public DatasetNode {
 public:
  TakeNode(std::shared_ptr<const DatasetNode> in, int64_t count)
      : in_(std::move(in)), count_(count) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    return std::make_unique<TakeIterator>(in_->make_iterator(), count_);
  }
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    return count_ < 0 ? n : std::min(n, count_);
  }
  std::shared_ptr<const Source> source() const override { return in_->source(); }

 private:
  std::shared_ptr<const DatasetNode> in_;
  int64_t count_;
};

// ---- shard ----------------------------------------------------------------------------------

// Keeps every num_shards-th element starting at index (tf.data's shard): with the same input
// order on every replica, the shards are disjoint and together cover the input.
class ShardIterator final : public ItemIterator {
 public:
  ShardIterator(std::unique_ptr<ItemIterator> in, int64_t num_shards, int64_t index)
      : in_(std::move(in)), num_shards_(num_shards), index_(index) {}
  bool next(Item& out) override {
    for (int64_t skip = first_ ? index_ : num_shards_ - 1; skip > 0; --skip)
      if (!in_->next(out)) return false;
    first_ = false;
    return in_->next(out);
  }

 private:
  std::unique_ptr<ItemIterator> in_;
  int64_t num_shards_;
  int64_t index_;
  bool first_ = true;
};

class ShardNode final : public DatasetNode {
 public:
  ShardNode(std::shared_ptr<const DatasetNode> in, int64_t num_shards, int64_t index)
      : in_(std::move(in)), num_shards_(num_shards), index_(index) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    return std::make_unique<ShardIterator>(in_->make_iterator(), num_shards_, index_);
  }
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    return n <= index_ ? 0 : (n - index_ + num_shards_ - 1) / num_shards_;
  }
  std::shared_ptr<const Source> source() const override { return in_->source(); }

 private:
  std::shared_ptr<const DatasetNode> in_;
  int64_t num_shards_;
  int64_t index_;
};

// ---- prefetch -------------------------------------------------------------------------------

/// A producer thread runs the input chain up to `capacity` elements ahead into a bounded queue.
/// Both sides block on condition variables; the destructor stops the producer and joins it.
/// An exception thrown by the input reaches the consumer after the elements before it.
class PrefetchIterator final : public ItemIterator {
 public:
  PrefetchIterator(std::unique_ptr<ItemIterator> in,
                   std::shared_ptr<const Source> src,
                   size_t capacity)
      : in_(std::move(in)), src_(std::move(src)), capacity_(capacity) {
    thread_ = std::thread([this] { produce(); });
  }
  ~PrefetchIterator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    not_full_.notify_all();
    thread_.join();
  }
  PrefetchIterator(const PrefetchIterator&) = delete;
  PrefetchIterator& operator=(const PrefetchIterator&) = delete;

  bool next(Item& out) override {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [this] { return !queue_.empty() || finished_; });
    if (!queue_.empty()) {
      out = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      not_full_.notify_one();
      return true;
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return false;
  }

 private:
  void produce() {
    // Elements are host tensors whatever the consumer's device scope (scopes are per thread,
    // and so are tapes: nothing here is recorded).
    DeviceScope cpu(kCpu);
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        not_full_.wait(lock, [this] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return;
      }
      Item item;
      bool more = false;
      std::exception_ptr error;
      try {
        more = in_->next(item);
        if (more && item.row >= 0) {  // materialise here, off the consumer's thread
          std::vector<Tensor> t;
          materialize(item, src_.get(), t);
          item = Item{-1, std::move(t)};
        }
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (more && !error) {
          queue_.push_back(std::move(item));
        } else {
          finished_ = true;
          error_ = error;
        }
      }
      not_empty_.notify_one();
      if (!more || error) return;
    }
  }

  std::unique_ptr<ItemIterator> in_;
  std::shared_ptr<const Source> src_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Item> queue_;
  bool stop_ = false, finished_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started after every member above exists
};

class PrefetchNode final : public DatasetNode {
 public:
  PrefetchNode(std::shared_ptr<const DatasetNode> in, int64_t k) : in_(std::move(in)), k_(k) {}
  std::unique_ptr<ItemIterator> make_iterator() const override {
    // The input chain is built here, on the caller's thread, so epochs are numbered in call order.
    return std::make_unique<PrefetchIterator>(in_->make_iterator(), in_->source(), size_t(k_));
  }
  int64_t cardinality() const override { return in_->cardinality(); }
  std::shared_ptr<const Source> source() const override { return nullptr; }

 private:
  std::shared_ptr<const DatasetNode> in_;
  int64_t k_;
};

}  // namespace

/// What a Dataset::Iterator owns: the root node (kept alive) and its iterator chain.
class IteratorState {
 public:
  explicit IteratorState(std::shared_ptr<const DatasetNode> node)
      : node_(std::move(node)), src_(node_->source()), it_(node_->make_iterator()) {}
  bool next(std::vector<Tensor>& out) {
    Item item;
    if (!it_->next(item)) return false;
    materialize(item, src_.get(), out);
    return true;
  }

 private:
  std::shared_ptr<const DatasetNode> node_;
  std::shared_ptr<const Source> src_;
  std::unique_ptr<ItemIterator> it_;
};

}  // namespace detail

namespace {
using ::tapeflow::detail::fail;
}  // namespace

Dataset Dataset::from_tensor_slices(std::vector<Tensor> components) {
  const char* op = "TensorSliceDataset";
  if (components.empty())
    fail<InvalidArgumentError>(op, "from_tensor_slices needs at least one component");
  auto src = std::make_shared<detail::Source>();
  for (size_t c = 0; c < components.size(); ++c) {
    const Tensor& t = components[c];
    if (!t.defined()) fail<InvalidArgumentError>(op, "component ", c, " is an undefined tensor");
    if (t.rank() == 0)
      fail<InvalidArgumentError>(op,
                                 "Unbatching a tensor is only supported for rank >= 1; component ",
                                 c,
                                 " has shape ()");
    if (t.shape()[0] != components[0].shape()[0])
      fail<InvalidArgumentError>(
          op,
          "All components must have the same size in the 0th dimension: component 0 has shape ",
          components[0].shape(),
          " but component ",
          c,
          " has shape ",
          t.shape());
  }
  src->rows = components[0].shape()[0];
  for (const Tensor& t : components) {
    Tensor host = t.cpu();
    std::vector<int64_t> d = host.shape().dims();
    Shape elem(std::vector<int64_t>(d.begin() + 1, d.end()));
    src->row_bytes.push_back(size_t(elem.num_elements()) * size_t(dtype_size(host.dtype())));
    src->elem_shapes.push_back(std::move(elem));
    src->components.push_back(std::move(host));
  }
  return Dataset(std::make_shared<detail::SliceNode>(std::move(src)));
}

Dataset Dataset::from_tensor_slices(const Tensor& component) {
  return from_tensor_slices(std::vector<Tensor>{component});
}

Dataset Dataset::shuffle(int64_t buffer_size, uint64_t seed) const {
  if (buffer_size <= 0)
    fail<InvalidArgumentError>(
        "ShuffleDataset", "buffer_size must be greater than zero, got ", buffer_size);
  return Dataset(std::make_shared<detail::ShuffleNode>(node_, buffer_size, seed));
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  if (batch_size <= 0)
    fail<InvalidArgumentError>(
        "BatchDataset", "batch_size must be greater than zero, got ", batch_size);
  return Dataset(std::make_shared<detail::BatchNode>(node_, batch_size, drop_remainder));
}

Dataset Dataset::prefetch(int64_t buffer_size) const {
  // -1 is tf.data.AUTOTUNE; two elements ahead keep one being produced while one waits.
  if (buffer_size == -1) buffer_size = 2;
  if (buffer_size <= 0)
    fail<InvalidArgumentError>(
        "PrefetchDataset", "buffer_size must be positive or -1 (AUTOTUNE), got ", buffer_size);
  return Dataset(std::make_shared<detail::PrefetchNode>(node_, buffer_size));
}

Dataset Dataset::take(int64_t count) const {
  return Dataset(std::make_shared<detail::TakeNode>(node_, count < 0 ? -1 : count));
}

Dataset Dataset::shard(int64_t num_shards, int64_t index) const {
  if (num_shards <= 0)
    fail<InvalidArgumentError>(
        "ShardDataset", "Number of shards must be greater than zero, got ", num_shards);
  if (index < 0 || index >= num_shards)
    fail<InvalidArgumentError>("ShardDataset",
                               "Index must be between 0 and ",
                               num_shards - 1,
                               " (inclusive), got ",
                               index);
  return Dataset(std::make_shared<detail::ShardNode>(node_, num_shards, index));
}

int64_t Dataset::cardinality() const { return node_->cardinality(); }

Dataset::Iterator Dataset::begin() const {
  Iterator it(std::make_unique<detail::IteratorState>(node_));
  ++it;
  return it;
}

Dataset::Iterator::Iterator() = default;
Dataset::Iterator::Iterator(std::unique_ptr<detail::IteratorState> state)
    : state_(std::move(state)), done_(false) {}
Dataset::Iterator::Iterator(Iterator&&) noexcept = default;
Dataset::Iterator& Dataset::Iterator::operator=(Iterator&&) noexcept = default;
Dataset::Iterator::~Iterator() = default;

Dataset::Iterator& Dataset::Iterator::operator++() {
  if (done_ || !state_) {
    done_ = true;
    return *this;
  }
  if (!state_->next(current_)) {
    done_ = true;
    current_.clear();
    state_.reset();  // ends the epoch now: a prefetch thread is joined here, not at scope exit
  }
  return *this;
}

}  // namespace tapeflow::data
