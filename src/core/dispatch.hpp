#pragma once

#include <cstdint>

#include "tapeflow/dtype.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::detail {

/// Calls f.template operator()<T>() with T the C++ type of `t`.
template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    case DType::int32:
      return f.template operator()<int32_t>();
    case DType::int64:
      return f.template operator()<int64_t>();
    case DType::boolean:
      return f.template operator()<bool>();
  }
  throw InternalError("unknown dtype");
}
template <class F>
decltype(auto) dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    case DType::int32:
      return f.template operator()<int32_t>();
    case DType::int64:
      return f.template operator()<int64_t>();
    default:
      break;
  }
  throw InternalError("kernel called with a non-numeric dtype");
}
template <class F>
decltype(auto) dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::float32:
      return f.template operator()<float>();
    case DType::float64:
      return f.template operator()<double>();
    default:
      break;
  }
  throw InternalError("kernel called with a non-floating dtype");
}

/// Calls f.template operator()<I>() with I the index type of `t` (int32 or int64), for gather
/// and scatter indices.
template <class F>
void dispatch_index(DType t, F&& f) {
  if (t == DType::int32)
    f.template operator()<int32_t>();
  else
    f.template operator()<int64_t>();
}
/// Calls f.template operator()<E>() with E a raw unsigned type of `size` bytes (1, 4 or 8), for
/// kernels that only move elements.
template <class F>
void dispatch_size(int size, F&& f) {
  switch (size) {
    case 1:
      f.template operator()<uint8_t>();
      return;
    case 4:
      f.template operator()<uint32_t>();
      return;
    case 8:
      f.template operator()<uint64_t>();
      return;
    default:
      break;
  }
  throw InternalError("unsupported element size");
}

}  // namespace tapeflow::detail
