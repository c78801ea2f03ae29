#pragma once

// The checks every op's sizes go through before anything is allocated or any kernel runs
// (issue #10): dims >= 0, element counts and byte sizes that fit their integer types, offsets
// that stay inside a dimension, and the allocation limit. run_op applies check_output() to
// every op's result, so a new op gets them without code of its own; front ends call the
// finer-grained ones where their own arithmetic on sizes could overflow.

#include <cstdint>

#include "tapeflow/device.hpp"
#include "tapeflow/dtype.hpp"
#include "tapeflow/shape.hpp"

namespace tapeflow::detail {

/// The element count of `s` after checking that every dim is >= 0 and that the count fits in
/// int64; else InvalidArgumentError naming `op` and the shape.
int64_t checked_num_elements(const char* op, const Shape& s);

/// a + b and a * b for sizes known to be >= 0, or InvalidArgumentError naming `op` and `what`
/// when the result does not fit in int64.
int64_t checked_add(const char* op, int64_t a, int64_t b, const char* what);
int64_t checked_mul(const char* op, int64_t a, int64_t b, const char* what);

/// a * b for two factors of a tensor's dims (kernel attrs such as outer/reduce/inner), taken
/// modulo 2^64. A product of dims of a tensor with elements is exact; only a tensor with no
/// elements can have a partial product past int64 (say (0, 2^40, 2^40)), and then either the
/// product includes the 0, or the op's output is empty and its kernel never runs. Signed `*=`
/// would be undefined behaviour there.
inline int64_t mul_dims(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }

/// True when [begin, begin + size) lies in [0, dim), computed without overflow.
inline bool range_fits(int64_t begin, int64_t size, int64_t dim) {
  return begin >= 0 && size >= 0 && begin <= dim && size <= dim - begin;
}

/// ResourceExhaustedError when `bytes` is over config::allocation_limit(), naming the op, the
/// shape, the dtype and the device (TensorFlow's "OOM when allocating tensor with shape...").
void check_allocation(const char* op, const Shape& s, DType dtype, Device device, uint64_t bytes);

/// checked_num_elements, then the byte size (overflow-checked) against the allocation limit.
/// Returns the element count.
int64_t check_output(const char* op, const Shape& s, DType dtype, Device device);

}  // namespace tapeflow::detail
