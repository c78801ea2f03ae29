#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backend/elementwise_ops.hpp"
#include "core/convert.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"
#include "cpu/vector_math.hpp"
#include "cpu/xt.hpp"

namespace tapeflow::cpu {
namespace ops = detail::ops;  // the per-element operations, shared with the CUDA kernels

namespace {

using detail::dispatch_all;
using detail::dispatch_float;
using detail::dispatch_numeric;
using detail::TensorRef;

/// Strides (in elements) of `in` seen through the broadcast to `out` (0 on broadcast axes).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(size_t(out.rank()), 0);
  int64_t s = 1;
  for (int i = in.rank() - 1; i >= 0; --i) {
    int o = out.rank() - in.rank() + i;
    st[size_t(o)] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return st;
}

/// Calls body(out_index_start, offsets..., count, inner strides...) over the rows of `out`,
/// handling NumPy broadcasting for up to three inputs.
template <int N, class Body>
void for_each_row(const Shape& out, const std::array<const Shape*, N>& ins, Body&& body) {
  const int r = out.rank();
  std::array<std::vector<int64_t>, N> st;
  for (int j = 0; j < N; ++j) st[j] = broadcast_strides(*ins[j], out);
  const int64_t inner = out[r - 1];
  std::array<int64_t, N> inner_st;
  for (int j = 0; j < N; ++j) inner_st[j] = st[j][size_t(r - 1)];
  std::vector<int64_t> idx(size_t(r), 0);
  std::array<int64_t, N> off{};
  const int64_t rows = out.num_elements() / std::max<int64_t>(inner, 1);
  for (int64_t row = 0; row < rows; ++row) {
    body(row * inner, off, inner, inner_st);
    for (int d = r - 2; d >= 0; --d) {
      ++idx[size_t(d)];
      for (int j = 0; j < N; ++j) off[j] += st[j][size_t(d)];
      if (idx[size_t(d)] < out[d]) break;
      for (int j = 0; j < N; ++j) off[j] -= st[j][size_t(d)] * out[d];
      idx[size_t(d)] = 0;
    }
  }
}

/// True when `in` (ignoring leading 1s) equals the trailing dims of `out` and is not empty:
/// `in` then repeats every in.size elements of out.
bool is_trailing(const Shape& in, const Shape& out) {
  int lead = 0;
  while (lead < in.rank() && in[lead] == 1) ++lead;
  const int k = in.rank() - lead;
  if (k == 0 || k > out.rank()) return false;
  for (int i = 0; i < k; ++i)
    if (in[lead + i] != out[out.rank() - k + i] || in[lead + i] == 0) return false;
  return true;
}

/// The binary functors with a vectorised CPU form (src/cpu/vector_math.hpp), by dtype:
/// span(a, sa, b, sb, o, n) computes o[i] = f(a[i·sa], b[i·sb]), strides 0 or 1.
template <class F, class T>
struct BinaryVectorForm : std::false_type {};
template <class T>
requires std::is_floating_point_v<T>
struct BinaryVectorForm<ops::Atan2, T> : std::true_type {
  static void span(const T* a, int64_t sa, const T* b, int64_t sb, T* o, int64_t n) {
    vec::atan2(a, sa, b, sb, o, n);
  }
};
template <>
struct BinaryVectorForm<ops::FloorMod, float> : std::true_type {
  static void span(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
    vec::floormod(a, sa, b, sb, o, n);
  }
};

/// A binary kernel through its vector form: whole spans when each operand is full-size or a
/// scalar, else row by row (the innermost stride of a broadcast operand is always 0 or 1).
template <class T, class Form>
void binary_vector(const KernelArgs& k) {
  const T* a = k.in(0).as<const T>();
  const T* b = k.in(1).as<const T>();
  T* o = k.out().as<T>();
  const int64_t n = k.out().size(), na = k.in(0).size(), nb = k.in(1).size();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    const int64_t sa = na == n ? 1 : 0, sb = nb == n ? 1 : 0;
    parallel_for(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      Form::span(a + lo * sa, sa, b + lo * sb, sb, o + lo, hi - lo);
    });
    return;
  }
  for_each_row<2>(*k.out().shape,
                  {k.in(0).shape, k.in(1).shape},
                  [&](int64_t start,
                      const std::array<int64_t, 2>& off,
                      int64_t cnt,
                      const std::array<int64_t, 2>& s) {
                    Form::span(a + off[0], s[0], b + off[1], s[1], o + start, cnt);
                  });
}

template <class T, class R, class F>
void binary_kernel(const KernelArgs& k, F f) {
  if constexpr (BinaryVectorForm<F, T>::value) {
    binary_vector<T, BinaryVectorForm<F, T>>(k);
    return;
  }
  const T* a = k.in(0).as<const T>();
  const T* b = k.in(1).as<const T>();
  R* o = k.out().as<R>();
  const int64_t n = k.out().size(), na = k.in(0).size(), nb = k.in(1).size();
  if (na == n && nb == n) {
    parallel_for(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(a[i], b[i]);
    });
  } else if (nb == 1 && na == n) {
    const T bv = b[0];
    parallel_for(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(a[i], bv);
    });
  } else if (na == 1 && nb == n) {
    const T av = a[0];
    parallel_for(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(av, b[i]);
    });
  } else if (na == n && is_trailing(*k.in(1).shape, *k.out().shape)) {
    // x op bias over the last axes (bias_add, BatchNorm scale): rows of nb, in parallel.
    parallel_for(n / nb, std::max<int64_t>(1, kElementwiseGrain / nb), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        for (int64_t j = 0; j < nb; ++j) o[r * nb + j] = f(a[r * nb + j], b[j]);
    });
  } else if (nb == n && is_trailing(*k.in(0).shape, *k.out().shape)) {
    parallel_for(n / na, std::max<int64_t>(1, kElementwiseGrain / na), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        for (int64_t j = 0; j < na; ++j) o[r * na + j] = f(a[j], b[r * na + j]);
    });
  } else {
    for_each_row<2>(*k.out().shape,
                    {k.in(0).shape, k.in(1).shape},
                    [&](int64_t start,
                        const std::array<int64_t, 2>& off,
                        int64_t cnt,
                        const std::array<int64_t, 2>& s) {
                      const T* pa = a + off[0];
                      const T* pb = b + off[1];
                      R* po = o + start;
                      if (s[0] == 1 && s[1] == 1)
                        for (int64_t i = 0; i < cnt; ++i) po[i] = f(pa[i], pb[i]);
                      else if (s[0] == 1 && s[1] == 0)
                        for (int64_t i = 0; i < cnt; ++i) po[i] = f(pa[i], pb[0]);
                      else if (s[0] == 0 && s[1] == 1)
                        for (int64_t i = 0; i < cnt; ++i) po[i] = f(pa[0], pb[i]);
                      else
                        for (int64_t i = 0; i < cnt; ++i) po[i] = f(pa[i * s[0]], pb[i * s[1]]);
                    });
  }
}

template <class F>
void arith(const KernelArgs& k, F f) {
  dispatch_numeric(k.in(0).dtype, [&]<class T>() { binary_kernel<T, T>(k, f); });
}
template <class F>
void binary_numeric(const KernelArgs& k, F f) {
  arith(k, f);
}
template <class F>
void binary_float(const KernelArgs& k, F f) {
  dispatch_float(k.in(0).dtype, [&]<class T>() { binary_kernel<T, T>(k, f); });
}
template <class F>
void compare(const KernelArgs& k, F f) {
  dispatch_all(k.in(0).dtype, [&]<class T>() { binary_kernel<T, bool>(k, f); });
}

struct NoFix {};

/// Unary kernel through an xtensor expression (vectorised by xsimd where it can be). With a
/// `fix`, outputs that came out infinite from a finite input are recomputed by `fix` (a scalar
/// function) while the chunk is still in cache: xsimd's exp and expm1 overflow to inf from
/// x ≈ 88.38 in float32 and 709.44 in float64, where glibc's results are finite up to 88.72
/// and 709.78.
template <class Expr, class Fix = NoFix>
void unary_xt(const KernelArgs& k, Expr expr, Fix fix = {}) {
  dispatch_float(k.in(0).dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    T* y = k.out().as<T>();
    parallel_for(k.out().size(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      if constexpr (std::is_same_v<Fix, NoFix>) {
        auto in = range_view(x + lo, hi - lo);
        auto out = range_view(y + lo, hi - lo);
        xt::noalias(out) = expr(in);
      } else {
        constexpr int64_t kBlock = 2048;  // 8-16 KB of each: the check reads them from L1
        for (int64_t b = lo; b < hi; b += kBlock) {
          const int64_t e = std::min(hi, b + kBlock);
          auto in = range_view(x + b, e - b);
          auto out = range_view(y + b, e - b);
          xt::noalias(out) = expr(in);
          bool any_inf = false;
          for (int64_t i = b; i < e; ++i) any_inf |= std::isinf(y[i]);
          if (any_inf)
            for (int64_t i = b; i < e; ++i)
              if (std::isinf(y[i]) && std::isfinite(x[i])) y[i] = T(fix(x[i]));
        }
      }
    });
  });
}
/// Unary kernel through a per-element function, over the dtypes `dispatch` takes.
template <class T, class F>
void unary_map(const KernelArgs& k, F f) {
  const T* x = k.in(0).as<const T>();
  T* y = k.out().as<T>();
  parallel_for(k.out().size(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
  });
}
template <class F>
void unary_numeric(const KernelArgs& k, F f) {
  dispatch_numeric(k.in(0).dtype, [&]<class T>() { unary_map<T>(k, f); });
}

/// The shared functors (elementwise_ops.hpp) that xsimd has a vectorised form of. On the CPU
/// they run through xtensor like exp and log above (8 floats or 4 doubles per AVX2 instruction,
/// scalar std:: functions for the tail), about as exact as glibc's (a few ulp); the CUDA
/// kernels keep the shared per-element function. One line here vectorises a new one, after
/// checking xsimd's accuracy against glibc: erfc is left out (xsimd 8's is off by 10^4-10^5 ulp
/// in the tail, e.g. erfc(3.0) in double 1.7e-12 relative); these are within 4 ulp. erfc (float),
/// atan2 and floormod (float) have hand-made vector forms in vector_math.hpp instead.
template <class F>
struct XsimdForm : std::false_type {};
#define TAPEFLOW_XSIMD_FORM(Functor, fn)            \
  template <>                                       \
  struct XsimdForm<ops::Functor> : std::true_type { \
    template <class E>                              \
    static auto apply(E& x) {                       \
      return xt::fn(x);                             \
    }                                               \
  };
TAPEFLOW_XSIMD_FORM(Tan, tan)
TAPEFLOW_XSIMD_FORM(Asin, asin)
TAPEFLOW_XSIMD_FORM(Acos, acos)
TAPEFLOW_XSIMD_FORM(Atan, atan)
TAPEFLOW_XSIMD_FORM(Sinh, sinh)
TAPEFLOW_XSIMD_FORM(Cosh, cosh)
TAPEFLOW_XSIMD_FORM(Asinh, asinh)
TAPEFLOW_XSIMD_FORM(Acosh, acosh)
TAPEFLOW_XSIMD_FORM(Atanh, atanh)
TAPEFLOW_XSIMD_FORM(Expm1, expm1)
TAPEFLOW_XSIMD_FORM(Round, nearbyint)  // half to even: the default rounding mode, never changed
#undef TAPEFLOW_XSIMD_FORM

template <class F>
void unary_float(const KernelArgs& k, F f) {
  if constexpr (std::is_same_v<F, ops::Erfc>) {  // float: vectorised in double (vector_math.hpp)
    if (k.in(0).dtype == DType::float32) {
      const float* x = k.in(0).as<const float>();
      float* y = k.out().as<float>();
      parallel_for(k.out().size(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
        vec::erfc(x + lo, y + lo, hi - lo);
      });
      return;
    }
  }
  if constexpr (std::is_same_v<F, ops::Expm1>)  // xsimd's overflows early, as exp's (unary_xt)
    unary_xt(
        k, [](auto& x) { return XsimdForm<F>::apply(x); }, f);
  else if constexpr (XsimdForm<F>::value)
    unary_xt(k, [](auto& x) { return XsimdForm<F>::apply(x); });
  else
    dispatch_float(k.in(0).dtype, [&]<class T>() { unary_map<T>(k, f); });
}

}  // namespace

void CpuBackend::add(const KernelArgs& k) { arith(k, ops::Add{}); }
void CpuBackend::sub(const KernelArgs& k) { arith(k, ops::Sub{}); }
void CpuBackend::mul(const KernelArgs& k) { arith(k, ops::Mul{}); }
void CpuBackend::div(const KernelArgs& k) { arith(k, ops::Div{}); }
void CpuBackend::pow(const KernelArgs& k) { arith(k, ops::Pow{}); }
void CpuBackend::maximum(const KernelArgs& k) { arith(k, ops::Maximum{}); }
void CpuBackend::minimum(const KernelArgs& k) { arith(k, ops::Minimum{}); }
void CpuBackend::equal(const KernelArgs& k) { compare(k, ops::Equal{}); }
void CpuBackend::not_equal(const KernelArgs& k) { compare(k, ops::NotEqual{}); }
void CpuBackend::less(const KernelArgs& k) { compare(k, ops::Less{}); }
void CpuBackend::less_equal(const KernelArgs& k) { compare(k, ops::LessEqual{}); }
void CpuBackend::greater(const KernelArgs& k) { compare(k, ops::Greater{}); }
void CpuBackend::greater_equal(const KernelArgs& k) { compare(k, ops::GreaterEqual{}); }
void CpuBackend::logical_and(const KernelArgs& k) {
  binary_kernel<bool, bool>(k, ops::LogicalAnd{});
}
void CpuBackend::logical_or(const KernelArgs& k) { binary_kernel<bool, bool>(k, ops::LogicalOr{}); }

// The binary kernels whose per-element function both backends share (kernel_list.hpp).
#define TAPEFLOW_CPU_SHARED_BINARY(name, Functor, dtypes) \
  void CpuBackend::name(const KernelArgs& k) { binary_##dtypes(k, ops::Functor{}); }
TAPEFLOW_SHARED_BINARY_KERNELS(TAPEFLOW_CPU_SHARED_BINARY)
#undef TAPEFLOW_CPU_SHARED_BINARY

void CpuBackend::select(const KernelArgs& k) {
  dispatch_all(k.in(1).dtype, [&]<class T>() {
    const bool* c = k.in(0).as<const bool>();
    const T* x = k.in(1).as<const T>();
    const T* y = k.in(2).as<const T>();
    T* o = k.out().as<T>();
    const int64_t n = k.out().size();
    if (k.in(0).size() == n && k.in(1).size() == n && k.in(2).size() == n) {
      parallel_for(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const T a = x[i], b = y[i];  // unconditional loads: a blend, not a branch
          o[i] = c[i] ? a : b;
        }
      });
      return;
    }
    for_each_row<3>(*k.out().shape,
                    {k.in(0).shape, k.in(1).shape, k.in(2).shape},
                    [&](int64_t start,
                        const std::array<int64_t, 3>& off,
                        int64_t cnt,
                        const std::array<int64_t, 3>& s) {
                      for (int64_t i = 0; i < cnt; ++i)
                        o[start + i] =
                            c[off[0] + i * s[0]] ? x[off[1] + i * s[1]] : y[off[2] + i * s[2]];
                    });
  });
}

// The unary kernels whose per-element function both backends share (kernel_list.hpp).
#define TAPEFLOW_CPU_SHARED_UNARY(name, Functor, dtypes) \
  void CpuBackend::name(const KernelArgs& k) { unary_##dtypes(k, ops::Functor{}); }
TAPEFLOW_SHARED_UNARY_KERNELS(TAPEFLOW_CPU_SHARED_UNARY)
#undef TAPEFLOW_CPU_SHARED_UNARY

void CpuBackend::relu_grad(const KernelArgs& k) {
  dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    const T* dy = k.in(1).as<const T>();
    T* o = k.out().as<T>();
    // Branch-free so it vectorises (the mask is ~50/50 in training: branches mispredict).
    parallel_for(k.out().size(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = ops::ReluGrad{}(x[i], dy[i]);
    });
  });
}
void CpuBackend::exp(const KernelArgs& k) {
  unary_xt(
      k, [](auto& x) { return xt::exp(x); }, [](auto v) { return std::exp(v); });
}
void CpuBackend::log(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::log(x); });
}
void CpuBackend::log1p(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::log1p(x); });
}
void CpuBackend::sqrt(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::sqrt(x); });
}
void CpuBackend::rsqrt(const KernelArgs& k) {
  unary_xt(k, [](auto& x) {
    using T = typename std::decay_t<decltype(x)>::value_type;
    return T(1) / xt::sqrt(x);
  });
}
void CpuBackend::sin(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::sin(x); });
}
void CpuBackend::cos(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::cos(x); });
}
void CpuBackend::tanh(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::tanh(x); });
}
void CpuBackend::erf(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::erf(x); });
}
void CpuBackend::floor(const KernelArgs& k) {
  unary_xt(k, [](auto& x) { return xt::floor(x); });
}
void CpuBackend::sigmoid(const KernelArgs& k) {
  unary_xt(k, [](auto& x) {
    using T = typename std::decay_t<decltype(x)>::value_type;
    return T(1) / (T(1) + xt::exp(-x));
  });
}
void CpuBackend::logical_not(const KernelArgs& k) {
  const bool* x = k.in(0).as<const bool>();
  bool* y = k.out().as<bool>();
  for (int64_t i = 0, n = k.out().size(); i < n; ++i) y[i] = ops::LogicalNot{}(x[i]);
}

void CpuBackend::cast(const KernelArgs& k) {
  dispatch_all(k.in(0).dtype, [&]<class S>() {
    dispatch_all(k.out().dtype, [&]<class D>() {
      const S* x = k.in(0).as<const S>();
      D* y = k.out().as<D>();
      for (int64_t i = 0, n = k.out().size(); i < n; ++i) y[i] = detail::convert_element<D>(x[i]);
    });
  });
}

}  // namespace tapeflow::cpu
