#pragma once

// Indexing, ordering and scans: the scan and take-rows plans (run by the device executor, and
// by HostExec in cuda/test/host_kernel_test.cu). top_k sorts with CUB (indexing.cu only).

#include "common.cuh"

namespace tapeflow::cuda::kern {

struct ScanSum {
  template <class T>
  static TF_HD T identity() {
    return T(0);
  }
  template <class T>
  static TF_HD T apply(T a, T b) {
    return add_rn(a, b);
  }
};
struct ScanProd {
  template <class T>
  static TF_HD T identity() {
    return T(1);
  }
  template <class T>
  static TF_HD T apply(T a, T b) {
    return mul_rn(a, b);
  }
};

/// One thread per line of [outer, n, inner]: line t = (o, i) scans its n entries in order
/// (the CPU's order for lines shorter than its blocked threshold, so the same bits there).
template <class Op, class T>
struct ScanLine {
  const T* x;
  T* y;
  int64_t n, inner;
  bool exclusive, reverse;
  TF_HD void operator()(int64_t t) const {
    const int64_t o = t / inner, i = t - o * inner;
    const T* xs = x + o * n * inner + i;
    T* ys = y + o * n * inner + i;
    T acc = Op::template identity<T>();
    for (int64_t s = 0; s < n; ++s) {
      const int64_t j = (reverse ? n - 1 - s : s) * inner;
      if (exclusive) {
        ys[j] = acc;
        acc = Op::apply(acc, xs[j]);
      } else {
        ys[j] = acc = Op::apply(acc, xs[j]);
      }
    }
  }
};

template <class Op, class Exec>
void scan(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::ScanAttrs>();
  if (a.n == 0 || a.inner == 0 || a.outer == 0) return;
  detail::dispatch_numeric(k.out().dtype, [&]<class T>() {
    ex.for_each(a.outer * a.inner,
                ScanLine<Op, T>{
                    k.in(0).as<const T>(), k.out().as<T>(), a.n, a.inner, a.exclusive, a.reverse});
  });
}

/// out[r, j] = x[r, idx[r, j]].
template <class E>
struct TakeRowsElement {
  const E* x;
  const int32_t* idx;
  E* out;
  int64_t n, k;
  TF_HD void operator()(int64_t t) const {
    const int64_t r = t / k;
    out[t] = x[r * n + idx[t]];
  }
};

template <class Exec>
void take_rows(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::TakeRowsAttrs>();
  if (a.k == 0 || a.rows == 0) return;
  detail::dispatch_size(dtype_size(k.in(0).dtype), [&]<class E>() {
    ex.for_each(a.rows * a.k,
                TakeRowsElement<E>{
                    k.in(0).as<const E>(), k.in(1).as<const int32_t>(), k.out().as<E>(), a.n, a.k});
  });
}

/// The unsigned key whose order is T's (NaN above +inf, -0 == +0), complemented by `flip`:
/// the same keys as the CPU's top_k (src/cpu/indexing.cpp).
template <class T, class K>
TF_HD inline K order_key(T v, K flip) {
  constexpr K top = K(1) << (8 * sizeof(K) - 1);
  K key;
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return K(~K(0)) ^ flip;
    if (v == T(0)) v = T(0);
    K b;
    memcpy(&b, &v, sizeof(K));
    key = (b & top) ? K(~b) : K(b | top);
  } else {
    key = K(v) ^ top;
  }
  return key ^ flip;
}

}  // namespace tapeflow::cuda::kern
