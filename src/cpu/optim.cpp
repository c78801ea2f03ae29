// Fused optimizer steps. Compiled with -ffp-contract=off (CMakeLists.txt) so that adam_step
// rounds every operation on its own, exactly as the unfused ops it replaces.
#include "backend/backend.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {

void CpuBackend::apply_adam(const KernelArgs& k) {
  const auto& a = k.attr<detail::AdamAttrs>();
  detail::dispatch_float(k.in(0).dtype, [&]<class T>() {
    T* w0 = k.in(0).as<T>();
    T* m0 = k.in(1).as<T>();
    T* v0 = k.in(2).as<T>();
    const T* g0 = k.in(3).as<const T>();
    const T c1 = T(1.0 - a.beta_1), c2 = T(1.0 - a.beta_2), alpha = T(a.alpha), eps = T(a.epsilon);
    parallel_for(k.in(0).size(), kElementwiseGrain / 4, [=](int64_t begin, int64_t end) {
      // Four distinct buffers (apply_adam_in_place checks), held in locals marked restrict so
      // that the loop vectorizes.
      T* __restrict w = w0;
      T* __restrict m = m0;
      T* __restrict v = v0;
      const T* __restrict g = g0;
      for (int64_t i = begin; i < end; ++i) {
        T wi = w[i], mi = m[i], vi = v[i];
        detail::adam_step(wi, mi, vi, g[i], c1, c2, alpha, eps);
        w[i] = wi;
        m[i] = mi;
        v[i] = vi;
      }
    });
  });
}

}  // namespace tapeflow::cpu
