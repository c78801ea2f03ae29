// Data movement on the device: the plans of data.cuh with the grid-stride executor. Scatter-add
// is a deterministic gather (each output sums its updates in index order) unless that would
// cost more than kScatterGatherMax index tests; then it zero-fills and adds atomically.
#include "data.cuh"
#include "launch.cuh"

namespace tapeflow::cuda {
namespace {

constexpr double kScatterGatherMax = 4e9;

template <class T>
struct ZeroFill {
  T* p;
  TF_HD void operator()(int64_t i) const { p[i] = T(0); }
};

__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: adding as unsigned gives the signed sum.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

template <class T, class I>
struct ScatterAddAtomic {
  const T* upd;
  const I* idx;
  T* dst;
  int64_t axis_dim, inner, num_indices;
  __device__ void operator()(int64_t t) const {
    const int64_t i = t % inner, rj = t / inner, j = rj % num_indices, r = rj / num_indices;
    atomic_add(dst + (r * axis_dim + int64_t(idx[j])) * inner + i, upd[t]);
  }
};

}  // namespace

void strided_copy(const detail::KernelArgs& k) { kern::strided_copy(k, kern::DeviceExec{}); }
void pad(const detail::KernelArgs& k) { kern::pad(k, kern::DeviceExec{}); }
void concat(const detail::KernelArgs& k) { kern::concat(k, kern::DeviceExec{}); }
void gather(const detail::KernelArgs& k) { kern::gather(k, kern::DeviceExec{}); }

void scatter_add(const detail::KernelArgs& k) {
  const auto& a = k.attr<detail::ScatterAddAttrs>();
  if (double(k.out().size()) * double(a.num_indices) <= kScatterGatherMax) {
    kern::scatter_add(k, kern::DeviceExec{});
    return;
  }
  detail::dispatch_numeric(k.out().dtype, [&]<class T>() {
    kern::DeviceExec{}.for_each(k.out().size(), ZeroFill<T>{k.out().as<T>()});
    detail::dispatch_index(k.in(1).dtype, [&]<class I>() {
      kern::DeviceExec{}.for_each(k.in(0).size(),
                                  ScatterAddAtomic<T, I>{k.in(0).as<const T>(),
                                                         k.in(1).as<const I>(),
                                                         k.out().as<T>(),
                                                         a.axis_dim,
                                                         a.inner,
                                                         a.num_indices});
    });
  });
}

}  // namespace tapeflow::cuda
