// tf::linalg on the GPU: cuSOLVER (potrf, getrf/getrs) and cuBLAS (trsm, geam) for cholesky,
// solve, inv, triangular_solve, det and slogdet. Matrices are row-major, cuSOLVER's are
// column-major, where ours read as their transposes; the same identities as the CPU kernels
// (src/cpu/lapack.cpp) avoid copies. qr, eigh and svd have no GPU kernel yet: their front
// ends (src/ops/linalg_ext.cpp) factorize on the host and copy the results back, and the
// kernels here throw UnimplementedError naming the op and the device if called directly
// (cuSOLVER's geqrf/orgqr, syevd and gesvd would fit the same pattern; issue #11).
//
// A factorization's outcome (devInfo) is copied to the host at the end of the kernel, which
// therefore synchronizes the stream: the front end must know before it returns whether to
// raise "not invertible" / "not positive definite" (as TF's GPU kernels do).
#include <cusolverDn.h>

#include <string>
#include <vector>

#include "backend/linalg_attrs.hpp"
#include "core/fail.hpp"
#include "launch.cuh"

namespace tapeflow::cuda {

namespace {

using detail::LinalgAttrs;

constexpr int kMaxSolverDevices = 64;

void check_solver(cusolverStatus_t status, const char* what) {
  if (status == CUSOLVER_STATUS_SUCCESS) return;
  int device = -1;
  (void)cudaGetDevice(&device);
  std::string msg = detail::str_cat(what,
                                    " failed: cusolverStatus_t ",
                                    int(status),
                                    " on /job:localhost/replica:0/task:0/device:GPU:",
                                    device);
  if (status == CUSOLVER_STATUS_ALLOC_FAILED) throw ResourceExhaustedError(msg);
  throw InternalError(msg);
}

/// This thread's cuSOLVER handle for the current device, bound to its stream (handles are not
/// shared between threads; created on first use and kept for the thread's life).
cusolverDnHandle_t solver_handle() {
  thread_local cusolverDnHandle_t handles[kMaxSolverDevices] = {};
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  cusolverDnHandle_t& h = handles[device % kMaxSolverDevices];
  if (!h) check_solver(cusolverDnCreate(&h), "cusolverDnCreate");
  check_solver(cusolverDnSetStream(h, current_stream()), "cusolverDnSetStream");
  return h;
}

/// Device scratch memory from the caching allocator, returned (stream-ordered) on scope exit.
template <class T>
class Scratch {
 public:
  explicit Scratch(int64_t count) : bytes_(size_t(std::max<int64_t>(count, 1)) * sizeof(T)) {
    ptr_ = static_cast<T*>(device_alloc(bytes_));
  }
  ~Scratch() { device_free(ptr_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return ptr_; }

 private:
  size_t bytes_;
  T* ptr_;
};

/// Copies the batch's devInfo to the host (synchronizing) and records the first failure.
void report(const LinalgAttrs& a, const int* dev_info, int64_t count) {
  if (count <= 0 || !a.status) return;
  std::vector<int> info(static_cast<size_t>(count));
  check(cudaMemcpyAsync(info.data(),
                        dev_info,
                        sizeof(int) * info.size(),
                        cudaMemcpyDeviceToHost,
                        current_stream()),
        "cudaMemcpyAsync(devInfo to host)");
  check(cudaStreamSynchronize(current_stream()), "cudaStreamSynchronize after a factorization");
  for (int64_t b = 0; b < count; ++b)
    if (info[size_t(b)] != 0 && a.status->index < 0) *a.status = {b, info[size_t(b)]};
}

template <class T>
struct ZeroStrictUpper {
  T* p;
  int64_t n;
  TF_HD void operator()(int64_t i) const {
    const int64_t r = (i / n) % n, c = i % n;
    if (c > r) p[i] = T(0);
  }
};

template <class T>
struct Identity {
  T* p;
  int64_t n;
  TF_HD void operator()(int64_t i) const { p[i] = i / n == i % n ? T(1) : T(0); }
};

/// sign, log|det|, det of one matrix from its LU factors (column-major, 1-based pivots).
template <class T>
__global__ void det_from_lu(const T* lu, const int* piv, const int* info, int n, T* out) {
  T sign = 1, log_abs = 0, det = 1;
  for (int i = 0; i < n; ++i) {
    const T d = lu[size_t(i) * size_t(n) + size_t(i)];
    if (piv[i] != i + 1) sign = -sign, det = -det;
    if (d < 0) sign = -sign;
    log_abs += ::log(::fabs(d));
    det *= d;
  }
  if (*info > 0) sign = 0, log_abs = -INFINITY, det = 0;
  out[0] = sign;
  out[1] = log_abs;
  out[2] = det;
}

// One spelling per routine for float and double.
template <class T>
struct Solver;

template <>
struct Solver<float> {
  static int potrf_size(cusolverDnHandle_t h, int n, float* a) {
    int lw = 0;
    check_solver(cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_UPPER, n, a, n, &lw),
                 "cusolverDnSpotrf_bufferSize");
    return lw;
  }
  static void potrf(cusolverDnHandle_t h, int n, float* a, float* w, int lw, int* info) {
    check_solver(cusolverDnSpotrf(h, CUBLAS_FILL_MODE_UPPER, n, a, n, w, lw, info),
                 "cusolverDnSpotrf");
  }
  static int getrf_size(cusolverDnHandle_t h, int n, float* a) {
    int lw = 0;
    check_solver(cusolverDnSgetrf_bufferSize(h, n, n, a, n, &lw), "cusolverDnSgetrf_bufferSize");
    return lw;
  }
  static void getrf(cusolverDnHandle_t h, int n, float* a, float* w, int* piv, int* info) {
    check_solver(cusolverDnSgetrf(h, n, n, a, n, w, piv, info), "cusolverDnSgetrf");
  }
  static void getrs(cusolverDnHandle_t h,
                    cublasOperation_t t,
                    int n,
                    int k,
                    const float* a,
                    const int* piv,
                    float* b,
                    int* info) {
    check_solver(cusolverDnSgetrs(h, t, n, k, a, n, piv, b, n, info), "cusolverDnSgetrs");
  }
  static void geam_t(cublasHandle_t h, int m, int n, const float* a, int lda, float* c, int ldc) {
    const float one = 1, zero = 0;
    check(cublasSgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, &one, a, lda, &zero, c, ldc, c, ldc),
          "cublasSgeam");
  }
  static void trsm(cublasHandle_t h,
                   cublasFillMode_t up,
                   cublasOperation_t t,
                   int m,
                   int n,
                   const float* a,
                   float* b) {
    const float one = 1;
    check(cublasStrsm(h, CUBLAS_SIDE_RIGHT, up, t, CUBLAS_DIAG_NON_UNIT, m, n, &one, a, n, b, m),
          "cublasStrsm");
  }
};

template <>
struct Solver<double> {
  static int potrf_size(cusolverDnHandle_t h, int n, double* a) {
    int lw = 0;
    check_solver(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_UPPER, n, a, n, &lw),
                 "cusolverDnDpotrf_bufferSize");
    return lw;
  }
  static void potrf(cusolverDnHandle_t h, int n, double* a, double* w, int lw, int* info) {
    check_solver(cusolverDnDpotrf(h, CUBLAS_FILL_MODE_UPPER, n, a, n, w, lw, info),
                 "cusolverDnDpotrf");
  }
  static int getrf_size(cusolverDnHandle_t h, int n, double* a) {
    int lw = 0;
    check_solver(cusolverDnDgetrf_bufferSize(h, n, n, a, n, &lw), "cusolverDnDgetrf_bufferSize");
    return lw;
  }
  static void getrf(cusolverDnHandle_t h, int n, double* a, double* w, int* piv, int* info) {
    check_solver(cusolverDnDgetrf(h, n, n, a, n, w, piv, info), "cusolverDnDgetrf");
  }
  static void getrs(cusolverDnHandle_t h,
                    cublasOperation_t t,
                    int n,
                    int k,
                    const double* a,
                    const int* piv,
                    double* b,
                    int* info) {
    check_solver(cusolverDnDgetrs(h, t, n, k, a, n, piv, b, n, info), "cusolverDnDgetrs");
  }
  static void geam_t(cublasHandle_t h, int m, int n, const double* a, int lda, double* c, int ldc) {
    const double one = 1, zero = 0;
    check(cublasDgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, &one, a, lda, &zero, c, ldc, c, ldc),
          "cublasDgeam");
  }
  static void trsm(cublasHandle_t h,
                   cublasFillMode_t up,
                   cublasOperation_t t,
                   int m,
                   int n,
                   const double* a,
                   double* b) {
    const double one = 1;
    check(cublasDtrsm(h, CUBLAS_SIDE_RIGHT, up, t, CUBLAS_DIAG_NON_UNIT, m, n, &one, a, n, b, m),
          "cublasDtrsm");
  }
};

[[noreturn]] void no_gpu_kernel(const char* op, const char* routines) {
  int device = -1;
  (void)cudaGetDevice(&device);
  detail::fail<UnimplementedError>(op,
                                   op,
                                   " has no GPU kernel yet (",
                                   routines,
                                   "; issue #11) on /job:localhost/replica:0/task:0/device:GPU:",
                                   device,
                                   "; run it under tf::DeviceScope(\"/cpu:0\")");
}

}  // namespace

// potrf('U') on the row-major copy reads our lower triangle and leaves L (row-major) there.
void linalg_cholesky(const detail::KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n);
    const int64_t nn = a.n * a.n;
    T* out = k.out().as<T>();
    check(cudaMemcpyAsync(out,
                          k.in(0).as<const T>(),
                          sizeof(T) * size_t(a.batch * nn),
                          cudaMemcpyDeviceToDevice,
                          current_stream()),
          "cudaMemcpyAsync(cholesky input)");
    cusolverDnHandle_t h = solver_handle();
    const int lwork = Solver<T>::potrf_size(h, n, out);
    Scratch<T> work(lwork);
    Scratch<int> info(a.batch);
    for (int64_t b = 0; b < a.batch; ++b)
      Solver<T>::potrf(h, n, out + b * nn, work.get(), lwork, info.get() + b);
    kern::DeviceExec{}.for_each(a.batch * nn, ZeroStrictUpper<T>{out, a.n});
    report(a, info.get(), a.batch);
  });
}

// getrf of the row-major copy factors Aᵀ, so A·X = B is getrs with 'T' (adjoint: 'N'). Several
// right-hand sides are transposed to column-major and back with geam.
void linalg_solve(const detail::KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n), nrhs = int(a.k);
    const bool identity = k.num_inputs == 1;
    cusolverDnHandle_t h = solver_handle();
    cublasHandle_t blas = cublas_handle();
    Scratch<T> lu(a.n * a.n);
    const int lwork = Solver<T>::getrf_size(h, n, lu.get());
    Scratch<T> work(lwork);
    Scratch<T> cols(nrhs > 1 ? a.n * a.k : 1);
    Scratch<int> piv(a.n);
    Scratch<int> info(a.batch + 1);  // the last one takes getrs's (argument checks only)
    const cublasOperation_t trans = a.adjoint ? CUBLAS_OP_N : CUBLAS_OP_T;
    for (int64_t b = 0; b < a.batch; ++b) {
      T* X = k.out().as<T>() + b * a.n * a.k;
      check(cudaMemcpyAsync(lu.get(),
                            k.in(0).as<const T>() + b * a.n * a.n,
                            sizeof(T) * size_t(a.n * a.n),
                            cudaMemcpyDeviceToDevice,
                            current_stream()),
            "cudaMemcpyAsync(solve matrix)");
      Solver<T>::getrf(h, n, lu.get(), work.get(), piv.get(), info.get() + b);
      T* rhs = nrhs > 1 ? cols.get() : X;
      if (identity) {
        kern::DeviceExec{}.for_each(a.n * a.k, Identity<T>{rhs, a.n});
      } else if (nrhs > 1) {
        // Row-major B [n, k] is column-major (k × n, ld k); its transpose is column-major B.
        Solver<T>::geam_t(blas, n, nrhs, k.in(1).as<const T>() + b * a.n * a.k, nrhs, rhs, n);
      } else {
        check(cudaMemcpyAsync(rhs,
                              k.in(1).as<const T>() + b * a.n,
                              sizeof(T) * size_t(a.n),
                              cudaMemcpyDeviceToDevice,
                              current_stream()),
              "cudaMemcpyAsync(solve rhs)");
      }
      Solver<T>::getrs(h, trans, n, nrhs, lu.get(), piv.get(), rhs, info.get() + a.batch);
      if (nrhs > 1) Solver<T>::geam_t(blas, nrhs, n, rhs, n, X, nrhs);
    }
    report(a, info.get(), a.batch);
  });
}

// Row-major X [n, k] is column-major Xᵀ; op(A)·X = B is Xᵀ·op(A)ᵀ = Bᵀ, a right-side trsm with
// M = Aᵀ (our buffer): op(A)ᵀ = M (no adjoint) or Mᵀ; A lower means M upper.
void linalg_triangular_solve(const detail::KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const size_t per_rhs = size_t(a.n * a.k);
    T* out = k.out().as<T>();
    check(cudaMemcpyAsync(out,
                          k.in(1).as<const T>(),
                          sizeof(T) * per_rhs * size_t(a.batch),
                          cudaMemcpyDeviceToDevice,
                          current_stream()),
          "cudaMemcpyAsync(triangular_solve rhs)");
    cublasHandle_t blas = cublas_handle();
    const cublasFillMode_t up = a.lower ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
    const cublasOperation_t t = a.adjoint ? CUBLAS_OP_T : CUBLAS_OP_N;
    for (int64_t b = 0; b < a.batch; ++b)
      Solver<T>::trsm(blas,
                      up,
                      t,
                      int(a.k),
                      int(a.n),
                      k.in(0).as<const T>() + b * a.n * a.n,
                      out + size_t(b) * per_rhs);
  });
}

void linalg_lu_det(const detail::KernelArgs& k) {
  const auto& a = k.attr<LinalgAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int n = int(a.n);
    cusolverDnHandle_t h = solver_handle();
    Scratch<T> lu(a.n * a.n);
    const int lwork = n > 0 ? Solver<T>::getrf_size(h, n, lu.get()) : 1;
    Scratch<T> work(lwork);
    Scratch<int> piv(a.n);
    Scratch<int> info(a.batch);
    check(cudaMemsetAsync(
              info.get(), 0, sizeof(int) * size_t(std::max<int64_t>(a.batch, 1)), current_stream()),
          "cudaMemsetAsync(devInfo)");
    for (int64_t b = 0; b < a.batch; ++b) {
      if (n > 0) {
        check(cudaMemcpyAsync(lu.get(),
                              k.in(0).as<const T>() + b * a.n * a.n,
                              sizeof(T) * size_t(a.n * a.n),
                              cudaMemcpyDeviceToDevice,
                              current_stream()),
              "cudaMemcpyAsync(det matrix)");
        Solver<T>::getrf(h, n, lu.get(), work.get(), piv.get(), info.get() + b);
      }
      det_from_lu<T><<<1, 1, 0, current_stream()>>>(
          lu.get(), piv.get(), info.get() + b, n, k.out().as<T>() + 3 * b);
      check(cudaGetLastError(), "det_from_lu launch");
    }
  });
}

void linalg_qr(const detail::KernelArgs&) { no_gpu_kernel("Qr", "cuSOLVER geqrf/orgqr"); }
void linalg_eigh(const detail::KernelArgs&) { no_gpu_kernel("SelfAdjointEigV2", "cuSOLVER syevd"); }
void linalg_svd(const detail::KernelArgs&) { no_gpu_kernel("Svd", "cuSOLVER gesvd"); }

}  // namespace tapeflow::cuda
