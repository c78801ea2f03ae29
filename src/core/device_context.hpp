#pragma once

#include <string>
#include <vector>

#include "tapeflow/device.hpp"
#include "tapeflow/dtype.hpp"

namespace tapeflow::detail {

/// The device ops on this thread run on: the innermost DeviceScope, else the default.
Device current_device();
/// Number of usable GPUs (0 when built without CUDA or no driver/device).
int gpu_count();
/// Why gpu_count() is 0 ("" when it is not): src/backend/cuda_loader.cpp.
std::string gpu_unavailable_reason();
/// Whether the CUDA plugin has an all-reduce across GPUs (it was built with NCCL).
bool gpu_all_reduce_available();
/// Sums `buffers` (buffer i on GPU devices[i], `elements` of `dtype` each) in place across the
/// GPUs through the CUDA plugin's NCCL all-reduce. "" on success, else why it failed.
std::string gpu_all_reduce(const std::vector<int>& devices,
                           const std::vector<void*>& buffers,
                           size_t elements,
                           DType dtype);

}  // namespace tapeflow::detail
