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
// buffers on the host, so that the core's side of the GPU all-reduce runs in the suite; its
// tapeflow_cuda_comm_* stand in for NCCL across processes (MultiWorkerMirroredStrategy), over
// shared memory (at the end of this file).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
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

/// Writes `message` to the entry point's `why` (at most `n` bytes, 0-terminated); returns 0.
static int fail_with(const char* message, char* why, size_t n) {
  std::strncpy(why, message, n - 1);
  why[n - 1] = '\0';
  return 0;
}

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
  return fail_with("fake GPU plugin: the loader gave it no CPU backend", why, n);
}

TAPEFLOW_FAKE_EXPORT void* tapeflow_cuda_backend(int index, char* why, size_t n) {
  if (index < 0 || index >= fake_gpu_count()) {
    fail_with("fake GPU plugin: no such device", why, n);
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
    return fail_with(e.what(), why, n);
  }
}

// The communicator across processes (MultiWorkerMirroredStrategy's NCCL path), faked with shared
// memory between the processes of one machine (a file in the temporary folder mapped by every
// rank, rather than /dev/shm, which some containers lack): each rank copies its part into its own
// slot, a barrier, then every rank sums all slots in rank order (the same order everywhere, so
// every replica gets the same bits), and a second barrier before the slots are reused. Enough
// for the core's bootstrap (the id made on rank 0 and broadcast over MPI) and its fused calls
// to run under mpirun in the suite; it is not NCCL and measures nothing.
namespace {

constexpr size_t kSlotBytes = size_t(1) << 20;  // larger payloads go in 1 MiB rounds
constexpr double kFakeCommTimeoutSeconds = 60;

struct SharedHeader {
  std::atomic<int> joined;
  std::atomic<int> arrived;
  std::atomic<int> generation;
};
static_assert(std::atomic<int>::is_always_lock_free);

class FakeProcessComm {
 public:
  FakeProcessComm(const char* name, int ranks, int rank, int device)
      : ranks_(ranks), rank_(rank), device_(device) {
    const int fd = ::open(name, O_CREAT | O_RDWR, 0600);
    if (fd < 0) throw tapeflow::InternalError(std::string("fake NCCL: cannot open ") + name);
    bytes_ = 64 + size_t(ranks) * kSlotBytes;
    if (ftruncate(fd, off_t(bytes_)) != 0) {
      ::close(fd);
      throw tapeflow::InternalError("fake NCCL: ftruncate of the shared segment failed");
    }
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw tapeflow::InternalError("fake NCCL: mmap failed");
    base_ = static_cast<unsigned char*>(p);
    header_ = reinterpret_cast<SharedHeader*>(base_);  // zero-filled: every counter starts at 0
    header_->joined.fetch_add(1);
    wait_until([&] { return header_->joined.load() == ranks_; }, "every rank to join");
    barrier();
    if (rank_ == 0) ::unlink(name);  // everyone has it mapped; nothing is left behind
  }

  int device() const { return device_; }

  void all_reduce(void* values, size_t elements, tapeflow::DType dtype) {
    tapeflow::detail::dispatch_numeric(dtype, [&]<class T>() {
      T* v = static_cast<T*>(values);
      const size_t per_round = kSlotBytes / sizeof(T);
      for (size_t done = 0; done < elements; done += per_round) {
        const size_t m = std::min(per_round, elements - done);
        std::memcpy(slot(rank_), v + done, m * sizeof(T));
        barrier();
        for (size_t e = 0; e < m; ++e) {
          T acc = reinterpret_cast<const T*>(slot(0))[e];
          for (int r = 1; r < ranks_; ++r)
            acc = tapeflow::detail::ops::wrap_add(acc, reinterpret_cast<const T*>(slot(r))[e]);
          v[done + e] = acc;
        }
        barrier();
      }
    });
  }

  void broadcast(void* buffer, size_t bytes, int root) {
    auto* b = static_cast<unsigned char*>(buffer);
    for (size_t done = 0; done < bytes; done += kSlotBytes) {
      const size_t m = std::min(kSlotBytes, bytes - done);
      if (rank_ == root) std::memcpy(slot(0), b + done, m);
      barrier();
      if (rank_ != root) std::memcpy(b + done, slot(0), m);
      barrier();
    }
  }

 private:
  unsigned char* slot(int r) { return base_ + 64 + size_t(r) * kSlotBytes; }

  // A central barrier: the last to arrive resets the count and opens the next generation.
  void barrier() {
    const int generation = header_->generation.load();
    if (header_->arrived.fetch_add(1) + 1 == ranks_) {
      header_->arrived.store(0);
      header_->generation.fetch_add(1);
      return;
    }
    wait_until([&] { return header_->generation.load() != generation; }, "the other ranks");
  }

  template <class Done>
  void wait_until(Done done, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    while (!done()) {
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() - start >
          std::chrono::duration<double>(kFakeCommTimeoutSeconds))
        throw tapeflow::InternalError(std::string("fake NCCL: timed out waiting for ") + what);
    }
  }

  int ranks_, rank_, device_;
  size_t bytes_ = 0;
  unsigned char* base_ = nullptr;
  SharedHeader* header_ = nullptr;
};

}  // namespace

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_comm_unique_id(void* id,
                                                      size_t id_bytes,
                                                      char* why,
                                                      size_t n) {
  static std::atomic<int> made{0};
  std::memset(id, 0, id_bytes);
  // Unique on the machine, so that a file left by a crashed run is never joined.
  const unsigned long nonce = (unsigned long)std::random_device{}();
  const char* tmp = std::getenv("TMPDIR");
  const int len = std::snprintf(static_cast<char*>(id),
                                id_bytes,
                                "%s/tapeflow-fake-nccl-%ld-%d-%lx",
                                tmp && *tmp ? tmp : "/tmp",
                                long(getpid()),
                                made.fetch_add(1),
                                nonce);
  if (len > 0 && size_t(len) < id_bytes) return 1;
  return fail_with("fake NCCL: the id does not fit", why, n);
}

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_comm_init(const void* id,
                                                 size_t id_bytes,
                                                 int ranks,
                                                 int rank,
                                                 int device,
                                                 void** comm,
                                                 char* why,
                                                 size_t n) {
  try {
    std::string name(static_cast<const char*>(id), strnlen(static_cast<const char*>(id), id_bytes));
    *comm = new FakeProcessComm(name.c_str(), ranks, rank, device);  // lives as long as the process
    return 1;
  } catch (const std::exception& e) {
    return fail_with(e.what(), why, n);
  }
}

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_comm_all_reduce(void* comm,
                                                       int count,
                                                       void* const* buffers,
                                                       const size_t* elements,
                                                       const int* dtypes,
                                                       char* why,
                                                       size_t n) {
  try {
    auto* c = static_cast<FakeProcessComm*>(comm);
    for (int i = 0; i < count; ++i) {
      const auto dtype = tapeflow::DType(dtypes[i]);
      const size_t bytes = elements[i] * size_t(tapeflow::dtype_size(dtype));
      c->all_reduce(fake_gpu(c->device())->values(buffers[i], bytes), elements[i], dtype);
    }
    return 1;
  } catch (const std::exception& e) {
    return fail_with(e.what(), why, n);
  }
}

TAPEFLOW_FAKE_EXPORT int tapeflow_cuda_comm_broadcast(
    void* comm, void* buffer, size_t bytes, int root, char* why, size_t n) {
  try {
    auto* c = static_cast<FakeProcessComm*>(comm);
    c->broadcast(fake_gpu(c->device())->values(buffer, bytes), bytes, root);
    return 1;
  } catch (const std::exception& e) {
    return fail_with(e.what(), why, n);
  }
}
