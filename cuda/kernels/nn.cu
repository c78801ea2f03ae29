// Sliding-window kernels on the device: im2col / col2im and the pools (nn.cuh), one thread per
// element written, no atomics.
#include "launch.cuh"
#include "nn.cuh"

namespace tapeflow::cuda {

void im2col(const detail::KernelArgs& k) { kern::im2col(k, kern::DeviceExec{}); }
void col2im(const detail::KernelArgs& k) { kern::col2im(k, kern::DeviceExec{}); }
void max_pool2d(const detail::KernelArgs& k) { kern::max_pool2d(k, kern::DeviceExec{}); }
void max_pool2d_grad(const detail::KernelArgs& k) { kern::max_pool2d_grad(k, kern::DeviceExec{}); }
void max_pool2d_grad_grad(const detail::KernelArgs& k) {
  kern::max_pool2d_grad_grad(k, kern::DeviceExec{});
}
void avg_pool2d(const detail::KernelArgs& k) { kern::avg_pool2d(k, kern::DeviceExec{}); }
void avg_pool2d_grad(const detail::KernelArgs& k) { kern::avg_pool2d_grad(k, kern::DeviceExec{}); }

}  // namespace tapeflow::cuda
