#pragma once

// The one list of kernels. Every kernel of the backend seam is one entry here, and everything
// that names kernels is produced from it: the pure virtuals of `Backend` (backend.hpp), the
// overrides of `CpuBackend` (src/cpu/cpu_backend.hpp), the free functions of the CUDA kernels
// (cuda/kernels.hpp), the forwarding classes (cuda/backend.cpp, the test double
// test/gpu/fake_gpu_plugin.cpp), and, through CMake, the plugin's interface digest (this file is
// hashed with backend.hpp and cuda_plugin.hpp, CMakeLists.txt).
//
// A consumer passes a macro `X(name, ...)`: most entries are X(name); those of
// TAPEFLOW_SHARED_UNARY_KERNELS and TAPEFLOW_SHARED_BINARY_KERNELS carry two more arguments,
// which other consumers ignore.

// The lists are laid out by hand, several entries a line.
// clang-format off

// Unary element-wise kernels with one per-element function for both backends: X(name, Functor,
// dtypes) computes out[i] = detail::ops::Functor{}(in(0)[i]) (src/backend/elementwise_ops.hpp)
// for the `dtypes` family (numeric or float; core/dispatch.hpp). Both backends define these
// kernels from this list (src/cpu/elementwise.cpp, cuda/kernels/elementwise.cu), so a new one
// needs its entry here and its functor, nothing else below the front end.
#define TAPEFLOW_SHARED_UNARY_KERNELS(X)                                                         \
  X(neg, Neg, numeric) X(abs, Abs, numeric) X(sign, Sign, numeric) X(square, Square, numeric)   \
  X(relu, Relu, numeric) X(tan, Tan, float) X(asin, Asin, float) X(acos, Acos, float)           \
  X(atan, Atan, float) X(sinh, Sinh, float) X(cosh, Cosh, float) X(asinh, Asinh, float)          \
  X(acosh, Acosh, float) X(atanh, Atanh, float) X(erfc, Erfc, float) X(expm1, Expm1, float)      \
  X(round, Round, float)

// Binary element-wise kernels shared the same way: X(name, Functor, dtypes) computes
// out[i] = detail::ops::Functor{}(a[i], b[i]) with NumPy broadcasting, for `dtypes`.
#define TAPEFLOW_SHARED_BINARY_KERNELS(X)                                                        \
  X(atan2, Atan2, float) X(floordiv, FloorDiv, numeric) X(floormod, FloorMod, numeric)

#define TAPEFLOW_BACKEND_KERNELS(X)                                                              \
  /* Binary element-wise, NumPy broadcasting of in(0) and in(1) to out's shape. */              \
  X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum) X(equal) X(not_equal) X(less)         \
  X(less_equal) X(greater) X(greater_equal) X(logical_and) X(logical_or)                         \
  TAPEFLOW_SHARED_BINARY_KERNELS(X)                                                              \
  /* select: where(cond, x, y), broadcasting all three. */                                       \
  X(select)                                                                                      \
  /* Unary element-wise, same shape; each backend's own math library for the transcendental  */ \
  /* ones. relu_grad(x, dy) = dy where x > 0, else 0 (one pass; ReLU's backward).            */ \
  TAPEFLOW_SHARED_UNARY_KERNELS(X)                                                               \
  X(exp) X(log) X(log1p) X(sqrt) X(rsqrt) X(sin) X(cos) X(tanh) X(sigmoid) X(floor) X(erf)       \
  X(relu_grad) X(logical_not) X(cast)                                                            \
  /* Reductions over ReduceAttrs; arg* write int64. */                                           \
  X(reduce_sum) X(reduce_max) X(reduce_min) X(reduce_prod) X(argmax) X(argmin)                   \
  X(matmul)                                                                                      \
  /* Data movement. */                                                                           \
  X(strided_copy) X(pad) X(concat) X(gather) X(scatter_add)                                      \
  /* Creation: fill (FillAttrs, also range), random (RandomAttrs). */                            \
  X(fill) X(random)                                                                              \
  /* Sliding windows over NHWC images (Conv2DAttrs). im2col: image → patches                 */ \
  /* [n·oh·ow, kh·kw·c] (zeros in the padding); col2im: its adjoint, patches scatter-added    */ \
  /* back into the image. Pools: out [n, oh, ow, c]; padding is ignored (max) or not counted */ \
  /* (avg). max_pool2d_grad: in(0) x, in(1) dy [n, oh, ow, c] → dx: dy goes to each window's */ \
  /* first maximum. max_pool2d_grad_grad: in(0) x, in(1) ddx (x's shape) → [n, oh, ow, c]:   */ \
  /* ddx picked at each window's first maximum. avg_pool2d_grad: in(0) dy [n, oh, ow, c] →   */ \
  /* dx [n, h, w, c]: each dy spread evenly over its window's valid cells.                   */ \
  X(im2col) X(col2im) X(max_pool2d) X(max_pool2d_grad) X(max_pool2d_grad_grad) X(avg_pool2d)     \
  X(avg_pool2d_grad)                                                                             \
  /* Optimizer steps, in place. apply_adam: in(0) w, in(1) m, in(2) v (all three updated),   */ \
  /* in(3) g, same shape and float dtype; AdamAttrs; out() is w.                             */ \
  X(apply_adam)                                                                                   \
  /* tf::linalg (LinalgAttrs, backend/linalg_attrs.hpp says what each computes): LAPACK on  */ \
  /* the CPU, cuSOLVER/cuBLAS on the GPU.                                                     */ \
  X(linalg_cholesky) X(linalg_solve) X(linalg_triangular_solve) X(linalg_lu_det) X(linalg_qr)    \
  X(linalg_eigh) X(linalg_svd)                                                                  \
  /* Indexing, ordering and scans (src/cpu/indexing.cpp, cuda/kernels/indexing.cu; ScanAttrs, */ \
  /* TopKAttrs). cumsum / cumprod: scans along the middle axis of [outer, n, inner]. top_k:   */ \
  /* in(0) [rows, n] numeric → int32 [rows, k]: each row's k largest (smallest if ascending)  */ \
  /* in order, ties lower index first, NaN above +inf, -0 == +0. take_rows: in(0) [rows, n],  */ \
  /* in(1) int32 [rows, k] → [rows, k] = in(0)[r, in(1)[r, j]].                                */ \
  X(cumsum) X(cumprod) X(top_k) X(take_rows)

// clang-format on
