#pragma once

#include <cstddef>

#include "tapeflow/device.hpp"

namespace tapeflow::detail {

/// Device memory from a caching allocator: freed blocks are kept by size and reused, so a
/// training loop stops paying page faults after its first step.
void* allocate(Device device, size_t bytes);
void deallocate(Device device, void* ptr, size_t bytes);
/// Small fixed-size blocks for tensor handles (see ImplPoolAllocator).
void* pool_get(size_t bytes);
void pool_put(void* p, size_t bytes);

}  // namespace tapeflow::detail
