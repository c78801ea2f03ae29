// Indexing, ordering and scan kernels: cumsum / cumprod, top_k (which also serves sort and
// argsort) and take_rows (the values that top_k's indices pick).
//
// Ordering works on unsigned keys: each value maps to an integer whose unsigned order is the
// value's order (floats: sign-magnitude flipped; -0 → +0 so the two compare equal; every NaN
// → one key above +inf), complemented when the largest come first. Every row then wants its
// k smallest keys, ties by lower index: an LSD radix sort (stable) for long rows, a bounded
// heap when k is small against n, std::sort on (key, index) pairs otherwise.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <type_traits>
#include <vector>

#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

// ---- scans -----------------------------------------------------------------------------------

/// Integers wrap around on overflow (two's complement, as TF's kernels in practice), computed
/// unsigned so that no signed overflow happens.
template <class T>
struct WrapOf {
  using type = T;
};
template <class T>
requires std::is_integral_v<T>
struct WrapOf<T> {
  using type = std::make_unsigned_t<T>;
};
template <class T>
using Wrap = typename WrapOf<T>::type;
struct SumOp {
  template <class T>
  static T identity() {
    return T(0);
  }
  template <class T>
  static T apply(T a, T b) {
    return T(Wrap<T>(a) + Wrap<T>(b));
  }
};
struct ProdOp {
  template <class T>
  static T identity() {
    return T(1);
  }
  template <class T>
  static T apply(T a, T b) {
    return T(Wrap<T>(a) * Wrap<T>(b));
  }
};

/// Lines of a long axis are cut into this many blocks of one contiguous scan (kBlocks chains
/// run side by side, so the adds overlap instead of waiting on each other). Fixed: the result's
/// bits do not depend on the machine.
constexpr int64_t kBlocks = 16;
constexpr int64_t kBlockedMin = int64_t(1) << 16;

/// A forward scan of one contiguous line of length n (inner == 1), blocked when long.
template <class Op, class T>
void scan_line(const T* x, T* y, int64_t n, bool exclusive) {
  if (n < kBlockedMin) {
    T acc = Op::template identity<T>();
    if (exclusive)
      for (int64_t j = 0; j < n; ++j) {
        y[j] = acc;
        acc = Op::apply(acc, x[j]);
      }
    else
      for (int64_t j = 0; j < n; ++j) y[j] = acc = Op::apply(acc, x[j]);
    return;
  }
  const int64_t len = n / kBlocks;  // the last block also takes the remainder
  // 1. Each block's total (8 partial accumulators, combined in a fixed order).
  T total[kBlocks];
  parallel_for(kBlocks - 1, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* p = x + b * len;
      T part[8];
      for (T& v : part) v = Op::template identity<T>();
      int64_t j = 0;
      for (; j + 8 <= len; j += 8)
        for (int l = 0; l < 8; ++l) part[l] = Op::apply(part[l], p[j + l]);
      for (; j < len; ++j) part[0] = Op::apply(part[0], p[j]);
      T s = part[0];
      for (int l = 1; l < 8; ++l) s = Op::apply(s, part[l]);
      total[b] = s;
    }
  });
  // 2. Block offsets, then every block scanned from its offset, the blocks interleaved.
  T acc[kBlocks];
  acc[0] = Op::template identity<T>();
  for (int64_t b = 1; b < kBlocks; ++b) acc[b] = Op::apply(acc[b - 1], total[b - 1]);
  constexpr int64_t kHalf = kBlocks / 2;
  parallel_for(2, 1, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      T a[kHalf];
      for (int64_t c = 0; c < kHalf; ++c) a[c] = acc[h * kHalf + c];
      const int64_t base = h * kHalf * len;
      for (int64_t j = 0; j < len; ++j)
        for (int64_t c = 0; c < kHalf; ++c) {
          const int64_t i = base + c * len + j;
          if (exclusive) {
            y[i] = a[c];
            a[c] = Op::apply(a[c], x[i]);
          } else {
            y[i] = a[c] = Op::apply(a[c], x[i]);
          }
        }
      if (h == 1) {  // the remainder after the last full block
        T last = a[kHalf - 1];
        for (int64_t i = kBlocks * len; i < n; ++i) {
          if (exclusive) {
            y[i] = last;
            last = Op::apply(last, x[i]);
          } else {
            y[i] = last = Op::apply(last, x[i]);
          }
        }
      }
    }
  });
}

template <class Op>
void scan(const KernelArgs& k) {
  const auto& a = k.attr<detail::ScanAttrs>();
  detail::dispatch_numeric(k.out().dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    T* y = k.out().as<T>();
    const int64_t n = a.n, inner = a.inner;
    if (n == 0 || inner == 0 || a.outer == 0) return;
    if (inner == 1 && !a.reverse && a.outer == 1) {
      scan_line<Op>(x, y, n, a.exclusive);
      return;
    }
    // [outer, n, inner]: each outer slab scans its n rows, the inner entries side by side.
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n * inner, 1));
    parallel_for(a.outer, grain, [&](int64_t o0, int64_t o1) {
      std::vector<T> acc(static_cast<size_t>(inner));
      for (int64_t o = o0; o < o1; ++o) {
        const T* xs = x + o * n * inner;
        T* ys = y + o * n * inner;
        std::fill(acc.begin(), acc.end(), Op::template identity<T>());
        for (int64_t s = 0; s < n; ++s) {
          const int64_t j = a.reverse ? n - 1 - s : s;
          const T* xr = xs + j * inner;
          T* yr = ys + j * inner;
          if (a.exclusive)
            for (int64_t i = 0; i < inner; ++i) {
              yr[i] = acc[size_t(i)];
              acc[size_t(i)] = Op::apply(acc[size_t(i)], xr[i]);
            }
          else
            for (int64_t i = 0; i < inner; ++i)
              yr[i] = acc[size_t(i)] = Op::apply(acc[size_t(i)], xr[i]);
        }
      }
    });
  });
}

// ---- ordering --------------------------------------------------------------------------------

template <class T>
using KeyOf = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

/// The unsigned key whose order is T's order (see the file comment).
template <class T>
inline KeyOf<T> order_key(T v) {
  using K = KeyOf<T>;
  constexpr K top = K(1) << (8 * sizeof(K) - 1);
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return ~K(0);  // NaN: above +inf (whose key is below ~0)
    if (v == T(0)) v = T(0);   // -0 → +0
    const K b = std::bit_cast<K>(v);
    return (b & top) ? ~b : (b | top);
  } else {
    return K(v) ^ top;
  }
}

template <class K>
struct Entry {
  K key;
  int32_t idx;
};
template <class K>
inline bool entry_less(const Entry<K>& a, const Entry<K>& b) {
  return a.key < b.key || (a.key == b.key && a.idx < b.idx);
}

/// Stable LSD radix sort of e by key, 8 bits a pass; passes whose digit is the same for every
/// key are skipped. `tmp` has e's size.
template <class K>
void radix_sort(std::vector<Entry<K>>& e, std::vector<Entry<K>>& tmp) {
  constexpr int kPasses = int(sizeof(K));
  const size_t n = e.size();
  std::vector<uint32_t> hist(size_t(kPasses) * 256, 0);
  for (const auto& v : e)
    for (int p = 0; p < kPasses; ++p) ++hist[size_t(p) * 256 + ((v.key >> (8 * p)) & 0xff)];
  Entry<K>* src = e.data();
  Entry<K>* dst = tmp.data();
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* h = hist.data() + size_t(p) * 256;
    bool trivial = false;
    for (int d = 0; d < 256; ++d)
      if (h[d] != 0) {
        trivial = h[d] == n;
        break;
      }
    if (trivial) continue;
    uint32_t sum = 0;
    for (int d = 0; d < 256; ++d) {
      const uint32_t c = h[d];
      h[d] = sum;
      sum += c;
    }
    const int shift = 8 * p;
    for (size_t i = 0; i < n; ++i) dst[h[(src[i].key >> shift) & 0xff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != e.data()) std::memcpy(e.data(), src, n * sizeof(Entry<K>));
}

/// The k smallest entries (key, then index) of one row, in order, written as indices.
template <class T>
void top_k_row(const T* x,
               int64_t n,
               int64_t k,
               bool ascending,
               int32_t* out,
               std::vector<Entry<KeyOf<T>>>& e,
               std::vector<Entry<KeyOf<T>>>& tmp) {
  using K = KeyOf<T>;
  const K flip = ascending ? K(0) : ~K(0);
  if (k == 0) return;
  if (k <= 64 && k * 16 <= n) {
    // A max-heap of the k best so far; a later equal key has a higher index, so it never wins.
    auto worse = [](const Entry<K>& a, const Entry<K>& b) { return entry_less(a, b); };
    e.clear();
    for (int64_t i = 0; i < k; ++i) e.push_back({K(order_key(x[i]) ^ flip), int32_t(i)});
    std::make_heap(e.begin(), e.end(), worse);
    K bound = e.front().key;
    for (int64_t i = k; i < n; ++i) {
      const K key = K(order_key(x[i]) ^ flip);
      if (key < bound) {
        std::pop_heap(e.begin(), e.end(), worse);
        e.back() = {key, int32_t(i)};
        std::push_heap(e.begin(), e.end(), worse);
        bound = e.front().key;
      }
    }
    std::sort_heap(e.begin(), e.end(), worse);
    for (int64_t i = 0; i < k; ++i) out[i] = e[size_t(i)].idx;
    return;
  }
  e.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) e[size_t(i)] = {K(order_key(x[i]) ^ flip), int32_t(i)};
  if (k == n && n >= 256) {
    tmp.resize(size_t(n));
    radix_sort(e, tmp);
  } else if (k == n) {
    std::sort(e.begin(), e.end(), entry_less<K>);
  } else {
    std::nth_element(e.begin(), e.begin() + k, e.end(), entry_less<K>);
    std::sort(e.begin(), e.begin() + k, entry_less<K>);
  }
  for (int64_t i = 0; i < k; ++i) out[i] = e[size_t(i)].idx;
}

}  // namespace

void CpuBackend::cumsum(const KernelArgs& k) { scan<SumOp>(k); }
void CpuBackend::cumprod(const KernelArgs& k) { scan<ProdOp>(k); }

void CpuBackend::top_k(const KernelArgs& k) {
  const auto& a = k.attr<detail::TopKAttrs>();
  if (a.k == 0 || a.n == 0 || a.rows == 0) return;
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    int32_t* out = k.out().as<int32_t>();
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(a.n, 1));
    parallel_for(a.rows, grain, [&](int64_t r0, int64_t r1) {
      std::vector<Entry<KeyOf<T>>> e, tmp;
      for (int64_t r = r0; r < r1; ++r)
        top_k_row(x + r * a.n, a.n, a.k, a.ascending, out + r * a.k, e, tmp);
    });
  });
}

void CpuBackend::take_rows(const KernelArgs& k) {
  const auto& a = k.attr<detail::TakeRowsAttrs>();
  if (a.k == 0 || a.rows == 0) return;
  detail::dispatch_size(dtype_size(k.in(0).dtype), [&]<class E>() {
    const E* x = k.in(0).as<const E>();
    const int32_t* idx = k.in(1).as<const int32_t>();
    E* out = k.out().as<E>();
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(a.k, 1));
    parallel_for(a.rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const E* xr = x + r * a.n;
        for (int64_t j = 0; j < a.k; ++j) out[r * a.k + j] = xr[idx[r * a.k + j]];
      }
    });
  });
}

}  // namespace tapeflow::cpu
