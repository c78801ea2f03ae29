// A test double of the CUDA plugin for machines without a GPU: it offers one "GPU" (or
// TAPEFLOW_FAKE_GPUS of them, at most 4) whose kernels are the CPU backend's, so that the core's
// device plumbing (placement, copies between devices, gradients and variables on another
// device, every host read of tensor memory) can be run end to end, e.g. the whole suite with
// TAPEFLOW_DEVICE=gpu (CTest tapeflow_tests.fake_gpu).
// It is not a GPU and says nothing about the CUDA kernels.
//
// Its "device memory" is out of the host's reach, as a real GPU's is: the address handed out
// for a block points at a poison buffer (all bytes 0xFF: NaN floats, -1 integers), while the
// values live in a shadow buffer that only kernels and copy_to_host / copy_from_host see. Code
// that reads or writes a device tensor's memory directly on the host gets poison, or loses its
// write, and the tests checking the values fail.
//
// Its tapeflow_cuda_all_reduce stands in for NCCL's (MirroredStrategy): a sum over the shadow
// buffers on the host, so that the core's side of the GPU all-reduce runs in the suite.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cuda_plugin.hpp"
#include "backend/elementwise_ops.hpp"
#include "backend/kernel_list.hpp"
#include "core/dispatch.hpp"
#include "tapeflow/errors.hpp"

namespace {

using tapeflow::detail::Backend;
using tapeflow::detail::KernelArgs;
using tapeflow::detail::TensorRef;

Backend* g_cpu = nullptr;

class FakeGpu final : public Backend {
 public:
  explicit FakeGpu(int index) : index_(index) {}
  tapeflow::Device device() const override { return {tapeflow::DeviceType::GPU, index_}; }

  void* allocate(size_t bytes) override {
    const size_t n = bytes ? bytes : 1;
    auto* poison = static_cast<unsigned char*>(std::malloc(n));
    // 64-byte aligned like the CPU allocator's blocks (and cudaMalloc's): the CPU kernels'
    // SIMD loops peel a scalar head up to the output's alignment, so transcendental results
    // can differ in the last bit between two buffers aligned differently.
    auto* shadow = static_cast<unsigned char*>(std::aligned_alloc(64, (n + 63) / 64 * 64));
    if (!poison || !shadow) {
      std::free(poison);
      std::free(shadow);
      throw tapeflow::ResourceExhaustedError(
          "OOM when allocating " + std::to_string(bytes) +
          " bytes on /job:localhost/replica:0/task:0/device:GPU:" + std::to_string(index_) +
          " (fake GPU): out of memory");
    }
    std::memset(poison, 0xFF, n);
    std::lock_guard<std::mutex> lock(mu_);
    blocks_[uintptr_t(poison)] = Block{shadow, n};
    return poison;
  }
  void deallocate(void* ptr, size_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(uintptr_t(ptr));
    if (it == blocks_.end()) return;  // not ours: the test that caused it fails elsewhere
    std::free(it->second.shadow);
    blocks_.erase(it);
    std::free(ptr);
  }
  void copy_to_host(const void* src, void* host_dst, size_t bytes) override {
    if (bytes) std::memcpy(host_dst, shadow(src, bytes), bytes);
  }
  void copy_from_host(const void* host_src, void* dst, size_t bytes) override {
    if (bytes) std::memcpy(shadow(dst, bytes), host_src, bytes);
  }

  // Each kernel: the CPU backend's, on the shadow buffers.
#define TAPEFLOW_FAKE_FORWARD(name, ...)    \
  void name(const KernelArgs& k) override { \
    std::vector<TensorRef> in;              \
    KernelArgs s = translate(k, in);        \
    g_cpu->name(s);                         \
  }
  TAPEFLOW_BACKEND_KERNELS(TAPEFLOW_FAKE_FORWARD)
#undef TAPEFLOW_FAKE_FORWARD

  /// The host-side values of `bytes` at a device address of this GPU (its all-reduce).
  void* values(const void* device_ptr, size_t bytes) { return shadow(device_ptr, bytes); }

 private:
  struct Block {
    unsigned char* shadow;
    size_t size;
  };

  /// The shadow address of a device address (a block's start or a view inside it).
  void* shadow(const void* device_ptr, size_t bytes) {
    const auto p = uintptr_t(device_ptr);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.upper_bound(p);
    if (it == blocks_.begin())
      throw tapeflow::InternalError("fake GPU: a kernel or copy got a pointer it never allocated");
    --it;
    const size_t offset = p - it->first;
    if (offset + bytes > it->second.size)
      throw tapeflow::InternalError("fake GPU: access past the end of a device block");
    return it->second.shadow + offset;
  }

  KernelArgs translate(const KernelArgs& k, std::vector<TensorRef>& in) {
    in.assign(k.inputs, k.inputs + k.num_inputs);
    for (TensorRef& r : in) r.data = shadow(r.data, 0);
    KernelArgs s = k;
    s.inputs = in.data();
    s.output.data = shadow(k.output.data, 0);
    return s;
  }

  int index_;
  std::mutex mu_;
  std::map<uintptr_t, Block> blocks_;
};

}  // namespace

#define TAPEFLOW_FAKE_EXPORT extern "C" __attribute__((visibility("default")))

TAPEFLOW_FAKE_EXPORT const char* tapeflow_cuda_interface() { return TAPEFLOW_CUDA_PLUGIN_DIGEST; }

TAPEFLOW_FAKE_EXPORT void tapeflow_cuda_set_cpu_backend(void* cpu) {
  g_cpu = static_cast<Backend*>(cpu);
}

constexpr int kMaxFakeGpus = 4;

/// TAPEFLOW_FAKE_GPUS (1 when unset), clamped to [1, kMaxFakeGpus].
int fake_gpu_count() {
  const char* env = std::getenv("TAPEFLOW_FAKE_GPUS");
  const int n = env && *env ? std::atoi(env) : 1;
  return n < 1 ? 1 : n > kMaxFakeGpus ? kMaxFakeGpus : n;
}

FakeGpu* fake_gpu(int index) {
  static FakeGpu* gpus[kMaxFakeGpus] = {};  // never destroyed, as the real plugin's
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!gpus[index]) gpus[index] = new FakeGpu(index);
  return gpus[index];
}

/// Sums element e of every buffer in `values` into all of them (integers wrap, as the
/// kernels' arithmetic does).
template <class T>
void sum_into(std::vector<T*>& values, size_t elements) {
  for (size_t e = 0; e < elements; ++e) {
    T acc = values[0][e];
    for (size_t i = 1; i < values.size(); ++i)
      acc = tapeflow::detail::ops::wrap_add(acc, values[i][e]);
    for (T* v : values) v[e] = acc;
  }
}

template <class T>
std::vector<T*> host_values(int count, const int* devices, void* const* buffers, size_t bytes) {
  std::vector<T*> v;
  for (int i = 0; i < count; ++i)
    v.push_back(static_cast<T*>(fake_gpu(devices[i])->values(buffers[i], bytes)));
  return v;
}

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_device_count(char* why, size_t n) {
  if (g_cpu) return fake_gpu_count();
  std::strncpy(why, "fake GPU plugin: the loader gave it no CPU backend", n - 1);
  why[n - 1] = '\0';
  return 0;
}

TAPEFLOW_FAKE_EXPORT void* tapeflow_cuda_backend(int index, char* why, size_t n) {
  if (index < 0 || index >= fake_gpu_count()) {
    std::strncpy(why, "fake GPU plugin: no such device", n - 1);
    why[n - 1] = '\0';
    return nullptr;
  }
  return static_cast<Backend*>(fake_gpu(index));
}

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_all_reduce(int count,
                                                  const int* devices,
                                                  void* const* buffers,
                                                  size_t elements,
                                                  int dtype,
                                                  char* why,
                                                  size_t n) {
  try {
    tapeflow::detail::dispatch_numeric(tapeflow::DType(dtype), [&]<class T>() {
      auto v = host_values<T>(count, devices, buffers, elements * sizeof(T));
      sum_into(v, elements);
    });
    return 1;
  } catch (const std::exception& e) {
    std::strncpy(why, e.what(), n - 1);
  }
  why[n - 1] = '\0';
  return 0;
}
