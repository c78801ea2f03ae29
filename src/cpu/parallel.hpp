#pragma once

#include <cstdint>
#include <functional>

namespace tapeflow::cpu {

/// Runs fn(begin, end) over [0, n) split across the CPU threads, when n is large enough that
/// each part gets at least `grain` items; otherwise inline on the caller. The pool's workers
/// sleep on a condition variable between jobs (no spinning that would fight OpenBLAS's
/// threads). Size: TAPEFLOW_NUM_THREADS, else the number of CPUs. Creating the pool sets
/// OpenBLAS to one thread: matmul splits its GEMMs over this pool instead.
void parallel_for_pool(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
/// The inline front: small ranges call `fn` directly (no std::function, so its loop stays
/// inlined and vectorised).
template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n < 2 * grain) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  parallel_for_pool(n, grain, std::function<void(int64_t, int64_t)>(std::ref(fn)));
}

/// Threads parallel_for uses (1 = serial).
int num_threads();

/// Items per task below which element-wise kernels stay on one thread.
inline constexpr int64_t kElementwiseGrain = int64_t(1) << 16;

}  // namespace tapeflow::cpu
