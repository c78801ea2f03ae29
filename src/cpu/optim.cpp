// Fused optimizer steps. Compiled with -ffp-contract=off (CMakeLists.txt) so that adam_step
// rounds every operation on its own, exactly as the unfused ops it replaces.
//
// Subnormals are flushed to zero here, as TensorFlow's CPU kernels do. Adam's first moment of a
// weight whose gradient stays 0 (a dead ReLU unit) decays by beta_1 per step and turns
// subnormal after ~800 steps; x86 computes with subnormals in microcode, ~100x slower, which
// made this kernel ~6x slower in the Fashion-MNIST CNN's training. Under flushing, m stops
// decaying near 1e-37 instead (its decrement m·(1 - beta_1) flushes to 0); the step such an m
// gives w is ~1e-34, far below the last bit of any normal weight. The unfused path (taken when
// the variable's value is shared) and the GPU keep subnormals.
#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "backend/backend.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

/// FTZ and DAZ on this thread while alive; the caller's mode is restored after.
class FlushSubnormals {
 public:
#if defined(__x86_64__) || defined(__SSE__)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bits 15 (FTZ) and 6 (DAZ)
  unsigned saved_;
#endif
};

}  // namespace

void CpuBackend::apply_adam(const KernelArgs& k) {
  const auto& a = k.attr<detail::AdamAttrs>();
  detail::dispatch_float(k.in(0).dtype, [&]<class T>() {
    T* w0 = k.in(0).as<T>();
    T* m0 = k.in(1).as<T>();
    T* v0 = k.in(2).as<T>();
    const T* g0 = k.in(3).as<const T>();
    const T c1 = T(1.0 - a.beta_1), c2 = T(1.0 - a.beta_2), alpha = T(a.alpha), eps = T(a.epsilon);
    parallel_for(k.in(0).size(), kElementwiseGrain / 4, [=](int64_t begin, int64_t end) {
      FlushSubnormals flush;  // on whichever thread runs this part
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
