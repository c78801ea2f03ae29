#pragma once

// One element converted to another dtype, defined for every input, on both backends (cast,
// the fill kernels, constant(values, dtype)). C++'s static_cast from a floating value to an
// integer type is undefined behaviour for NaN and for values outside the type's range; here
// such a conversion truncates toward zero and saturates at the type's limits, and NaN gives 0
// (as CUDA's conversion instructions do). bool is x != 0.

#include <limits>
#include <type_traits>

#include "core/host_device.hpp"

namespace tapeflow::detail {

template <class D, class S>
TAPEFLOW_HD D convert_element(S x) {
  if constexpr (std::is_same_v<D, bool>) {
    return x != S(0);
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    // 2^(bits-1) is exact in float and double: values >= it, or below its negative, are out.
    constexpr S bound = S(std::numeric_limits<D>::max() / 2 + 1) * S(2);
    if (x != x) return D(0);
    if (x >= bound) return std::numeric_limits<D>::max();
    if (x < -bound) return std::numeric_limits<D>::min();
    return static_cast<D>(x);
  } else {
    return static_cast<D>(x);
  }
}

}  // namespace tapeflow::detail
