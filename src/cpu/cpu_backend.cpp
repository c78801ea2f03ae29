#include "cpu/cpu_backend.hpp"

#include <cstring>

#include "core/allocator.hpp"

namespace tapeflow::cpu {

void* CpuBackend::allocate(size_t bytes) { return detail::allocate(device(), bytes); }
void CpuBackend::deallocate(void* ptr, size_t bytes) { detail::deallocate(device(), ptr, bytes); }
void CpuBackend::copy_to_host(const void* src, void* dst, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::copy_from_host(const void* src, void* dst, size_t bytes) {
  std::memcpy(dst, src, bytes);
}

}  // namespace tapeflow::cpu

namespace tapeflow::detail {
Backend& cpu_backend() {
  static cpu::CpuBackend backend;
  return backend;
}
}  // namespace tapeflow::detail
