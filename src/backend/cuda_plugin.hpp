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

// Optional, exported only by a plugin built with NCCL: a communicator across processes, one GPU
// per process, for MultiWorkerMirroredStrategy. It is bootstrapped over the processes' own group
// (MPI), as Horovod does: one rank makes the unique id, the host broadcasts it, and every rank
// joins with it. Each returns 1 on success, or 0 with the reason in `why`.

/// NCCL's unique id of a new communicator (ncclGetUniqueId): `id_bytes` (128) bytes into `id`.
using tapeflow_cuda_comm_unique_id_fn = int (*)(void* id, size_t id_bytes, char* why, size_t n);
/// Joins this process, as rank `rank` of `ranks`, to the communicator named by `id`, on GPU
/// `device` (whose backend exists already): ncclCommInitRank, which returns once every rank has
/// joined. The handle goes to `*comm`; it lives as long as the process.
using tapeflow_cuda_comm_init_fn = int (*)(const void* id,
                                           size_t id_bytes,
                                           int ranks,
                                           int rank,
                                           int device,
                                           void** comm,
                                           char* why,
                                           size_t n);
/// Sums `count` buffers in place over the communicator's ranks: buffer i, on the communicator's
/// GPU, holds elements[i] elements of dtypes[i] (tapeflow::DType values). One NCCL group, queued
/// on the GPU's stream after the kernels that wrote the buffers; nothing waits for the GPU.
using tapeflow_cuda_comm_all_reduce_fn = int (*)(void* comm,
                                                 int count,
                                                 void* const* buffers,
                                                 const size_t* elements,
                                                 const int* dtypes,
                                                 char* why,
                                                 size_t n);
/// Rank `root`'s `bytes` at `buffer` into every rank's `buffer` (ncclBroadcast in place), queued
/// on the GPU's stream.
using tapeflow_cuda_comm_broadcast_fn =
    int (*)(void* comm, void* buffer, size_t bytes, int root, char* why, size_t n);
}
