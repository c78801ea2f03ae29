// Data movement and creation kernels: strided copies (transpose, slice, broadcast_to), pad,
// concat, gather / scatter-add, fill/range and counter-based random numbers.
#include <cmath>
#include <cstring>

#include "backend/elementwise_ops.hpp"
#include "core/convert.hpp"
#include "core/dispatch.hpp"
#include "core/philox.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

/// Copies elements of `esize` bytes: dst is contiguous over `shape`, src follows `st`.
template <class E>
void strided_gather(
    const E* src, E* dst, const Shape& shape, const std::vector<int64_t>& st, int64_t offset) {
  const int r = shape.rank();
  if (r == 0) {
    dst[0] = src[offset];
    return;
  }
  const int64_t inner = shape[r - 1], is = st[size_t(r - 1)];
  const int64_t rows = shape.num_elements() / std::max<int64_t>(inner, 1);
  std::vector<int64_t> idx(size_t(r), 0);
  int64_t off = offset;
  for (int64_t row = 0; row < rows; ++row) {
    E* d = dst + row * inner;
    const E* s = src + off;
    if (is == 1)
      std::memcpy(d, s, size_t(inner) * sizeof(E));
    else if (is == 0)
      std::fill(d, d + inner, s[0]);
    else
      for (int64_t i = 0; i < inner; ++i) d[i] = s[i * is];
    for (int dd = r - 2; dd >= 0; --dd) {
      ++idx[size_t(dd)];
      off += st[size_t(dd)];
      if (idx[size_t(dd)] < shape[dd]) break;
      off -= st[size_t(dd)] * shape[dd];
      idx[size_t(dd)] = 0;
    }
  }
}

}  // namespace

void CpuBackend::strided_copy(const KernelArgs& k) {
  const auto& a = k.attr<detail::StridedCopyAttrs>();
  detail::dispatch_size(dtype_size(k.in(0).dtype), [&]<class E>() {
    strided_gather(
        k.in(0).as<const E>(), k.out().as<E>(), *k.out().shape, a.src_strides, a.src_offset);
  });
}

void CpuBackend::pad(const KernelArgs& k) {
  const auto& a = k.attr<detail::PadAttrs>();
  detail::dispatch_all(k.in(0).dtype, [&]<class T>() {
    T* o = k.out().as<T>();
    const int64_t n = k.out().size();
    std::fill(o, o + n, detail::convert_element<T>(a.value));
    const Shape& in = *k.in(0).shape;
    const Shape& out = *k.out().shape;
    const int r = in.rank();
    if (k.in(0).size() == 0) return;
    if (r == 0) {
      o[0] = k.in(0).as<const T>()[0];
      return;
    }
    // Walk the input rows; each lands at a shifted row of the output.
    std::vector<int64_t> ost(size_t(r), 1);
    for (int d = r - 2; d >= 0; --d) ost[size_t(d)] = ost[size_t(d + 1)] * out[d + 1];
    const T* x = k.in(0).as<const T>();
    const int64_t inner = in[r - 1];
    const int64_t rows = in.num_elements() / inner;
    std::vector<int64_t> idx(size_t(r), 0);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = a.before[size_t(r - 1)];
      for (int d = 0; d < r - 1; ++d)
        off += (idx[size_t(d)] + a.before[size_t(d)]) * ost[size_t(d)];
      std::memcpy(o + off, x + row * inner, size_t(inner) * sizeof(T));
      for (int d = r - 2; d >= 0; --d) {
        if (++idx[size_t(d)] < in[d]) break;
        idx[size_t(d)] = 0;
      }
    }
  });
}

void CpuBackend::concat(const KernelArgs& k) {
  const auto& a = k.attr<detail::ConcatAttrs>();
  const size_t es = size_t(dtype_size(k.out().dtype));
  int64_t total = 0;
  for (int64_t c : a.chunks) total += c;
  auto* o = static_cast<unsigned char*>(k.out().data);
  for (int64_t r = 0; r < a.outer; ++r) {
    int64_t col = 0;
    for (int i = 0; i < k.num_inputs; ++i) {
      const int64_t c = a.chunks[size_t(i)];
      std::memcpy(o + (r * total + col) * es,
                  static_cast<const unsigned char*>(k.in(i).data) + r * c * es,
                  size_t(c) * es);
      col += c;
    }
  }
}

void CpuBackend::gather(const KernelArgs& k) {
  const auto& a = k.attr<detail::GatherAttrs>();
  const size_t es = size_t(dtype_size(k.out().dtype));
  const auto* x = static_cast<const unsigned char*>(k.in(0).data);
  auto* o = static_cast<unsigned char*>(k.out().data);
  detail::dispatch_index(k.in(1).dtype, [&]<class I>() {
    const I* idx = k.in(1).as<const I>();
    for (int64_t r = 0; r < a.outer; ++r)
      for (int64_t j = 0; j < a.num_indices; ++j)
        std::memcpy(o + ((r * a.num_indices + j) * a.inner) * es,
                    x + ((r * a.axis_dim + int64_t(idx[j])) * a.inner) * es,
                    size_t(a.inner) * es);
  });
}

void CpuBackend::scatter_add(const KernelArgs& k) {
  const auto& a = k.attr<detail::ScatterAddAttrs>();
  detail::dispatch_numeric(k.out().dtype, [&]<class T>() {
    T* o = k.out().as<T>();
    std::fill(o, o + k.out().size(), T(0));
    const T* u = k.in(0).as<const T>();
    detail::dispatch_index(k.in(1).dtype, [&]<class I>() {
      const I* idx = k.in(1).as<const I>();
      for (int64_t r = 0; r < a.outer; ++r)
        for (int64_t j = 0; j < a.num_indices; ++j) {
          T* dst = o + (r * a.axis_dim + int64_t(idx[j])) * a.inner;
          const T* src = u + (r * a.num_indices + j) * a.inner;
          // Integers wrap, as TF's (signed overflow is UB in C++).
          for (int64_t i = 0; i < a.inner; ++i) dst[i] = detail::ops::wrap_add(dst[i], src[i]);
        }
    });
  });
}

void CpuBackend::fill(const KernelArgs& k) {
  const auto& a = k.attr<detail::FillAttrs>();
  detail::dispatch_all(k.out().dtype, [&]<class T>() {
    T* o = k.out().as<T>();
    const int64_t n = k.out().size();
    // start + i·delta rounded once (std::fma), so every backend gives the same bits.
    if (a.delta == 0)
      std::fill(o, o + n, detail::convert_element<T>(a.start));
    else
      for (int64_t i = 0; i < n; ++i)
        o[i] = detail::convert_element<T>(std::fma(double(i), a.delta, a.start));
  });
}

void CpuBackend::random(const KernelArgs& k) {
  const auto& a = k.attr<detail::RandomAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    T* o = k.out().as<T>();
    const int64_t n = k.out().size();
    // Element i depends only on (seed, counter, i): any split over threads gives the same bits.
    if (a.kind == detail::RandomKind::Uniform) {
      // Dropout's masks: a vectorized pass of first draws, then random_value for the rare
      // element that rounded up to b (the same bits as calling it for every element).
      const double lo = a.a, hi = a.b;
      const uint64_t seed = a.seed, counter = a.counter;
      parallel_for(n, 4096, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          o[i] = detail::uniform_draw<T>(lo, hi, seed, counter, uint64_t(i), 0);
        for (int64_t i = begin; i < end; ++i)
          if (o[i] >= static_cast<T>(hi))
            o[i] = detail::random_value<T>(
                detail::RandomKind::Uniform, lo, hi, seed, counter, uint64_t(i));
      });
      return;
    }
    parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        o[i] = detail::random_value<T>(a.kind, a.a, a.b, a.seed, a.counter, uint64_t(i));
    });
  });
}

}  // namespace tapeflow::cpu
