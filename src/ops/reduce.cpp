// Reductions. The kernel sees [outer, reduce, inner]; reduced axes that are not adjacent are
// first moved together by a transpose (recorded like any op, so gradients stay correct).
#include <algorithm>
#include <numeric>

#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;
using detail::ReduceAttrs;
using detail::Require;
using detail::run_op;

namespace {

struct Plan {
  std::vector<int> axes;  // sorted, unique, non-negative
  Shape kept;             // output shape with keepdims
  Shape out;              // output shape as requested
};

Plan plan_reduce(const char* op, const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined(op, x, 0);
  const int r = x.rank();
  Plan p;
  if (axes.empty()) {
    p.axes.resize(static_cast<size_t>(r));
    std::iota(p.axes.begin(), p.axes.end(), 0);
  } else {
    for (int a : axes) {
      if (a < -r || a >= r)
        detail::fail<InvalidArgumentError>(op, "Invalid reduction dimension (", a, " for input with ",
                                           r, " dimension(s)); input shape ", x.shape());
      p.axes.push_back(a < 0 ? a + r : a);
    }
    std::sort(p.axes.begin(), p.axes.end());
    p.axes.erase(std::unique(p.axes.begin(), p.axes.end()), p.axes.end());
  }
  std::vector<int64_t> kept = x.shape().dims(), out;
  for (int a : p.axes) kept[size_t(a)] = 1;
  for (int i = 0; i < r; ++i)
    if (!std::binary_search(p.axes.begin(), p.axes.end(), i)) out.push_back(x.shape()[i]);
  p.kept = Shape(kept);
  p.out = keepdims ? p.kept : Shape(out);
  return p;
}

using Kernel = detail::KernelFn;

/// Runs a reduction kernel over `p.axes` of x (moving them together first if needed).
Tensor reduce_primitive(const char* op, const Tensor& x, const Plan& p, Kernel kernel, detail::GradFn grad,
                        DType out_dtype) {
  const int r = x.rank();
  Tensor src = x;
  bool contiguous = p.axes.empty() || p.axes.back() - p.axes.front() + 1 == int(p.axes.size());
  ReduceAttrs a{1, 1, 1};
  if (contiguous) {
    for (int i = 0; i < r; ++i) {
      int64_t d = x.shape()[i];
      if (!p.axes.empty() && i < p.axes.front()) a.outer = detail::mul_dims(a.outer, d);
      else if (!p.axes.empty() && i <= p.axes.back()) a.reduce = detail::mul_dims(a.reduce, d);
      else if (p.axes.empty()) a.outer = detail::mul_dims(a.outer, d);
      else a.inner = detail::mul_dims(a.inner, d);
    }
  } else {
    std::vector<int> perm;
    for (int i = 0; i < r; ++i)
      if (!std::binary_search(p.axes.begin(), p.axes.end(), i)) perm.push_back(i);
    for (int i = 0; i < r; ++i) {
      if (std::binary_search(p.axes.begin(), p.axes.end(), i)) {
        perm.push_back(i);
        a.reduce = detail::mul_dims(a.reduce, x.shape()[i]);
      } else {
        a.outer = detail::mul_dims(a.outer, x.shape()[i]);
      }
    }
    // The kernel reads a transposed copy, but the op is recorded against x itself: the gradient
    // rules are written in x's layout (its kept shape and axes), not the transposed one.
    src = transpose(stop_gradient(x), perm);
  }
  Tensor y = run_op({.name = op,
                     .inputs = {src},
                     .out = {p.out, out_dtype},
                     .kernel = kernel,
                     .attrs = &a,
                     .grad = contiguous ? grad : detail::GradFn()});
  if (!contiguous && grad && detail::any_tape_recording()) detail::record_op(op, {x}, y, grad);
  return y;
}

}  // namespace

Tensor reduce_sum(const Tensor& x, std::vector<int> axes, bool keepdims) {
  Plan p = plan_reduce("Sum", x, std::move(axes), keepdims);
  detail::check_dtype("Sum", x, Require::numeric);
  Shape kept = p.kept;
  // y = Σ x: every element gets dy (broadcast back over the reduced axes).
  return reduce_primitive("Sum", x, p, [](Backend& b, const KernelArgs& k) { b.reduce_sum(k); },
                          [kept](const GradCall& g) -> GradList {
                            return {broadcast_to(reshape(g.upstream(), kept), g.input(0).shape())};
                          },
                          x.dtype());
}

Tensor reduce_mean(const Tensor& x, std::vector<int> axes, bool keepdims) {
  Plan p = plan_reduce("Mean", x, axes, keepdims);
  detail::check_dtype("Mean", x, Require::numeric);
  int64_t count = 1;
  for (int a : p.axes) count = detail::mul_dims(count, x.shape()[a]);
  Tensor s = reduce_sum(x, axes, keepdims);
  return count == 0 ? s / 0.0 : s / double(count);
}

namespace {
// max/min: dy goes to the elements equal to the result, shared equally among ties (TF).
detail::GradFn extremum_grad(Shape kept, std::vector<int> axes) {
  return [kept, axes](const GradCall& g) -> GradList {
    const Tensor& x = g.input(0);
    Tensor y = broadcast_to(reshape(g.output(), kept), x.shape());
    Tensor hit = cast(equal(x, y), x.dtype());
    Tensor n = reduce_sum(hit, axes, /*keepdims=*/true);
    return {broadcast_to(reshape(g.upstream(), kept) / n, x.shape()) * hit};
  };
}

Tensor extremum(const char* op, const Tensor& x, std::vector<int> axes, bool keepdims, Kernel k) {
  Plan p = plan_reduce(op, x, std::move(axes), keepdims);
  detail::check_dtype(op, x, Require::numeric);
  if (x.num_elements() == 0 && !p.axes.empty())
    detail::fail<InvalidArgumentError>(op, "cannot reduce an empty tensor of shape ", x.shape(),
                                       " (no identity for max/min)");
  std::vector<int> ax(p.axes.begin(), p.axes.end());
  return reduce_primitive(op, x, p, k, extremum_grad(p.kept, ax), x.dtype());
}

Tensor arg_reduce(const char* op, const Tensor& x, int axis, Kernel k) {
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, Require::numeric);
  if (x.rank() == 0) detail::fail<InvalidArgumentError>(op, "needs a tensor of rank >= 1, got shape ()");
  int a = detail::canonical_axis(op, axis, x.rank());
  if (x.shape()[a] == 0)
    detail::fail<InvalidArgumentError>(op, "Reduction axis ", axis, " is empty in shape ", x.shape());
  Plan p = plan_reduce(op, x, {a}, false);
  return reduce_primitive(op, x, p, k, nullptr, DType::int64);
}
}  // namespace

Tensor reduce_max(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return extremum("Max", x, std::move(axes), keepdims, [](Backend& b, const KernelArgs& k) { b.reduce_max(k); });
}
Tensor reduce_min(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return extremum("Min", x, std::move(axes), keepdims, [](Backend& b, const KernelArgs& k) { b.reduce_min(k); });
}

Tensor reduce_prod(const Tensor& x, std::vector<int> axes, bool keepdims) {
  Plan p = plan_reduce("Prod", x, std::move(axes), keepdims);
  detail::check_dtype("Prod", x, Require::numeric);
  Shape kept = p.kept;
  std::vector<int> ax(p.axes.begin(), p.axes.end());
  // y = Π x: dy/dx_i = Π_{j≠i} x_j. Computed as the product of the others by masking x_i to 1,
  // which stays exact when some x_j are zero (y/x_i would give NaN there).
  return reduce_primitive(
      "Prod", x, p, [](Backend& b, const KernelArgs& k) { b.reduce_prod(k); },
      [kept, ax](const GradCall& g) -> GradList {
        const Tensor& x = g.input(0);
        Tensor is_zero = equal(x, zeros_like(x));
        Tensor zeros_n = reduce_sum(cast(is_zero, x.dtype()), ax, true);
        Tensor safe = where(is_zero, ones_like(x), x);
        Tensor prod_nonzero = reduce_prod(safe, ax, true);
        // No zero: y/x. One zero: the zero element gets Π(nonzero), others 0. More: all 0.
        Tensor none = broadcast_to(prod_nonzero, x.shape()) / safe;
        Tensor one = where(is_zero, broadcast_to(prod_nonzero, x.shape()), zeros_like(x));
        Tensor n = broadcast_to(zeros_n, x.shape());
        Tensor d = where(equal(n, zeros_like(n)), none,
                         where(equal(n, ones_like(n)), one, zeros_like(x)));
        return {broadcast_to(reshape(g.upstream(), kept), x.shape()) * d};
      },
      x.dtype());
}

Tensor argmax(const Tensor& x, int axis) {
  return arg_reduce("ArgMax", x, axis, [](Backend& b, const KernelArgs& k) { b.argmax(k); });
}
Tensor argmin(const Tensor& x, int axis) {
  return arg_reduce("ArgMin", x, axis, [](Backend& b, const KernelArgs& k) { b.argmin(k); });
}

}  // namespace tapeflow
