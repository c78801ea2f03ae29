#pragma once

// The contract between the CUDA backend class (cuda/backend.cu: device selection, streams,
// allocator, copies) and the kernels (cuda/kernels/*.cu). Every kernel of the backend seam
// (src/backend/kernel_list.hpp) is one free function here with the same name and meaning as the
// CPU backend's. The caller has made the tensor's device current (cudaSetDevice) and validated
// shapes/dtypes; kernels launch asynchronously on current_stream() and never synchronize.
// No xtensor here, and nothing here is public.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

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
// One free function per kernel of the list (src/backend/kernel_list.hpp).
#define TAPEFLOW_CUDA_KERNEL(name, ...) void name(const detail::KernelArgs& k);
TAPEFLOW_BACKEND_KERNELS(TAPEFLOW_CUDA_KERNEL)
#undef TAPEFLOW_CUDA_KERNEL

}  // namespace tapeflow::cuda
