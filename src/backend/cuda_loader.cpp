// The GPU side of backend_for(): the CUDA backend lives in a plugin, libtapeflow_cuda.so
// (cuda/, built when CMake finds nvcc), opened here with dlopen() on first use. The core never
// links libcuda or libcudart, so one binary runs everywhere; where there is no GPU this file
// records why (built without CUDA, plugin not found or not loadable, no NVIDIA driver, no
// device) and every request for a GPU says so. See docs/gpu.md.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.hpp"
#include "backend/cuda_plugin.hpp"
#include "backend/gpu_comm.hpp"
#include "core/device_context.hpp"
#include "core/fail.hpp"
#include "tapeflow/errors.hpp"

#ifndef TAPEFLOW_CUDA_PLUGIN_BUILT
#define TAPEFLOW_CUDA_PLUGIN_BUILT 0
#endif

namespace tapeflow::detail {
namespace {

constexpr bool kPluginBuilt = TAPEFLOW_CUDA_PLUGIN_BUILT != 0;
constexpr const char* kPluginName = "libtapeflow_cuda.so";

struct CudaPlugin {
  int count = 0;
  std::string why;  // why count is 0
  tapeflow_cuda_backend_fn make_backend = nullptr;
  tapeflow_cuda_all_reduce_fn all_reduce = nullptr;  // optional entry points
  tapeflow_cuda_comm_unique_id_fn comm_unique_id = nullptr;
  tapeflow_cuda_comm_init_fn comm_init = nullptr;
  tapeflow_cuda_comm_all_reduce_fn comm_all_reduce = nullptr;
  tapeflow_cuda_comm_broadcast_fn comm_broadcast = nullptr;
  std::unique_ptr<std::atomic<Backend*>[]> backends;  // one per GPU, created on first use
  std::mutex mu;
};

/// The folder holding this library (libtapeflow.so), where the plugin is installed too.
std::string library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&library_dir), &info) == 0 || !info.dli_fname) return ".";
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

template <class F>
F symbol(void* handle, const char* name) {
  return reinterpret_cast<F>(dlsym(handle, name));
}

void load(CudaPlugin& p) {
  const char* env = std::getenv("TAPEFLOW_CUDA_PLUGIN");
  std::string path;
  if (env && *env) {
    path = env;
  } else if (!kPluginBuilt) {
    p.why =
        "this tapeflow was built without CUDA (TAPEFLOW_CUDA=OFF, or no CUDA compiler or "
        "CUDA kernels at build time)";
    return;
  } else {
    path = library_dir() + "/" + kPluginName;
  }
  if (::access(path.c_str(), F_OK) != 0) {
    p.why = "the CUDA plugin " + path + " was not found" +
            (env && *env ? " (TAPEFLOW_CUDA_PLUGIN)" : " (it is installed next to libtapeflow)");
    return;
  }
  // Without the driver there is nothing to gain from the plugin, and opening it (cuBLAS is
  // large) costs ~0.1 s per process: check for libcuda first, as cudart itself would find it.
  // A plugin named by TAPEFLOW_CUDA_PLUGIN is always opened, so that its own problems show.
  if (!(env && *env) && !dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    const char* err = dlerror();
    p.why = std::string("no NVIDIA driver (libcuda.so.1 could not be opened: ") +
            (err ? err : "unknown error") + ")";
    return;
  }
  // RTLD_LOCAL: the plugin's static cudart and cuBLAS stay out of the global symbol scope.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    p.why = "the CUDA plugin " + path + " could not be loaded: " + (err ? err : "unknown error");
    return;
  }
  auto interface = symbol<tapeflow_cuda_interface_fn>(handle, "tapeflow_cuda_interface");
  auto count = symbol<tapeflow_cuda_device_count_fn>(handle, "tapeflow_cuda_device_count");
  auto make = symbol<tapeflow_cuda_backend_fn>(handle, "tapeflow_cuda_backend");
  if (!interface || !count || !make) {
    p.why = path + " is not a tapeflow CUDA plugin (its entry points are missing)";
    return;  // the handle stays open: harmless, and closing could run foreign destructors
  }
  const char* digest = interface();
  if (!digest || std::strcmp(digest, TAPEFLOW_CUDA_PLUGIN_DIGEST) != 0) {
    p.why = str_cat("the CUDA plugin ",
                    path,
                    " was built for another libtapeflow (interface ",
                    digest ? digest : "?",
                    ", this one has ",
                    TAPEFLOW_CUDA_PLUGIN_DIGEST,
                    "; rebuild or reinstall both)");
    return;
  }
  if (auto set_cpu =
          symbol<tapeflow_cuda_set_cpu_backend_fn>(handle, "tapeflow_cuda_set_cpu_backend"))
    set_cpu(&cpu_backend());
  char why[512] = {0};
  const int n = count(why, sizeof(why));
  if (n <= 0) {
    p.why = why[0] ? why : "no CUDA device";
    return;
  }
  p.count = n;
  p.make_backend = make;
  p.all_reduce = symbol<tapeflow_cuda_all_reduce_fn>(handle, "tapeflow_cuda_all_reduce");
  // The comm entry points come as a set: all four, or none used.
  p.comm_unique_id =
      symbol<tapeflow_cuda_comm_unique_id_fn>(handle, "tapeflow_cuda_comm_unique_id");
  p.comm_init = symbol<tapeflow_cuda_comm_init_fn>(handle, "tapeflow_cuda_comm_init");
  p.comm_all_reduce =
      symbol<tapeflow_cuda_comm_all_reduce_fn>(handle, "tapeflow_cuda_comm_all_reduce");
  p.comm_broadcast =
      symbol<tapeflow_cuda_comm_broadcast_fn>(handle, "tapeflow_cuda_comm_broadcast");
  if (!p.comm_unique_id || !p.comm_init || !p.comm_all_reduce || !p.comm_broadcast)
    p.comm_unique_id = nullptr;
  p.backends = std::make_unique<std::atomic<Backend*>[]>(size_t(n));
}

// Leaked on purpose: tensors destroyed during static destruction still reach their backend.
CudaPlugin& plugin() {
  static CudaPlugin* p = [] {
    auto* q = new CudaPlugin;
    load(*q);
    return q;
  }();
  return *p;
}

Backend& open_backend(CudaPlugin& p, int index) {
  std::lock_guard<std::mutex> lock(p.mu);
  Backend* b = p.backends[size_t(index)].load(std::memory_order_acquire);
  if (b) return *b;
  char why[512] = {0};
  b = static_cast<Backend*>(p.make_backend(index, why, sizeof(why)));
  if (!b)
    throw InternalError(
        str_cat("Could not initialise ", Device{DeviceType::GPU, index}.name(), ": ", why));
  p.backends[size_t(index)].store(b, std::memory_order_release);
  return *b;
}

[[noreturn]] void not_found(Device device) {
  std::string msg = "Device '" + device.name() + "' not found";
  const CudaPlugin& p = plugin();
  if (device.type == DeviceType::GPU && p.count == 0)
    msg += ": no GPU is available, because " + p.why;
  msg += "; available: ";
  auto all = config::list_physical_devices("");
  for (size_t i = 0; i < all.size(); ++i) msg += (i ? ", " : "") + all[i];
  throw InvalidArgumentError(msg);
}

}  // namespace

int gpu_count() { return plugin().count; }

std::string gpu_unavailable_reason() {
  const CudaPlugin& p = plugin();
  return p.count > 0 ? std::string() : p.why;
}

bool gpu_all_reduce_available() { return plugin().all_reduce != nullptr; }

std::string gpu_all_reduce(const std::vector<int>& devices,
                           const std::vector<void*>& buffers,
                           size_t elements,
                           DType dtype) {
  CudaPlugin& p = plugin();
  if (p.count == 0) return "no GPU is available, because " + p.why;
  if (!p.all_reduce) return "the CUDA plugin was built without NCCL";
  char why[512] = {0};
  if (p.all_reduce(int(devices.size()),
                   devices.data(),
                   buffers.data(),
                   elements,
                   int(dtype),
                   why,
                   sizeof(why)) == 1)
    return "";
  return why[0] ? why : "the CUDA plugin's all-reduce failed";
}

bool gpu_comm_available() {
  const CudaPlugin& p = plugin();
  return p.count > 0 && p.comm_unique_id != nullptr;
}

namespace {

/// "" when `ok`, else the plugin's reason (or `fallback` when it gave none).
std::string plugin_result(int ok, const char* why, const char* fallback) {
  if (ok == 1) return "";
  return why[0] ? why : fallback;
}

}  // namespace

std::string gpu_comm_unique_id(std::vector<char>& id) {
  if (!gpu_comm_available()) return "the CUDA plugin has no NCCL communicators across processes";
  char why[512] = {0};
  id.assign(128, 0);  // NCCL_UNIQUE_ID_BYTES
  return plugin_result(plugin().comm_unique_id(id.data(), id.size(), why, sizeof(why)),
                       why,
                       "ncclGetUniqueId failed");
}

std::string gpu_comm_init(
    const std::vector<char>& id, int ranks, int rank, int device, void** comm) {
  if (!gpu_comm_available()) return "the CUDA plugin has no NCCL communicators across processes";
  backend_for(Device{DeviceType::GPU, device});  // the plugin wants the device's backend made
  char why[512] = {0};
  return plugin_result(
      plugin().comm_init(id.data(), id.size(), ranks, rank, device, comm, why, sizeof(why)),
      why,
      "ncclCommInitRank failed");
}

std::string gpu_comm_all_reduce(void* comm,
                                const std::vector<void*>& buffers,
                                const std::vector<size_t>& elements,
                                const std::vector<DType>& dtypes) {
  std::vector<int> types;
  for (DType t : dtypes) types.push_back(int(t));
  char why[512] = {0};
  return plugin_result(plugin().comm_all_reduce(comm,
                                                int(buffers.size()),
                                                buffers.data(),
                                                elements.data(),
                                                types.data(),
                                                why,
                                                sizeof(why)),
                       why,
                       "the NCCL all-reduce failed");
}

std::string gpu_comm_broadcast(void* comm, void* buffer, size_t bytes, int root) {
  char why[512] = {0};
  return plugin_result(plugin().comm_broadcast(comm, buffer, bytes, root, why, sizeof(why)),
                       why,
                       "the NCCL broadcast failed");
}

Backend& backend_for(Device device) {
  if (device.type == DeviceType::CPU && device.index == 0) return cpu_backend();
  if (device.type == DeviceType::GPU && device.index >= 0) {
    CudaPlugin& p = plugin();
    if (device.index < p.count) {
      Backend* b = p.backends[size_t(device.index)].load(std::memory_order_acquire);
      if (b) [[likely]]
        return *b;
      return open_backend(p, device.index);
    }
  }
  not_found(device);
}

}  // namespace tapeflow::detail
