#pragma once

// The C entry points of the CUDA plugin (libtapeflow_cuda.so, built from cuda/), which the
// core looks up with dlsym() (src/backend/cuda_loader.cpp). C linkage keeps the names
// unmangled; no exception crosses them: failures come back as a message in `why`.

#include <cstddef>

/// Bumped whenever these signatures or the Backend interface change, so that a stale plugin
/// next to a newer core is refused instead of called through a mismatched vtable.
#define TAPEFLOW_CUDA_PLUGIN_ABI 1

extern "C" {
/// TAPEFLOW_CUDA_PLUGIN_ABI as the plugin was compiled.
using tapeflow_cuda_abi_fn = int (*)();
/// Usable CUDA devices; 0 with the reason written to `why` (at most `n` bytes, 0-terminated):
/// no driver, no device, or any other CUDA error.
using tapeflow_cuda_device_count_fn = int (*)(char* why, size_t n);
/// The backend of device `index` (a tapeflow::detail::Backend*, created on first call and never
/// destroyed), or nullptr with the reason in `why` (e.g. the stream or context failed).
using tapeflow_cuda_backend_fn = void* (*)(int index, char* why, size_t n);
}
