// CudaBackend: the Backend of one GPU, and the plugin's C entry points (src/backend/
// cuda_plugin.hpp) through which the core finds it. Everything that is not a kernel lives
// here: device selection, one non-blocking stream and one cuBLAS handle per device, the caching
// device allocator, host copies and CUDA error reporting. The kernels are in cuda/kernels/*.cu
// (contract: cuda/kernels.hpp). Host-only code, compiled by the C++ compiler.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda_plugin.hpp"
#include "backend/kernel_list.hpp"
#include "caching_allocator.hpp"
#include "core/fail.hpp"
#include "kernels.hpp"
#include "tapeflow/errors.hpp"

#if TAPEFLOW_HAVE_NCCL
#include <nccl.h>
#endif

namespace tapeflow::cuda {

using detail::KernelArgs;
using detail::str_cat;

namespace {

constexpr int kMaxDevices = 64;

/// The device this thread last made current through activate() (-1: none yet): whose stream,
/// cuBLAS handle and allocator the kernels get.
thread_local int t_device = -1;

/// cudaMalloc/cudaFree for one GPU, the policy of its CachingAllocator
/// (cuda/caching_allocator.hpp).
struct CudaMemory {
  const cudaStream_t* stream;  // the backend's, created after this

  bool allocate(void** p, size_t bytes) {
    const cudaError_t err = cudaMalloc(p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky: clear it
      return false;
    }
    check(err, "cudaMalloc");
    return true;
  }
  void free(void* p) { (void)cudaFree(p); }
  void synchronize() { (void)cudaStreamSynchronize(*stream); }
  std::string usage() {
    size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
      (void)cudaGetLastError();
      return "device memory use unknown";
    }
    return format_mib(free_bytes) + " free of " + format_mib(total);
  }
};

class CudaBackend;
CudaBackend* g_backends[kMaxDevices] = {};

class CudaBackend final : public detail::Backend {
 public:
  explicit CudaBackend(int index)
      : index_(index), alloc_(Device{DeviceType::GPU, index}.name(), CudaMemory{&stream_}) {
    activate();
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }

  Device device() const override { return {DeviceType::GPU, index_}; }

  /// Makes this GPU current on the calling thread (before every kernel and CUDA call). Not
  /// skipped when t_device already matches: user code (with its own CUDA runtime) may have
  /// changed the thread's current context since, and the call is cheap.
  void activate() const {
    check(cudaSetDevice(index_), "cudaSetDevice");
    t_device = index_;
  }
  cudaStream_t stream() const { return stream_; }
  CachingAllocator<CudaMemory>& allocator() { return alloc_; }

  cublasHandle_t cublas() {
    std::call_once(cublas_once_, [this] {
      activate();
      check(cublasCreate(&cublas_), "cublasCreate");
      check(cublasSetStream(cublas_, stream_), "cublasSetStream");
    });
    return cublas_;
  }

  void* allocate(size_t bytes) override {
    activate();
    return alloc_.allocate(bytes);
  }
  void deallocate(void* ptr, size_t bytes) override { alloc_.deallocate(ptr, bytes); }

  // Queued on the device's stream (after every kernel before it), then waited for, so the host
  // sees finished data and may reuse its buffer on return. A plain cudaMemcpy would use the
  // legacy default stream, which does not wait for a non-blocking stream.
  void copy_to_host(const void* src, void* host_dst, size_t bytes) override {
    if (bytes == 0) return;
    activate();
    check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync(device to host)");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize after a device-to-host copy");
  }
  void copy_from_host(const void* host_src, void* dst, size_t bytes) override {
    if (bytes == 0) return;
    activate();
    check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync(host to device)");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize after a host-to-device copy");
  }

// Each kernel: make this GPU current, then the free function of cuda/kernels/*.cu.
#define TAPEFLOW_CUDA_FORWARD(name, ...)    \
  void name(const KernelArgs& k) override { \
    activate();                             \
    ::tapeflow::cuda::name(k);              \
  }
  TAPEFLOW_BACKEND_KERNELS(TAPEFLOW_CUDA_FORWARD)
#undef TAPEFLOW_CUDA_FORWARD

 private:
  int index_;
  cudaStream_t stream_ = nullptr;
  CachingAllocator<CudaMemory> alloc_;
  std::once_flag cublas_once_;
  cublasHandle_t cublas_ = nullptr;
};

/// The backend of the device this thread made current; kernels run only after activate().
CudaBackend& current() {
  if (t_device < 0 || t_device >= kMaxDevices || !g_backends[t_device])
    throw InternalError(
        "a CUDA kernel ran before its backend made a device current (a tapeflow bug; please "
        "report)");
  return *g_backends[t_device];
}

void copy_message(const std::string& s, char* out, size_t n) {
  if (!out || n == 0) return;
  std::strncpy(out, s.c_str(), n - 1);
  out[n - 1] = '\0';
}

}  // namespace

// ---- what kernels.hpp asks of the backend class -----------------------------------------------

cudaStream_t current_stream() { return current().stream(); }
cublasHandle_t cublas_handle() { return current().cublas(); }
void* device_alloc(size_t bytes) { return current().allocator().allocate(bytes); }
void device_free(void* ptr, size_t bytes) { current().allocator().deallocate(ptr, bytes); }

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  // Clear the runtime's last error, so a later check(cudaGetLastError(), ...) does not report
  // this one again (sticky errors, such as an illegal address, stay: the context is lost).
  (void)cudaGetLastError();
  std::string msg =
      str_cat(what, " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")");
  if (t_device >= 0) msg += str_cat(" on /job:localhost/replica:0/task:0/device:GPU:", t_device);
  if (status == cudaErrorMemoryAllocation) throw ResourceExhaustedError(msg);
  throw InternalError(msg);
}

void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string msg = str_cat(what, " failed: ", cublasGetStatusString(status));
  if (t_device >= 0) msg += str_cat(" on /job:localhost/replica:0/task:0/device:GPU:", t_device);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw ResourceExhaustedError(msg);
  throw InternalError(msg);
}

}  // namespace tapeflow::cuda

// ---- the plugin's entry points (src/backend/cuda_plugin.hpp) ----------------------------------

#define TAPEFLOW_CUDA_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

TAPEFLOW_CUDA_PLUGIN_EXPORT const char* tapeflow_cuda_interface() {
  return TAPEFLOW_CUDA_PLUGIN_DIGEST;
}

TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_device_count(char* why, size_t n) {
  using tapeflow::detail::str_cat;
  int count = 0;  // left untouched when the call fails
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err == cudaSuccess && count > 0) return std::min(count, tapeflow::cuda::kMaxDevices);
  std::string msg;
  const std::string detail =
      err == cudaSuccess
          ? std::string("cudaGetDeviceCount found 0 devices")
          : str_cat("cudaGetDeviceCount: ", cudaGetErrorName(err), ": ", cudaGetErrorString(err));
  if (err == cudaErrorInsufficientDriver) {
    // Either libcuda is absent or it is older than this runtime; cudart has tried to open it.
    void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    int runtime = 0;
    (void)cudaRuntimeGetVersion(&runtime);
    if (driver) {
      dlclose(driver);
      msg = str_cat("the NVIDIA driver is too old for CUDA ",
                    runtime / 1000,
                    ".",
                    runtime % 1000 / 10,
                    " (",
                    detail,
                    ")");
    } else {
      msg = "no NVIDIA driver (libcuda.so.1 not found; " + detail + ")";
    }
  } else if (err == cudaErrorNoDevice || err == cudaSuccess) {
    msg = "no CUDA device (" + detail + ")";
  } else {
    msg = "CUDA is not usable (" + detail + ")";
  }
  (void)cudaGetLastError();
  tapeflow::cuda::copy_message(msg, why, n);
  return 0;
}

TAPEFLOW_CUDA_PLUGIN_EXPORT void* tapeflow_cuda_backend(int index, char* why, size_t n) {
  using namespace tapeflow::cuda;
  if (index < 0 || index >= kMaxDevices) {
    copy_message(tapeflow::detail::str_cat("no GPU ", index), why, n);
    return nullptr;
  }
  try {
    // Never destroyed: tensors freed during static destruction still find their allocator.
    if (!g_backends[index]) g_backends[index] = new CudaBackend(index);
    return static_cast<tapeflow::detail::Backend*>(g_backends[index]);
  } catch (const std::exception& e) {
    copy_message(e.what(), why, n);
    return nullptr;
  }
}

#if TAPEFLOW_HAVE_NCCL
namespace {

using tapeflow::cuda::copy_message;

/// MultiWorkerMirroredStrategy's communicator on this process's GPU.
struct ProcessComm {
  ncclComm_t comm;
  int device;
};

int comm_error(ncclResult_t r, const char* what, char* why, size_t n) {
  copy_message(tapeflow::detail::str_cat(what, " failed: ", ncclGetErrorString(r)), why, n);
  return 0;
}

bool nccl_type(int dtype, ncclDataType_t* type) {
  switch (tapeflow::DType(dtype)) {
    case tapeflow::DType::float32:
      *type = ncclFloat32;
      return true;
    case tapeflow::DType::float64:
      *type = ncclFloat64;
      return true;
    case tapeflow::DType::int32:
      *type = ncclInt32;
      return true;
    case tapeflow::DType::int64:
      *type = ncclInt64;
      return true;
    default:
      return false;
  }
}

}  // namespace

// MirroredStrategy's all-reduce across the GPUs of this process (src/distribute/strategy.cpp):
// NCCL, one communicator per device in a clique per device list, created on first use with
// ncclCommInitAll and kept for the life of the process (as the backends are). The reduction is
// queued on each device's stream, after the kernels that produced the buffers and before any
// that reads them, so nothing here waits for the GPU. Exported only when NCCL was found at build
// time: the core takes the entry point's absence as "no NCCL" (src/backend/cuda_loader.cpp).
TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_all_reduce(int count,
                                                         const int* devices,
                                                         void* const* buffers,
                                                         size_t elements,
                                                         int dtype,
                                                         char* why,
                                                         size_t n) {
  using namespace tapeflow::cuda;
  using tapeflow::detail::str_cat;
  auto nccl_error = [&](ncclResult_t r, const char* what) { return comm_error(r, what, why, n); };
  ncclDataType_t type;
  if (!nccl_type(dtype, &type)) {
    copy_message("NCCL all-reduce: unsupported dtype", why, n);
    return 0;
  }
  std::vector<int> list(devices, devices + count);
  for (int d : list)
    if (d < 0 || d >= kMaxDevices || !g_backends[d]) {
      copy_message(str_cat("NCCL all-reduce: GPU ", d, " has no backend yet"), why, n);
      return 0;
    }
  static std::mutex mu;
  static auto* cliques = new std::map<std::vector<int>, std::vector<ncclComm_t>>;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cliques->find(list);
  if (it == cliques->end()) {
    std::vector<ncclComm_t> comms(static_cast<size_t>(count));
    if (ncclResult_t r = ncclCommInitAll(comms.data(), count, list.data()); r != ncclSuccess)
      return nccl_error(r, "ncclCommInitAll");
    it = cliques->emplace(list, std::move(comms)).first;
  }
  // One group: NCCL launches the per-device parts together (one thread, several devices).
  if (ncclResult_t r = ncclGroupStart(); r != ncclSuccess) return nccl_error(r, "ncclGroupStart");
  for (int i = 0; i < count; ++i) {
    const ncclResult_t r = ncclAllReduce(buffers[i],
                                         buffers[i],
                                         elements,
                                         type,
                                         ncclSum,
                                         it->second[size_t(i)],
                                         g_backends[list[size_t(i)]]->stream());
    if (r != ncclSuccess) {
      (void)ncclGroupEnd();
      return nccl_error(r, "ncclAllReduce");
    }
  }
  if (ncclResult_t r = ncclGroupEnd(); r != ncclSuccess) return nccl_error(r, "ncclGroupEnd");
  return 1;
}

// MultiWorkerMirroredStrategy's communicator across processes, one GPU per process, bootstrapped
// by the core over MPI (src/distribute/strategy.cpp): rank 0 calls comm_unique_id, the core
// broadcasts the id, every rank calls comm_init. Collectives are queued on the GPU's stream.
TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_comm_unique_id(void* id,
                                                             size_t id_bytes,
                                                             char* why,
                                                             size_t n) {
  if (id_bytes != sizeof(ncclUniqueId)) {
    copy_message("NCCL: the unique id buffer has the wrong size", why, n);
    return 0;
  }
  ncclUniqueId unique;
  if (ncclResult_t r = ncclGetUniqueId(&unique); r != ncclSuccess)
    return comm_error(r, "ncclGetUniqueId", why, n);
  std::memcpy(id, &unique, sizeof(unique));
  return 1;
}

TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_comm_init(const void* id,
                                                        size_t id_bytes,
                                                        int ranks,
                                                        int rank,
                                                        int device,
                                                        void** comm,
                                                        char* why,
                                                        size_t n) {
  using namespace tapeflow::cuda;
  if (id_bytes != sizeof(ncclUniqueId) || device < 0 || device >= kMaxDevices ||
      !g_backends[device]) {
    copy_message(
        tapeflow::detail::str_cat("NCCL: bad id size, or GPU ", device, " has no backend yet"),
        why,
        n);
    return 0;
  }
  ncclUniqueId unique;
  std::memcpy(&unique, id, sizeof(unique));
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) {
    copy_message(tapeflow::detail::str_cat("cudaSetDevice: ", cudaGetErrorString(e)), why, n);
    return 0;
  }
  auto* pc = new ProcessComm{nullptr, device};  // kept for the life of the process
  if (ncclResult_t r = ncclCommInitRank(&pc->comm, ranks, unique, rank); r != ncclSuccess) {
    delete pc;
    return comm_error(r, "ncclCommInitRank", why, n);
  }
  *comm = pc;
  return 1;
}

TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_comm_all_reduce(void* comm,
                                                              int count,
                                                              void* const* buffers,
                                                              const size_t* elements,
                                                              const int* dtypes,
                                                              char* why,
                                                              size_t n) {
  using namespace tapeflow::cuda;
  auto* pc = static_cast<ProcessComm*>(comm);
  cudaStream_t stream = g_backends[pc->device]->stream();
  if (ncclResult_t r = ncclGroupStart(); r != ncclSuccess)
    return comm_error(r, "ncclGroupStart", why, n);
  for (int i = 0; i < count; ++i) {
    ncclDataType_t type;
    if (!nccl_type(dtypes[i], &type)) {
      (void)ncclGroupEnd();
      copy_message("NCCL all-reduce: unsupported dtype", why, n);
      return 0;
    }
    if (ncclResult_t r =
            ncclAllReduce(buffers[i], buffers[i], elements[i], type, ncclSum, pc->comm, stream);
        r != ncclSuccess) {
      (void)ncclGroupEnd();
      return comm_error(r, "ncclAllReduce", why, n);
    }
  }
  if (ncclResult_t r = ncclGroupEnd(); r != ncclSuccess)
    return comm_error(r, "ncclGroupEnd", why, n);
  return 1;
}

TAPEFLOW_CUDA_PLUGIN_EXPORT int tapeflow_cuda_comm_broadcast(
    void* comm, void* buffer, size_t bytes, int root, char* why, size_t n) {
  using namespace tapeflow::cuda;
  auto* pc = static_cast<ProcessComm*>(comm);
  if (ncclResult_t r = ncclBroadcast(
          buffer, buffer, bytes, ncclUint8, root, pc->comm, g_backends[pc->device]->stream());
      r != ncclSuccess)
    return comm_error(r, "ncclBroadcast", why, n);
  return 1;
}
#endif  // TAPEFLOW_HAVE_NCCL
