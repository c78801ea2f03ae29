#pragma once

// The caching device allocator of the CUDA backend, written over a small `Memory` policy so
// that its logic (buckets, reuse, free-and-retry on out-of-memory, the error) is tested on
// machines without a GPU (test/gpu/test_caching_allocator.cpp with a fake policy; the CUDA
// policy is in cuda/backend.cpp). No CUDA header here.
//
// Memory must provide:
//   bool allocate(void** p, size_t bytes)  false when out of memory; other failures throw
//   void free(void* p)
//   void synchronize()                     waits until the device has finished with every block
//   std::string usage()                    e.g. "1.0 MiB free of 80.0 GiB", for the OOM message

#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tapeflow/errors.hpp"

namespace tapeflow::cuda {

inline std::string format_mib(size_t bytes) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

/// Freed blocks are kept per size bucket and handed out again, so a training loop stops
/// calling cudaMalloc (which synchronises the device) after its first step. All work of a
/// device runs on its one stream, so a block freed by the host right after queuing its last
/// user may be reused at once: the next user is queued behind it. deallocate() never calls the
/// policy and never throws (tensors die in destructors, also during static destruction).
template <class Memory>
class CachingAllocator {
 public:
  template <class... Args>
  explicit CachingAllocator(std::string device_name, Args&&... args)
      : device_name_(std::move(device_name)), memory_(std::forward<Args>(args)...) {}

  void* allocate(size_t bytes) {
    const size_t size = bucket(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        in_use_ += size;
        return p;
      }
    }
    void* p = nullptr;
    // Out of memory: give every cached block back (once the device is done with them), retry.
    if (!memory_.allocate(&p, size)) {
      release_cached();
      if (!memory_.allocate(&p, size)) {
        std::lock_guard<std::mutex> lock(mu_);
        throw ResourceExhaustedError("OOM when allocating " + format_mib(bytes) + " on " +
                                     device_name_ + ": cudaMalloc failed: out of memory (" +
                                     format_mib(in_use_) + " held by tensors; " + memory_.usage() +
                                     ")");
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ += size;
    return p;
  }

  /// `bytes` as given to allocate().
  void deallocate(void* p, size_t bytes) noexcept {
    if (!p) return;
    const size_t size = bucket(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    try {
      free_[size].push_back(p);
      cached_ += size;
    } catch (...) {
      // No memory for the bookkeeping: drop the block rather than throw from a destructor.
    }
    in_use_ -= size;
  }

  /// Returns every cached block to the device.
  void release_cached() {
    memory_.synchronize();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& entry : free_)
      for (void* p : entry.second) memory_.free(p);
    free_.clear();
    cached_ = 0;
  }

  size_t bytes_in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }
  size_t bytes_cached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }
  Memory& memory() { return memory_; }

  /// Sizes are rounded up so that nearby requests share a bucket: to a multiple of 512 bytes up
  /// to 1 MiB, above that to a multiple of 1/8 of the largest power of two not above the size
  /// (so at most 12.5 % waste, and 8 buckets per doubling).
  static size_t bucket(size_t bytes) {
    constexpr size_t kMiB = size_t(1) << 20;
    if (bytes <= kMiB) return bytes <= 512 ? 512 : (bytes + 511) / 512 * 512;
    size_t pow2 = kMiB;
    while (pow2 <= bytes / 2) pow2 <<= 1;
    const size_t step = pow2 / 8;
    return (bytes + step - 1) / step * step;
  }

 private:
  std::string device_name_;
  Memory memory_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0, in_use_ = 0;
};

}  // namespace tapeflow::cuda
