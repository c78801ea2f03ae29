#pragma once

// The per-element operations of the element-wise kernels, one definition for both backends:
// arithmetic, comparisons, logic and the exact unary ones, which both give bit for bit, and the
// transcendental ones, which call the C math library of each side (glibc on the host, CUDA's on
// the device: a few ulp apart). The CPU kernels (src/cpu/elementwise.cpp) and the CUDA kernels
// (cuda/kernels/elementwise.cuh) both call these; the unary ones are listed in
// TAPEFLOW_SHARED_UNARY_KERNELS (kernel_list.hpp). Where xsimd has a vectorised form of a
// transcendental one that is as accurate (tan, asin, ..., expm1; not erfc), the CPU runs that
// instead (XsimdForm in src/cpu/elementwise.cpp). exp, log, sin, ... are not here: the CPU's are
// xsimd's, the GPU's CUDA's own.

#include <cmath>
#include <type_traits>

#include "core/philox.hpp"  // TAPEFLOW_HD

namespace tapeflow::detail::ops {

// Integer arithmetic wraps around (two's complement), as TensorFlow's does. Signed overflow is
// undefined in C++, so integers go through their unsigned type, where it is defined (and the
// conversion back is modular since C++20). Floats are unaffected.
template <class T>
TAPEFLOW_HD T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return T(U(U(a) + U(b)));
  } else {
    return T(a + b);
  }
}
template <class T>
TAPEFLOW_HD T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return T(U(U(a) - U(b)));
  } else {
    return T(a - b);
  }
}
template <class T>
TAPEFLOW_HD T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return T(U(U(a) * U(b)));
  } else {
    return T(a * b);
  }
}

// Negation of integers is 0 - x, wrapping (-MIN is MIN); floats keep -x, so -(0.f) is -0.f.
template <class T>
TAPEFLOW_HD T wrap_neg(T x) {
  if constexpr (std::is_integral_v<T>)
    return wrap_sub(T(0), x);
  else
    return T(-x);
}

struct Add {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    return wrap_add(a, b);
  }
};
struct Sub {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    return wrap_sub(a, b);
  }
};
struct Mul {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    return wrap_mul(a, b);
  }
};
struct Div {  // integer division by zero is rejected by the front end; MIN / -1 wraps to MIN
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      if (b == T(-1)) return wrap_neg(a);
    }
    return T(a / b);
  }
};
struct Pow {  // integers by squaring (exponent <= 0 gives 1); floats through the C library
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      T r = 1, base = a;
      for (T e = b; e > 0; e >>= 1, base = wrap_mul(base, base))
        if (e & 1) r = wrap_mul(r, base);
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
  TAPEFLOW_HD T operator()(T a, T b) const {
    return (a != a) ? a : (a >= b ? a : b);
  }
};
struct Minimum {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    return (a != a) ? a : (a <= b ? a : b);
  }
};
struct Equal {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NotEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a != b;
  }
};
struct Less {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct Greater {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterEqual {
  template <class T>
  TAPEFLOW_HD bool operator()(T a, T b) const {
    return a >= b;
  }
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
  TAPEFLOW_HD T operator()(T x) const {
    return wrap_neg(x);
  }
};
struct Abs {  // abs(MIN) wraps to MIN, as in TensorFlow
  template <class T>
  TAPEFLOW_HD T operator()(T x) const {
    return x < 0 ? wrap_neg(x) : x;
  }
};
struct Sign {  // NaN stays NaN
  template <class T>
  TAPEFLOW_HD T operator()(T x) const {
    return x > 0 ? T(1) : (x < 0 ? T(-1) : (x == 0 ? T(0) : x));
  }
};
struct Square {
  template <class T>
  TAPEFLOW_HD T operator()(T x) const {
    return wrap_mul(x, x);
  }
};
struct Relu {  // NaN stays NaN
  template <class T>
  TAPEFLOW_HD T operator()(T x) const {
    return x > 0 ? x : (x == x ? T(0) : x);
  }
};
struct Tan {  // floating dtypes only (the front end checks)
  template <class T>
  TAPEFLOW_HD T operator()(T x) const {
#ifdef __CUDA_ARCH__
    return T(::tan(x));
#else
    return T(std::tan(x));
#endif
  }
};
// The C math library's function of one float argument: the device's on the GPU, std:: on the
// host (floating dtypes only; the front ends check).
#ifdef __CUDA_ARCH__
#define TAPEFLOW_MATH_FN(fn) ::fn
#else
#define TAPEFLOW_MATH_FN(fn) std::fn
#endif
#define TAPEFLOW_MATH_FUNCTOR(Name, fn)   \
  struct Name {                           \
    template <class T>                    \
    TAPEFLOW_HD T operator()(T x) const { \
      return T(TAPEFLOW_MATH_FN(fn)(x));  \
    }                                     \
  };
TAPEFLOW_MATH_FUNCTOR(Asin, asin)
TAPEFLOW_MATH_FUNCTOR(Acos, acos)
TAPEFLOW_MATH_FUNCTOR(Atan, atan)
TAPEFLOW_MATH_FUNCTOR(Sinh, sinh)
TAPEFLOW_MATH_FUNCTOR(Cosh, cosh)
TAPEFLOW_MATH_FUNCTOR(Asinh, asinh)
TAPEFLOW_MATH_FUNCTOR(Acosh, acosh)
TAPEFLOW_MATH_FUNCTOR(Atanh, atanh)
TAPEFLOW_MATH_FUNCTOR(Erfc, erfc)
TAPEFLOW_MATH_FUNCTOR(Expm1, expm1)
// Round half to even (TF's tf.math.round): rint in the default rounding mode, never changed.
TAPEFLOW_MATH_FUNCTOR(Round, rint)
#undef TAPEFLOW_MATH_FUNCTOR

struct Atan2 {  // atan2(y, x), floating dtypes
  template <class T>
  TAPEFLOW_HD T operator()(T y, T x) const {
    return T(TAPEFLOW_MATH_FN(atan2)(y, x));
  }
};
// Floor division and the matching modulo, as TF's FloorDiv / FloorMod: the quotient rounds
// toward -inf and the remainder takes the divisor's sign. Integer division by zero is refused
// by the front end; MIN / -1 wraps to MIN (and MIN mod -1 is 0) instead of trapping.
struct FloorDiv {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return T(TAPEFLOW_MATH_FN(floor)(a / b));
    } else {
      if (b == T(-1)) return wrap_neg(a);
      const T q = T(a / b), r = T(a % b);
      return (r != 0 && ((r < 0) != (b < 0))) ? T(q - 1) : q;
    }
  }
};
struct FloorMod {
  template <class T>
  TAPEFLOW_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      const T r = T(TAPEFLOW_MATH_FN(fmod)(a, b));
      return (r != 0 && ((b < 0) != (r < 0))) ? T(r + b) : r;
    } else {
      if (b == T(-1)) return T(0);
      const T r = T(a % b);
      return (r != 0 && ((b < 0) != (r < 0))) ? T(r + b) : r;
    }
  }
};
#undef TAPEFLOW_MATH_FN

struct ReluGrad {  // (x, dy) → dy where x > 0; both read unconditionally, so a CPU loop blends
  template <class T>
  TAPEFLOW_HD T operator()(T x, T dy) const {
    return x > T(0) ? dy : T(0);
  }
};

}  // namespace tapeflow::detail::ops
