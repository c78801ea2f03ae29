#pragma once

#include <cstdint>

#include "tapeflow/dtype.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::detail {

/// Calls f.template operator()<T>() with T the C++ type of `t`.
template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    case DType::int32: return f.template operator()<int32_t>();
    case DType::int64: return f.template operator()<int64_t>();
    case DType::boolean: return f.template operator()<bool>();
  }
  throw InternalError("unknown dtype");
}
template <class F>
decltype(auto) dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    case DType::int32: return f.template operator()<int32_t>();
    case DType::int64: return f.template operator()<int64_t>();
    default: break;
  }
  throw InternalError("kernel called with a non-numeric dtype");
}
template <class F>
decltype(auto) dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    default: break;
  }
  throw InternalError("kernel called with a non-floating dtype");
}

}  // namespace tapeflow::detail
