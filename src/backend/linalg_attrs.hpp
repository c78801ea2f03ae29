#pragma once

// Attributes of the tf::linalg kernels (kernel_list.hpp, group "tf::linalg"; front ends in
// src/ops/linalg_ext.cpp, CPU kernels in src/cpu/lapack.cpp, CUDA in cuda/kernels/solver.cu).
//
// Every matrix is row-major and in(0) holds `batch` of them, [batch, m, n] (batch dims
// flattened, broadcast by the front end). Whether a factorization succeeded is known only once
// it has run, so these kernels report it through `status` (host memory owned by the front end,
// which throws the op's error): the first failing matrix of the batch and its LAPACK info.

#include <cstdint>

namespace tapeflow::detail {

struct LinalgStatus {
  int64_t index = -1;  // first matrix of the batch that failed; -1: all succeeded
  int64_t info = 0;    // LAPACK's (or cuSOLVER's) info for it; -1: non-finite input
};

/// What each kernel computes (out is row-major; "packed" outputs are one row per matrix):
/// - linalg_cholesky: L of in(0) [batch, n, n] (lower triangle read), upper part zeroed.
/// - linalg_solve: X with op(A)·X = B, op(A) = adjoint ? Aᵀ : A; in(0) A [batch, n, n], in(1)
///   B [batch, n, k]; with a single input, B is the identity (k = n): the inverse.
/// - linalg_triangular_solve: the same for triangular A (lower or upper triangle read).
/// - linalg_lu_det: packed [batch, 3]: sign, log|det|, det (LU with partial pivoting; a
///   singular matrix gives 0, -inf, 0 and no error).
/// - linalg_qr: packed [batch, m·kq + kq·n]: q [m, kq] then r [kq, n], kq = full ? m : min.
/// - linalg_eigh: packed [batch, n + n·n]: ascending eigenvalues, then v (columns).
/// - linalg_svd: packed [batch, p + m·ku + n·kv] (p = min(m, n); ku = full ? m : p, kv = full
///   ? n : p; u and v only with compute_uv): descending s, then u, then v.
struct LinalgAttrs {
  int64_t batch = 0, m = 0, n = 0, k = 0;
  bool lower = true;
  bool adjoint = false;
  bool full_matrices = false;
  bool compute_uv = true;
  LinalgStatus* status = nullptr;
};

}  // namespace tapeflow::detail
