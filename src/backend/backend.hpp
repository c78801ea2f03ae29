#pragma once

// The backend seam: every kernel of the list (kernel_list.hpp) is one pure virtual here, so a
// backend that lacks one does not compile. Kernels receive raw pointers, shapes and small attribute
// structs; front ends (src/ops) have validated everything before a kernel runs. See docs/design.md.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "backend/kernel_list.hpp"
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
  T* as() const {
    return static_cast<T*>(data);
  }
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
  const A& attr() const {
    return *static_cast<const A*>(attrs);
  }
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
/// SAME split). Im2Col / Col2Im, the pools and their gradients all use it. dh / dw: the
/// dilations of conv2d (tap ky of a window starting at row y0 reads row y0 + ky·dh); the pools
/// keep 1.
struct Conv2DAttrs {
  int64_t n, h, w, c, kh, kw, oh, ow, sh, sw, pad_top, pad_left;
  int64_t dh = 1, dw = 1;
};

/// A scan (cumsum, cumprod) along the middle axis of [outer, n, inner]: exclusive starts from
/// the identity (0 or 1), reverse scans from the end.
struct ScanAttrs {
  int64_t outer, n, inner;
  bool exclusive, reverse;
};
/// TopK over rows [rows, n] → [rows, k] indices; ascending picks the smallest.
struct TopKAttrs {
  int64_t rows, n, k;
  bool ascending;
};
/// TakeRows: x [rows, n], indices [rows, k].
struct TakeRowsAttrs {
  int64_t rows, n, k;
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

  // One pure virtual per kernel of the list (kernel_list.hpp, which says what each computes).
#define TAPEFLOW_DECLARE_KERNEL(name, ...) virtual void name(const KernelArgs& k) = 0;
  TAPEFLOW_BACKEND_KERNELS(TAPEFLOW_DECLARE_KERNEL)
#undef TAPEFLOW_DECLARE_KERNEL
};

/// The backend of `device`; InvalidArgumentError if that device is not available.
Backend& backend_for(Device device);
Backend& cpu_backend();

}  // namespace tapeflow::detail
