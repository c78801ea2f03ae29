#pragma once

// Matmul for integer dtypes (cuBLAS has no integer GEMM): one thread per output element, the
// CPU's loop. Float32/float64 go through cuBLAS in linalg.cu.

#include "common.cuh"

namespace tapeflow::cuda::kern {

using detail::MatMulAttrs;

template <class T>
struct MatMulElement {
  const T* A;
  const T* B;
  T* C;
  MatMulAttrs a;
  TF_HD void operator()(int64_t idx) const {
    const int64_t mn = a.m * a.n;
    const int64_t b = idx / mn, rest = idx - b * mn, i = rest / a.n, j = rest - i * a.n;
    const T* Ab = A + b * a.stride_a;
    const T* Bb = B + b * a.stride_b;
    T s = 0;
    for (int64_t p = 0; p < a.k; ++p) {
      const T x = a.transpose_a ? Ab[p * a.m + i] : Ab[i * a.k + p];
      const T y = a.transpose_b ? Bb[j * a.k + p] : Bb[p * a.n + j];
      s += x * y;
    }
    C[idx] = s;
  }
};

template <class T, class Exec>
void matmul_plain(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<MatMulAttrs>();
  ex.for_each(a.batch * a.m * a.n,
              MatMulElement<T>{k.in(0).as<const T>(), k.in(1).as<const T>(), k.out().as<T>(), a});
}

/// cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ,
/// so the call passes B first, with n and m swapped. These are its arguments.
struct GemmArgs {
  bool trans_first, trans_second;  // op of B, op of A
  int rows, cols, depth;           // n, m, k
  int ld_first, ld_second, ldc;    // ldb, lda, n
  long long stride_first, stride_second, stride_c;
};
inline GemmArgs gemm_args(const MatMulAttrs& a) {
  return GemmArgs{a.transpose_b,
                  a.transpose_a,
                  int(a.n),
                  int(a.m),
                  int(a.k),
                  int(a.transpose_b ? a.k : a.n),
                  int(a.transpose_a ? a.m : a.k),
                  int(a.n),
                  a.stride_b,
                  a.stride_a,
                  a.m * a.n};
}

/// Column-major reference GEMM with the arguments above (host test: checks the row-major trick).
template <class T>
void gemm_reference(const GemmArgs& g, int batch, const T* first, const T* second, T* c) {
  for (int b = 0; b < batch; ++b)
    for (int col = 0; col < g.cols; ++col)
      for (int row = 0; row < g.rows; ++row) {
        T s = 0;
        for (int p = 0; p < g.depth; ++p) {
          // op(X)(r, p) of a column-major X with leading dimension ld.
          const T* F = first + b * g.stride_first;
          const T* S = second + b * g.stride_second;
          const T f =
              g.trans_first ? F[p + int64_t(row) * g.ld_first] : F[row + int64_t(p) * g.ld_first];
          const T e = g.trans_second ? S[col + int64_t(p) * g.ld_second]
                                     : S[p + int64_t(col) * g.ld_second];
          s += f * e;
        }
        c[b * g.stride_c + row + int64_t(col) * g.ldc] = s;
      }
}

}  // namespace tapeflow::cuda::kern
