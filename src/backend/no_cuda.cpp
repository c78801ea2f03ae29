// Built when CUDA is off: no GPU exists, and asking for one says why.
#include <string>

#include "backend/backend.hpp"
#include "core/device_context.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::detail {

int gpu_count() { return 0; }

Backend& backend_for(Device device) {
  if (device.type == DeviceType::CPU && device.index == 0) return cpu_backend();
  throw InvalidArgumentError("Device '" + device.name() +
                             "' not found: this tapeflow was built without CUDA; available: " +
                             Device{DeviceType::CPU, 0}.name());
}

}  // namespace tapeflow::detail
