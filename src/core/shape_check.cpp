#include "core/shape_check.hpp"

#include <unistd.h>

#include <atomic>
#include <limits>

#include "core/fail.hpp"

namespace tapeflow {

namespace {
std::atomic<uint64_t> g_allocation_limit{0};  // 0: the default
}  // namespace
namespace detail {
namespace {

uint64_t physical_memory() {
  static const uint64_t bytes = [] {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return uint64_t(1) << 40;  // unknown: 1 TiB
    return uint64_t(pages) * uint64_t(page);
  }();
  return bytes;
}
}  // namespace
}  // namespace detail

void config::set_allocation_limit(uint64_t bytes) { g_allocation_limit = bytes; }

uint64_t config::allocation_limit() {
  const uint64_t l = g_allocation_limit.load(std::memory_order_relaxed);
  return l ? l : detail::physical_memory();
}

namespace detail {

int64_t checked_num_elements(const char* op, const Shape& s) {
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : s) {
    if (d < 0) fail<InvalidArgumentError>(op, "Dimension ", d, " must be >= 0 in shape ", s);
    empty = empty || d == 0;
  }
  if (empty) return 0;  // (2^40, 2^40, 0) is empty, whatever order the product is taken in
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n))
      fail<InvalidArgumentError>(op, "Shape ", s, " would have more than 2**63 - 1 elements");
  return n;
}

int64_t checked_add(const char* op, int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    fail<InvalidArgumentError>(op, what, " overflows int64: ", a, " + ", b);
  return r;
}

int64_t checked_mul(const char* op, int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    fail<InvalidArgumentError>(op, what, " overflows int64: ", a, " * ", b);
  return r;
}

void check_allocation(const char* op, const Shape& s, DType dtype, Device device, uint64_t bytes) {
  // A GPU's own allocator knows its memory (and refuses with its own OOM error); only a limit
  // set by the program applies there. On the host, physical memory is the default.
  uint64_t limit = g_allocation_limit.load(std::memory_order_relaxed);
  if (limit == 0)
    limit =
        device.type == DeviceType::CPU ? physical_memory() : std::numeric_limits<uint64_t>::max();
  if (bytes > limit)
    fail<ResourceExhaustedError>(op,
                                 "OOM when allocating tensor with shape ",
                                 s,
                                 " and type ",
                                 dtype_name(dtype),
                                 " on ",
                                 device.name(),
                                 ": ",
                                 bytes,
                                 " bytes is more than the allocation limit of ",
                                 limit,
                                 " bytes (tf::config::set_allocation_limit)");
}

int64_t check_output(const char* op, const Shape& s, DType dtype, Device device) {
  const int64_t n = checked_num_elements(op, s);
  uint64_t bytes;
  if (__builtin_mul_overflow(uint64_t(n), uint64_t(dtype_size(dtype)), &bytes))
    bytes = std::numeric_limits<uint64_t>::max();
  check_allocation(op, s, dtype, device, bytes);
  return n;
}

}  // namespace detail
}  // namespace tapeflow
