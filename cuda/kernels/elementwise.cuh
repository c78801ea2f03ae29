#pragma once

// Element-wise kernels (binary with NumPy broadcasting, select, unary, cast): functors and
// plans, run on the device by elementwise.cu and on the host by the host test. The exact
// operations are the CPU backend's own (src/backend/elementwise_ops.hpp); the transcendental
// ones below use CUDA's math library.

#include <cmath>

#include "backend/elementwise_ops.hpp"
#include "common.cuh"
#include "core/convert.hpp"

namespace tapeflow::cuda::kern {

// ---- the operations ---------------------------------------------------------------------------

// Arithmetic, comparisons, logic and the exact unary operations: one definition with the CPU
// backend's kernels (src/backend/elementwise_ops.hpp).
namespace ops = detail::ops;

// Unary, floating dtypes: the C math functions (the device's are within a few ulp of the
// host's; exact bits may differ from xsimd's on the CPU).
struct ExpOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::exp(x);
  }
};
struct LogOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::log(x);
  }
};
struct Log1pOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::log1p(x);
  }
};
struct SqrtOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::sqrt(x);
  }
};
struct RsqrtOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return T(1) / ::sqrt(x);
  }
};
struct SinOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::sin(x);
  }
};
struct CosOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::cos(x);
  }
};
struct TanhOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::tanh(x);
  }
};
struct ErfOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::erf(x);
  }
};
struct FloorOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return ::floor(x);
  }
};
struct SigmoidOp {
  template <class T>
  TF_HD T operator()(T x) const {
    return T(1) / (T(1) + ::exp(-x));
  }
};

// ---- functors -----------------------------------------------------------------------------------

template <class T, class R, class Op>
struct BinarySame {
  const T* a;
  const T* b;
  R* o;
  Op op;
  TF_HD void operator()(int64_t i) const { o[i] = op(a[i], b[i]); }
};
template <class T, class R, class Op>
struct BinaryBcast {
  const T* a;
  const T* b;
  R* o;
  Broadcast<2> bc;
  Op op;
  TF_HD void operator()(int64_t i) const {
    int64_t off[2];
    bc.offsets(i, off);
    o[i] = op(a[off[0]], b[off[1]]);
  }
};
/// where(c, x, y) on raw elements E of x's size.
template <class E>
struct SelectSame {
  const bool* c;
  const E* x;
  const E* y;
  E* o;
  TF_HD void operator()(int64_t i) const {
    const E a = x[i], b = y[i];
    o[i] = c[i] ? a : b;
  }
};
template <class E>
struct SelectBcast {
  const bool* c;
  const E* x;
  const E* y;
  E* o;
  Broadcast<3> bc;
  TF_HD void operator()(int64_t i) const {
    int64_t off[3];
    bc.offsets(i, off);
    o[i] = c[off[0]] ? x[off[1]] : y[off[2]];
  }
};
template <class T, class Op>
struct Unary {
  const T* x;
  T* y;
  Op op;
  TF_HD void operator()(int64_t i) const { y[i] = op(x[i]); }
};
template <class S, class D>
struct Cast {
  const S* x;
  D* y;
  TF_HD void operator()(int64_t i) const { y[i] = detail::convert_element<D>(x[i]); }
};

// ---- plans --------------------------------------------------------------------------------------

template <class T, class R, class Op, class Exec>
void binary(const KernelArgs& k, Op op, const Exec& ex) {
  const T* a = k.in(0).as<const T>();
  const T* b = k.in(1).as<const T>();
  R* o = k.out().as<R>();
  const int64_t n = k.out().size();
  if (all_same(k, 2)) {
    ex.for_each(n, BinarySame<T, R, Op>{a, b, o, op});
  } else {
    const Shape* ins[2] = {k.in(0).shape, k.in(1).shape};
    ex.for_each(n, BinaryBcast<T, R, Op>{a, b, o, make_broadcast<2>(*k.out().shape, ins), op});
  }
}
template <class Op, class Exec>
void arith(const KernelArgs& k, Op op, const Exec& ex) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() { binary<T, T>(k, op, ex); });
}
template <class Op, class Exec>
void binary_numeric(const KernelArgs& k, Op op, const Exec& ex) {
  arith(k, op, ex);
}
template <class Op, class Exec>
void binary_float(const KernelArgs& k, Op op, const Exec& ex) {
  detail::dispatch_float(k.in(0).dtype, [&]<class T>() { binary<T, T>(k, op, ex); });
}
template <class Op, class Exec>
void compare(const KernelArgs& k, Op op, const Exec& ex) {
  detail::dispatch_all(k.in(0).dtype, [&]<class T>() { binary<T, bool>(k, op, ex); });
}
template <class Op, class Exec>
void logical(const KernelArgs& k, Op op, const Exec& ex) {
  binary<bool, bool>(k, op, ex);
}

template <class Exec>
void select(const KernelArgs& k, const Exec& ex) {
  detail::dispatch_size(dtype_size(k.in(1).dtype), [&]<class E>() {
    const bool* c = k.in(0).as<const bool>();
    const E* x = k.in(1).as<const E>();
    const E* y = k.in(2).as<const E>();
    E* o = k.out().as<E>();
    const int64_t n = k.out().size();
    if (all_same(k, 3)) {
      ex.for_each(n, SelectSame<E>{c, x, y, o});
    } else {
      const Shape* ins[3] = {k.in(0).shape, k.in(1).shape, k.in(2).shape};
      ex.for_each(n, SelectBcast<E>{c, x, y, o, make_broadcast<3>(*k.out().shape, ins)});
    }
  });
}

template <class Op, class Exec>
void unary_numeric(const KernelArgs& k, Op op, const Exec& ex) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    ex.for_each(k.out().size(), Unary<T, Op>{k.in(0).as<const T>(), k.out().as<T>(), op});
  });
}
template <class Op, class Exec>
void unary_float(const KernelArgs& k, Op op, const Exec& ex) {
  detail::dispatch_float(k.in(0).dtype, [&]<class T>() {
    ex.for_each(k.out().size(), Unary<T, Op>{k.in(0).as<const T>(), k.out().as<T>(), op});
  });
}
template <class Exec>
void logical_not(const KernelArgs& k, const Exec& ex) {
  ex.for_each(k.out().size(),
              Unary<bool, ops::LogicalNot>{k.in(0).as<const bool>(), k.out().as<bool>(), {}});
}
template <class Exec>
void relu_grad(const KernelArgs& k, const Exec& ex) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    ex.for_each(k.out().size(),
                BinarySame<T, T, ops::ReluGrad>{
                    k.in(0).as<const T>(), k.in(1).as<const T>(), k.out().as<T>(), {}});
  });
}
template <class Exec>
void cast(const KernelArgs& k, const Exec& ex) {
  detail::dispatch_all(k.in(0).dtype, [&]<class S>() {
    detail::dispatch_all(k.out().dtype, [&]<class D>() {
      ex.for_each(k.out().size(), Cast<S, D>{k.in(0).as<const S>(), k.out().as<D>()});
    });
  });
}

}  // namespace tapeflow::cuda::kern
