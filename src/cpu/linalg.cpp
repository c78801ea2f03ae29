// Matmul through OpenBLAS (float32/float64) and a plain loop for integers. This TU includes
// <cblas.h> and no xtensor-blas (their cblas declarations clash; DEPENDENCIES.md).
#include <cblas.h>

#include <algorithm>

#include "backend/elementwise_ops.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

/// One row-major GEMM C = op(A) op(B), split across tapeflow's pool into blocks of rows (or
/// of columns, when C is wide and short) that each thread hands to a single-threaded OpenBLAS
/// call. OpenBLAS's own threads are never woken (parallel.cpp keeps OpenBLAS at one thread),
/// so no spinning worker competes with the element-wise kernels between GEMMs.
template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* A, const T* B, T* C) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  auto call = [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const T* a = A + (ta ? m0 : m0 * lda);
    const T* b = B + (tb ? n0 * ldb : n0);
    T* c = C + m0 * n + n0;
    const auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasRowMajor,
                  TA,
                  TB,
                  int(m1 - m0),
                  int(n1 - n0),
                  int(k),
                  1.f,
                  a,
                  int(lda),
                  b,
                  int(ldb),
                  0.f,
                  c,
                  int(n));
    else
      cblas_dgemm(CblasRowMajor,
                  TA,
                  TB,
                  int(m1 - m0),
                  int(n1 - n0),
                  int(k),
                  1.0,
                  a,
                  int(lda),
                  b,
                  int(ldb),
                  0.0,
                  c,
                  int(n));
  };
  // Below ~2 MFLOP a second thread costs more than it saves.
  const int threads = num_threads();
  if (threads <= 1 || m * n * k < (int64_t(1) << 20)) return call(0, m, 0, n);
  // Split the longer side of C in blocks that keep OpenBLAS's micro-kernel tiles whole; a C
  // too narrow for that (a filter gradient: few rows, tens of columns, a long k) is split in
  // blocks of 16 columns. Each element is still one OpenBLAS dot product over all of k. The
  // split depends only on the shape and the thread count, so results repeat run to run; for
  // some shapes their last bits differ from a single call's (not for conv1's 9x32 filter
  // gradient: checked).
  const bool by_rows = m >= n;
  const int64_t len = by_rows ? m : n;
  int64_t unit = by_rows ? 16 : 64;
  if (!by_rows && (len + unit - 1) / unit < threads) unit = 16;
  const int64_t blocks = (len + unit - 1) / unit;
  const int64_t parts = std::min<int64_t>(threads, blocks);
  if (parts <= 1) return call(0, m, 0, n);
  const int64_t per = (blocks + parts - 1) / parts * unit;
  parallel_for_pool(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p * per, e = std::min(len, b + per);
      if (b >= e) continue;
      by_rows ? call(b, e, 0, n) : call(0, m, b, e);
    }
  });
}

}  // namespace

void CpuBackend::matmul(const KernelArgs& k) {
  const auto& a = k.attr<detail::MatMulAttrs>();
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    const T* A = k.in(0).as<const T>();
    const T* B = k.in(1).as<const T>();
    T* C = k.out().as<T>();
    auto member = [&](int64_t b) {
      const T* Ab = A + b * a.stride_a;
      const T* Bb = B + b * a.stride_b;
      T* Cb = C + b * a.m * a.n;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        gemm<T>(a.transpose_a, a.transpose_b, a.m, a.n, a.k, Ab, Bb, Cb);
      } else {
        for (int64_t i = 0; i < a.m; ++i)
          for (int64_t j = 0; j < a.n; ++j) {
            T s = 0;
            for (int64_t p = 0; p < a.k; ++p) {
              T x = a.transpose_a ? Ab[p * a.m + i] : Ab[i * a.k + p];
              T y = a.transpose_b ? Bb[j * a.k + p] : Bb[p * a.n + j];
              s = detail::ops::wrap_add(s, detail::ops::wrap_mul(x, y));  // integers wrap, as in TF
            }
            Cb[i * a.n + j] = s;
          }
      }
    };
    // Small members (each below gemm's split threshold) go to the pool whole, enough of them
    // per part to be worth a thread; large ones run in turn, each split by gemm itself.
    const int64_t work = std::max<int64_t>(1, a.m * a.n * a.k);
    if (work < (int64_t(1) << 20)) {
      const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / work);
      parallel_for(a.batch, grain, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) member(b);
      });
    } else {
      for (int64_t b = 0; b < a.batch; ++b) member(b);
    }
  });
}

}  // namespace tapeflow::cpu
