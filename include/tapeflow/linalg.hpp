#pragma once

// tf.linalg (issue #11): matrix ops batched over leading dims, float32 and float64. Included by
// ops.hpp; std headers only.

#include <cstdint>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::linalg {

/// What slogdet returns: `auto [sign, log_abs_determinant] = tf::linalg::slogdet(a);`
struct SlogdetResult {
  Tensor sign;
  Tensor log_abs_determinant;
};
/// What qr returns: `auto [q, r] = tf::linalg::qr(a);`
struct QrResult {
  Tensor q;
  Tensor r;
};
/// What eigh returns: eigenvalues ascending, eigenvectors as the columns of v.
struct EighResult {
  Tensor e;
  Tensor v;
};
/// What svd returns, in TF's order: s (descending), then u and v with a = u·diag(s)·vᵀ (v, not
/// vᵀ); u and v are undefined when compute_uv is false.
struct SvdResult {
  Tensor s;
  Tensor u;
  Tensor v;
};

/// Swaps the last two axes (rank >= 2). Any dtype; differentiable.
TAPEFLOW_API Tensor matrix_transpose(const Tensor& a);
/// [..., n] → [..., n, n] with the input on the diagonal, zeros elsewhere (TF: MatrixDiagV3).
TAPEFLOW_API Tensor diag(const Tensor& diagonal);
/// [..., m, n] → [..., min(m, n)]: the main diagonal (TF: MatrixDiagPartV3).
TAPEFLOW_API Tensor diag_part(const Tensor& input);
/// Sum of the main diagonal of the last two axes: [..., m, n] → [...].
TAPEFLOW_API Tensor trace(const Tensor& x);
/// Keeps the band of num_lower sub- and num_upper super-diagonals (negative: all), zeroes the
/// rest (TF: MatrixBandPart). Differentiable.
TAPEFLOW_API Tensor band_part(const Tensor& input, int64_t num_lower, int64_t num_upper);

/// Lower Cholesky factor L of symmetric positive-definite [..., n, n] (reads the lower
/// triangle). float32/64; differentiable. Not positive definite: InvalidArgumentError.
TAPEFLOW_API Tensor cholesky(const Tensor& input);
/// Solves matrix · x = rhs (adjointᵀ: matrixᵀ · x = rhs) for triangular matrix [..., n, n]
/// (only its lower or upper triangle is read), rhs [..., n, k]; batch dims broadcast
/// (TF: MatrixTriangularSolve). Differentiable.
TAPEFLOW_API Tensor triangular_solve(const Tensor& matrix,
                                     const Tensor& rhs,
                                     bool lower = true,
                                     bool adjoint = false);
/// Solves matrix · x = rhs (or matrixᵀ · x = rhs) by LU with partial pivoting; matrix
/// [..., n, n], rhs [..., n, k] (TF: MatrixSolve). Singular: InvalidArgumentError.
TAPEFLOW_API Tensor solve(const Tensor& matrix, const Tensor& rhs, bool adjoint = false);
/// Inverse (of the transpose when adjoint) of [..., n, n] (TF: MatrixInverse). Singular:
/// InvalidArgumentError.
TAPEFLOW_API Tensor inv(const Tensor& input, bool adjoint = false);
/// Determinant of [..., n, n] → [...] (TF: MatrixDeterminant). Differentiable where invertible.
TAPEFLOW_API Tensor det(const Tensor& input);
/// Sign and log|det| of [..., n, n] (TF: LogMatrixDeterminant); a singular matrix gives
/// sign 0 and -inf. Differentiable in log_abs_determinant.
TAPEFLOW_API SlogdetResult slogdet(const Tensor& input);
/// QR by Householder reflections (LAPACK's signs, as TF): a [..., m, n] = q · r, q
/// [..., m, k], r [..., k, n], k = full_matrices ? m : min(m, n) (TF: Qr). Differentiable,
/// except m > n with full_matrices (as TF).
TAPEFLOW_API QrResult qr(const Tensor& input, bool full_matrices = false);
/// Eigen-decomposition of self-adjoint [..., n, n] (reads the lower triangle): eigenvalues
/// ascending (TF: SelfAdjointEigV2). Differentiable where the eigenvalues are distinct.
TAPEFLOW_API EighResult eigh(const Tensor& tensor);
/// Singular values (descending) of [..., m, n], and u [..., m, ku], v [..., n, kv] (k = min(m,
/// n), or m and n with full_matrices) (TF: Svd). Differentiable where the singular values are
/// distinct and nonzero (and, with full_matrices, |m - n| <= 1, as TF).
TAPEFLOW_API SvdResult svd(const Tensor& tensor,
                           bool full_matrices = false,
                           bool compute_uv = true);

}  // namespace tapeflow::linalg
