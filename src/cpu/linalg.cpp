// Matmul through OpenBLAS (float32/float64) and a plain loop for integers. This TU includes
// <cblas.h> and no xtensor-blas (their cblas declarations clash; DEPENDENCIES.md).
#include <cblas.h>

#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"

namespace tapeflow::cpu {

void CpuBackend::matmul(const KernelArgs& k) {
  const auto& a = k.attr<detail::MatMulAttrs>();
  const CBLAS_TRANSPOSE ta = a.transpose_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = a.transpose_b ? CblasTrans : CblasNoTrans;
  const int lda = int(a.transpose_a ? a.m : a.k), ldb = int(a.transpose_b ? a.k : a.n);
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    const T* A = k.in(0).as<const T>();
    const T* B = k.in(1).as<const T>();
    T* C = k.out().as<T>();
    for (int64_t b = 0; b < a.batch; ++b) {
      const T* Ab = A + b * a.stride_a;
      const T* Bb = B + b * a.stride_b;
      T* Cb = C + b * a.m * a.n;
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, ta, tb, int(a.m), int(a.n), int(a.k), 1.f, Ab, lda, Bb, ldb,
                    0.f, Cb, int(a.n));
      } else if constexpr (std::is_same_v<T, double>) {
        cblas_dgemm(CblasRowMajor, ta, tb, int(a.m), int(a.n), int(a.k), 1.0, Ab, lda, Bb, ldb,
                    0.0, Cb, int(a.n));
      } else {
        for (int64_t i = 0; i < a.m; ++i)
          for (int64_t j = 0; j < a.n; ++j) {
            T s = 0;
            for (int64_t p = 0; p < a.k; ++p) {
              T x = a.transpose_a ? Ab[p * a.m + i] : Ab[i * a.k + p];
              T y = a.transpose_b ? Bb[j * a.k + p] : Bb[p * a.n + j];
              s += x * y;
            }
            Cb[i * a.n + j] = s;
          }
      }
    }
  });
}

}  // namespace tapeflow::cpu
