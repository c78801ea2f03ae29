// Element-wise kernels on the device: each entry point runs its plan (elementwise.cuh) with the
// grid-stride executor.
#include "elementwise.cuh"
#include "launch.cuh"

namespace tapeflow::cuda {

using kern::DeviceExec;

void add(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Add{}, DeviceExec{}); }
void sub(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Sub{}, DeviceExec{}); }
void mul(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Mul{}, DeviceExec{}); }
void div(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Div{}, DeviceExec{}); }
void pow(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Pow{}, DeviceExec{}); }
void maximum(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Maximum{}, DeviceExec{}); }
void minimum(const detail::KernelArgs& k) { kern::arith(k, kern::ops::Minimum{}, DeviceExec{}); }
void equal(const detail::KernelArgs& k) { kern::compare(k, kern::ops::Equal{}, DeviceExec{}); }
void not_equal(const detail::KernelArgs& k) {
  kern::compare(k, kern::ops::NotEqual{}, DeviceExec{});
}
void less(const detail::KernelArgs& k) { kern::compare(k, kern::ops::Less{}, DeviceExec{}); }
void less_equal(const detail::KernelArgs& k) {
  kern::compare(k, kern::ops::LessEqual{}, DeviceExec{});
}
void greater(const detail::KernelArgs& k) { kern::compare(k, kern::ops::Greater{}, DeviceExec{}); }
void greater_equal(const detail::KernelArgs& k) {
  kern::compare(k, kern::ops::GreaterEqual{}, DeviceExec{});
}
void logical_and(const detail::KernelArgs& k) {
  kern::logical(k, kern::ops::LogicalAnd{}, DeviceExec{});
}
void logical_or(const detail::KernelArgs& k) {
  kern::logical(k, kern::ops::LogicalOr{}, DeviceExec{});
}
void select(const detail::KernelArgs& k) { kern::select(k, DeviceExec{}); }

// The binary kernels whose per-element function both backends share (kernel_list.hpp).
#define TAPEFLOW_CUDA_SHARED_BINARY(name, Functor, dtypes)        \
  void name(const detail::KernelArgs& k) {                        \
    kern::binary_##dtypes(k, kern::ops::Functor{}, DeviceExec{}); \
  }
TAPEFLOW_SHARED_BINARY_KERNELS(TAPEFLOW_CUDA_SHARED_BINARY)
#undef TAPEFLOW_CUDA_SHARED_BINARY

// The unary kernels whose per-element function both backends share (kernel_list.hpp).
#define TAPEFLOW_CUDA_SHARED_UNARY(name, Functor, dtypes)        \
  void name(const detail::KernelArgs& k) {                       \
    kern::unary_##dtypes(k, kern::ops::Functor{}, DeviceExec{}); \
  }
TAPEFLOW_SHARED_UNARY_KERNELS(TAPEFLOW_CUDA_SHARED_UNARY)
#undef TAPEFLOW_CUDA_SHARED_UNARY

void relu_grad(const detail::KernelArgs& k) { kern::relu_grad(k, DeviceExec{}); }
void exp(const detail::KernelArgs& k) { kern::unary_float(k, kern::ExpOp{}, DeviceExec{}); }
void log(const detail::KernelArgs& k) { kern::unary_float(k, kern::LogOp{}, DeviceExec{}); }
void log1p(const detail::KernelArgs& k) { kern::unary_float(k, kern::Log1pOp{}, DeviceExec{}); }
void sqrt(const detail::KernelArgs& k) { kern::unary_float(k, kern::SqrtOp{}, DeviceExec{}); }
void rsqrt(const detail::KernelArgs& k) { kern::unary_float(k, kern::RsqrtOp{}, DeviceExec{}); }
void sin(const detail::KernelArgs& k) { kern::unary_float(k, kern::SinOp{}, DeviceExec{}); }
void cos(const detail::KernelArgs& k) { kern::unary_float(k, kern::CosOp{}, DeviceExec{}); }
void tanh(const detail::KernelArgs& k) { kern::unary_float(k, kern::TanhOp{}, DeviceExec{}); }
void sigmoid(const detail::KernelArgs& k) { kern::unary_float(k, kern::SigmoidOp{}, DeviceExec{}); }
void floor(const detail::KernelArgs& k) { kern::unary_float(k, kern::FloorOp{}, DeviceExec{}); }
void erf(const detail::KernelArgs& k) { kern::unary_float(k, kern::ErfOp{}, DeviceExec{}); }
void logical_not(const detail::KernelArgs& k) { kern::logical_not(k, DeviceExec{}); }
void cast(const detail::KernelArgs& k) { kern::cast(k, DeviceExec{}); }

}  // namespace tapeflow::cuda
