#pragma once

// The backend seam: every kernel is one pure virtual here, so a backend that lacks one does
// not compile. Kernels receive raw pointers, shapes and small attribute structs; front ends
// (src/ops) have validated everything before a kernel runs. See docs/design.md.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/philox.hpp"  // RandomKind
#include "tapeflow/device.hpp"
#include "tapeflow/dtype.hpp"
#include "tapeflow/shape.hpp"

namespace tapeflow::detail {

struct TensorRef {
  void* data;
  const Shape* shape;
  DType dtype;
  int64_t size() const { return shape->num_elements(); }
  template <class T>
  T* as() const { return static_cast<T*>(data); }
  /// The reference to a tensor's storage (core's TensorImpl: data, shape, dtype).
  template <class Impl>
  static TensorRef of(const Impl& t) {
    return {t.data, &t.shape, t.dtype};
  }
};

struct KernelArgs {
  const TensorRef* inputs = nullptr;
  int num_inputs = 0;
  TensorRef output{};
  const void* attrs = nullptr;

  const TensorRef& in(int i) const { return inputs[i]; }
  const TensorRef& out() const { return output; }
  template <class A>
  const A& attr() const { return *static_cast<const A*>(attrs); }
};

// ---- attribute structs ------------------------------------------------------------------------

/// A reduction viewed as [outer, reduce, inner] (the front end moves reduced axes together).
struct ReduceAttrs {
  int64_t outer, reduce, inner;
};
/// out[i] = in[offset + sum_d idx_d * src_strides[d]] over out's shape (strides may be 0).
struct StridedCopyAttrs {
  std::vector<int64_t> src_strides;
  int64_t src_offset = 0;
};
/// Writes `in` into a sub-block of `out` that is first filled with `value` (Pad).
struct PadAttrs {
  std::vector<int64_t> before;
  double value = 0.0;
};
/// Concatenation viewed as [outer, sum of chunks]: input i contributes chunks[i] per outer row.
struct ConcatAttrs {
  int64_t outer;
  std::vector<int64_t> chunks;
};
/// Gather along an axis: params [outer, axis_dim, inner], indices [n] → out [outer, n, inner].
struct GatherAttrs {
  int64_t outer, axis_dim, inner, num_indices;
};
/// Inverse of Gather: out [outer, axis_dim, inner] = sum of updates [outer, n, inner] by index.
using ScatterAddAttrs = GatherAttrs;
/// Batched GEMM: out[b] = op(a[b]) @ op(b[b]); a stride 0 broadcasts one matrix to every batch.
struct MatMulAttrs {
  int64_t batch, m, n, k;
  bool transpose_a, transpose_b;
  int64_t stride_a, stride_b;
};
/// Counter-based random numbers: (seed, counter) fully determine the output.
struct RandomAttrs {
  RandomKind kind;
  double a, b;  // [minval, maxval) or (mean, stddev)
  uint64_t seed, counter;
};
struct FillAttrs {
  double start, delta;  // out[i] = start + i * delta (Fill: delta = 0)
};
/// A 2-D sliding window over NHWC images [n, h, w, c]: window kh×kw moved by strides sh, sw
/// gives [n, oh, ow, ·]; pad_top / pad_left implicit rows / columns lie before the image (TF's
/// SAME split). Im2Col / Col2Im, the pools and their gradients all use it.
struct Conv2DAttrs {
  int64_t n, h, w, c, kh, kw, oh, ow, sh, sw, pad_top, pad_left;
};

/// One Keras Adam step (no amsgrad), with the step-dependent factors folded into alpha =
/// lr·sqrt(1 - beta_2^t) / (1 - beta_1^t).
struct AdamAttrs {
  double alpha, beta_1, beta_2, epsilon;
};
/// Adam's update of one element, in the order and rounding of the unfused ops it replaces
/// (m += (g - m)(1 - beta_1); v += (g² - v)(1 - beta_2); w -= alpha·m / (√v + epsilon), every
/// operation rounded to T, none fused): the CPU and CUDA kernels both call it. On the host the
/// calling file must be compiled with -ffp-contract=off (src/cpu/optim.cpp is, CMakeLists.txt).
template <class T>
TAPEFLOW_HD inline void adam_step(T& w, T& m, T& v, T g, T c1, T c2, T alpha, T eps) {
#ifdef __CUDA_ARCH__
  // nvcc contracts a*b + c by default; the _rn intrinsics round each operation on its own.
  if constexpr (std::is_same_v<T, float>) {
    m = __fadd_rn(m, __fmul_rn(__fsub_rn(g, m), c1));
    v = __fadd_rn(v, __fmul_rn(__fsub_rn(__fmul_rn(g, g), v), c2));
    w = __fsub_rn(w, __fdiv_rn(__fmul_rn(m, alpha), __fadd_rn(__fsqrt_rn(v), eps)));
  } else {
    m = __dadd_rn(m, __dmul_rn(__dsub_rn(g, m), c1));
    v = __dadd_rn(v, __dmul_rn(__dsub_rn(__dmul_rn(g, g), v), c2));
    w = __dsub_rn(w, __ddiv_rn(__dmul_rn(m, alpha), __dadd_rn(__dsqrt_rn(v), eps)));
  }
#else
  m = m + (g - m) * c1;
  v = v + (g * g - v) * c2;
  w = w - m * alpha / (std::sqrt(v) + eps);
#endif
}

// ---- the interface ----------------------------------------------------------------------------

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual void copy_to_host(const void* src, void* host_dst, size_t bytes) = 0;
  virtual void copy_from_host(const void* host_src, void* dst, size_t bytes) = 0;

  // Binary element-wise, NumPy broadcasting of in(0) and in(1) to out's shape.
  virtual void add(const KernelArgs& k) = 0;
  virtual void sub(const KernelArgs& k) = 0;
  virtual void mul(const KernelArgs& k) = 0;
  virtual void div(const KernelArgs& k) = 0;
  virtual void pow(const KernelArgs& k) = 0;
  virtual void maximum(const KernelArgs& k) = 0;
  virtual void minimum(const KernelArgs& k) = 0;
  virtual void equal(const KernelArgs& k) = 0;
  virtual void not_equal(const KernelArgs& k) = 0;
  virtual void less(const KernelArgs& k) = 0;
  virtual void less_equal(const KernelArgs& k) = 0;
  virtual void greater(const KernelArgs& k) = 0;
  virtual void greater_equal(const KernelArgs& k) = 0;
  virtual void logical_and(const KernelArgs& k) = 0;
  virtual void logical_or(const KernelArgs& k) = 0;
  // where(cond, x, y), broadcasting all three.
  virtual void select(const KernelArgs& k) = 0;

  // Unary element-wise, same shape.
  virtual void neg(const KernelArgs& k) = 0;
  virtual void exp(const KernelArgs& k) = 0;
  virtual void log(const KernelArgs& k) = 0;
  virtual void log1p(const KernelArgs& k) = 0;
  virtual void sqrt(const KernelArgs& k) = 0;
  virtual void rsqrt(const KernelArgs& k) = 0;
  virtual void abs(const KernelArgs& k) = 0;
  virtual void sign(const KernelArgs& k) = 0;
  virtual void sin(const KernelArgs& k) = 0;
  virtual void cos(const KernelArgs& k) = 0;
  virtual void tanh(const KernelArgs& k) = 0;
  virtual void sigmoid(const KernelArgs& k) = 0;
  virtual void floor(const KernelArgs& k) = 0;
  virtual void relu(const KernelArgs& k) = 0;
  // relu_grad(x, dy) = dy where x > 0, else 0 (one pass; ReLU's backward).
  virtual void relu_grad(const KernelArgs& k) = 0;
  virtual void square(const KernelArgs& k) = 0;
  virtual void erf(const KernelArgs& k) = 0;
  virtual void logical_not(const KernelArgs& k) = 0;
  virtual void cast(const KernelArgs& k) = 0;

  // Reductions over ReduceAttrs; arg* write int64.
  virtual void reduce_sum(const KernelArgs& k) = 0;
  virtual void reduce_max(const KernelArgs& k) = 0;
  virtual void reduce_min(const KernelArgs& k) = 0;
  virtual void reduce_prod(const KernelArgs& k) = 0;
  virtual void argmax(const KernelArgs& k) = 0;
  virtual void argmin(const KernelArgs& k) = 0;

  virtual void matmul(const KernelArgs& k) = 0;

  // Data movement.
  virtual void strided_copy(const KernelArgs& k) = 0;
  virtual void pad(const KernelArgs& k) = 0;
  virtual void concat(const KernelArgs& k) = 0;
  virtual void gather(const KernelArgs& k) = 0;
  virtual void scatter_add(const KernelArgs& k) = 0;

  // Creation.
  virtual void fill(const KernelArgs& k) = 0;  // FillAttrs (also range)
  virtual void random(const KernelArgs& k) = 0;

  // Sliding windows over NHWC images (Conv2DAttrs). im2col: image → patches [n·oh·ow, kh·kw·c]
  // (zeros in the padding); col2im: its adjoint, patches scatter-added back into the image.
  virtual void im2col(const KernelArgs& k) = 0;
  virtual void col2im(const KernelArgs& k) = 0;
  // Pools: out [n, oh, ow, c]; padding is ignored (max) or not counted (avg).
  virtual void max_pool2d(const KernelArgs& k) = 0;
  // in(0) x, in(1) dy [n, oh, ow, c] → dx: dy goes to each window's first maximum.
  virtual void max_pool2d_grad(const KernelArgs& k) = 0;
  // in(0) x, in(1) ddx (x's shape) → [n, oh, ow, c]: ddx picked at each window's first maximum.
  virtual void max_pool2d_grad_grad(const KernelArgs& k) = 0;
  virtual void avg_pool2d(const KernelArgs& k) = 0;
  // in(0) dy [n, oh, ow, c] → dx [n, h, w, c]: each dy spread evenly over its window's valid cells.
  virtual void avg_pool2d_grad(const KernelArgs& k) = 0;

  // Optimizer steps, in place. apply_adam: in(0) w, in(1) m, in(2) v (all three updated),
  // in(3) g, same shape and float dtype; AdamAttrs; out() is w.
  virtual void apply_adam(const KernelArgs& k) = 0;
};

/// The backend of `device`; InvalidArgumentError if that device is not available.
Backend& backend_for(Device device);
Backend& cpu_backend();

}  // namespace tapeflow::detail
