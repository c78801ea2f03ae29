// Reductions. The kernel sees [outer, reduce, inner]; reduced axes that are not adjacent are
// first moved together by a transpose (recorded like any op, so gradients stay correct).
#include <algorithm>
#include <cmath>
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
        detail::fail<InvalidArgumentError>(op,
                                           "Invalid reduction dimension (",
                                           a,
                                           " for input with ",
                                           r,
                                           " dimension(s)); input shape ",
                                           x.shape());
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
Tensor reduce_primitive(const char* op,
                        const Tensor& x,
                        const Plan& p,
                        Kernel kernel,
                        detail::GradFn grad,
                        DType out_dtype,
                        detail::SavesFn saves = nullptr) {
  const int r = x.rank();
  Tensor src = x;
  bool contiguous = p.axes.empty() || p.axes.back() - p.axes.front() + 1 == int(p.axes.size());
  ReduceAttrs a{1, 1, 1};
  if (contiguous) {
    for (int i = 0; i < r; ++i) {
      int64_t d = x.shape()[i];
      if (!p.axes.empty() && i < p.axes.front())
        a.outer = detail::mul_dims(a.outer, d);
      else if (!p.axes.empty() && i <= p.axes.back())
        a.reduce = detail::mul_dims(a.reduce, d);
      else if (p.axes.empty())
        a.outer = detail::mul_dims(a.outer, d);
      else
        a.inner = detail::mul_dims(a.inner, d);
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
                     .grad = contiguous ? grad : detail::GradFn(),
                     .saves = saves});
  if (!contiguous && grad && detail::any_tape_recording())
    detail::record_op(op, {x}, y, grad, saves);
  return y;
}

}  // namespace

Tensor reduce_sum(const Tensor& x, std::vector<int> axes, bool keepdims) {
  Plan p = plan_reduce("Sum", x, std::move(axes), keepdims);
  detail::check_dtype("Sum", x, Require::numeric);
  Shape kept = p.kept;
  // y = Σ x: every element gets dy (broadcast back over the reduced axes).
  return reduce_primitive(
      "Sum",
      x,
      p,
      [](Backend& b, const KernelArgs& k) { b.reduce_sum(k); },
      [kept](const GradCall& g) -> GradList {
        return {broadcast_to(reshape(g.upstream(), kept), g.input(0).shape())};
      },
      x.dtype(),
      detail::saves::none);
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
    detail::fail<InvalidArgumentError>(
        op, "cannot reduce an empty tensor of shape ", x.shape(), " (no identity for max/min)");
  std::vector<int> ax(p.axes.begin(), p.axes.end());
  return reduce_primitive(op, x, p, k, extremum_grad(p.kept, ax), x.dtype());
}

Tensor arg_reduce(const char* op, const Tensor& x, int axis, Kernel k) {
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, Require::numeric);
  if (x.rank() == 0)
    detail::fail<InvalidArgumentError>(op, "needs a tensor of rank >= 1, got shape ()");
  int a = detail::canonical_axis(op, axis, x.rank());
  if (x.shape()[a] == 0)
    detail::fail<InvalidArgumentError>(
        op, "Reduction axis ", axis, " is empty in shape ", x.shape());
  Plan p = plan_reduce(op, x, {a}, false);
  return reduce_primitive(op, x, p, k, nullptr, DType::int64);
}
}  // namespace

Tensor reduce_max(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return extremum("Max", x, std::move(axes), keepdims, [](Backend& b, const KernelArgs& k) {
    b.reduce_max(k);
  });
}
Tensor reduce_min(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return extremum("Min", x, std::move(axes), keepdims, [](Backend& b, const KernelArgs& k) {
    b.reduce_min(k);
  });
}

Tensor reduce_prod(const Tensor& x, std::vector<int> axes, bool keepdims) {
  Plan p = plan_reduce("Prod", x, std::move(axes), keepdims);
  detail::check_dtype("Prod", x, Require::numeric);
  Shape kept = p.kept;
  std::vector<int> ax(p.axes.begin(), p.axes.end());
  // y = Π x: dy/dx_i = Π_{j≠i} x_j. Computed as the product of the others by masking x_i to 1,
  // which stays exact when some x_j are zero (y/x_i would give NaN there).
  return reduce_primitive(
      "Prod",
      x,
      p,
      [](Backend& b, const KernelArgs& k) { b.reduce_prod(k); },
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
        Tensor d =
            where(equal(n, zeros_like(n)), none, where(equal(n, ones_like(n)), one, zeros_like(x)));
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

// ---- the long tail (issue #11): composites, as TF's own Python ones ---------------------------

Tensor reduce_logsumexp(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("ReduceLogSumExp", x, 0);
  detail::check_dtype("ReduceLogSumExp", x, Require::floating);
  Tensor raw_max = reduce_max(x, axes, /*keepdims=*/true);
  // An infinite max is not taken out (inf - inf would be NaN); its rows give ±inf as they should.
  Tensor max = stop_gradient(where(is_finite(raw_max), raw_max, zeros_like(raw_max)));
  Tensor result = log(reduce_sum(exp(x - max), axes, keepdims));
  return result + (keepdims ? max : reshape(max, result.shape()));
}

Tensor reduce_variance(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("ReduceVariance", x, 0);
  detail::check_dtype("ReduceVariance", x, Require::floating);
  Tensor means = reduce_mean(x, axes, /*keepdims=*/true);
  return reduce_mean(square(x - means), axes, keepdims);
}

Tensor reduce_std(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("ReduceStd", x, 0);
  detail::check_dtype("ReduceStd", x, Require::floating);
  return sqrt(reduce_variance(x, std::move(axes), keepdims));
}

Tensor reduce_any(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("Any", x, 0);
  detail::check_dtype("Any", x, Require::boolean);
  Tensor count = reduce_sum(cast(x, DType::int64), std::move(axes), keepdims);
  return greater(count, zeros_like(count));
}

Tensor reduce_all(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("All", x, 0);
  detail::check_dtype("All", x, Require::boolean);
  Tensor misses = reduce_sum(cast(logical_not(x), DType::int64), std::move(axes), keepdims);
  return equal(misses, zeros_like(misses));
}

namespace {
// ord as a number: 1, 2, inf, or another p > 0; "euclidean" and "fro" are passed as 0 and -1.
constexpr double kEuclidean = 0, kFrobenius = -1;

Tensor norm_impl(const Tensor& x,
                 double ord,
                 const std::string& ord_name,
                 std::vector<int> axes,
                 bool keepdims) {
  const char* op = "Norm";
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, Require::floating);
  if (axes.size() > 2)
    detail::fail<InvalidArgumentError>(
        op, "'axis' must be None, an integer, or a pair of integers; got ", detail::vec_str(axes));
  for (int& a : axes) a = detail::canonical_axis(op, a, x.rank());
  if (axes.size() == 2 && axes[0] == axes[1])
    detail::fail<InvalidArgumentError>(
        op, "the two axes of a matrix norm must differ; got ", detail::vec_str(axes));
  const bool matrix = axes.size() == 2;
  if (ord == kFrobenius && !matrix)
    detail::fail<InvalidArgumentError>(op,
                                       "'ord' 'fro' needs a matrix norm (two axes); got ",
                                       axes.empty() ? "all axes as one vector" : "one axis");
  if (!(ord == kEuclidean || ord == kFrobenius || ord == 1 || ord == 2 || ord == HUGE_VAL ||
        (ord > 0 && std::isfinite(ord) && !matrix)))
    detail::fail<InvalidArgumentError>(op,
                                       "'ord' must be a supported ",
                                       matrix ? "matrix" : "vector",
                                       " norm ('euclidean', ",
                                       matrix ? "'fro', " : "",
                                       "1, 2, inf",
                                       matrix ? "" : " or a p > 0",
                                       "), got ",
                                       ord_name);
  if (matrix && ord == 2)
    detail::fail<UnimplementedError>(op,
                                     "the spectral matrix norm (ord 2 over two axes) needs an SVD, "
                                     "which tapeflow does not have yet");
  // As tf.norm: every branch reduces with keepdims and squeezes at the end.
  std::vector<int> all = axes;
  if (all.empty())
    for (int i = 0; i < x.rank(); ++i) all.push_back(i);
  Tensor r;
  if (ord == kEuclidean || ord == kFrobenius || ord == 2) {
    r = sqrt(reduce_sum(x * x, all, true));
  } else if (ord == 1) {
    r = reduce_sum(abs(x), matrix ? std::vector<int>{axes[0]} : all, true);
    if (matrix) r = reduce_max(r, {axes[1]}, true);
  } else if (ord == HUGE_VAL) {
    r = abs(x);
    if (matrix) r = reduce_sum(r, {axes[1]}, true);
    r = reduce_max(r, matrix ? std::vector<int>{axes[0]} : all, true);
  } else {
    r = pow(reduce_sum(pow(abs(x), ord), all, true), 1.0 / ord);
  }
  return keepdims ? r : squeeze(r, all);
}
}  // namespace

Tensor norm(const Tensor& x, const std::string& ord, std::vector<int> axes, bool keepdims) {
  double o;
  if (ord == "euclidean")
    o = kEuclidean;
  else if (ord == "fro")
    o = kFrobenius;
  else if (ord == "1")
    o = 1;
  else if (ord == "2")
    o = 2;
  else if (ord == "inf" || ord == "np.inf")
    o = HUGE_VAL;
  else
    detail::fail<InvalidArgumentError>(
        "Norm", "'ord' must be 'euclidean', 'fro', '1', '2' or 'inf', got '", ord, "'");
  return norm_impl(x, o, "'" + ord + "'", std::move(axes), keepdims);
}

Tensor norm(const Tensor& x, double ord, std::vector<int> axes, bool keepdims) {
  if (!(ord > 0))  // 0, negative and NaN would be taken for the named orders
    detail::fail<InvalidArgumentError>("Norm", "'ord' must be positive, got ", ord);
  return norm_impl(x, ord, detail::str_cat(ord), std::move(axes), keepdims);
}

}  // namespace tapeflow
