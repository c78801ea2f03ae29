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

  void add(const KernelArgs& k) override;
  void sub(const KernelArgs& k) override;
  void mul(const KernelArgs& k) override;
  void div(const KernelArgs& k) override;
  void pow(const KernelArgs& k) override;
  void maximum(const KernelArgs& k) override;
  void minimum(const KernelArgs& k) override;
  void equal(const KernelArgs& k) override;
  void not_equal(const KernelArgs& k) override;
  void less(const KernelArgs& k) override;
  void less_equal(const KernelArgs& k) override;
  void greater(const KernelArgs& k) override;
  void greater_equal(const KernelArgs& k) override;
  void logical_and(const KernelArgs& k) override;
  void logical_or(const KernelArgs& k) override;
  void select(const KernelArgs& k) override;

  void neg(const KernelArgs& k) override;
  void exp(const KernelArgs& k) override;
  void log(const KernelArgs& k) override;
  void log1p(const KernelArgs& k) override;
  void sqrt(const KernelArgs& k) override;
  void rsqrt(const KernelArgs& k) override;
  void abs(const KernelArgs& k) override;
  void sign(const KernelArgs& k) override;
  void sin(const KernelArgs& k) override;
  void cos(const KernelArgs& k) override;
  void tanh(const KernelArgs& k) override;
  void sigmoid(const KernelArgs& k) override;
  void floor(const KernelArgs& k) override;
  void relu(const KernelArgs& k) override;
  void relu_grad(const KernelArgs& k) override;
  void square(const KernelArgs& k) override;
  void erf(const KernelArgs& k) override;
  void logical_not(const KernelArgs& k) override;
  void cast(const KernelArgs& k) override;

  void reduce_sum(const KernelArgs& k) override;
  void reduce_max(const KernelArgs& k) override;
  void reduce_min(const KernelArgs& k) override;
  void reduce_prod(const KernelArgs& k) override;
  void argmax(const KernelArgs& k) override;
  void argmin(const KernelArgs& k) override;

  void matmul(const KernelArgs& k) override;

  void strided_copy(const KernelArgs& k) override;
  void pad(const KernelArgs& k) override;
  void concat(const KernelArgs& k) override;
  void gather(const KernelArgs& k) override;
  void scatter_add(const KernelArgs& k) override;

  void fill(const KernelArgs& k) override;
  void random(const KernelArgs& k) override;

  void im2col(const KernelArgs& k) override;
  void col2im(const KernelArgs& k) override;
  void max_pool2d(const KernelArgs& k) override;
  void max_pool2d_grad(const KernelArgs& k) override;
  void max_pool2d_grad_grad(const KernelArgs& k) override;
  void avg_pool2d(const KernelArgs& k) override;
  void avg_pool2d_grad(const KernelArgs& k) override;
  void apply_adam(const KernelArgs& k) override;
};

}  // namespace tapeflow::cpu
