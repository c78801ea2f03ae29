#pragma once

#include "tapeflow/device.hpp"

namespace tapeflow::detail {

/// The device ops on this thread run on: the innermost DeviceScope, else the default.
Device current_device();
/// Number of usable GPUs (0 when built without CUDA or no driver/device).
int gpu_count();

}  // namespace tapeflow::detail
