#pragma once

// The device executor: a grid-stride launch of a functor on current_stream(). Included by the
// kernel files only (it needs the backend class's stream and error check).

#include <algorithm>
#include <cstdint>

#include "../kernels.hpp"
#include "common.cuh"

namespace tapeflow::cuda::kern {

inline constexpr int kThreads = 256;

template <class F>
__global__ void __launch_bounds__(kThreads) for_each_kernel(int64_t n, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

/// Blocks for n items: one item per thread up to a cap; past it the grid strides.
inline unsigned blocks_for(int64_t n) {
  return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t(1) << 16));
}

struct DeviceExec {
  template <class F>
  void for_each(int64_t n, const F& f) const {
    if (n <= 0) return;
    for_each_kernel<F><<<blocks_for(n), kThreads, 0, current_stream()>>>(n, f);
    check(cudaGetLastError(), "kernel launch");
  }
};

}  // namespace tapeflow::cuda::kern
