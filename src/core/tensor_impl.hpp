#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/allocator.hpp"
#include "core/shape_check.hpp"
#include "tapeflow/device.hpp"
#include "tapeflow/dtype.hpp"
#include "tapeflow/shape.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::detail {

/// Next unique tensor id (never 0).
/// Threads take ids in blocks of 4096 so the common path has no atomic read-modify-write.
inline uint64_t next_tensor_id() {
  static std::atomic<uint64_t> counter{1};
  thread_local uint64_t next = 0, end = 0;
  if (next == end) {
    next = counter.fetch_add(4096, std::memory_order_relaxed);
    end = next + 4096;
  }
  return next++;
}

/// The state behind a Tensor handle: always contiguous, row-major. Small values (up to
/// 256 bytes: scalars, biases, short vectors) live inline, so such ops allocate nothing but
/// this object (itself pooled); larger ones come from the device's caching allocator. A view
/// (reshape, alias) keeps its base alive and points into the base's data.
struct TensorImpl {
  Shape shape;
  DType dtype;
  Device device;
  uint64_t id;
  void* data = nullptr;
  size_t nbytes = 0;
  bool owns = false;
  std::shared_ptr<TensorImpl> base;
  alignas(64) unsigned char small[256];  // 64: xsimd kernels take the aligned path

  /// Allocates a tensor of shape `s`; `op` names the op in the errors of check_output() (a
  /// negative dim, an element count past int64, more bytes than config::allocation_limit()).
  TensorImpl(Shape s, DType t, Device d, const char* op = "AllocateTensor")
      : shape(std::move(s)), dtype(t), device(d), id(next_tensor_id()) {
    nbytes = size_t(check_output(op, shape, dtype, device)) * size_t(dtype_size(dtype));
    if (nbytes <= sizeof(small) && device.type == DeviceType::CPU) {
      data = small;
    } else {
      data = allocate(device, nbytes);
      owns = true;
    }
  }
  /// A view of `b`'s data with another shape (same element count) and a fresh id.
  TensorImpl(std::shared_ptr<TensorImpl> b, Shape s, size_t byte_offset = 0)
      : shape(std::move(s)),
        dtype(b->dtype),
        device(b->device),
        id(next_tensor_id()),
        data(static_cast<unsigned char*>(b->data) + byte_offset) {
    nbytes = size_t(shape.num_elements()) * size_t(dtype_size(dtype));
    base = b->base ? b->base : std::move(b);
  }
  /// A shape-only stand-in for `like` (same id, shape, dtype and device; no data): what a tape
  /// record keeps of a tensor whose values its gradient rule never reads.
  struct ShapeOnly {};
  TensorImpl(ShapeOnly, const TensorImpl& like)
      : shape(like.shape), dtype(like.dtype), device(like.device), id(like.id) {}
  ~TensorImpl() {
    if (owns) deallocate(device, data, nbytes);
  }
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  template <class T>
  T* ptr() {
    return static_cast<T*>(data);
  }
  int64_t size() const { return shape.num_elements(); }
};

/// Allocator for TensorImpl blocks (object + shared_ptr control block): a per-thread free
/// list of equal-sized blocks, so creating a small tensor costs no malloc in a steady loop.
/// A block freed on another thread joins that thread's list (bounded, then returned to malloc).
template <class T>
struct ImplPoolAllocator {
  using value_type = T;
  ImplPoolAllocator() = default;
  template <class U>
  ImplPoolAllocator(const ImplPoolAllocator<U>&) {}  // NOLINT
  T* allocate(size_t n) { return static_cast<T*>(pool_get(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { pool_put(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const ImplPoolAllocator<U>&) const {
    return true;
  }
};

static_assert(sizeof(TensorImpl) <= 448, "TensorImpl must fit the handle pool's 512-byte blocks");

template <class... Args>
std::shared_ptr<TensorImpl> make_impl(Args&&... args) {
  return std::allocate_shared<TensorImpl>(ImplPoolAllocator<TensorImpl>(),
                                          std::forward<Args>(args)...);
}
inline std::shared_ptr<TensorImpl> new_impl(const Shape& s, DType t, Device d) {
  return make_impl(s, t, d);
}
inline Tensor new_tensor(const Shape& s, DType t, Device d) { return Tensor(new_impl(s, t, d)); }

/// `t` on `device`, copied there (through host memory) if it lives elsewhere (src/core/tensor.cpp).
Tensor on_device(const Tensor& t, Device device);

}  // namespace tapeflow::detail
