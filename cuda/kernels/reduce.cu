// Reductions on the device. Rows of a contiguous reduction (inner == 1) that are long enough get
// a block each; strided ones (inner > 1) get blocks of 32 columns; both split the reduced axis
// over several blocks plus a second pass when there are few rows / tiles. Short reductions and
// the strided arg-reductions run the column functors of reduce.cuh, one thread per output.
#include <algorithm>
#include <cub/block/block_reduce.cuh>

#include "launch.cuh"
#include "reduce.cuh"

namespace tapeflow::cuda {
namespace {

using kern::ArgCandidate;
using kern::DeviceExec;
using kern::kThreads;
using kern::ReduceAttrs;

/// Rows shorter than this reduce in one thread each.
constexpr int64_t kRowMin = 256;
/// Elements one block of a split row reduces.
constexpr int64_t kChunk = 8192;

/// Block b reduces part b % parts of row b / parts: x[row·reduce + [part·chunk, +chunk)].
template <class T, class Op>
__global__ void __launch_bounds__(kThreads)
    reduce_rows_kernel(const T* x, T* y, int64_t reduce, int64_t chunk, int parts, T init, Op op) {
  const int64_t row = blockIdx.x / parts, part = blockIdx.x % parts;
  const int64_t lo = part * chunk, hi = lo + chunk < reduce ? lo + chunk : reduce;
  const T* p = x + row * reduce;
  T acc = init;
  for (int64_t r = lo + threadIdx.x; r < hi; r += kThreads) acc = op(acc, p[r]);
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const T total = BlockReduce(tmp).Reduce(acc, op);
  if (threadIdx.x == 0) y[blockIdx.x] = total;
}

template <class T, class Op>
void launch_rows(const T* x, T* y, int64_t rows, int64_t reduce, int parts, T init, Op op) {
  const int64_t chunk = (reduce + parts - 1) / parts;
  reduce_rows_kernel<T, Op><<<unsigned(rows * parts), kThreads, 0, current_stream()>>>(
      x, y, reduce, chunk, parts, init, op);
  check(cudaGetLastError(), "reduce launch");
}

/// Strided reductions (inner > 1): a block of 32 × 8 threads takes 32 neighbouring columns
/// (coalesced reads); its 8 rows of threads fold every 8th element of part `part` of the
/// reduced axis, then row 0 folds the 8 results in order. Block (tile, o·parts + part) writes
/// y[(o·parts + part)·inner + j].
constexpr int kTileX = 32, kTileY = 8;
template <class T, class Op>
__global__ void __launch_bounds__(kTileX* kTileY) reduce_cols_kernel(
    const T* x, T* y, int64_t reduce, int64_t inner, int64_t chunk, int parts, T init, Op op) {
  const int tx = threadIdx.x % kTileX, ty = threadIdx.x / kTileX;
  const int64_t o = blockIdx.y / parts, part = blockIdx.y % parts;
  const int64_t j = int64_t(blockIdx.x) * kTileX + tx;
  const int64_t lo = part * chunk, hi = lo + chunk < reduce ? lo + chunk : reduce;
  T acc = init;
  if (j < inner)
    for (int64_t r = lo + ty; r < hi; r += kTileY) acc = op(acc, x[(o * reduce + r) * inner + j]);
  __shared__ T lanes[kTileY][kTileX];
  lanes[ty][tx] = acc;
  __syncthreads();
  if (ty == 0 && j < inner) {
    for (int t = 1; t < kTileY; ++t) acc = op(acc, lanes[t][tx]);
    y[(o * parts + part) * inner + j] = acc;
  }
}

template <class T, class Op>
void launch_cols(
    const T* x, T* y, int64_t outer, int64_t reduce, int64_t inner, int parts, T init, Op op) {
  const int64_t chunk = (reduce + parts - 1) / parts;
  const dim3 grid(unsigned((inner + kTileX - 1) / kTileX), unsigned(outer * parts));
  reduce_cols_kernel<T, Op>
      <<<grid, kTileX * kTileY, 0, current_stream()>>>(x, y, reduce, inner, chunk, parts, init, op);
  check(cudaGetLastError(), "column reduce launch");
}

template <class T, class Op>
void reduce(const detail::KernelArgs& k, T init, Op op) {
  const auto& a = k.attr<ReduceAttrs>();
  if (a.outer * a.inner == 0) return;
  if (a.inner != 1 && a.reduce >= 64 && a.outer <= 65535 &&
      (a.inner + kTileX - 1) / kTileX <= 65535) {
    // Few tiles: split the reduced axis too (partials [outer, parts, inner], then a second pass).
    const int64_t tiles = a.outer * ((a.inner + kTileX - 1) / kTileX);
    int64_t parts = 1;
    if (tiles < 512)
      parts = std::min({(a.reduce + 1023) / 1024, (1024 + tiles - 1) / tiles, 65535 / a.outer});
    const T* x = k.in(0).as<const T>();
    T* y = k.out().as<T>();
    if (parts <= 1) {
      launch_cols<T>(x, y, a.outer, a.reduce, a.inner, 1, init, op);
      return;
    }
    const size_t bytes = size_t(a.outer * parts * a.inner) * sizeof(T);
    T* partial = static_cast<T*>(device_alloc(bytes));
    launch_cols<T>(x, partial, a.outer, a.reduce, a.inner, int(parts), init, op);
    launch_cols<T>(partial, y, a.outer, parts, a.inner, 1, init, op);
    device_free(partial, bytes);  // stream-ordered, as below
    return;
  }
  if (a.inner != 1 || a.reduce < kRowMin) {
    kern::reduce_columns<T>(k, init, op, DeviceExec{});
    return;
  }
  const T* x = k.in(0).as<const T>();
  T* y = k.out().as<T>();
  // Few long rows: split each over several blocks so the whole chip works, then reduce the
  // partial results (one block per row).
  int64_t parts = 1;
  if (a.outer < 1024)
    parts = std::min((a.reduce + kChunk - 1) / kChunk, std::max<int64_t>(1, 2048 / a.outer));
  if (parts <= 1) {
    launch_rows<T>(x, y, a.outer, a.reduce, 1, init, op);
    return;
  }
  const size_t bytes = size_t(a.outer * parts) * sizeof(T);
  T* partial = static_cast<T*>(device_alloc(bytes));
  launch_rows<T>(x, partial, a.outer, a.reduce, int(parts), init, op);
  launch_rows<T>(partial, y, a.outer, parts, 1, init, op);
  device_free(partial, bytes);  // stream-ordered: reused only after the kernels above
}

template <class T, class Better>
__global__ void __launch_bounds__(kThreads)
    arg_rows_kernel(const T* x, int64_t* y, int64_t reduce, Better better) {
  const T* p = x + int64_t(blockIdx.x) * reduce;
  const kern::ArgCombine<T, Better> combine{better};
  ArgCandidate<T> acc{T(0), -1};
  for (int64_t r = threadIdx.x; r < reduce; r += kThreads)
    acc = combine(acc, ArgCandidate<T>{p[r], r});
  using BlockReduce = cub::BlockReduce<ArgCandidate<T>, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const ArgCandidate<T> best = BlockReduce(tmp).Reduce(acc, combine);
  if (threadIdx.x == 0) y[blockIdx.x] = kern::arg_finish(best, p[0]);
}

template <class T, class Better>
void arg(const detail::KernelArgs& k, Better better) {
  const auto& a = k.attr<ReduceAttrs>();
  if (a.outer * a.inner == 0) return;
  if (a.inner != 1 || a.reduce < kRowMin) {
    kern::arg_columns<T>(k, better, DeviceExec{});
    return;
  }
  arg_rows_kernel<T, Better><<<unsigned(a.outer), kThreads, 0, current_stream()>>>(
      k.in(0).as<const T>(), k.out().as<int64_t>(), a.reduce, better);
  check(cudaGetLastError(), "argmax/argmin launch");
}

}  // namespace

void reduce_sum(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { reduce<T>(k, kern::sum_init<T>(), kern::SumOp{}); });
}
void reduce_prod(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { reduce<T>(k, kern::prod_init<T>(), kern::ProdOp{}); });
}
void reduce_max(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { reduce<T>(k, kern::max_init<T>(), kern::MaxOp{}); });
}
void reduce_min(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype,
                           [&]<class T>() { reduce<T>(k, kern::min_init<T>(), kern::MinOp{}); });
}
void argmax(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() { arg<T>(k, kern::ArgMaxBetter{}); });
}
void argmin(const detail::KernelArgs& k) {
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() { arg<T>(k, kern::ArgMinBetter{}); });
}

}  // namespace tapeflow::cuda
