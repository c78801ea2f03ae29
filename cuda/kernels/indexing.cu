// Indexing, ordering and scans on the device. Scans and take_rows are the plans of
// indexing.cuh (one thread per line: fine for many lines, slow for one very long line, which a
// block scan would fix). top_k sorts every row with CUB's segmented radix sort (stable, so ties
// keep the lower index first, as the CPU) over the order keys, then keeps each row's first k.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <limits>
#include <type_traits>

#include "indexing.cuh"
#include "launch.cuh"

namespace tapeflow::cuda {
namespace {

template <class T, class K>
struct MakeKeys {
  const T* x;
  K* keys;
  int32_t* pos;
  int64_t n;
  K flip;
  __device__ void operator()(int64_t t) const {
    keys[t] = kern::order_key<T, K>(x[t], flip);
    pos[t] = int32_t(t % n);
  }
};
struct RowOffsets {
  int* off;
  int n;
  __device__ void operator()(int64_t r) const { off[r] = int(r) * n; }
};
struct KeepFirst {
  const int32_t* sorted;
  int32_t* out;
  int64_t n, k;
  __device__ void operator()(int64_t t) const {
    const int64_t r = t / k, j = t - r * k;
    out[t] = sorted[r * n + j];
  }
};

/// Device scratch released at scope exit (stream-ordered, so in-flight kernels are safe).
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Scratch(size_t b) : p(b ? device_alloc(b) : nullptr), bytes(b) {}
  ~Scratch() {
    if (p) device_free(p, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

}  // namespace

void cumsum(const detail::KernelArgs& k) { kern::scan<kern::ScanSum>(k, kern::DeviceExec{}); }
void cumprod(const detail::KernelArgs& k) { kern::scan<kern::ScanProd>(k, kern::DeviceExec{}); }
void take_rows(const detail::KernelArgs& k) { kern::take_rows(k, kern::DeviceExec{}); }

void top_k(const detail::KernelArgs& k) {
  const auto& a = k.attr<detail::TopKAttrs>();
  const int64_t total = a.rows * a.n;
  if (total == 0 || a.k == 0) return;
  if (total > int64_t(std::numeric_limits<int>::max()))
    throw UnimplementedError("cuda: top_k / sort of more than 2^31 - 1 elements in one call");
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    using K = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    const K flip = a.ascending ? K(0) : K(~K(0));
    Scratch keys(size_t(total) * sizeof(K) * 2), pos(size_t(total) * sizeof(int32_t) * 2);
    K* k_in = keys.as<K>();
    K* k_out = k_in + total;
    int32_t* v_in = pos.as<int32_t>();
    int32_t* v_out = v_in + total;
    kern::DeviceExec ex;
    ex.for_each(total, MakeKeys<T, K>{k.in(0).as<const T>(), k_in, v_in, a.n, flip});
    cudaStream_t s = current_stream();
    const int items = int(total);
    size_t temp_bytes = 0;
    if (a.rows == 1) {
      check(cub::DeviceRadixSort::SortPairs(
                nullptr, temp_bytes, k_in, k_out, v_in, v_out, items, 0, int(8 * sizeof(K)), s),
            "cub radix sort (size)");
      Scratch temp(temp_bytes);
      check(cub::DeviceRadixSort::SortPairs(
                temp.p, temp_bytes, k_in, k_out, v_in, v_out, items, 0, int(8 * sizeof(K)), s),
            "cub radix sort");
    } else {
      Scratch offsets(size_t(a.rows + 1) * sizeof(int));
      ex.for_each(a.rows + 1, RowOffsets{offsets.as<int>(), int(a.n)});
      const int* off = offsets.as<int>();
      check(cub::DeviceSegmentedRadixSort::SortPairs(nullptr,
                                                     temp_bytes,
                                                     k_in,
                                                     k_out,
                                                     v_in,
                                                     v_out,
                                                     items,
                                                     int(a.rows),
                                                     off,
                                                     off + 1,
                                                     0,
                                                     int(8 * sizeof(K)),
                                                     s),
            "cub segmented radix sort (size)");
      Scratch temp(temp_bytes);
      check(cub::DeviceSegmentedRadixSort::SortPairs(temp.p,
                                                     temp_bytes,
                                                     k_in,
                                                     k_out,
                                                     v_in,
                                                     v_out,
                                                     items,
                                                     int(a.rows),
                                                     off,
                                                     off + 1,
                                                     0,
                                                     int(8 * sizeof(K)),
                                                     s),
            "cub segmented radix sort");
    }
    ex.for_each(a.rows * a.k, KeepFirst{v_out, k.out().as<int32_t>(), a.n, a.k});
  });
}

}  // namespace tapeflow::cuda
