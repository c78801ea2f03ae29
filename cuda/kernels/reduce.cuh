#pragma once

// Reductions over ReduceAttrs [outer, reduce, inner] and arg-reductions. The column functors
// (one thread per output, a sequential scan down the reduced axis) are exact copies of the CPU
// loops; reduce.cu uses them for inner > 1 (neighbouring threads read neighbouring columns) and
// for short rows, and a block per row with the same combine operations for long contiguous rows.

#include <limits>

#include "backend/elementwise_ops.hpp"
#include "common.cuh"

namespace tapeflow::cuda::kern {

using detail::ReduceAttrs;

using SumOp = detail::ops::Add;  // integers wrap (backend/elementwise_ops.hpp)
using ProdOp = detail::ops::Mul;
struct MaxOp {  // NaN wins, in either argument (so any association gives the same result)
  template <class T>
  TF_HD T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};
struct MinOp {
  template <class T>
  TF_HD T operator()(T a, T b) const {
    return (a < b || a != a) ? a : b;
  }
};

template <class T>
T sum_init() {
  return T(0);
}
template <class T>
T prod_init() {
  return T(1);
}
template <class T>
T max_init() {
  return std::numeric_limits<T>::lowest();
}
template <class T>
T min_init() {
  return std::numeric_limits<T>::max();
}

/// out[o, j] = init op x[o, 0, j] op x[o, 1, j] op ... (left to right).
template <class T, class Op>
struct ReduceColumn {
  const T* x;
  T* y;
  int64_t reduce, inner;
  T init;
  Op op;
  TF_HD void operator()(int64_t i) const {
    const int64_t o = i / inner, j = i - o * inner;
    const T* p = x + o * reduce * inner + j;
    T acc = init;
    for (int64_t r = 0; r < reduce; ++r) acc = op(acc, p[r * inner]);
    y[i] = acc;
  }
};

struct ArgMaxBetter {
  template <class T>
  TF_HD bool operator()(T a, T b) const {
    return a > b;
  }
};
struct ArgMinBetter {
  template <class T>
  TF_HD bool operator()(T a, T b) const {
    return a < b;
  }
};

/// The CPU's scan: best moves to r only when x[r] is strictly better than x[best].
template <class T, class Better>
struct ArgColumn {
  const T* x;
  int64_t* y;
  int64_t reduce, inner;
  Better better;
  TF_HD void operator()(int64_t i) const {
    const int64_t o = i / inner, j = i - o * inner;
    const T* p = x + o * reduce * inner + j;
    int64_t best = 0;
    for (int64_t r = 1; r < reduce; ++r)
      if (better(p[r * inner], p[best * inner])) best = r;
    y[i] = best;
  }
};

/// A candidate of a parallel arg-reduction. The scan above never moves to a NaN and never
/// leaves index 0 when x[0] is NaN; with x[0] not NaN it ends at the first best non-NaN value.
/// So candidates are ordered: non-NaN before NaN, better value first, then lower index; this
/// order is total, hence the combine below is associative and commutative and any tree of
/// combines gives the scan's answer once a NaN at index 0 is handled (ArgCandidate::finish).
template <class T>
struct ArgCandidate {
  T v;
  int64_t i;  // -1: empty
};
template <class T, class Better>
struct ArgCombine {
  Better better;
  TF_HD ArgCandidate<T> operator()(const ArgCandidate<T>& a, const ArgCandidate<T>& b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = a.v != a.v, bn = b.v != b.v;
    if (an != bn) return an ? b : a;
    if (!an) {
      if (better(a.v, b.v)) return a;
      if (better(b.v, a.v)) return b;
    }
    return a.i < b.i ? a : b;
  }
};
/// The scan's answer from the combined candidate and x[0] of the row.
template <class T>
TF_HD inline int64_t arg_finish(const ArgCandidate<T>& c, T first) {
  if (first != first || c.i < 0) return 0;
  return c.i;
}

// ---- plans (column form; the device adds row kernels in reduce.cu) -----------------------------

template <class T, class Op, class Exec>
void reduce_columns(const KernelArgs& k, T init, Op op, const Exec& ex) {
  const auto& a = k.attr<ReduceAttrs>();
  ex.for_each(
      a.outer * a.inner,
      ReduceColumn<T, Op>{k.in(0).as<const T>(), k.out().as<T>(), a.reduce, a.inner, init, op});
}
template <class T, class Better, class Exec>
void arg_columns(const KernelArgs& k, Better better, const Exec& ex) {
  const auto& a = k.attr<ReduceAttrs>();
  ex.for_each(a.outer * a.inner,
              ArgColumn<T, Better>{
                  k.in(0).as<const T>(), k.out().as<int64_t>(), a.reduce, a.inner, better});
}

}  // namespace tapeflow::cuda::kern
