#pragma once

#include <string>

#include "tapeflow/device.hpp"

namespace tapeflow::detail {

/// The device ops on this thread run on: the innermost DeviceScope, else the default.
Device current_device();
/// Number of usable GPUs (0 when built without CUDA or no driver/device).
int gpu_count();
/// Why gpu_count() is 0 ("" when it is not): src/backend/cuda_loader.cpp.
std::string gpu_unavailable_reason();

}  // namespace tapeflow::detail
