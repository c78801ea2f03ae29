#pragma once

// Creation: fill / range, and counter-based random numbers. Element i of a random op depends on
// (seed, counter, i) only, through the same Philox4x32-10 (src/core/philox.hpp) and the same
// mapping as the CPU kernel (src/cpu/data.cpp), with its fused multiply-adds written as fma:
// uniform values are the same bits on CPU and GPU; normal values go through log, sqrt and cos,
// whose last bit may differ between the two math libraries (float32 outputs almost never do).

#include <cmath>

#include "common.cuh"
#include "core/convert.hpp"
#include "core/philox.hpp"

namespace tapeflow::cuda::kern {

template <class T>
struct FillConst {
  T* o;
  T v;
  TF_HD void operator()(int64_t i) const { o[i] = v; }
};
/// out[i] = start + i·delta, rounded once (as the CPU's std::fma).
template <class T>
struct FillRange {
  T* o;
  double start, delta;
  TF_HD void operator()(int64_t i) const {
    o[i] = detail::convert_element<T>(::fma(double(i), delta, start));
  }
};

template <class Exec>
void fill(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::FillAttrs>();
  detail::dispatch_all(k.out().dtype, [&]<class T>() {
    if (a.delta == 0)
      ex.for_each(k.out().size(),
                  FillConst<T>{k.out().as<T>(), detail::convert_element<T>(a.start)});
    else
      ex.for_each(k.out().size(), FillRange<T>{k.out().as<T>(), a.start, a.delta});
  });
}

/// One random value (detail::random_value, the same function the CPU kernel calls).
template <class T>
struct RandomElement {
  T* o;
  detail::RandomKind kind;
  double a, b;
  uint64_t seed, counter;
  TF_HD void operator()(int64_t i) const {
    o[i] = detail::random_value<T>(kind, a, b, seed, counter, uint64_t(i));
  }
};

template <class Exec>
void random(const KernelArgs& k, const Exec& ex) {
  const auto& r = k.attr<detail::RandomAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    ex.for_each(k.out().size(),
                RandomElement<T>{k.out().as<T>(), r.kind, r.a, r.b, r.seed, r.counter});
  });
}

}  // namespace tapeflow::cuda::kern
