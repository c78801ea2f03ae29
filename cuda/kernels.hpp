#pragma once

// The contract between the CUDA backend class (cuda/backend.cu: device selection, streams,
// allocator, copies) and the kernels (cuda/kernels/*.cu). Every kernel of the backend seam
// (src/backend/backend.hpp) is one free function here with the same name and meaning as the
// CPU backend's. The caller has made the tensor's device current (cudaSetDevice) and validated
// shapes/dtypes; kernels launch asynchronously on current_stream() and never synchronize.
// No xtensor here, and nothing here is public.

#include <cstddef>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend/backend.hpp"

namespace tapeflow::cuda {

// ---- provided by the backend class ----------------------------------------------------------
/// The stream every kernel of the current device launches on.
cudaStream_t current_stream();
/// A cuBLAS handle for the current device, bound to current_stream().
cublasHandle_t cublas_handle();
/// Temporary device memory from the caching allocator (stream-ordered on current_stream()).
void* device_alloc(size_t bytes);
void device_free(void* ptr, size_t bytes);
/// Throws tapeflow::InternalError naming `what` when `status` is an error.
void check(cudaError_t status, const char* what);
void check(cublasStatus_t status, const char* what);

// ---- provided by the kernels -----------------------------------------------------------------
void add(const detail::KernelArgs& k);
void sub(const detail::KernelArgs& k);
void mul(const detail::KernelArgs& k);
void div(const detail::KernelArgs& k);
void pow(const detail::KernelArgs& k);
void maximum(const detail::KernelArgs& k);
void minimum(const detail::KernelArgs& k);
void equal(const detail::KernelArgs& k);
void not_equal(const detail::KernelArgs& k);
void less(const detail::KernelArgs& k);
void less_equal(const detail::KernelArgs& k);
void greater(const detail::KernelArgs& k);
void greater_equal(const detail::KernelArgs& k);
void logical_and(const detail::KernelArgs& k);
void logical_or(const detail::KernelArgs& k);
void select(const detail::KernelArgs& k);
void neg(const detail::KernelArgs& k);
void exp(const detail::KernelArgs& k);
void log(const detail::KernelArgs& k);
void log1p(const detail::KernelArgs& k);
void sqrt(const detail::KernelArgs& k);
void rsqrt(const detail::KernelArgs& k);
void abs(const detail::KernelArgs& k);
void sign(const detail::KernelArgs& k);
void sin(const detail::KernelArgs& k);
void cos(const detail::KernelArgs& k);
void tanh(const detail::KernelArgs& k);
void sigmoid(const detail::KernelArgs& k);
void floor(const detail::KernelArgs& k);
void relu(const detail::KernelArgs& k);
void relu_grad(const detail::KernelArgs& k);
void square(const detail::KernelArgs& k);
void erf(const detail::KernelArgs& k);
void logical_not(const detail::KernelArgs& k);
void cast(const detail::KernelArgs& k);
void reduce_sum(const detail::KernelArgs& k);
void reduce_max(const detail::KernelArgs& k);
void reduce_min(const detail::KernelArgs& k);
void reduce_prod(const detail::KernelArgs& k);
void argmax(const detail::KernelArgs& k);
void argmin(const detail::KernelArgs& k);
void matmul(const detail::KernelArgs& k);
void strided_copy(const detail::KernelArgs& k);
void pad(const detail::KernelArgs& k);
void concat(const detail::KernelArgs& k);
void gather(const detail::KernelArgs& k);
void scatter_add(const detail::KernelArgs& k);
void fill(const detail::KernelArgs& k);
void random(const detail::KernelArgs& k);
void im2col(const detail::KernelArgs& k);
void col2im(const detail::KernelArgs& k);
void max_pool2d(const detail::KernelArgs& k);
void max_pool2d_grad(const detail::KernelArgs& k);
void max_pool2d_grad_grad(const detail::KernelArgs& k);
void avg_pool2d(const detail::KernelArgs& k);
void avg_pool2d_grad(const detail::KernelArgs& k);
void apply_adam(const detail::KernelArgs& k);

}  // namespace tapeflow::cuda
