#pragma once

// The per-element operations of the element-wise kernels whose results both backends must
// give bit for bit: arithmetic, comparisons, logic, and the exact unary ones. The CPU kernels
// (src/cpu/elementwise.cpp) and the CUDA kernels (cuda/kernels/elementwise.cuh) both call these.
// The transcendental ones are not here: each backend uses its own math library (xsimd, CUDA).

#include <cmath>
#include <type_traits>

#include "core/philox.hpp"  // TAPEFLOW_HD

namespace tapeflow::detail::ops {

struct Add {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return T(a + b); }
};
struct Sub {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return T(a - b); }
};
struct Mul {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return T(a * b); }
};
struct Div {  // integer division by zero is rejected by the front end
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return T(a / b); }
};
struct Pow {  // integers by squaring (exponent <= 0 gives 1); floats through the C library
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      T r = 1, base = a;
      for (T e = b; e > 0; e >>= 1, base *= base)
        if (e & 1) r *= base;
      return r;
    } else {
#ifdef __CUDA_ARCH__
      return T(::pow(a, b));
#else
      return T(std::pow(a, b));
#endif
    }
  }
};
struct Maximum {  // NaN in a wins; otherwise the larger, a on ties
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return (a != a) ? a : (a >= b ? a : b); }
};
struct Minimum {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const { return (a != a) ? a : (a <= b ? a : b); }
};
struct Equal {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a == b; }
};
struct NotEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a != b; }
};
struct Less {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a < b; }
};
struct LessEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a <= b; }
};
struct Greater {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a > b; }
};
struct GreaterEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const { return a >= b; }
};
struct LogicalAnd {
  TAPEFLOW_HD bool operator()(bool a, bool b) const { return a && b; }
};
struct LogicalOr {
  TAPEFLOW_HD bool operator()(bool a, bool b) const { return a || b; }
};
struct LogicalNot {
  TAPEFLOW_HD bool operator()(bool x) const { return !x; }
};

struct Neg {
  template <class T>
  TAPEFLOW_HD T operator()(T x) const { return T(-x); }
};
struct Abs {
  template <class T>
  TAPEFLOW_HD T operator()(T x) const { return x < 0 ? T(-x) : x; }
};
struct Sign {  // NaN stays NaN
  template <class T>
  TAPEFLOW_HD T operator()(T x) const { return x > 0 ? T(1) : (x < 0 ? T(-1) : (x == 0 ? T(0) : x)); }
};
struct Square {
  template <class T>
  TAPEFLOW_HD T operator()(T x) const { return T(x * x); }
};
struct Relu {  // NaN stays NaN
  template <class T>
  TAPEFLOW_HD T operator()(T x) const { return x > 0 ? x : (x == x ? T(0) : x); }
};
struct ReluGrad {  // (x, dy) → dy where x > 0; both read unconditionally, so a CPU loop blends
  template <class T>
  TAPEFLOW_HD T operator()(T x, T dy) const { return x > T(0) ? dy : T(0); }
};

}  // namespace tapeflow::detail::ops
