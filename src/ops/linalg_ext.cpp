// tf::linalg (issue #11): front ends and gradient rules. The structural ops (matrix_transpose,
// diag, diag_part, trace, band_part) are composites of other ops. The factorizations run one
// kernel each (backend/linalg_attrs.hpp) over the batch flattened to [batch, m, n]; whether a
// factorization failed is known only after it ran, so the kernel is run unrecorded, its status
// checked, and only then the op recorded with its rule. Kernels with several results write them
// packed into one row per matrix; the results are slices of it, so their gradients meet in the
// packed op's rule. Rules follow TF's linalg_grad.py and use public ops only (higher orders).
#include <climits>
#include <string>

#include "backend/linalg_attrs.hpp"
#include "core/device_context.hpp"
#include "core/shape_check.hpp"
#include "core/tensor_impl.hpp"
#include "ops/run_op.hpp"

namespace tapeflow::linalg {

using detail::Backend;
using detail::fail;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;
using detail::LinalgAttrs;
using detail::LinalgStatus;

namespace {

/// A (batch of) matrices: batch dims, rows, columns, and the number of matrices.
struct Matrices {
  std::vector<int64_t> batch;
  int64_t m = 0, n = 0, count = 0;
  Shape with(std::initializer_list<int64_t> tail) const {
    std::vector<int64_t> d = batch;
    d.insert(d.end(), tail);
    return Shape(d);
  }
};

Matrices matrices(const char* op, const Tensor& x, bool square, bool lapack) {
  detail::check_defined(op, x, 0);
  if (x.rank() < 2)
    fail<InvalidArgumentError>(
        op, "Input must have rank >= 2 (a batch of matrices), got shape ", x.shape());
  Matrices r;
  r.batch.assign(x.shape().begin(), x.shape().end() - 2);
  r.m = x.shape()[x.rank() - 2];
  r.n = x.shape()[x.rank() - 1];
  if (square && r.m != r.n)
    fail<InvalidArgumentError>(
        op, "Input matrix must be square, got ", r.m, " != ", r.n, " in shape ", x.shape());
  if (lapack) {
    detail::check_dtype(op, x, detail::Require::floating);
    if (r.m > INT_MAX || r.n > INT_MAX)
      fail<InvalidArgumentError>(op,
                                 "Matrix dimensions of shape ",
                                 x.shape(),
                                 " exceed LAPACK's 32-bit limit (",
                                 INT_MAX,
                                 ")");
  }
  r.count = detail::checked_num_elements(op, Shape(r.batch));
  return r;
}

/// A bool [m, n] mask, true where lo <= j - i <= hi (on the current device).
Tensor band_mask(const char* op, int64_t m, int64_t n, int64_t lo, int64_t hi) {
  detail::check_output(op, Shape{m, n}, DType::boolean, detail::current_device());
  Tensor i = reshape(range(0.0, double(m), 1.0, DType::int64), Shape{m, 1});
  Tensor j = reshape(range(0.0, double(n), 1.0, DType::int64), Shape{1, n});
  Tensor d = j - i;
  return logical_and(greater_equal(d, scalar_like(d, double(lo))),
                     less_equal(d, scalar_like(d, double(hi))));
}
Tensor eye_mask(const char* op, int64_t n) { return band_mask(op, n, n, 0, 0); }

Tensor adjoint(const Tensor& x) { return matrix_transpose(x); }

/// x with its main diagonal replaced by d (square matrices; TF: MatrixSetDiag).
Tensor set_diag(const Tensor& x, const Tensor& d) {
  return where(eye_mask("MatrixSetDiagV3", x.shape()[x.rank() - 1]), expand_dims(d, -2), x);
}

/// x / (x² + ε), TF's _SafeReciprocal: 0 where x is 0.
Tensor safe_reciprocal(const Tensor& x) { return x / (x * x + 1e-20); }

/// Part [begin, begin + size) of the last axis of a packed result, reshaped to `shape`.
Tensor unpack(const Tensor& packed, int64_t begin, int64_t size, const Shape& shape) {
  std::vector<int64_t> b(size_t(packed.rank()), 0), s = packed.shape().dims();
  b.back() = begin;
  s.back() = size;
  return reshape(slice(packed, b, s), shape);
}

/// Runs a linalg kernel unrecorded; returns its output and sets `status`.
Tensor run_kernel(const char* op,
                  detail::InputList inputs,
                  Shape out,
                  DType dtype,
                  detail::KernelFn kernel,
                  LinalgAttrs& attrs,
                  LinalgStatus& status) {
  attrs.status = &status;
  return detail::run_op({.name = op,
                         .inputs = inputs,
                         .out = {std::move(out), dtype},
                         .kernel = kernel,
                         .attrs = &attrs});
}

/// As run_kernel for one input, but on the host when the op is placed on a GPU: qr, eigh and
/// svd have no GPU kernel yet (cuSOLVER's geqrf/orgqr, syevd and gesvd would fit the pattern of
/// cuda/kernels/solver.cu). Run under a host DeviceScope, run_op copies the input to the host,
/// LAPACK runs there, and the packed result is copied back, so the op's results, and the gradients
/// its rule computes from them with tapeflow ops, are on the GPU as for any other op; only the
/// factorization is not.
Tensor run_kernel_host_for_gpu(const char* op,
                               const Tensor& input,
                               Shape out,
                               DType dtype,
                               detail::KernelFn kernel,
                               LinalgAttrs& attrs,
                               LinalgStatus& status) {
  const Device device = detail::current_device();
  if (device.type == DeviceType::CPU)
    return run_kernel(op, {input}, std::move(out), dtype, kernel, attrs, status);
  Tensor packed;
  {
    DeviceScope host(Device{});
    packed = run_kernel(op, {input}, std::move(out), dtype, kernel, attrs, status);
  }
  return detail::on_device(packed, device);
}

/// Where in the batch (0-based, batch dims flattened) the failing matrix is, for error messages.
std::string which(const LinalgStatus& s, const Matrices& mat, const Tensor& x) {
  if (mat.batch.empty()) return detail::str_cat("(input shape ", x.shape(), ")");
  return detail::str_cat("(matrix ", s.index, " of the batch, input shape ", x.shape(), ")");
}

/// Broadcasts the batch dims of a [..., n, n] matrix and a [..., n, k] right-hand side.
void broadcast_solve(const char* op, Tensor& a, Tensor& b, const Matrices& ma) {
  detail::check_defined(op, b, 1);
  detail::check_same_dtype(op, {a, b});
  if (b.rank() < 2)
    fail<InvalidArgumentError>(op, "Input rhs must have rank >= 2, got shape ", b.shape());
  const int64_t rows = b.shape()[b.rank() - 2], k = b.shape()[b.rank() - 1];
  if (rows != ma.n)
    fail<InvalidArgumentError>(op,
                               "Input matrix and right-hand side must have the same number "
                               "of rows: ",
                               a.shape(),
                               " vs. ",
                               b.shape());
  if (k > INT_MAX)
    fail<InvalidArgumentError>(op, "rhs of shape ", b.shape(), " exceeds LAPACK's 32-bit limit");
  Shape bb(b.shape().data(), size_t(b.rank() - 2));
  Shape batch = detail::broadcast_shapes(op, Shape(ma.batch), bb);
  std::vector<int64_t> da = batch.dims(), db = batch.dims();
  da.insert(da.end(), {ma.n, ma.n});
  db.insert(db.end(), {ma.n, k});
  if (a.shape() != Shape(da)) a = broadcast_to(a, Shape(da));
  if (b.shape() != Shape(db)) b = broadcast_to(b, Shape(db));
}

}  // namespace

// ---- structure (composites) ------------------------------------------------------------------

Tensor matrix_transpose(const Tensor& a) {
  detail::check_defined("MatrixTranspose", a, 0);
  if (a.rank() < 2)
    fail<InvalidArgumentError>("MatrixTranspose",
                               "Argument `a` should be a (batch) matrix with "
                               "rank >= 2, got shape ",
                               a.shape());
  std::vector<int> perm(size_t(a.rank()));
  for (int i = 0; i < a.rank(); ++i) perm[size_t(i)] = i;
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(a, perm);
}

Tensor diag(const Tensor& diagonal) {
  const char* op = "MatrixDiagV3";
  detail::check_defined(op, diagonal, 0);
  detail::check_dtype(op, diagonal, detail::Require::numeric);
  if (diagonal.rank() < 1)
    fail<InvalidArgumentError>(op, "diagonal must be at least 1-dim, got shape ", diagonal.shape());
  const int64_t n = diagonal.shape()[diagonal.rank() - 1];
  std::vector<int64_t> d = diagonal.shape().dims();
  d.push_back(n);
  detail::check_output(op, Shape(d), diagonal.dtype(), detail::current_device());
  if (diagonal.num_elements() == 0) return zeros(Shape(d), diagonal.dtype());
  return where(eye_mask(op, n), expand_dims(diagonal, -2), scalar_like(diagonal, 0));
}

Tensor diag_part(const Tensor& input) {
  const char* op = "MatrixDiagPartV3";
  Matrices mat = matrices(op, input, false, false);
  detail::check_dtype(op, input, detail::Require::numeric);
  const int64_t k = std::min(mat.m, mat.n);
  if (input.num_elements() == 0) return zeros(mat.with({k}), input.dtype());
  Tensor x = input;
  if (mat.m != mat.n) {
    std::vector<int64_t> begin(size_t(input.rank()), 0), size = input.shape().dims();
    size[size.size() - 2] = size[size.size() - 1] = k;
    x = slice(input, begin, size);
  }
  return reduce_sum(where(eye_mask(op, k), x, scalar_like(x, 0)), {-1});
}

Tensor trace(const Tensor& x) { return reduce_sum(diag_part(x), {-1}); }

Tensor band_part(const Tensor& input, int64_t num_lower, int64_t num_upper) {
  const char* op = "MatrixBandPart";
  Matrices mat = matrices(op, input, false, false);
  if (num_lower > mat.m)
    fail<InvalidArgumentError>(op,
                               "num_lower must be negative or less or equal to number of "
                               "rows (",
                               mat.m,
                               ") got: ",
                               num_lower);
  if (num_upper > mat.n)
    fail<InvalidArgumentError>(op,
                               "num_upper must be negative or less or equal to number of "
                               "columns (",
                               mat.n,
                               ") got: ",
                               num_upper);
  if (input.num_elements() == 0) return input;
  const int64_t lo = num_lower < 0 ? -mat.m : -num_lower, hi = num_upper < 0 ? mat.n : num_upper;
  return where(band_mask(op, mat.m, mat.n, lo, hi), input, scalar_like(input, 0));
}

// ---- factorizations and solves ---------------------------------------------------------------

Tensor cholesky(const Tensor& input) {
  const char* op = "Cholesky";
  Matrices mat = matrices(op, input, true, true);
  LinalgAttrs attrs{.batch = mat.count, .m = mat.n, .n = mat.n};
  LinalgStatus status;
  Tensor l = run_kernel(
      op,
      {input},
      input.shape(),
      input.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_cholesky(k); },
      attrs,
      status);
  if (status.index >= 0)
    fail<InvalidArgumentError>(op,
                               "Cholesky decomposition was not successful. The input might "
                               "not be valid: not positive definite (leading minor of order ",
                               status.info,
                               ") ",
                               which(status, mat, input));
  if (detail::any_tape_recording())
    detail::record_op(op, {input}, l, [](const GradCall& g) -> GradList {
      // TF's _CholeskyGrad: φ(Lᴴ·dL) with the diagonal halved, then dA = ½(S + Sᴴ) for
      // S = L⁻ᴴ·φ·L⁻¹ (Murray 2016, eq. 10).
      const Tensor& l = g.output();
      const int64_t n = l.shape()[l.rank() - 1];
      Tensor l_inv = triangular_solve(l, eye(n, n, l.dtype()), true);
      Tensor middle = matmul(l, g.upstream(), true, false);
      middle = band_part(set_diag(middle, 0.5 * diag_part(middle)), -1, 0);
      Tensor s = matmul(matmul(l_inv, middle, true, false), l_inv);
      return {0.5 * (s + adjoint(s))};
    });
  return l;
}

Tensor triangular_solve(const Tensor& matrix, const Tensor& rhs, bool lower, bool adjoint_a) {
  const char* op = "MatrixTriangularSolve";
  Matrices mat = matrices(op, matrix, true, true);
  Tensor a = matrix, b = rhs;
  broadcast_solve(op, a, b, mat);
  const int64_t k = b.shape()[b.rank() - 1];
  LinalgAttrs attrs{.batch = mat.n == 0 ? 0 : a.num_elements() / (mat.n * mat.n),
                    .m = mat.n,
                    .n = mat.n,
                    .k = k,
                    .lower = lower,
                    .adjoint = adjoint_a};
  LinalgStatus status;
  Tensor c = run_kernel(
      op,
      {a, b},
      b.shape(),
      b.dtype(),
      [](Backend& be, const KernelArgs& kk) { be.linalg_triangular_solve(kk); },
      attrs,
      status);
  if (detail::any_tape_recording())
    detail::record_op(op, {a, b}, c, [lower, adjoint_a](const GradCall& g) -> GradList {
      // c = op(A)⁻¹·b: db = op(A)⁻ᴴ·dc; dA = -db·cᴴ (or -c·dbᴴ for op = ᴴ), kept to A's triangle.
      const Tensor& c = g.output();
      Tensor db = triangular_solve(g.input(0), g.upstream(), lower, !adjoint_a);
      Tensor da;
      if (g.needs(0)) {
        da = adjoint_a ? -matmul(c, db, false, true) : -matmul(db, c, false, true);
        da = lower ? band_part(da, -1, 0) : band_part(da, 0, -1);
      }
      return {da, g.needs(1) ? db : Tensor()};
    });
  return c;
}

Tensor solve(const Tensor& matrix, const Tensor& rhs, bool adjoint_a) {
  const char* op = "MatrixSolve";
  Matrices mat = matrices(op, matrix, true, true);
  Tensor a = matrix, b = rhs;
  broadcast_solve(op, a, b, mat);
  const int64_t k = b.shape()[b.rank() - 1];
  LinalgAttrs attrs{.batch = mat.n == 0 ? 0 : a.num_elements() / (mat.n * mat.n),
                    .m = mat.n,
                    .n = mat.n,
                    .k = k,
                    .adjoint = adjoint_a};
  LinalgStatus status;
  Tensor c = run_kernel(
      op,
      {a, b},
      b.shape(),
      b.dtype(),
      [](Backend& be, const KernelArgs& kk) { be.linalg_solve(kk); },
      attrs,
      status);
  if (status.index >= 0)
    fail<InvalidArgumentError>(op, "Input matrix is not invertible. ", which(status, mat, a));
  if (detail::any_tape_recording())
    detail::record_op(op, {a, b}, c, [adjoint_a](const GradCall& g) -> GradList {
      // c = op(A)⁻¹·b: db = op(A)⁻ᴴ·dc; dA = -db·cᴴ (or -c·dbᴴ for op = ᴴ) (TF's _MatrixSolveGrad).
      const Tensor& c = g.output();
      Tensor db = solve(g.input(0), g.upstream(), !adjoint_a);
      Tensor da;
      if (g.needs(0)) da = adjoint_a ? -matmul(c, db, false, true) : -matmul(db, c, false, true);
      return {da, g.needs(1) ? db : Tensor()};
    });
  return c;
}

Tensor inv(const Tensor& input, bool adjoint_a) {
  const char* op = "MatrixInverse";
  Matrices mat = matrices(op, input, true, true);
  LinalgAttrs attrs{.batch = mat.count, .m = mat.n, .n = mat.n, .k = mat.n, .adjoint = adjoint_a};
  LinalgStatus status;
  Tensor c = run_kernel(
      op,
      {input},
      input.shape(),
      input.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_solve(k); },
      attrs,
      status);
  if (status.index >= 0)
    fail<InvalidArgumentError>(op, "Input is not invertible. ", which(status, mat, input));
  if (detail::any_tape_recording())
    detail::record_op(op, {input}, c, [adjoint_a](const GradCall& g) -> GradList {
      // C = op(A)⁻¹: dA = -Cᴴ·dC·Cᴴ (adjoint: -C·dCᴴ·C, transposed) (TF's _MatrixInverseGrad).
      const Tensor& c = g.output();
      return {-matmul(c, matmul(g.upstream(), c, adjoint_a, !adjoint_a), !adjoint_a, false)};
    });
  return c;
}

namespace {
/// The LU kernel's packed [..., 3]: sign, log|det|, det.
Tensor lu_det(const char* op, const Tensor& input, Matrices& mat) {
  mat = matrices(op, input, true, true);
  LinalgAttrs attrs{.batch = mat.count, .m = mat.n, .n = mat.n};
  LinalgStatus status;
  return run_kernel(
      op,
      {input},
      mat.with({3}),
      input.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_lu_det(k); },
      attrs,
      status);
}
}  // namespace

Tensor det(const Tensor& input) {
  const char* op = "MatrixDeterminant";
  Matrices mat;
  Tensor packed = lu_det(op, input, mat);
  Tensor d = unpack(packed, 2, 1, Shape(mat.batch));
  if (detail::any_tape_recording())
    detail::record_op(op, {input}, d, [](const GradCall& g) -> GradList {
      // d det(A) / dA = det(A)·A⁻ᵀ.
      Tensor scale = expand_dims(expand_dims(g.upstream() * g.output(), -1), -1);
      return {scale * inv(g.input(0), true)};
    });
  return d;
}

SlogdetResult slogdet(const Tensor& input) {
  const char* op = "LogMatrixDeterminant";
  Matrices mat;
  Tensor packed = lu_det(op, input, mat);
  Tensor sign = unpack(packed, 0, 1, Shape(mat.batch));
  Tensor log_abs = unpack(packed, 1, 1, Shape(mat.batch));
  if (detail::any_tape_recording())
    detail::record_op(op, {input}, log_abs, [](const GradCall& g) -> GradList {
      // d log|det A| / dA = A⁻ᵀ; the sign has no gradient (TF's _LogMatrixDeterminantGrad).
      return {expand_dims(expand_dims(g.upstream(), -1), -1) * inv(g.input(0), true)};
    });
  return {sign, log_abs};
}

// ---- decompositions with several results -----------------------------------------------------

namespace {

/// TF's _QrGradSquareAndDeepMatrices (m >= n; r square).
Tensor qr_grad_deep(const Tensor& q, const Tensor& r, const Tensor& dq, const Tensor& dr) {
  // x·r⁻ᴴ for upper-triangular r.
  auto solve_r = [&](const Tensor& x) { return adjoint(triangular_solve(r, adjoint(x), false)); };
  Tensor qdq = matmul(q, dq, true, false);
  Tensor qdq_ = qdq - adjoint(qdq);
  Tensor rdr = matmul(r, dr, false, true);
  Tensor rdr_ = rdr - adjoint(rdr);
  Tensor tril = band_part(qdq_ + rdr_, -1, 0);
  Tensor grad_a = matmul(q, dr + solve_r(tril));
  Tensor grad_b = solve_r(dq - matmul(q, qdq));
  return grad_a + grad_b;
}

}  // namespace

QrResult qr(const Tensor& input, bool full_matrices) {
  const char* op = "Qr";
  Matrices mat = matrices(op, input, false, true);
  const int64_t p = std::min(mat.m, mat.n), kq = full_matrices ? mat.m : p;
  const int64_t q_size = detail::checked_mul(op, mat.m, kq, "q's size");
  const int64_t row = detail::checked_add(
      op, q_size, detail::checked_mul(op, kq, mat.n, "r's size"), "q's and r's sizes");
  LinalgAttrs attrs{.batch = mat.count, .m = mat.m, .n = mat.n, .full_matrices = full_matrices};
  LinalgStatus status;
  Tensor packed = run_kernel_host_for_gpu(
      op,
      input,
      mat.with({row}),
      input.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_qr(k); },
      attrs,
      status);
  const int64_t m = mat.m, n = mat.n;
  const std::vector<int64_t> batch = mat.batch;
  if (detail::any_tape_recording())
    detail::record_op(op, {input}, packed, [=](const GradCall& g) -> GradList {
      if (m > n && full_matrices)
        fail<UnimplementedError>(op,
                                 "QrGrad not implemented when nrows > ncols and "
                                 "full_matrices is true.");
      Matrices shp{batch, 0, 0, 0};
      Tensor q = unpack(g.output(), 0, q_size, shp.with({m, kq}));
      Tensor r = unpack(g.output(), q_size, kq * n, shp.with({kq, n}));
      Tensor dq = unpack(g.upstream(), 0, q_size, shp.with({m, kq}));
      Tensor dr = unpack(g.upstream(), q_size, kq * n, shp.with({kq, n}));
      if (m >= n) return {qr_grad_deep(q, r, dq, dr)};
      // Wide: a = [x, y], r = [u, v] with u square; reduce to the square case (TF).
      std::vector<int64_t> z(batch.size() + 2, 0), all = shp.with({-1, -1}).dims();
      auto cols = [&](const Tensor& t, int64_t begin, int64_t size) {
        std::vector<int64_t> b = z, s = all;
        b.back() = begin;
        s.back() = size;
        return slice(t, b, s);
      };
      Tensor y = cols(g.input(0), m, n - m), u = cols(r, 0, m);
      Tensor dv = cols(dr, m, n - m), du = cols(dr, 0, m);
      Tensor dy = matmul(q, dv);
      Tensor dx = qr_grad_deep(q, u, dq + matmul(y, dv, false, true), du);
      return {concat({dx, dy}, -1)};
    });
  return {unpack(packed, 0, q_size, mat.with({mat.m, kq})),
          unpack(packed, q_size, kq * mat.n, mat.with({kq, mat.n}))};
}

EighResult eigh(const Tensor& tensor) {
  const char* op = "SelfAdjointEigV2";
  Matrices mat = matrices(op, tensor, true, true);
  const int64_t n = mat.n;
  const int64_t row = detail::checked_add(op, n, detail::checked_mul(op, n, n, "v's size"), "size");
  LinalgAttrs attrs{.batch = mat.count, .m = n, .n = n};
  LinalgStatus status;
  Tensor packed = run_kernel_host_for_gpu(
      op,
      tensor,
      mat.with({row}),
      tensor.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_eigh(k); },
      attrs,
      status);
  if (status.index >= 0)
    fail<InvalidArgumentError>(op,
                               "Self-adjoint eigen decomposition was not successful. The "
                               "input might not be valid",
                               status.info < 0 ? " (it holds NaN or Inf) " : " ",
                               which(status, mat, tensor));
  const std::vector<int64_t> batch = mat.batch;
  if (detail::any_tape_recording())
    detail::record_op(op, {tensor}, packed, [=](const GradCall& g) -> GradList {
      // TF's _SelfAdjointEigV2Grad, for distinct eigenvalues (F_ij = 1/(e_j - e_i) off the
      // diagonal; equal ones give 0 there through _SafeReciprocal, not the true limit):
      // dA = V·(diag(de) + F∘(Vᴴ·dV))·Vᴴ, symmetrised onto the lower triangle the op reads.
      Matrices shp{batch, 0, 0, 0};
      Tensor e = unpack(g.output(), 0, n, shp.with({n}));
      Tensor v = unpack(g.output(), n, n * n, shp.with({n, n}));
      Tensor de = unpack(g.upstream(), 0, n, shp.with({n}));
      Tensor dv = unpack(g.upstream(), n, n * n, shp.with({n, n}));
      Tensor f = set_diag(safe_reciprocal(expand_dims(e, -2) - expand_dims(e, -1)), zeros_like(e));
      Tensor ga = matmul(v, matmul(diag(de) + f * matmul(v, dv, true, false), v, false, true));
      ga = band_part(ga + adjoint(ga), -1, 0);
      return {set_diag(ga, 0.5 * diag_part(ga))};
    });
  return {unpack(packed, 0, n, mat.with({n})), unpack(packed, n, n * n, mat.with({n, n}))};
}

SvdResult svd(const Tensor& tensor, bool full_matrices, bool compute_uv) {
  const char* op = "Svd";
  Matrices mat = matrices(op, tensor, false, true);
  const int64_t m = mat.m, n = mat.n, p = std::min(m, n);
  const int64_t ku = compute_uv ? (full_matrices ? m : p) : 0;
  const int64_t kv = compute_uv ? (full_matrices ? n : p) : 0;
  const int64_t u_size = detail::checked_mul(op, m, ku, "u's size");
  const int64_t v_size = detail::checked_mul(op, n, kv, "v's size");
  const int64_t row =
      detail::checked_add(op, p, detail::checked_add(op, u_size, v_size, "size"), "size");
  LinalgAttrs attrs{
      .batch = mat.count, .m = m, .n = n, .full_matrices = full_matrices, .compute_uv = compute_uv};
  LinalgStatus status;
  Tensor packed = run_kernel_host_for_gpu(
      op,
      tensor,
      mat.with({row}),
      tensor.dtype(),
      [](Backend& be, const KernelArgs& k) { be.linalg_svd(k); },
      attrs,
      status);
  if (status.index >= 0)
    fail<InvalidArgumentError>(op,
                               "SVD was not successful. The input might not be valid",
                               status.info < 0 ? " (it holds NaN or Inf) " : " (no convergence) ",
                               which(status, mat, tensor));
  const std::vector<int64_t> batch = mat.batch;
  if (detail::any_tape_recording())
    detail::record_op(op, {tensor}, packed, [=](const GradCall& g) -> GradList {
      Matrices shp{batch, 0, 0, 0};
      Tensor ds = unpack(g.upstream(), 0, p, shp.with({p}));
      if (!compute_uv) {
        // ds only: dA = U·diag(ds)·Vᴴ, with U and V from a fresh SVD (as TF).
        SvdResult full = svd(g.input(0), false, true);
        return {matmul(full.u, matmul(diag(ds), full.v, false, true))};
      }
      if (full_matrices && std::abs(m - n) > 1)
        fail<UnimplementedError>(op,
                                 "svd gradient is not implemented for abs(m - n) > 1 when "
                                 "full_matrices is True");
      // TF's _SvdGrad, for distinct nonzero singular values (F_ij = 1/(s_j² - s_i²)).
      Tensor s = unpack(g.output(), 0, p, shp.with({p}));
      Tensor u = unpack(g.output(), p, u_size, shp.with({m, ku}));
      Tensor v = unpack(g.output(), p + u_size, v_size, shp.with({n, kv}));
      Tensor du = unpack(g.upstream(), p, u_size, shp.with({m, ku}));
      Tensor dv = unpack(g.upstream(), p + u_size, v_size, shp.with({n, kv}));
      int64_t mm = m, nn = n;
      const bool use_adjoint = m > n;  // work on Aᴴ = V·S·Uᴴ, transpose at the end
      if (use_adjoint) std::swap(mm, nn), std::swap(u, v), std::swap(du, dv);
      Tensor s_mat = diag(s);
      Tensor s2 = square(s);
      Tensor f =
          set_diag(safe_reciprocal(expand_dims(s2, -2) - expand_dims(s2, -1)), zeros_like(s));
      Tensor s_inv = diag(safe_reciprocal(s));
      std::vector<int64_t> z(batch.size() + 2, 0), all = shp.with({-1, -1}).dims();
      auto cols = [&](const Tensor& t, int64_t begin, int64_t size) {
        std::vector<int64_t> b = z, sz = all;
        b.back() = begin;
        sz.back() = size;
        return slice(t, b, sz);
      };
      Tensor v1 = cols(v, 0, mm), dv1 = cols(dv, 0, mm);
      Tensor f_u = f * matmul(u, du, true, false);
      Tensor f_v = f * matmul(v1, dv1, true, false);
      Tensor term1_nouv =
          diag(ds) + matmul(f_u + adjoint(f_u), s_mat) + matmul(s_mat, f_v + adjoint(f_v));
      Tensor ga = matmul(u, matmul(term1_nouv, v1, false, true));
      if (mm != nn) {
        Tensor gv1t = adjoint(dv1);
        Tensor term2_nous = gv1t - matmul(matmul(gv1t, v1), v1, false, true);
        if (full_matrices) {
          Tensor v2 = cols(v, mm, nn - mm), dv2 = cols(dv, mm, nn - mm);
          term2_nous = term2_nous - matmul(matmul(v1, dv2, true, false), v2, false, true);
        }
        ga = ga + matmul(matmul(u, s_inv), term2_nous);
      }
      return {use_adjoint ? adjoint(ga) : ga};
    });
  SvdResult r{unpack(packed, 0, p, mat.with({p})), Tensor(), Tensor()};
  if (compute_uv) {
    r.u = unpack(packed, p, u_size, mat.with({m, ku}));
    r.v = unpack(packed, p + u_size, v_size, mat.with({n, kv}));
  }
  return r;
}

}  // namespace tapeflow::linalg
