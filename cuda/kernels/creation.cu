// Creation kernels on the device: fill / range and Philox random numbers (creation.cuh).
#include "creation.cuh"
#include "launch.cuh"

namespace tapeflow::cuda {

void fill(const detail::KernelArgs& k) { kern::fill(k, kern::DeviceExec{}); }
void random(const detail::KernelArgs& k) { kern::random(k, kern::DeviceExec{}); }

}  // namespace tapeflow::cuda
