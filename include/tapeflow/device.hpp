#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapeflow/export.hpp"

namespace tapeflow {

enum class DeviceType : uint8_t { CPU, GPU };

/// A device: its type and ordinal. Printed by its full TensorFlow name
/// `/job:localhost/replica:0/task:0/device:CPU:0`.
struct TAPEFLOW_API Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  std::string name() const;
  /// Parses "/cpu:0", "/GPU:0", "/device:GPU:0", "gpu:0" or a full name; throws
  /// InvalidArgumentError for anything else. Does not check that the device exists.
  static Device parse(const std::string& spec);
  friend bool operator==(const Device&, const Device&) = default;
};

/// Places ops run on this thread on `device` while alive (TensorFlow's `with tf.device(...)`).
class TAPEFLOW_API DeviceScope {
 public:
  explicit DeviceScope(const std::string& device);
  explicit DeviceScope(Device device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
};

namespace config {
/// Full names of the devices of `type` ("CPU" or "GPU") that this process can use.
TAPEFLOW_API std::vector<std::string> list_physical_devices(const std::string& type);
/// True when the library was built with CUDA and a usable GPU is present.
TAPEFLOW_API bool gpu_available();
/// Why gpu_available() is false (built without CUDA, CUDA plugin missing, no NVIDIA driver, no
/// CUDA device); empty when a GPU is available.
TAPEFLOW_API std::string gpu_unavailable_reason();
/// The device ops run on outside any DeviceScope: TAPEFLOW_DEVICE if set ("cpu", "gpu",
/// "/gpu:1", ...; InvalidArgumentError if that device is absent), else GPU:0 when available,
/// else CPU:0.
TAPEFLOW_API Device default_device();
/// Threads for CPU kernels (as tf.config.threading): tapeflow's pool runs the element-wise
/// kernels and splits each large matmul into single-threaded OpenBLAS calls (tapeflow sets
/// OpenBLAS itself to one thread, so its spinning workers never compete with the pool). Call before
/// the first large op; afterwards the pool's size is fixed and this throws RuntimeError. Default:
/// TAPEFLOW_NUM_THREADS, else the number of CPUs.
TAPEFLOW_API void set_num_threads(int n);
/// The CPU thread count in use (or that will be used).
TAPEFLOW_API int num_threads();
/// OpenBLAS picks its kernels when it is loaded, before any tapeflow code runs. On VMs that hide
/// the CPU model it can fall back to pre-AVX2 ones ("Prescott"), which makes matmul several
/// times slower. When that happened and OPENBLAS_CORETYPE is unset, this returns the value to
/// set it to before the program starts ("SkylakeX" on AVX-512 CPUs, "Haswell" on AVX2 ones);
/// otherwise "". tapeflow also says so once on stderr when its CPU thread pool starts.
TAPEFLOW_API std::string openblas_coretype_hint();
/// The largest tensor, in bytes, that one op may allocate on any device. A larger request is
/// refused at once with ResourceExhaustedError, before any memory is touched, so an absurd size
/// (a lying file header, a shape computed wrong) never thrashes the machine. Default: this
/// machine's physical memory for CPU tensors; GPU tensors are then bounded by the GPU's own
/// allocator (which also throws ResourceExhaustedError). `bytes = 0` restores the default.
/// Thread-safe.
TAPEFLOW_API void set_allocation_limit(uint64_t bytes);
/// The limit in force for CPU tensors (see set_allocation_limit).
TAPEFLOW_API uint64_t allocation_limit();
}  // namespace config

}  // namespace tapeflow
