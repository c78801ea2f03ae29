#pragma once

// What every CUDA kernel family shares, written so that it also runs on the host.
//
// Each kernel is split in two: a *plan* (host code: reads KernelArgs, picks the dtype, builds a
// small functor holding pointers and index math) and an *executor* that calls the functor for
// every output index. On the device the executor is a grid-stride launch (launch.cuh); in
// cuda/test/host_kernel_test.cu it is a plain loop (HostExec), so the index math of every kernel
// is checked against the CPU backend on machines without a GPU. Functors are
// `__host__ __device__` and hold no pointers to host memory but the tensors' own.
//
// Nothing here includes xtensor; nothing here synchronizes.

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/backend.hpp"
#include "core/dispatch.hpp"
#include "tapeflow/errors.hpp"

#define TF_HD __host__ __device__

namespace tapeflow::cuda::kern {

using detail::KernelArgs;
using detail::TensorRef;

/// Index math handles up to this many (collapsed) dimensions.
inline constexpr int kMaxRank = 8;

/// Calls every index in order on the calling thread (tests; no GPU needed).
struct HostExec {
  template <class F>
  void for_each(int64_t n, const F& f) const {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
};

/// The bits of `v` converted to the dtype `t`, as the CPU's static_cast<T>(v) gives them.
inline uint64_t value_bits(DType t, double v) {
  uint64_t bits = 0;
  detail::dispatch_all(t, [&]<class T>() {
    T x = static_cast<T>(v);
    std::memcpy(&bits, &x, sizeof(T));
  });
  return bits;
}

/// Products and sums rounded as written: nvcc contracts a*b+c into one fma by default, the
/// host compiler for x86-64 does not, and some kernels must give the CPU's exact bits.
template <class T>
TF_HD inline T mul_rn(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<T, float>)
    return __fmul_rn(a, b);
  else if constexpr (std::is_same_v<T, double>)
    return __dmul_rn(a, b);
  else
    return T(a * b);
#else
  return T(a * b);
#endif
}
template <class T>
TF_HD inline T add_rn(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<T, float>)
    return __fadd_rn(a, b);
  else if constexpr (std::is_same_v<T, double>)
    return __dadd_rn(a, b);
  else
    return T(a + b);
#else
  return T(a + b);
#endif
}

/// Floor division for possibly negative numerators (positive divisor).
TF_HD inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// Offsets of N inputs broadcast (NumPy rules) to an output, by flat output index. Built on
/// the host by make_broadcast, which drops size-1 output axes and merges axes that are
/// contiguous for every input, so most calls end up with rank 1 or 2.
template <int N>
struct Broadcast {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t st[N][kMaxRank] = {};

  TF_HD void offsets(int64_t i, int64_t (&off)[N]) const {
    for (int j = 0; j < N; ++j) off[j] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t q = i / dims[d];
      const int64_t idx = i - q * dims[d];
      i = q;
      for (int j = 0; j < N; ++j) off[j] += idx * st[j][d];
    }
  }
};

/// Strides (in elements) of `in` seen through the broadcast to `out` (0 on broadcast axes).
inline std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(size_t(out.rank()), 0);
  int64_t s = 1;
  for (int i = in.rank() - 1; i >= 0; --i) {
    const int o = out.rank() - in.rank() + i;
    st[size_t(o)] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return st;
}

/// Collapses (dims, strides of N operands): drops size-1 axes and merges axis d into d+1
/// when every operand steps through them as one axis. Throws beyond kMaxRank.
template <int N>
void collapse_into(const std::vector<int64_t>& dims_in,
                   const std::vector<int64_t> (&st_in)[N],
                   int& rank,
                   int64_t (&dims)[kMaxRank],
                   int64_t (&st)[N][kMaxRank]) {
  std::vector<int64_t> d;
  std::vector<int64_t> s[N];
  for (size_t a = 0; a < dims_in.size(); ++a) {
    if (dims_in[a] == 1) continue;
    if (!d.empty()) {
      bool merge = true;
      for (int j = 0; j < N; ++j)
        if (s[j].back() != st_in[j][a] * dims_in[a]) merge = false;
      if (merge) {
        d.back() *= dims_in[a];
        for (int j = 0; j < N; ++j) s[j].back() = st_in[j][a];
        continue;
      }
    }
    d.push_back(dims_in[a]);
    for (int j = 0; j < N; ++j) s[j].push_back(st_in[j][a]);
  }
  if (d.size() > size_t(kMaxRank))
    throw InternalError("cuda: more than 8 non-mergeable dimensions in an element-wise kernel");
  rank = int(d.size());
  for (int a = 0; a < rank; ++a) {
    dims[a] = d[size_t(a)];
    for (int j = 0; j < N; ++j) st[j][a] = s[j][size_t(a)];
  }
}

template <int N>
Broadcast<N> make_broadcast(const Shape& out, const Shape* const (&ins)[N]) {
  std::vector<int64_t> st[N];
  for (int j = 0; j < N; ++j) st[j] = broadcast_strides(*ins[j], out);
  Broadcast<N> b;
  collapse_into<N>(out.dims(), st, b.rank, b.dims, b.st);
  return b;
}

/// True when the first n inputs have as many elements as out: broadcasting is then the
/// identity (no index math needed).
inline bool all_same(const KernelArgs& k, int n) {
  for (int j = 0; j < n; ++j)
    if (k.in(j).size() != k.out().size()) return false;
  return true;
}

}  // namespace tapeflow::cuda::kern
