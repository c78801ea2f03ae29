#pragma once

// The backend seam: every kernel is one pure virtual here, so a backend that lacks one does
// not compile. Kernels receive raw pointers, shapes and small attribute structs; front ends
// (src/ops) have validated everything before a kernel runs. See docs/design.md.

#include <cstddef>
#include <cstdint>
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
};

/// The backend of `device`; InvalidArgumentError if that device is not available.
Backend& backend_for(Device device);
Backend& cpu_backend();

}  // namespace tapeflow::detail
