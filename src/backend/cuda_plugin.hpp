#pragma once

// The C entry points of the CUDA plugin (libtapeflow_cuda.so, built from cuda/), which the
// core looks up with dlsym() (src/backend/cuda_loader.cpp). C linkage keeps the names
// unmangled; no exception crosses them: failures come back as a message in `why`.

#include <cstddef>

// Both sides are compiled with TAPEFLOW_CUDA_PLUGIN_DIGEST, a digest of this header,
// src/backend/backend.hpp and src/backend/kernel_list.hpp computed by CMake: a plugin from another
// build (another Backend vtable) is refused instead of called.
#ifndef TAPEFLOW_CUDA_PLUGIN_DIGEST
#define TAPEFLOW_CUDA_PLUGIN_DIGEST "unknown"
#endif

extern "C" {
/// TAPEFLOW_CUDA_PLUGIN_DIGEST as the plugin was compiled.
using tapeflow_cuda_interface_fn = const char* (*)();
/// Usable CUDA devices; 0 with the reason written to `why` (at most `n` bytes, 0-terminated):
/// no driver, no device, or any other CUDA error.
using tapeflow_cuda_device_count_fn = int (*)(char* why, size_t n);
/// Optional: receives the CPU backend (a tapeflow::detail::Backend*) before anything else is
/// called, for plugins that run some work on the host (a CPU fallback, or the test double
/// test/gpu/fake_gpu_plugin.cpp).
using tapeflow_cuda_set_cpu_backend_fn = void (*)(void* cpu_backend);
/// The backend of device `index` (a tapeflow::detail::Backend*, created on first call and never
/// destroyed), or nullptr with the reason in `why` (e.g. the stream or context failed).
using tapeflow_cuda_backend_fn = void* (*)(int index, char* why, size_t n);
/// Optional, exported only by a plugin built with NCCL: sums `count` device buffers of `elements`
/// elements of `dtype` (a tapeflow::DType value) in place, buffer i on GPU devices[i] (distinct
/// devices, each one's backend already created), as one NCCL all-reduce ordered on each device's
/// stream. 1 on success; 0 with the reason in `why` (an unsupported dtype, an NCCL error).
using tapeflow_cuda_all_reduce_fn = int (*)(int count,
                                            const int* devices,
                                            void* const* buffers,
                                            size_t elements,
                                            int dtype,
                                            char* why,
                                            size_t n);
}
