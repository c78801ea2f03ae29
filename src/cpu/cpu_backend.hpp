#pragma once

#include "backend/backend.hpp"

namespace tapeflow::cpu {

using detail::KernelArgs;

/// The CPU backend: xtensor views over our buffers for element-wise math (xsimd-vectorised),
/// hand-written multi-accumulator reductions, OpenBLAS for matmul.
class CpuBackend final : public detail::Backend {
 public:
  Device device() const override { return {DeviceType::CPU, 0}; }
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_to_host(const void* src, void* host_dst, size_t bytes) override;
  void copy_from_host(const void* host_src, void* dst, size_t bytes) override;

#define TAPEFLOW_CPU_KERNEL(name, ...) void name(const KernelArgs& k) override;
  TAPEFLOW_BACKEND_KERNELS(TAPEFLOW_CPU_KERNEL)
#undef TAPEFLOW_CPU_KERNEL
};

}  // namespace tapeflow::cpu
