#pragma once

// Creation: fill / range, and counter-based random numbers. Element i of a random op depends on
// (seed, counter, i) only, through the same Philox4x32-10 (src/core/philox.hpp) and the same
// mapping as the CPU kernel (src/cpu/data.cpp), with its fused multiply-adds written as fma:
// uniform values are the same bits on CPU and GPU; normal values go through log, sqrt and cos,
// whose last bit may differ between the two math libraries (float32 outputs almost never do).

#include <cmath>

#include "core/philox.hpp"
#include "common.cuh"

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
  TF_HD void operator()(int64_t i) const { o[i] = static_cast<T>(::fma(double(i), delta, start)); }
};

template <class Exec>
void fill(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::FillAttrs>();
  detail::dispatch_all(k.out().dtype, [&]<class T>() {
    if (a.delta == 0) ex.for_each(k.out().size(), FillConst<T>{k.out().as<T>(), static_cast<T>(a.start)});
    else ex.for_each(k.out().size(), FillRange<T>{k.out().as<T>(), a.start, a.delta});
  });
}

/// One random value: the CPU's loop of attempts (uniform: retry the rare value rounded up to
/// maxval, at most 8 times; truncated normal: redraw beyond two standard deviations).
template <class T>
struct RandomElement {
  T* o;
  detail::RandomKind kind;
  double a, b;
  uint64_t seed, counter;
  TF_HD void operator()(int64_t i) const {
    for (uint32_t attempt = 0;; ++attempt) {
      const detail::Philox4 w = detail::random_words(seed, counter, uint64_t(i), attempt);
      double u1, u2;
      if constexpr (std::is_same_v<T, float>) {
        u1 = detail::u01f(w.v[0]);
        u2 = detail::u01f(w.v[1]);
      } else {
        u1 = detail::u01d(w.v[0], w.v[1]);
        u2 = detail::u01d(w.v[2], w.v[3]);
      }
      if (kind == detail::RandomKind::Uniform) {
        const T v = static_cast<T>(::fma(b - a, u1, a));
        if (v >= static_cast<T>(b) && attempt < 8) continue;  // rounding hit maxval
        o[i] = v;
        return;
      }
      // Box–Muller; 1 - u1 is in (0, 1] so the log is finite.
      const double z = ::sqrt(-2.0 * ::log(1.0 - u1)) * ::cos(6.283185307179586 * u2);
      if (kind == detail::RandomKind::TruncatedNormal && ::fabs(z) > 2.0) continue;
      o[i] = static_cast<T>(::fma(b, z, a));
      return;
    }
  }
};

template <class Exec>
void random(const KernelArgs& k, const Exec& ex) {
  const auto& r = k.attr<detail::RandomAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    ex.for_each(k.out().size(), RandomElement<T>{k.out().as<T>(), r.kind, r.a, r.b, r.seed, r.counter});
  });
}

}  // namespace tapeflow::cuda::kern
