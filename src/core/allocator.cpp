#include "core/allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::detail {
namespace {

// Sizes are rounded up so that nearby sizes share a bin: to 64 bytes below 4 KiB, to
// 1/8 of the next power of two above (at most 12.5% waste).
size_t round_size(size_t bytes) {
  if (bytes <= 4096) return (bytes + 63) & ~size_t(63);
  size_t p = 4096;
  while (p < bytes) p <<= 1;
  size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

struct CpuCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t cached_bytes = 0;
  // Bounded so that a training run's peak RSS stays near its working set: blocks above
  // kMaxBlock (data sets, one-off buffers) go straight back to the system, and at most
  // max_cached bytes of free blocks are kept (TAPEFLOW_CPU_CACHE_MB, default 512).
  static constexpr size_t kMaxBlock = size_t(64) << 20;
  const size_t max_cached = [] {
    const char* mb = std::getenv("TAPEFLOW_CPU_CACHE_MB");
    return (mb && *mb ? size_t(std::strtoull(mb, nullptr, 10)) : size_t(512)) << 20;
  }();

  void* get(size_t bytes) {
    size_t r = round_size(bytes);
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = free.find(r);
      if (it != free.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes -= r;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, r);
    if (!p) {
      release_all();
      p = std::aligned_alloc(64, r);
    }
    if (!p)
      throw ResourceExhaustedError("OOM when allocating " + std::to_string(bytes) +
                                   " bytes on /job:localhost/replica:0/task:0/device:CPU:0");
    return p;
  }
  void put(void* p, size_t bytes) {
    size_t r = round_size(bytes);
    std::lock_guard<std::mutex> lock(mu);
    if (r > kMaxBlock || cached_bytes + r > max_cached) {
      std::free(p);
      return;
    }
    free[r].push_back(p);
    cached_bytes += r;
  }
  void release_all() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [size, list] : free)
      for (void* p : list) std::free(p);
    free.clear();
    cached_bytes = 0;
  }
  ~CpuCache() { release_all(); }
};

CpuCache& cpu_cache() {
  static auto* cache = new CpuCache();  // leaked: tensors may die during static destruction
  return *cache;
}

}  // namespace

namespace {
// A per-thread front for small CPU blocks (<= 4 KiB, 64 bins of 64 bytes): no lock on the
// path that small-tensor loops take. Bounded per bin; overflow goes to the shared cache.
struct SmallCache {
  static constexpr size_t kBins = 64, kPerBin = 64;
  std::vector<void*> bins[kBins];
  ~SmallCache();
};
thread_local bool t_small_dead = false;
thread_local SmallCache t_small;
SmallCache::~SmallCache() {
  t_small_dead = true;
  for (size_t b = 0; b < kBins; ++b)
    for (void* p : bins[b]) cpu_cache().put(p, (b + 1) * 64);
}
}  // namespace

void* allocate(Device device, size_t bytes) {
  if (device.type != DeviceType::CPU) return backend_for(device).allocate(bytes);
  if (bytes == 0) bytes = 1;
  if (bytes <= 4096 && !t_small_dead) {
    auto& bin = t_small.bins[(bytes - 1) / 64];
    if (!bin.empty()) {
      void* p = bin.back();
      bin.pop_back();
      return p;
    }
  }
  return cpu_cache().get(bytes);
}

void deallocate(Device device, void* ptr, size_t bytes) {
  if (device.type != DeviceType::CPU) return backend_for(device).deallocate(ptr, bytes);
  if (bytes == 0) bytes = 1;
  if (bytes <= 4096 && !t_small_dead) {
    auto& bin = t_small.bins[(bytes - 1) / 64];
    if (bin.size() < SmallCache::kPerBin) {
      bin.push_back(ptr);
      return;
    }
  }
  cpu_cache().put(ptr, bytes);
}

namespace {
// TensorImpl's inline buffer is 64-byte aligned, so its blocks must be too.
constexpr std::align_val_t kAlign{64};
struct ImplPool {
  static constexpr size_t kBlock = 512;  // TensorImpl (with its inline data) + control block
  static constexpr size_t kMaxFree = 4096;
  std::vector<void*> free;
  ~ImplPool();
};
// Tensors may die after this thread's pool (static destructors): then blocks go to delete.
thread_local bool t_pool_dead = false;
thread_local ImplPool t_pool;
ImplPool::~ImplPool() {
  t_pool_dead = true;
  for (void* p : free) ::operator delete(p, kAlign);
}
}  // namespace

void* pool_get(size_t bytes) {
  if (bytes > ImplPool::kBlock) return ::operator new(bytes, kAlign);
  if (t_pool_dead) return ::operator new(ImplPool::kBlock, kAlign);
  auto& f = t_pool.free;
  if (!f.empty()) {
    void* p = f.back();
    f.pop_back();
    return p;
  }
  return ::operator new(ImplPool::kBlock, kAlign);
}

void pool_put(void* p, size_t bytes) {
  if (t_pool_dead) {
    ::operator delete(p, kAlign);
    return;
  }
  auto& f = t_pool.free;
  if (bytes > ImplPool::kBlock || f.size() >= ImplPool::kMaxFree) {
    ::operator delete(p, kAlign);
    return;
  }
  f.push_back(p);
}

}  // namespace tapeflow::detail
