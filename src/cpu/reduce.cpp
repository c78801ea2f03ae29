// Reductions over [outer, reduce, inner]. Contiguous reductions (inner == 1) use 16 independent
// accumulators so the compiler vectorises them (xt::sum is scalar; see DEPENDENCIES.md).
#include <algorithm>
#include <limits>
#include <vector>

#include "backend/elementwise_ops.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

using detail::ReduceAttrs;

template <class T, class Op>
T reduce_contiguous(const T* p, int64_t n, T init, Op op) {
  constexpr int K = 16;
  T acc[K];
  for (int j = 0; j < K; ++j) acc[j] = init;
  int64_t i = 0;
  for (; i + K <= n; i += K)
    for (int j = 0; j < K; ++j) acc[j] = op(acc[j], p[i + j]);
  for (; i < n; ++i) acc[0] = op(acc[0], p[i]);
  T r = init;
  for (int j = 0; j < K; ++j) r = op(r, acc[j]);
  return r;
}

template <class T, class Op>
void reduce_kernel(const KernelArgs& k, T init, Op op) {
  const auto& a = k.attr<ReduceAttrs>();
  const T* x = k.in(0).as<const T>();
  T* y = k.out().as<T>();
  for (int64_t o = 0; o < a.outer; ++o) {
    const T* base = x + o * a.reduce * a.inner;
    T* out = y + o * a.inner;
    if (a.inner == 1) {
      if (a.outer == 1 && a.reduce >= 2 * kElementwiseGrain) {
        // One long reduction: partial results per thread, combined in a fixed order.
        std::vector<T> partial(size_t(num_threads()) + 1, init);
        const int64_t chunk =
            (a.reduce + int64_t(partial.size()) - 2) / int64_t(partial.size() - 1);
        parallel_for(int64_t(partial.size() - 1), 1, [&](int64_t lo, int64_t hi) {
          for (int64_t p = lo; p < hi; ++p) {
            int64_t b = p * chunk, e = std::min(a.reduce, b + chunk);
            if (b < e) partial[size_t(p)] = reduce_contiguous(base + b, e - b, init, op);
          }
        });
        T r = init;
        for (T v : partial) r = op(r, v);
        out[0] = r;
        continue;
      }
      out[0] = reduce_contiguous(base, a.reduce, init, op);
      continue;
    }
    for (int64_t j = 0; j < a.inner; ++j) out[j] = init;
    for (int64_t r = 0; r < a.reduce; ++r) {
      const T* row = base + r * a.inner;
      for (int64_t j = 0; j < a.inner; ++j) out[j] = op(out[j], row[j]);
    }
  }
}

template <class T, class Better>
void arg_kernel(const KernelArgs& k, Better better) {
  const auto& a = k.attr<ReduceAttrs>();
  const T* x = k.in(0).as<const T>();
  int64_t* y = k.out().as<int64_t>();
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t j = 0; j < a.inner; ++j) {
      const T* p = x + o * a.reduce * a.inner + j;
      int64_t best = 0;
      for (int64_t r = 1; r < a.reduce; ++r)
        if (better(p[r * a.inner], p[best * a.inner])) best = r;
      y[o * a.inner + j] = best;
    }
}

}  // namespace

void CpuBackend::reduce_sum(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    reduce_kernel<T>(k, T(0), detail::ops::Add{});  // integers wrap, as in TensorFlow
  });
}
void CpuBackend::reduce_prod(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { reduce_kernel<T>(k, T(1), detail::ops::Mul{}); });
}
void CpuBackend::reduce_max(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    // NaN wins, as in TensorFlow.
    reduce_kernel<T>(
        k, std::numeric_limits<T>::lowest(), [](T a, T b) { return (a > b || a != a) ? a : b; });
  });
}
void CpuBackend::reduce_min(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    reduce_kernel<T>(
        k, std::numeric_limits<T>::max(), [](T a, T b) { return (a < b || a != a) ? a : b; });
  });
}
void CpuBackend::argmax(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { arg_kernel<T>(k, [](T a, T b) { return a > b; }); });
}
void CpuBackend::argmin(const KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { arg_kernel<T>(k, [](T a, T b) { return a < b; }); });
}

}  // namespace tapeflow::cpu
