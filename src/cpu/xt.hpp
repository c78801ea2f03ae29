#pragma once

// The one internal include of xtensor: views over tapeflow-owned buffers.
#include <array>
#include <cstddef>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "backend/backend.hpp"

namespace tapeflow::cpu {

/// A 1-d xtensor view of n elements at p (no copy).
template <class T>
auto range_view(T* p, int64_t n) {
  return xt::adapt(p, size_t(n), xt::no_ownership(), std::array<size_t, 1>{size_t(n)});
}

}  // namespace tapeflow::cpu
