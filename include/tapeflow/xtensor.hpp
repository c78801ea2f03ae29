#pragma once

// Opt-in xtensor interop: the only public header that includes xtensor. Copies in both
// directions (tapeflow owns its buffers, and a tensor may live on a GPU).
#include <vector>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "tapeflow/tensor.hpp"

namespace tapeflow {

/// A tensor (on the current device) holding a copy of `a`; dtype from T.
template <Element T>
Tensor from_xtensor(const xt::xarray<T>& a) {
  std::vector<int64_t> dims(a.shape().begin(), a.shape().end());
  std::vector<T> values(a.begin(), a.end());  // row-major order, whatever a's layout
  return constant(values, Shape(dims));
}

template <Element T>
auto Tensor::to_xarray() const {
  std::vector<T> v = to_vector<T>();
  std::vector<size_t> shape(this->shape().begin(), this->shape().end());
  xt::xarray<T> out = xt::adapt(v, shape);
  return out;
}

}  // namespace tapeflow
