#pragma once

// Data movement: strided copy, pad, concat, gather, scatter-add. All but scatter-add move raw
// elements (1, 4 or 8 bytes); one thread per output element, so each output is written once.

#include "common.cuh"

namespace tapeflow::cuda::kern {

/// out[i] = in[offset + Σ idx_d · st_d] with idx the multi-index of i in out's (collapsed) shape.
template <class E>
struct StridedGather {
  const E* src;
  E* dst;
  Broadcast<1> ix;  // out dims and the source strides
  int64_t offset;
  TF_HD void operator()(int64_t i) const {
    int64_t off[1];
    ix.offsets(i, off);
    dst[i] = src[offset + off[0]];
  }
};

template <class Exec>
void strided_copy(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::StridedCopyAttrs>();
  Broadcast<1> ix;
  const std::vector<int64_t> st[1] = {a.src_strides};
  collapse_into<1>(k.out().shape->dims(), st, ix.rank, ix.dims, ix.st);
  detail::dispatch_size(dtype_size(k.in(0).dtype), [&]<class E>() {
    ex.for_each(k.out().size(),
                StridedGather<E>{k.in(0).as<const E>(), k.out().as<E>(), ix, a.src_offset});
  });
}

/// Pad: out[i] is in[i's index − before] when that lies inside `in`, else `value`.
template <class E>
struct PadElement {
  const E* src;
  E* dst;
  E value;
  int rank;
  int64_t out_dims[kMaxRank], in_dims[kMaxRank], before[kMaxRank];
  TF_HD void operator()(int64_t i) const {
    int64_t rest = i, src_off = 0, scale = 1;
    bool inside = true;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t q = rest / out_dims[d];
      const int64_t idx = rest - q * out_dims[d] - before[d];
      rest = q;
      inside = inside && idx >= 0 && idx < in_dims[d];
      src_off += idx * scale;
      scale *= in_dims[d];
    }
    dst[i] = inside ? src[src_off] : value;
  }
};

template <class Exec>
void pad(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::PadAttrs>();
  const Shape& in = *k.in(0).shape;
  const Shape& out = *k.out().shape;
  if (out.rank() > kMaxRank) throw InternalError("cuda: pad supports up to 8 dimensions");
  const uint64_t bits = value_bits(k.in(0).dtype, a.value);
  detail::dispatch_size(dtype_size(k.in(0).dtype), [&]<class E>() {
    PadElement<E> f{k.in(0).as<const E>(), k.out().as<E>(), E(0), out.rank(), {}, {}, {}};
    std::memcpy(&f.value, &bits, sizeof(E));
    for (int d = 0; d < out.rank(); ++d) {
      f.out_dims[d] = out[d];
      f.in_dims[d] = in[d];
      f.before[d] = a.before[size_t(d)];
    }
    ex.for_each(k.out().size(), f);
  });
}

/// Copies input rows [outer, chunk] into columns [col, col + chunk) of out [outer, total].
template <class E>
struct ConcatPiece {
  const E* src;
  E* dst;
  int64_t chunk, total, col;
  TF_HD void operator()(int64_t i) const {
    const int64_t r = i / chunk, c = i - r * chunk;
    dst[r * total + col + c] = src[i];
  }
};

template <class Exec>
void concat(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::ConcatAttrs>();
  int64_t total = 0;
  for (int64_t c : a.chunks) total += c;
  detail::dispatch_size(dtype_size(k.out().dtype), [&]<class E>() {
    int64_t col = 0;
    for (int i = 0; i < k.num_inputs; ++i) {
      const int64_t c = a.chunks[size_t(i)];
      if (c > 0)
        ex.for_each(a.outer * c,
                    ConcatPiece<E>{k.in(i).as<const E>(), k.out().as<E>(), c, total, col});
      col += c;
    }
  });
}

/// out[r, j, i] = params[r, idx[j], i].
template <class E, class I>
struct GatherElement {
  const E* src;
  const I* idx;
  E* dst;
  int64_t axis_dim, inner, num_indices;
  TF_HD void operator()(int64_t t) const {
    const int64_t i = t % inner, rj = t / inner, j = rj % num_indices, r = rj / num_indices;
    dst[t] = src[(r * axis_dim + int64_t(idx[j])) * inner + i];
  }
};

template <class Exec>
void gather(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::GatherAttrs>();
  if (a.inner == 0 || a.num_indices == 0) return;
  detail::dispatch_size(dtype_size(k.out().dtype), [&]<class E>() {
    detail::dispatch_index(k.in(1).dtype, [&]<class I>() {
      ex.for_each(k.out().size(),
                  GatherElement<E, I>{k.in(0).as<const E>(),
                                      k.in(1).as<const I>(),
                                      k.out().as<E>(),
                                      a.axis_dim,
                                      a.inner,
                                      a.num_indices});
    });
  });
}

/// Deterministic scatter-add: out[r, a, i] sums updates[r, j, i] over the j with idx[j] == a,
/// in increasing j, from 0, as the CPU does; no atomics, so the same bits on every run.
template <class T, class I>
struct ScatterAddElement {
  const T* upd;
  const I* idx;
  T* dst;
  int64_t axis_dim, inner, num_indices;
  TF_HD void operator()(int64_t t) const {
    const int64_t i = t % inner, ra = t / inner, at = ra % axis_dim, r = ra / axis_dim;
    const T* u = upd + r * num_indices * inner + i;
    T s = T(0);
    for (int64_t j = 0; j < num_indices; ++j)
      if (int64_t(idx[j]) == at) s += u[j * inner];
    dst[t] = s;
  }
};

template <class Exec>
void scatter_add(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<detail::ScatterAddAttrs>();
  if (a.inner == 0) return;
  detail::dispatch_numeric(k.out().dtype, [&]<class T>() {
    detail::dispatch_index(k.in(1).dtype, [&]<class I>() {
      ex.for_each(k.out().size(),
                  ScatterAddElement<T, I>{k.in(0).as<const T>(),
                                          k.in(1).as<const I>(),
                                          k.out().as<T>(),
                                          a.axis_dim,
                                          a.inner,
                                          a.num_indices});
    });
  });
}

}  // namespace tapeflow::cuda::kern
