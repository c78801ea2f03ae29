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
    T* w = k.in(0).as<T>();
    T* m = k.in(1).as<T>();
    T* v = k.in(2).as<T>();
    const T* g = k.in(3).as<const T>();
    const T c1 = T(1.0 - a.beta_1), c2 = T(1.0 - a.beta_2), alpha = T(a.alpha), eps = T(a.epsilon);
    parallel_for(k.in(0).size(), kElementwiseGrain / 4, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) detail::adam_step(w[i], m[i], v[i], g[i], c1, c2, alpha, eps);
    });
  });
}

}  // namespace tapeflow::cpu
