// tf::linalg kernels on the CPU: LAPACK from OpenBLAS (Debian's libopenblas carries it), called
// through its Fortran symbols (Debian ships no lapacke.h with OpenBLAS), and cblas_?trsm.
//
// Our matrices are row-major; LAPACK's are column-major, where a row-major buffer reads as the
// transpose. Each kernel uses that instead of copying: a row-major A handed to LAPACK is Aᵀ, its
// row-major lower triangle is LAPACK's upper one, and so on (each kernel says how). This TU
// includes <cblas.h> and no xtensor (DEPENDENCIES.md).
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/linalg_attrs.hpp"
#include "core/dispatch.hpp"
#include "cpu/cpu_backend.hpp"

extern "C" {
// gfortran's ABI: every argument by pointer, then one hidden length per character argument.
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void sgetrs_(const char* trans,
             const int* n,
             const int* nrhs,
             const float* a,
             const int* lda,
             const int* ipiv,
             float* b,
             const int* ldb,
             int* info,
             size_t);
void dgetrs_(const char* trans,
             const int* n,
             const int* nrhs,
             const double* a,
             const int* lda,
             const int* ipiv,
             double* b,
             const int* ldb,
             int* info,
             size_t);
void sgeqrf_(const int* m,
             const int* n,
             float* a,
             const int* lda,
             float* tau,
             float* work,
             const int* lwork,
             int* info);
void dgeqrf_(const int* m,
             const int* n,
             double* a,
             const int* lda,
             double* tau,
             double* work,
             const int* lwork,
             int* info);
void sorgqr_(const int* m,
             const int* n,
             const int* k,
             float* a,
             const int* lda,
             const float* tau,
             float* work,
             const int* lwork,
             int* info);
void dorgqr_(const int* m,
             const int* n,
             const int* k,
             double* a,
             const int* lda,
             const double* tau,
             double* work,
             const int* lwork,
             int* info);
void ssyevd_(const char* jobz,
             const char* uplo,
             const int* n,
             float* a,
             const int* lda,
             float* w,
             float* work,
             const int* lwork,
             int* iwork,
             const int* liwork,
             int* info,
             size_t,
             size_t);
void dsyevd_(const char* jobz,
             const char* uplo,
             const int* n,
             double* a,
             const int* lda,
             double* w,
             double* work,
             const int* lwork,
             int* iwork,
             const int* liwork,
             int* info,
             size_t,
             size_t);
void sgesdd_(const char* jobz,
             const int* m,
             const int* n,
             float* a,
             const int* lda,
             float* s,
             float* u,
             const int* ldu,
             float* vt,
             const int* ldvt,
             float* work,
             const int* lwork,
             int* iwork,
             int* info,
             size_t);
void dgesdd_(const char* jobz,
             const int* m,
             const int* n,
             double* a,
             const int* lda,
             double* s,
             double* u,
             const int* ldu,
             double* vt,
             const int* ldvt,
             double* work,
             const int* lwork,
             int* iwork,
             int* info,
             size_t);
}

namespace tapeflow::cpu {

namespace {

// memcpy of n elements; nothing for n == 0, where the vectors' data() may be null (UB for
// memcpy even with a zero size).
template <class T>
void copy_elems(T* dst, const T* src, size_t n) {
  if (n != 0) std::memcpy(dst, src, sizeof(T) * n);
}

using detail::LinalgAttrs;
using detail::LinalgStatus;

/// One name per LAPACK routine for float and double.
template <class T>
struct Lapack;

template <>
struct Lapack<float> {
  static void potrf(const char* u, const int* n, float* a, const int* lda, int* info) {
    spotrf_(u, n, a, lda, info, 1);
  }
  static void getrf(const int* m, const int* n, float* a, const int* lda, int* p, int* info) {
    sgetrf_(m, n, a, lda, p, info);
  }
  static void getrs(const char* t,
                    const int* n,
                    const int* k,
                    const float* a,
                    const int* lda,
                    const int* p,
                    float* b,
                    const int* ldb,
                    int* info) {
    sgetrs_(t, n, k, a, lda, p, b, ldb, info, 1);
  }
  static void geqrf(const int* m,
                    const int* n,
                    float* a,
                    const int* lda,
                    float* tau,
                    float* w,
                    const int* lw,
                    int* info) {
    sgeqrf_(m, n, a, lda, tau, w, lw, info);
  }
  static void orgqr(const int* m,
                    const int* n,
                    const int* k,
                    float* a,
                    const int* lda,
                    const float* tau,
                    float* w,
                    const int* lw,
                    int* info) {
    sorgqr_(m, n, k, a, lda, tau, w, lw, info);
  }
  static void syevd(const char* j,
                    const char* u,
                    const int* n,
                    float* a,
                    const int* lda,
                    float* e,
                    float* w,
                    const int* lw,
                    int* iw,
                    const int* liw,
                    int* info) {
    ssyevd_(j, u, n, a, lda, e, w, lw, iw, liw, info, 1, 1);
  }
  static void gesdd(const char* j,
                    const int* m,
                    const int* n,
                    float* a,
                    const int* lda,
                    float* s,
                    float* u,
                    const int* ldu,
                    float* vt,
                    const int* ldvt,
                    float* w,
                    const int* lw,
                    int* iw,
                    int* info) {
    sgesdd_(j, m, n, a, lda, s, u, ldu, vt, ldvt, w, lw, iw, info, 1);
  }
  static void trsm(CBLAS_UPLO up, CBLAS_TRANSPOSE tr, int n, int k, const float* a, float* b) {
    cblas_strsm(CblasRowMajor, CblasLeft, up, tr, CblasNonUnit, n, k, 1.f, a, n, b, k);
  }
};

template <>
struct Lapack<double> {
  static void potrf(const char* u, const int* n, double* a, const int* lda, int* info) {
    dpotrf_(u, n, a, lda, info, 1);
  }
  static void getrf(const int* m, const int* n, double* a, const int* lda, int* p, int* info) {
    dgetrf_(m, n, a, lda, p, info);
  }
  static void getrs(const char* t,
                    const int* n,
                    const int* k,
                    const double* a,
                    const int* lda,
                    const int* p,
                    double* b,
                    const int* ldb,
                    int* info) {
    dgetrs_(t, n, k, a, lda, p, b, ldb, info, 1);
  }
  static void geqrf(const int* m,
                    const int* n,
                    double* a,
                    const int* lda,
                    double* tau,
                    double* w,
                    const int* lw,
                    int* info) {
    dgeqrf_(m, n, a, lda, tau, w, lw, info);
  }
  static void orgqr(const int* m,
                    const int* n,
                    const int* k,
                    double* a,
                    const int* lda,
                    const double* tau,
                    double* w,
                    const int* lw,
                    int* info) {
    dorgqr_(m, n, k, a, lda, tau, w, lw, info);
  }
  static void syevd(const char* j,
                    const char* u,
                    const int* n,
                    double* a,
                    const int* lda,
                    double* e,
                    double* w,
                    const int* lw,
                    int* iw,
                    const int* liw,
                    int* info) {
    dsyevd_(j, u, n, a, lda, e, w, lw, iw, liw, info, 1, 1);
  }
  static void gesdd(const char* j,
                    const int* m,
                    const int* n,
                    double* a,
                    const int* lda,
                    double* s,
                    double* u,
                    const int* ldu,
                    double* vt,
                    const int* ldvt,
                    double* w,
                    const int* lw,
                    int* iw,
                    int* info) {
    dgesdd_(j, m, n, a, lda, s, u, ldu, vt, ldvt, w, lw, iw, info, 1);
  }
  static void trsm(CBLAS_UPLO up, CBLAS_TRANSPOSE tr, int n, int k, const double* a, double* b) {
    cblas_dtrsm(CblasRowMajor, CblasLeft, up, tr, CblasNonUnit, n, k, 1.0, a, n, b, k);
  }
};

/// Records the first failure of the batch (matrices are visited in order).
void fail_at(const LinalgAttrs& a, int64_t index, int64_t info) {
  if (a.status && a.status->index < 0) *a.status = LinalgStatus{index, info};
}

/// A workspace size that LAPACK reported (as a floating value) as an int.
template <class T>
int work_size(T query) {
  return std::max(1, int(query));
}

template <class T>
bool all_finite(const T* p, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

/// Row-major [rows, cols] → column-major (the transpose, as a row-major buffer).
template <class T>
void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kBlock = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
      for (int64_t i = i0; i < std::min(rows, i0 + kBlock); ++i)
        for (int64_t j = j0; j < std::min(cols, j0 + kBlock); ++j)
          dst[j * rows + i] = src[i * cols + j];
}

}  // namespace

// Row-major A reads as Aᵀ in LAPACK, whose upper triangle is A's lower one: ?potrf('U') leaves
// U with Aᵀ = UᵀU there, i.e. row-major L = Uᵀ with A = L·Lᵀ. The strict upper part is zeroed.
void CpuBackend::linalg_cholesky(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n);
    const T* in = k.in(0).as<const T>();
    T* out = k.out().as<T>();
    copy_elems(out, in, size_t(a.batch * a.n * a.n));
    for (int64_t b = 0; b < a.batch; ++b) {
      T* l = out + b * a.n * a.n;
      int info = 0;
      Lapack<T>::potrf("U", &n, l, &n, &info);
      if (info != 0) fail_at(a, b, info);
      for (int64_t i = 0; i < a.n; ++i) std::fill(l + i * a.n + i + 1, l + (i + 1) * a.n, T(0));
    }
  });
}

// ?getrf of the row-major copy factors Aᵀ; A·X = B is then (Aᵀ)ᵀ·X = B, ?getrs with 'T'
// (adjoint: Aᵀ·X = B, 'N'). B must be column-major: one column is the same either way, several
// are transposed in and out.
void CpuBackend::linalg_solve(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n), nrhs = int(a.k);
    const bool identity = k.num_inputs == 1;
    std::vector<T> lu(size_t(a.n * a.n));
    std::vector<T> cols(nrhs > 1 ? size_t(a.n * a.k) : 0);
    std::vector<int> piv(size_t(std::max<int64_t>(1, a.n)));
    const char* trans = a.adjoint ? "N" : "T";
    for (int64_t b = 0; b < a.batch; ++b) {
      const T* A = k.in(0).as<const T>() + b * a.n * a.n;
      T* X = k.out().as<T>() + b * a.n * a.k;
      copy_elems(lu.data(), A, lu.size());
      int info = 0;
      Lapack<T>::getrf(&n, &n, lu.data(), &n, piv.data(), &info);
      if (info != 0) {  // an exactly zero pivot: singular
        fail_at(a, b, info);
        std::fill(X, X + a.n * a.k, std::numeric_limits<T>::quiet_NaN());
        continue;
      }
      T* rhs = nrhs > 1 ? cols.data() : X;
      if (identity) {
        std::fill(rhs, rhs + a.n * a.k, T(0));
        for (int64_t i = 0; i < a.n; ++i) rhs[i * a.n + i] = T(1);  // symmetric: no transpose
      } else if (nrhs > 1) {
        transpose_into(k.in(1).as<const T>() + b * a.n * a.k, a.n, a.k, rhs);
      } else {
        copy_elems(rhs, k.in(1).as<const T>() + b * a.n, size_t(a.n));
      }
      Lapack<T>::getrs(trans, &n, &nrhs, lu.data(), &n, piv.data(), rhs, &n, &info);
      if (nrhs > 1) transpose_into(rhs, a.k, a.n, X);
    }
  });
}

void CpuBackend::linalg_triangular_solve(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const size_t per_rhs = size_t(a.n * a.k);
    copy_elems(k.out().as<T>(), k.in(1).as<const T>(), per_rhs * size_t(a.batch));
    for (int64_t b = 0; b < a.batch; ++b)
      Lapack<T>::trsm(a.lower ? CblasLower : CblasUpper,
                      a.adjoint ? CblasTrans : CblasNoTrans,
                      int(a.n),
                      int(a.k),
                      k.in(0).as<const T>() + b * a.n * a.n,
                      k.out().as<T>() + size_t(b) * per_rhs);
  });
}

// det(A) = det(Aᵀ) = ±Π diag(U) from ?getrf of the row-major copy; each row swap flips the sign.
void CpuBackend::linalg_lu_det(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n);
    std::vector<T> lu(size_t(a.n * a.n));
    std::vector<int> piv(size_t(std::max<int64_t>(1, a.n)));
    for (int64_t b = 0; b < a.batch; ++b) {
      T* out = k.out().as<T>() + 3 * b;
      copy_elems(lu.data(), k.in(0).as<const T>() + b * a.n * a.n, lu.size());
      int info = 0;
      if (n > 0) Lapack<T>::getrf(&n, &n, lu.data(), &n, piv.data(), &info);
      T sign = 1, log_abs = 0, det = 1;
      for (int i = 0; i < n; ++i) {
        const T d = lu[size_t(i) * size_t(n) + size_t(i)];
        if (piv[size_t(i)] != i + 1) sign = -sign, det = -det;
        if (d < 0) sign = -sign;
        log_abs += std::log(std::abs(d));
        det *= d;
      }
      if (info > 0) sign = 0, log_abs = -std::numeric_limits<T>::infinity(), det = 0;
      out[0] = sign;
      out[1] = log_abs;
      out[2] = det;
    }
  });
}

// ?geqrf of the column-major copy of A, then ?orgqr expands the reflectors into q's columns.
void CpuBackend::linalg_qr(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int m = int(a.m), n = int(a.n), p = int(std::min(a.m, a.n));
    const int kq = a.full_matrices ? m : p;
    std::vector<T> col(size_t(a.m * a.n)), q(size_t(a.m) * size_t(kq)), tau(size_t(std::max(1, p)));
    // One workspace for both calls, sized by their queries.
    int lwork = 1, info = 0, lda = std::max(1, m);
    T query = 0;
    if (p > 0) {
      int minus_one = -1;
      Lapack<T>::geqrf(&m, &n, col.data(), &lda, tau.data(), &query, &minus_one, &info);
      lwork = std::max(lwork, work_size(query));
      Lapack<T>::orgqr(&m, &kq, &p, q.data(), &lda, tau.data(), &query, &minus_one, &info);
      lwork = std::max(lwork, work_size(query));
    }
    std::vector<T> work(static_cast<size_t>(lwork));
    const int64_t q_size = a.m * kq, r_size = int64_t(kq) * a.n;
    for (int64_t b = 0; b < a.batch; ++b) {
      T* qo = k.out().as<T>() + b * (q_size + r_size);
      T* ro = qo + q_size;
      if (p > 0) {
        transpose_into(k.in(0).as<const T>() + b * a.m * a.n, a.m, a.n, col.data());
        Lapack<T>::geqrf(&m, &n, col.data(), &lda, tau.data(), work.data(), &lwork, &info);
      }
      // r: the upper triangle of the factored copy (rows past min(m, n) are zero).
      for (int64_t i = 0; i < kq; ++i)
        for (int64_t j = 0; j < a.n; ++j)
          ro[i * a.n + j] = i <= j && i < p ? col[j * a.m + i] : T(0);
      // q: the first min(n, kq) reflector columns, expanded in place to kq columns.
      std::fill(q.begin(), q.end(), T(0));
      std::copy(col.begin(), col.begin() + a.m * std::min<int64_t>(a.n, kq), q.begin());
      if (p > 0) {
        Lapack<T>::orgqr(&m, &kq, &p, q.data(), &lda, tau.data(), work.data(), &lwork, &info);
      } else {
        for (int64_t i = 0; i < std::min<int64_t>(a.m, kq); ++i) q[i * a.m + i] = T(1);
      }
      transpose_into(q.data(), kq, a.m, qo);
    }
  });
}

// ?syevd of the row-major copy with uplo 'U' reads A's lower triangle (TF reads the lower one);
// eigenvector j is column j of LAPACK's result, so it is transposed out.
void CpuBackend::linalg_eigh(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n), lda = std::max(1, n);
    std::vector<T> z(size_t(a.n * a.n));
    int lwork = 1, liwork = 1, info = 0;
    if (n > 0) {
      T wq = 0;
      int iq = 0, minus_one = -1;
      std::vector<T> e(static_cast<size_t>(n));
      Lapack<T>::syevd(
          "V", "U", &n, z.data(), &lda, e.data(), &wq, &minus_one, &iq, &minus_one, &info);
      lwork = work_size(wq);
      liwork = std::max(1, iq);
    }
    std::vector<T> work(static_cast<size_t>(lwork));
    std::vector<int> iwork(static_cast<size_t>(liwork));
    for (int64_t b = 0; b < a.batch; ++b) {
      const T* in = k.in(0).as<const T>() + b * a.n * a.n;
      T* e = k.out().as<T>() + b * (a.n + a.n * a.n);
      T* v = e + a.n;
      bool finite = true;
      for (int64_t i = 0; i < a.n && finite; ++i) finite = all_finite(in + i * a.n, i + 1);
      if (!finite) {
        fail_at(a, b, -1);
        std::fill(e, e + a.n + a.n * a.n, std::numeric_limits<T>::quiet_NaN());
        continue;
      }
      copy_elems(z.data(), in, z.size());
      if (n > 0)
        Lapack<T>::syevd(
            "V", "U", &n, z.data(), &lda, e, work.data(), &lwork, iwork.data(), &liwork, &info);
      if (info != 0) fail_at(a, b, info);
      transpose_into(z.data(), a.n, a.n, v);
    }
  });
}

// Row-major A reads as Aᵀ = U'·S·V'ᵀ in LAPACK, so A = V'·S·U'ᵀ: our u is V' (the rows of
// LAPACK's vt, transposed out) and our v is U' (LAPACK's u, transposed out).
void CpuBackend::linalg_svd(const KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    // LAPACK's problem is Aᵀ: rows lm = n, columns ln = m.
    const int lm = int(a.n), ln = int(a.m), p = int(std::min(a.m, a.n));
    const int ku = a.compute_uv ? (a.full_matrices ? ln : p) : 0;  // our u [m, ku]
    const int kv = a.compute_uv ? (a.full_matrices ? lm : p) : 0;  // our v [n, kv]
    const char* jobz = !a.compute_uv ? "N" : a.full_matrices ? "A" : "S";
    const int lda = std::max(1, lm), ldu = std::max(1, lm), ldvt = std::max(1, ku);
    std::vector<T> col(size_t(a.m * a.n)), uu(size_t(lm) * size_t(std::max(kv, 1))),
        vt(size_t(std::max(ku, 1)) * size_t(std::max(ln, 1)));
    std::vector<int> iwork(size_t(8 * std::max(1, p)));
    int lwork = 1, info = 0;
    if (p > 0) {
      T wq = 0;
      int minus_one = -1;
      std::vector<T> s(static_cast<size_t>(p));
      Lapack<T>::gesdd(jobz,
                       &lm,
                       &ln,
                       col.data(),
                       &lda,
                       s.data(),
                       uu.data(),
                       &ldu,
                       vt.data(),
                       &ldvt,
                       &wq,
                       &minus_one,
                       iwork.data(),
                       &info);
      lwork = work_size(wq);
    }
    std::vector<T> work(static_cast<size_t>(lwork));
    const int64_t row = p + a.m * ku + a.n * kv;
    for (int64_t b = 0; b < a.batch; ++b) {
      const T* in = k.in(0).as<const T>() + b * a.m * a.n;
      T* s = k.out().as<T>() + b * row;
      T* u = s + p;
      T* v = u + a.m * ku;
      if (!all_finite(in, a.m * a.n)) {
        fail_at(a, b, -1);
        std::fill(s, s + row, std::numeric_limits<T>::quiet_NaN());
        continue;
      }
      if (p == 0) {  // no singular values; full u and v are identities
        std::fill(s, s + row, T(0));
        for (int64_t i = 0; i < ku; ++i) u[i * ku + i] = T(1);
        for (int64_t i = 0; i < kv; ++i) v[i * kv + i] = T(1);
        continue;
      }
      copy_elems(col.data(), in, col.size());
      Lapack<T>::gesdd(jobz,
                       &lm,
                       &ln,
                       col.data(),
                       &lda,
                       s,
                       uu.data(),
                       &ldu,
                       vt.data(),
                       &ldvt,
                       work.data(),
                       &lwork,
                       iwork.data(),
                       &info);
      if (info != 0) {
        fail_at(a, b, info);
        continue;
      }
      if (!a.compute_uv) continue;
      // u[i][j] = V'[i][j] = vt[j][i] (column-major vt: vt[j + i·ldvt]); v[i][j] = U'[i][j].
      for (int64_t i = 0; i < a.m; ++i)
        for (int64_t j = 0; j < ku; ++j) u[i * ku + j] = vt[size_t(j + i * ldvt)];
      for (int64_t i = 0; i < a.n; ++i)
        for (int64_t j = 0; j < kv; ++j) v[i * kv + j] = uu[size_t(i + j * ldu)];
    }
  });
}

}  // namespace tapeflow::cpu
