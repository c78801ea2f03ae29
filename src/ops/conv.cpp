// tf::nn convolution, pooling and dropout on NHWC images.
//
// conv2d is Im2Col (patches [N·OH·OW, KH·KW·C]) followed by one GEMM with the filters viewed as
// [KH·KW·C, O]. MatMul and Reshape carry their own rules, so conv2d's gradient follows from
// Im2Col's alone; dropout is a composite too. The window primitives are linear in the tensor
// the gradient flows through, so each rule is another window primitive (Im2Col ↔ Col2Im,
// AvgPool ↔ AvgPoolGrad, MaxPoolGrad ↔ MaxPoolGradGrad) and every derivative order exists.
#include "ops/conv.hpp"

#include <algorithm>
#include <optional>

#include "core/shape_check.hpp"
#include "core/window.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::Conv2DAttrs;
using detail::fail;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;
using detail::Require;
using detail::run_op;

namespace detail {

HW spatial_pair(const char* op, const char* what, const std::vector<int>& v) {
  HW p{};
  if (v.size() == 1) {
    p = {v[0], v[0]};
  } else if (v.size() == 2) {
    p = {v[0], v[1]};
  } else if (v.size() == 4) {
    if (v[0] != 1 || v[3] != 1)
      fail<InvalidArgumentError>(op,
                                 "Current implementation does not yet support ",
                                 what,
                                 " in the batch and depth dimensions: ",
                                 detail::vec_str(v));
    p = {v[1], v[2]};
  } else {
    fail<InvalidArgumentError>(
        op, what, " should be of length 1, 2 or 4 but was ", v.size(), ": ", detail::vec_str(v));
  }
  if (p.h <= 0 || p.w <= 0)
    fail<InvalidArgumentError>(op, what, " must be positive, got ", detail::vec_str(v));
  return p;
}

bool is_same_padding(const char* op, const std::string& padding) {
  if (padding == "SAME") return true;
  if (padding == "VALID") return false;
  fail<InvalidArgumentError>(op, "padding must be \"SAME\" or \"VALID\", got \"", padding, "\"");
}

void check_image(const char* op, const Tensor& x, int index) {
  detail::check_defined(op, x, index);
  detail::check_dtype(op, x, Require::floating);
  if (x.rank() != 4)
    fail<InvalidArgumentError>(op,
                               "input must be 4-dimensional [batch, height, width, channels] "
                               "(NHWC), got shape ",
                               x.shape());
}

Conv2DAttrs window_geometry(
    const char* op, const Shape& x, HW k, HW s, bool same, const std::string& window, HW d) {
  Conv2DAttrs a{x[0], x[1], x[2], x[3], k.h, k.w, 0, 0, s.h, s.w, 0, 0, d.h, d.w};
  // The dilated window's extent (k - 1)·d + 1 must be countable (window_axis computes it).
  const int64_t eh = checked_add(op,
                                 checked_mul(op, k.h - 1, d.h, "the dilated filter height"),
                                 1,
                                 "the dilated filter height");
  const int64_t ew = checked_add(
      op, checked_mul(op, k.w - 1, d.w, "the dilated filter width"), 1, "the dilated filter width");
  if (!same && (x[1] < eh || x[2] < ew))
    fail<InvalidArgumentError>(op,
                               "Computed output size would be negative: the ",
                               eh,
                               "x",
                               ew,
                               " window is larger than the ",
                               x[1],
                               "x",
                               x[2],
                               " input with padding VALID (input shape ",
                               x,
                               ", ",
                               window,
                               ")");
  const WindowAxis rows = window_axis(a.h, a.kh, a.sh, same, a.dh);
  const WindowAxis cols = window_axis(a.w, a.kw, a.sw, same, a.dw);
  a.oh = rows.out;
  a.pad_top = rows.pad_before;
  a.ow = cols.out;
  a.pad_left = cols.pad_before;
  // The patch matrix [n·oh·ow, kh·kw·c] (im2col) must be countable even when the image is
  // empty (n or c zero beside huge dims: fuzz_ops found the product overflowing).
  checked_mul(op, checked_mul(op, a.n, a.oh, "the patch rows"), a.ow, "the patch rows");
  checked_mul(op, checked_mul(op, a.kh, a.kw, "the patch columns"), a.c, "the patch columns");
  return a;
}

namespace {
Shape image_shape(const Conv2DAttrs& a) { return Shape{a.n, a.h, a.w, a.c}; }
}  // namespace

/// Patches of x as rows [n·oh·ow, kh·kw·c], zeros where a window hangs over the padding.
Tensor im2col(const Tensor& x, const Conv2DAttrs& a) {
  return run_op({.name = "Im2Col",
                 .inputs = {x},
                 .out = {Shape{a.n * a.oh * a.ow, a.kh * a.kw * a.c}, x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.im2col(k); },
                 .attrs = &a,
                 // Linear: the adjoint of copying cells into patches adds each patch back.
                 .grad = [a](const GradCall& g) -> GradList { return {col2im(g.upstream(), a)}; },
                 .saves = saves::none});
}

Tensor col2im(const Tensor& cols, const Conv2DAttrs& a) {
  return run_op({.name = "Col2Im",
                 .inputs = {cols},
                 .out = {image_shape(a), cols.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.col2im(k); },
                 .attrs = &a,
                 // Linear, the adjoint of Im2Col: its gradient is Im2Col of the upstream.
                 .grad = [a](const GradCall& g) -> GradList { return {im2col(g.upstream(), a)}; },
                 .saves = saves::none});
}

}  // namespace detail

namespace {

using detail::check_image;
using detail::col2im;
using detail::HW;
using detail::im2col;
using detail::image_shape;
using detail::is_same_padding;
using detail::spatial_pair;
using detail::window_geometry;

Shape pooled_shape(const Conv2DAttrs& a) { return Shape{a.n, a.oh, a.ow, a.c}; }

Tensor max_pool_grad_grad(const Tensor& x, const Tensor& ddx, const Conv2DAttrs& a);

/// dx of MaxPool: dy routed to each window's first maximum (d max / d x_i is 1 at the argmax).
Tensor max_pool_grad(const Tensor& x, const Tensor& dy, const Conv2DAttrs& a) {
  return run_op({.name = "MaxPoolGrad",
                 .inputs = {x, dy},
                 .out = {x.shape(), x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.max_pool2d_grad(k); },
                 .attrs = &a,
                 // Linear in dy; its adjoint picks the upstream at the argmax cells. The argmax
                 // is piecewise constant in x, so d/dx is zero (as TF's MaxPoolGrad gradient).
                 .grad = [a](const GradCall& g) -> GradList {
                   return {g.needs(0) ? zeros_like(g.input(0)) : Tensor(),
                           g.needs(1) ? max_pool_grad_grad(g.input(0), g.upstream(), a) : Tensor()};
                 }});
}

/// ddx picked at each window's first maximum of x: [n, oh, ow, c].
Tensor max_pool_grad_grad(const Tensor& x, const Tensor& ddx, const Conv2DAttrs& a) {
  return run_op({.name = "MaxPoolGradGrad",
                 .inputs = {x, ddx},
                 .out = {pooled_shape(a), x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.max_pool2d_grad_grad(k); },
                 .attrs = &a,
                 // Linear in ddx, the adjoint of MaxPoolGrad; zero in x as above.
                 .grad = [a](const GradCall& g) -> GradList {
                   return {g.needs(0) ? zeros_like(g.input(0)) : Tensor(),
                           g.needs(1) ? max_pool_grad(g.input(0), g.upstream(), a) : Tensor()};
                 }});
}

Tensor avg_pool_grad(const Tensor& dy, const Conv2DAttrs& a);

Tensor avg_pool(const Tensor& x, const Conv2DAttrs& a) {
  return run_op(
      {.name = "AvgPool",
       .inputs = {x},
       .out = {pooled_shape(a), x.dtype()},
       .kernel = [](Backend& b, const KernelArgs& k) { b.avg_pool2d(k); },
       .attrs = &a,
       // Linear: each output is Σ window / valid cells, so each cell gets dy / count.
       .grad = [a](const GradCall& g) -> GradList { return {avg_pool_grad(g.upstream(), a)}; }});
}

Tensor avg_pool_grad(const Tensor& dy, const Conv2DAttrs& a) {
  return run_op(
      {.name = "AvgPoolGrad",
       .inputs = {dy},
       .out = {image_shape(a), dy.dtype()},
       .kernel = [](Backend& b, const KernelArgs& k) { b.avg_pool2d_grad(k); },
       .attrs = &a,
       // Linear, the adjoint of AvgPool: its gradient is AvgPool of the upstream.
       .grad = [a](const GradCall& g) -> GradList { return {avg_pool(g.upstream(), a)}; }});
}

Conv2DAttrs pool_geometry(const char* op,
                          const Tensor& x,
                          const std::vector<int>& ksize,
                          const std::vector<int>& strides,
                          const std::string& padding) {
  check_image(op, x, 0);
  HW k = spatial_pair(op, "ksize", ksize);
  HW s = spatial_pair(op, "strides", strides);
  bool same = is_same_padding(op, padding);
  Conv2DAttrs a = window_geometry(op, x.shape(), k, s, same, "ksize " + detail::vec_str(ksize));
  // The kernels' work (every output pixel visits a kh x kw window of C values) must be countable
  // in int64: a window of 2^31 x 2^31 over a SAME-padded image is a valid shape but not a
  // computation anyone can run.
  int64_t work = 1;
  bool empty = false;
  for (int64_t f : {a.n, a.oh, a.ow, a.kh, a.kw, a.c}) empty = empty || f == 0;
  for (int64_t f : {a.n, a.oh, a.ow, a.kh, a.kw, a.c})
    if (!empty && __builtin_mul_overflow(work, f, &work))
      fail<InvalidArgumentError>(op,
                                 "ksize ",
                                 detail::vec_str(ksize),
                                 " over input ",
                                 x.shape(),
                                 " needs more than 2**63 - 1 window reads");
  return a;
}

/// A fixed Philox stream for seeded dropout masks, apart from the global seed's op counters.
constexpr uint64_t kDropoutCounter = 0x44524f504f555400ULL;  // "DROPOUT"

}  // namespace

namespace nn {

Tensor conv2d(const Tensor& input,
              const Tensor& filters,
              std::vector<int> strides,
              const std::string& padding,
              std::vector<int> dilations) {
  const char* op = "Conv2D";
  check_image(op, input, 0);
  detail::check_defined(op, filters, 1);
  detail::check_same_dtype(op, {input, filters});
  const Shape& xs = input.shape();
  const Shape& fs = filters.shape();
  if (filters.rank() != 4)
    fail<InvalidArgumentError>(op,
                               "filter must be 4-dimensional [filter_height, filter_width, "
                               "in_channels, out_channels] (HWIO), got shape ",
                               fs);
  if (xs[3] != fs[2])
    fail<InvalidArgumentError>(op,
                               "input depth must be evenly divisible by filter depth: ",
                               xs[3],
                               " vs ",
                               fs[2],
                               " (input shape ",
                               xs,
                               ", filter shape ",
                               fs,
                               "; grouped convolution is not supported)");
  HW s = spatial_pair(op, "strides", strides);
  HW d = spatial_pair(op, "dilations", dilations);
  bool same = is_same_padding(op, padding);
  Conv2DAttrs a =
      window_geometry(op, xs, {fs[0], fs[1]}, s, same, detail::str_cat("filter shape ", fs), d);
  const int64_t out_channels = fs[3];
  if (a.kh == 1 && a.kw == 1 && a.sh == 1 && a.sw == 1) {
    // A 1x1 stride-1 convolution is already a GEMM over pixels: no patches to build.
    Tensor y = matmul(reshape(input, Shape{a.n * a.h * a.w, a.c}),
                      reshape(filters, Shape{a.c, out_channels}));
    return reshape(y, Shape{a.n, a.h, a.w, out_channels});
  }
  Tensor y = matmul(im2col(input, a), reshape(filters, Shape{a.kh * a.kw * a.c, out_channels}));
  return reshape(y, Shape{a.n, a.oh, a.ow, out_channels});
}

Tensor max_pool2d(const Tensor& input,
                  std::vector<int> ksize,
                  std::vector<int> strides,
                  const std::string& padding) {
  Conv2DAttrs a = pool_geometry("MaxPool", input, ksize, strides, padding);
  return run_op({.name = "MaxPool",
                 .inputs = {input},
                 .out = {pooled_shape(a), input.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.max_pool2d(k); },
                 .attrs = &a,
                 .grad = [a](const GradCall& g) -> GradList {
                   return {max_pool_grad(g.input(0), g.upstream(), a)};
                 }});
}

Tensor avg_pool2d(const Tensor& input,
                  std::vector<int> ksize,
                  std::vector<int> strides,
                  const std::string& padding) {
  return avg_pool(input, pool_geometry("AvgPool", input, ksize, strides, padding));
}

Tensor dropout(const Tensor& x, double rate, std::optional<uint64_t> seed) {
  const char* op = "Dropout";
  detail::check_defined(op, x, 0);
  if (!is_floating(x.dtype()))
    fail<InvalidArgumentError>(op,
                               "x has to be a floating point tensor since it's going to be "
                               "scaled. Got a ",
                               dtype_name(x.dtype()),
                               " tensor instead.");
  if (!(rate >= 0.0 && rate < 1.0))
    fail<InvalidArgumentError>(
        op, "rate must be a scalar tensor or a float in the range [0, 1), got ", rate);
  if (rate == 0.0) return x;
  Tensor u;
  if (seed) {
    // An explicit seed fixes the whole stream: the same seed and shape give the same mask.
    detail::RandomAttrs attrs{detail::RandomKind::Uniform, 0.0, 1.0, *seed, kDropoutCounter};
    u = run_op({.name = "RandomUniform",
                .inputs = {},
                .out = {x.shape(), x.dtype()},
                .kernel = [](Backend& b, const KernelArgs& k) { b.random(k); },
                .attrs = &attrs});
  } else {
    u = random::uniform(x.shape(), 0.0, 1.0, x.dtype());
  }
  // As TF: keep where u >= rate and scale the kept values by 1/(1 - rate), so E[out] = x. The
  // mask is a constant, so the gradient is upstream · mask.
  Tensor mask = cast(greater_equal(u, scalar_like(u, rate)), x.dtype()) * (1.0 / (1.0 - rate));
  return x * mask;
}

}  // namespace nn
}  // namespace tapeflow
