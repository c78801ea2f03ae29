// Fused optimizer steps on the device: the per-element update is detail::adam_step
// (src/backend/backend.hpp), shared with the CPU kernel.
#include "launch.cuh"

namespace tapeflow::cuda {
namespace kern {

template <class T>
struct AdamStep {
  T *w, *m, *v;
  const T* g;
  T c1, c2, alpha, eps;
  __device__ void operator()(int64_t i) const {
    detail::adam_step(w[i], m[i], v[i], g[i], c1, c2, alpha, eps);
  }
};

}  // namespace kern

void apply_adam(const detail::KernelArgs& k) {
  const auto& a = k.attr<detail::AdamAttrs>();
  detail::dispatch_float(k.in(0).dtype, [&]<class T>() {
    kern::DeviceExec{}.for_each(k.in(0).size(),
                                kern::AdamStep<T>{k.in(0).as<T>(),
                                                  k.in(1).as<T>(),
                                                  k.in(2).as<T>(),
                                                  k.in(3).as<const T>(),
                                                  T(1.0 - a.beta_1),
                                                  T(1.0 - a.beta_2),
                                                  T(a.alpha),
                                                  T(a.epsilon)});
  });
}

}  // namespace tapeflow::cuda
