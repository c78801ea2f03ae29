#include "distribute/reducer.hpp"

#include <cstring>
#include <sstream>

#include "core/fail.hpp"
#include "core/tensor_impl.hpp"

namespace tapeflow::distribute::detail {
namespace {

namespace core = ::tapeflow::detail;
const Device kCpu{DeviceType::CPU, 0};

template <class T>
void divide(T* data, int64_t n, int replicas) {
  const T d = T(replicas);
  for (int64_t i = 0; i < n; ++i) data[i] /= d;
}

void divide(void* data, DType dtype, int64_t n, int replicas) {
  if (dtype == DType::float32)
    divide(static_cast<float*>(data), n, replicas);
  else if (dtype == DType::float64)
    divide(static_cast<double*>(data), n, replicas);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

Tensor BufferPool::acquire(DType dtype, int64_t elements) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = buffers_.begin(); it != buffers_.end(); ++it)
    if (it->impl().use_count() == 1 && it->dtype() == dtype && it->num_elements() == elements) {
      Tensor t = *it;  // most recently used last
      buffers_.erase(it);
      buffers_.push_back(t);
      return t;
    }
  // Keep at most 32 buffers: drop the oldest free ones.
  for (auto it = buffers_.begin(); buffers_.size() >= 32 && it != buffers_.end();)
    it = it->impl().use_count() == 1 ? buffers_.erase(it) : it + 1;
  buffers_.push_back(core::new_tensor(Shape{elements}, dtype, kCpu));
  return buffers_.back();
}

BucketedReduce::BucketedReduce(Communicator& comm,
                               BufferPool& pool,
                               std::vector<TensorSpec> specs,
                               int64_t fusion_bytes,
                               ReduceOp op,
                               bool track_defined)
    : comm_(comm), specs_(std::move(specs)), op_(op), track_defined_(track_defined) {
  const size_t n = specs_.size();
  bucket_of_.assign(n, 0);
  put_.assign(n, false);
  inputs_.resize(n);
  defined_.assign(n, 0);
  std::vector<long> open_bucket(8, -1);  // per dtype: the bucket still filling
  for (size_t i = 0; i < n; ++i) {
    const DType dt = specs_[i].dtype;
    const int64_t elems = specs_[i].shape.num_elements();
    const int64_t bytes = elems * dtype_size(dt);
    long& open = open_bucket[size_t(dt)];
    if (bytes >= fusion_bytes) {
      buckets_.push_back(Bucket{dt, {i}, {0}, elems, true, Tensor(), 0});
      bucket_of_[i] = buckets_.size() - 1;
      continue;
    }
    if (open < 0 || (buckets_[size_t(open)].elements + elems) * dtype_size(dt) > fusion_bytes) {
      buckets_.push_back(Bucket{dt, {}, {}, 0, false, Tensor(), 0});
      open = long(buckets_.size() - 1);
    }
    Bucket& b = buckets_[size_t(open)];
    b.members.push_back(i);
    b.offsets.push_back(b.elements);
    b.elements += elems;
    bucket_of_[i] = size_t(open);
  }
  for (Bucket& b : buckets_) b.buffer = pool.acquire(b.dtype, b.elements);
}

BucketedReduce::~BucketedReduce() {
  if (!finished_ && next_to_send_ > 0) comm_.wait_all();
}

void BucketedReduce::put(size_t i, const Tensor& t) {
  if (put_[i]) return;
  put_[i] = true;
  Bucket& b = buckets_[bucket_of_[i]];
  const TensorSpec& s = specs_[i];
  size_t k = 0;
  while (b.members[k] != i) ++k;
  char* slot = static_cast<char*>(b.buffer.impl()->data) + b.offsets[k] * dtype_size(s.dtype);
  const size_t bytes = size_t(s.shape.num_elements() * dtype_size(s.dtype));
  if (!t.defined()) {
    std::memset(slot, 0, bytes);  // counts as zeros (pooled memory holds old values)
  } else {
    defined_[i] = 1;
    if (b.own)
      inputs_[i] = t;  // reduced from its own memory: keep it alive until finish()
    else
      std::memcpy(slot, t.impl()->data, bytes);
  }
  ++b.ready;
  send_ready_buckets();
}

void BucketedReduce::send_ready_buckets() {
  for (; next_to_send_ < buckets_.size(); ++next_to_send_) {
    Bucket& b = buckets_[next_to_send_];
    if (b.ready < b.members.size()) break;
    void* out = b.buffer.impl()->data;
    const Tensor& in = inputs_[b.members[0]];
    comm_.start_allreduce_sum(b.own && in.defined() ? in.impl()->data : out,
                              out,
                              b.elements,
                              b.dtype,
                              b.own ? "all-reduce of one tensor" : "all-reduce of a fused buffer");
  }
  comm_.poke();
}

std::vector<Tensor> BucketedReduce::finish() {
  for (size_t i = 0; i < specs_.size(); ++i) put(i, Tensor());
  if (track_defined_ && comm_.size() > 1)
    comm_.start_allreduce_sum(defined_.data(),
                              defined_.data(),
                              int64_t(defined_.size()),
                              DType::int64,
                              "all-reduce of the gradients' defined flags");
  comm_.wait_all();
  finished_ = true;
  inputs_.clear();
  std::vector<Tensor> out(specs_.size());
  for (Bucket& b : buckets_) {
    if (op_ == ReduceOp::MEAN) divide(b.buffer.impl()->data, b.dtype, b.elements, comm_.size());
    for (size_t k = 0; k < b.members.size(); ++k) {
      const size_t i = b.members[k];
      if (track_defined_ && defined_[i] == 0) continue;
      const size_t offset = size_t(b.offsets[k] * dtype_size(b.dtype));
      out[i] = Tensor(core::make_impl(b.buffer.impl(), specs_[i].shape, offset));
    }
  }
  return out;
}

std::string describe(const std::vector<TensorSpec>& specs, const std::vector<bool>& defined) {
  std::ostringstream os;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i) os << ", ";
    if (!defined[i])
      os << "undefined";
    else
      os << specs[i].shape << ' ' << dtype_name(specs[i].dtype);
  }
  return os.str();
}

bool check_same_on_all_replicas(
    Communicator& comm, const std::string& signature, const char* op, const char* what, bool vote) {
  if (comm.size() == 1) return vote;
  const uint64_t h = fnv1a(signature);
  // max of both == both: every replica has h; max of the veto == 0: every replica voted yes.
  int64_t v[3] = {int64_t(h), int64_t(~h), vote ? 0 : 1};
  comm.max_int64(v, 3, std::string("the shape check before ") + what);
  if (v[0] == int64_t(h) && v[1] == int64_t(~h)) return v[2] == 0;
  constexpr int64_t kBlock = 400;
  std::string mine = signature.substr(0, kBlock - 1);
  mine.resize(kBlock, '\0');
  std::vector<char> all(size_t(kBlock * comm.size()));
  comm.all_gather(mine.data(), kBlock, all.data(), std::string("the shape report of ") + what);
  std::string msg = std::string(what) + ": replicas passed different tensors (every replica must " +
                    "pass the same shapes and dtypes in the same order):";
  for (int r = 0; r < comm.size(); ++r)
    msg += " replica " + std::to_string(r) + ": [" + std::string(all.data() + r * kBlock) + "]" +
           (r + 1 < comm.size() ? ";" : "");
  ::tapeflow::detail::fail<InvalidArgumentError>(op, msg);
}

}  // namespace tapeflow::distribute::detail
