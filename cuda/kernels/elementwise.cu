// Element-wise kernels on the device: each entry point runs its plan (elementwise.cuh) with the
// grid-stride executor.
#include "elementwise.cuh"
#include "launch.cuh"

namespace tapeflow::cuda {

using kern::DeviceExec;

void add(const detail::KernelArgs& k) { kern::arith(k, kern::AddOp{}, DeviceExec{}); }
void sub(const detail::KernelArgs& k) { kern::arith(k, kern::SubOp{}, DeviceExec{}); }
void mul(const detail::KernelArgs& k) { kern::arith(k, kern::MulOp{}, DeviceExec{}); }
void div(const detail::KernelArgs& k) { kern::arith(k, kern::DivOp{}, DeviceExec{}); }
void pow(const detail::KernelArgs& k) { kern::arith(k, kern::PowOp{}, DeviceExec{}); }
void maximum(const detail::KernelArgs& k) { kern::arith(k, kern::MaximumOp{}, DeviceExec{}); }
void minimum(const detail::KernelArgs& k) { kern::arith(k, kern::MinimumOp{}, DeviceExec{}); }
void equal(const detail::KernelArgs& k) { kern::compare(k, kern::EqualOp{}, DeviceExec{}); }
void not_equal(const detail::KernelArgs& k) { kern::compare(k, kern::NotEqualOp{}, DeviceExec{}); }
void less(const detail::KernelArgs& k) { kern::compare(k, kern::LessOp{}, DeviceExec{}); }
void less_equal(const detail::KernelArgs& k) { kern::compare(k, kern::LessEqualOp{}, DeviceExec{}); }
void greater(const detail::KernelArgs& k) { kern::compare(k, kern::GreaterOp{}, DeviceExec{}); }
void greater_equal(const detail::KernelArgs& k) { kern::compare(k, kern::GreaterEqualOp{}, DeviceExec{}); }
void logical_and(const detail::KernelArgs& k) { kern::logical(k, kern::LogicalAndOp{}, DeviceExec{}); }
void logical_or(const detail::KernelArgs& k) { kern::logical(k, kern::LogicalOrOp{}, DeviceExec{}); }
void select(const detail::KernelArgs& k) { kern::select(k, DeviceExec{}); }

void neg(const detail::KernelArgs& k) { kern::unary_numeric(k, kern::NegOp{}, DeviceExec{}); }
void abs(const detail::KernelArgs& k) { kern::unary_numeric(k, kern::AbsOp{}, DeviceExec{}); }
void sign(const detail::KernelArgs& k) { kern::unary_numeric(k, kern::SignOp{}, DeviceExec{}); }
void square(const detail::KernelArgs& k) { kern::unary_numeric(k, kern::SquareOp{}, DeviceExec{}); }
void relu(const detail::KernelArgs& k) { kern::unary_numeric(k, kern::ReluOp{}, DeviceExec{}); }
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
