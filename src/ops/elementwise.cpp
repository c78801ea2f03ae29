// Element-wise ops: front ends with their gradient rules side by side. Rules use public
// tapeflow ops only, so they run on every device and higher-order gradients come for free.
#include <cmath>

#include "core/dispatch.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;
using detail::Require;
using detail::run_op;
using detail::unbroadcast;

namespace {

// The common case (defined, same dtype, allowed, same shape) is checked inline; anything else
// goes through the validators, which throw with the full message.
detail::OutSpec binary_out(const char* op, const Tensor& x, const Tensor& y, Require req) {
  const detail::TensorImpl* a = x.impl().get();
  const detail::TensorImpl* b = y.impl().get();
  if (!a || !b || a->dtype != b->dtype) detail::check_same_dtype(op, {x, y});
  if (!detail::dtype_allowed(a->dtype, req)) detail::check_dtype(op, x, req);
  if (a->shape == b->shape) return {a->shape, a->dtype};
  return {detail::broadcast_shapes(op, a->shape, b->shape), a->dtype};
}

detail::OutSpec unary_out(const char* op, const Tensor& x, Require req) {
  const detail::TensorImpl* a = x.impl().get();
  if (!a) detail::check_defined(op, x, 0);
  if (!detail::dtype_allowed(a->dtype, req)) detail::check_dtype(op, x, req);
  return {a->shape, a->dtype};
}

Tensor zero_grad(const Tensor& x) { return zeros_like(x); }

}  // namespace

Tensor scalar_like(const Tensor& like, double value) {
  if (!like.defined()) throw InvalidArgumentError("scalar operand next to an undefined tensor");
  DeviceScope scope(like.device_info());
  return constant(value, like.dtype());
}

Tensor add(const Tensor& x, const Tensor& y) {
  return run_op({.name = "AddV2",
                 .inputs = {x, y},
                 .out = binary_out("AddV2", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.add(k); },
                 // z = x + y: dz/dx = dz/dy = 1.
                 .grad = [](const GradCall& g) -> GradList {
                   return {g.needs(0) ? unbroadcast(g.upstream(), g.input(0).shape()) : Tensor(),
                           g.needs(1) ? unbroadcast(g.upstream(), g.input(1).shape()) : Tensor()};
                 },
                 .saves = detail::saves::none});
}

Tensor subtract(const Tensor& x, const Tensor& y) {
  return run_op({.name = "Sub",
                 .inputs = {x, y},
                 .out = binary_out("Sub", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.sub(k); },
                 // z = x - y: dz/dx = 1, dz/dy = -1.
                 .grad = [](const GradCall& g) -> GradList {
                   return {g.needs(0) ? unbroadcast(g.upstream(), g.input(0).shape()) : Tensor(),
                           // Negating after the sum is exact (rounding is symmetric) and
                           // touches only y's elements when y was broadcast.
                           g.needs(1) ? -unbroadcast(g.upstream(), g.input(1).shape()) : Tensor()};
                 },
                 .saves = detail::saves::none});
}

Tensor multiply(const Tensor& x, const Tensor& y) {
  return run_op({.name = "Mul",
                 .inputs = {x, y},
                 .out = binary_out("Mul", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.mul(k); },
                 // z = x*y: dz/dx = y, dz/dy = x.
                 .grad = [](const GradCall& g) -> GradList {
                   return {g.needs(0) ? unbroadcast(g.upstream() * g.input(1), g.input(0).shape())
                                      : Tensor(),
                           g.needs(1) ? unbroadcast(g.upstream() * g.input(0), g.input(1).shape())
                                      : Tensor()};
                 },
                 .saves = detail::saves::cross});
}

Tensor divide(const Tensor& x, const Tensor& y) {
  detail::OutSpec out = binary_out("RealDiv", x, y, Require::numeric);
  if (is_integer(x.dtype())) {
    for (int64_t v : y.to_vector<int64_t>())
      if (v == 0) detail::fail<InvalidArgumentError>("RealDiv", "Integer division by zero");
  }
  return run_op({.name = "RealDiv",
                 .inputs = {x, y},
                 .out = std::move(out),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.div(k); },
                 // z = x/y: dz/dx = 1/y, dz/dy = -x/y².
                 .grad = [](const GradCall& g) -> GradList {
                   const Tensor& x = g.input(0);
                   const Tensor& y = g.input(1);
                   return {
                       g.needs(0) ? unbroadcast(g.upstream() / y, x.shape()) : Tensor(),
                       g.needs(1) ? unbroadcast(-g.upstream() * x / (y * y), y.shape()) : Tensor()};
                 }});
}

Tensor pow(const Tensor& x, const Tensor& y) {
  return run_op({.name = "Pow",
                 .inputs = {x, y},
                 .out = binary_out("Pow", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.pow(k); },
                 // z = x^y: dz/dx = y·x^(y-1); dz/dy = z·log(x), taken as 0 where x <= 0 (TF).
                 .grad = [](const GradCall& g) -> GradList {
                   const Tensor& x = g.input(0);
                   const Tensor& y = g.input(1);
                   Tensor gx, gy;
                   if (g.needs(0)) gx = unbroadcast(g.upstream() * y * pow(x, y - 1), x.shape());
                   if (g.needs(1)) {
                     Tensor pos = greater(x, zeros_like(x));
                     Tensor safe_log = where(pos, log(where(pos, x, ones_like(x))), zeros_like(x));
                     gy = unbroadcast(g.upstream() * g.output() * safe_log, y.shape());
                   }
                   return {gx, gy};
                 }});
}

Tensor maximum(const Tensor& x, const Tensor& y) {
  return run_op({.name = "Maximum",
                 .inputs = {x, y},
                 .out = binary_out("Maximum", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.maximum(k); },
                 // The gradient flows to the larger input; to x on ties (TF).
                 .grad = [](const GradCall& g) -> GradList {
                   Tensor pick_x = greater_equal(g.input(0), g.input(1));
                   Tensor z = zeros_like(g.upstream());
                   return {
                       g.needs(0) ? unbroadcast(where(pick_x, g.upstream(), z), g.input(0).shape())
                                  : Tensor(),
                       g.needs(1) ? unbroadcast(where(pick_x, z, g.upstream()), g.input(1).shape())
                                  : Tensor()};
                 }});
}

Tensor minimum(const Tensor& x, const Tensor& y) {
  return run_op({.name = "Minimum",
                 .inputs = {x, y},
                 .out = binary_out("Minimum", x, y, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.minimum(k); },
                 .grad = [](const GradCall& g) -> GradList {
                   Tensor pick_x = less_equal(g.input(0), g.input(1));
                   Tensor z = zeros_like(g.upstream());
                   return {
                       g.needs(0) ? unbroadcast(where(pick_x, g.upstream(), z), g.input(0).shape())
                                  : Tensor(),
                       g.needs(1) ? unbroadcast(where(pick_x, z, g.upstream()), g.input(1).shape())
                                  : Tensor()};
                 }});
}

// ---- comparisons ------------------------------------------------------------------------------

#define TAPEFLOW_COMPARISON(fn, Name, kernel_fn, req)                                   \
  Tensor fn(const Tensor& x, const Tensor& y) {                                         \
    detail::OutSpec out = binary_out(Name, x, y, req);                                  \
    out.dtype = DType::boolean;                                                         \
    return run_op({.name = Name,                                                        \
                   .inputs = {x, y},                                                    \
                   .out = std::move(out),                                               \
                   .kernel = [](Backend& b, const KernelArgs& k) { b.kernel_fn(k); }}); \
  }
TAPEFLOW_COMPARISON(equal, "Equal", equal, Require::any)
TAPEFLOW_COMPARISON(not_equal, "NotEqual", not_equal, Require::any)
TAPEFLOW_COMPARISON(less, "Less", less, Require::numeric)
TAPEFLOW_COMPARISON(less_equal, "LessEqual", less_equal, Require::numeric)
TAPEFLOW_COMPARISON(greater, "Greater", greater, Require::numeric)
TAPEFLOW_COMPARISON(greater_equal, "GreaterEqual", greater_equal, Require::numeric)
TAPEFLOW_COMPARISON(logical_and, "LogicalAnd", logical_and, Require::boolean)
TAPEFLOW_COMPARISON(logical_or, "LogicalOr", logical_or, Require::boolean)
#undef TAPEFLOW_COMPARISON

Tensor logical_not(const Tensor& x) {
  return run_op({.name = "LogicalNot",
                 .inputs = {x},
                 .out = unary_out("LogicalNot", x, Require::boolean),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.logical_not(k); }});
}

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  const char* op = "SelectV2";
  detail::check_defined(op, cond, 0);
  detail::check_dtype(op, cond, Require::boolean);
  detail::check_same_dtype(op, {x, y});
  Shape s = detail::broadcast_shapes(
      op, detail::broadcast_shapes(op, cond.shape(), x.shape()), y.shape());
  return run_op(
      {.name = op,
       .inputs = {cond, x, y},
       .out = {s, x.dtype()},
       .kernel = [](Backend& b, const KernelArgs& k) { b.select(k); },
       // The gradient goes to whichever input was picked.
       .grad = [](const GradCall& g) -> GradList {
         Tensor z = zeros_like(g.upstream());
         return {Tensor(),
                 g.needs(1) ? unbroadcast(where(g.input(0), g.upstream(), z), g.input(1).shape())
                            : Tensor(),
                 g.needs(2) ? unbroadcast(where(g.input(0), z, g.upstream()), g.input(2).shape())
                            : Tensor()};
       }});
}

Tensor cast(const Tensor& x, DType dtype) {
  detail::check_defined("Cast", x, 0);
  if (x.dtype() == dtype) return identity(x);
  bool diff = is_floating(x.dtype()) && is_floating(dtype);
  return run_op({.name = "Cast",
                 .inputs = {x},
                 .out = {x.shape(), dtype},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.cast(k); },
                 .grad = diff ? detail::GradFn([](const GradCall& g) -> GradList {
                   return {cast(g.upstream(), g.input(0).dtype())};
                 })
                              : detail::GradFn(),
                 .saves = detail::saves::none});
}

// ---- unary ------------------------------------------------------------------------------------

// TAPEFLOW_UNARY_SAVES names what the rule reads (detail::saves; e.g. output for dy * y);
// TAPEFLOW_UNARY keeps both x and y.
#define TAPEFLOW_UNARY_SAVES(fn, Name, kernel_fn, req, saves_fn, ...)                 \
  Tensor fn(const Tensor& x) {                                                        \
    return run_op({.name = Name,                                                      \
                   .inputs = {x},                                                     \
                   .out = unary_out(Name, x, req),                                    \
                   .kernel = [](Backend& b, const KernelArgs& k) { b.kernel_fn(k); }, \
                   .grad = [](const GradCall& g) -> GradList {                        \
                     const Tensor& x = g.input(0);                                    \
                     const Tensor& y = g.output();                                    \
                     const Tensor& dy = g.upstream();                                 \
                     (void)x;                                                         \
                     (void)y;                                                         \
                     return {__VA_ARGS__};                                            \
                   },                                                                 \
                   .saves = saves_fn});                                               \
  }
#define TAPEFLOW_UNARY(fn, Name, kernel_fn, req, ...) \
  TAPEFLOW_UNARY_SAVES(fn, Name, kernel_fn, req, nullptr, __VA_ARGS__)

// -x: d = -1.
TAPEFLOW_UNARY_SAVES(negative, "Neg", neg, Require::numeric, detail::saves::none, -dy)
// x²: d = 2x.
TAPEFLOW_UNARY_SAVES(square, "Square", square, Require::numeric, detail::saves::input0, dy*(x * 2))
// √x: d = 1 / (2√x), reusing the output.
TAPEFLOW_UNARY_SAVES(sqrt, "Sqrt", sqrt, Require::floating, detail::saves::output, dy / (y * 2))
// x^(-1/2): d = -y³/2.
TAPEFLOW_UNARY_SAVES(
    rsqrt, "Rsqrt", rsqrt, Require::floating, detail::saves::output, dy*(y* y* y) * -0.5)
// eˣ: d = eˣ (the output).
TAPEFLOW_UNARY_SAVES(exp, "Exp", exp, Require::floating, detail::saves::output, dy* y)
// log x: d = 1/x.
TAPEFLOW_UNARY(log, "Log", log, Require::floating, dy / x)
// log(1+x): d = 1/(1+x).
TAPEFLOW_UNARY(log1p, "Log1p", log1p, Require::floating, dy / (x + 1))
// |x|: d = sign(x).
TAPEFLOW_UNARY(abs, "Abs", abs, Require::numeric, dy* sign(x))
// sign(x), floor(x): piecewise constant, d = 0.
TAPEFLOW_UNARY(sign, "Sign", sign, Require::numeric, zero_grad(dy))
TAPEFLOW_UNARY(floor, "Floor", floor, Require::floating, zero_grad(dy))
// sin: d = cos; cos: d = -sin.
TAPEFLOW_UNARY(sin, "Sin", sin, Require::floating, dy* cos(x))
TAPEFLOW_UNARY(cos, "Cos", cos, Require::floating, -dy* sin(x))
// tan: d = 1 + tan² x = 1 / cos² x, from the output.
TAPEFLOW_UNARY(tan, "Tan", tan, Require::floating, dy*(1 + y * y))
// asin: d = 1/√(1 - x²); acos: its negative; atan: 1/(1 + x²).
TAPEFLOW_UNARY(asin, "Asin", asin, Require::floating, dy* rsqrt(1 - x * x))
TAPEFLOW_UNARY(acos, "Acos", acos, Require::floating, -dy* rsqrt(1 - x * x))
TAPEFLOW_UNARY(atan, "Atan", atan, Require::floating, dy / (1 + x * x))
// sinh: d = cosh; cosh: d = sinh.
TAPEFLOW_UNARY(sinh, "Sinh", sinh, Require::floating, dy* cosh(x))
TAPEFLOW_UNARY(cosh, "Cosh", cosh, Require::floating, dy* sinh(x))
// asinh: d = 1/cosh(y) = 1/√(x² + 1); acosh: d = 1/sinh(y) = 1/√(x² - 1) (TF's forms);
// atanh: d = 1/(1 - x²).
TAPEFLOW_UNARY(asinh, "Asinh", asinh, Require::floating, dy / cosh(y))
TAPEFLOW_UNARY(acosh, "Acosh", acosh, Require::floating, dy / sinh(y))
TAPEFLOW_UNARY(atanh, "Atanh", atanh, Require::floating, dy / (1 - x * x))
// erfc: d = -2/√π · e^(-x²).
TAPEFLOW_UNARY(erfc, "Erfc", erfc, Require::floating, dy* exp(-square(x)) * -1.1283791670955126)
// expm1: d = eˣ = y + 1.
TAPEFLOW_UNARY(expm1, "Expm1", expm1, Require::floating, dy*(y + 1))
// tanh: d = 1 - y².
TAPEFLOW_UNARY_SAVES(tanh, "Tanh", tanh, Require::floating, detail::saves::output, dy*(1 - y * y))
// σ: d = σ(1 - σ).
TAPEFLOW_UNARY_SAVES(
    sigmoid, "Sigmoid", sigmoid, Require::floating, detail::saves::output, dy* y*(1 - y))

Tensor clip_by_value(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  // A composite: the gradient passes where lo <= x <= hi (to x on ties, as maximum/minimum).
  return minimum(maximum(x, lo), hi);
}
Tensor clip_by_value(const Tensor& x, double lo, double hi) {
  return clip_by_value(x, scalar_like(x, lo), scalar_like(x, hi));
}

namespace detail {
// ReluGrad(x, dy) = dy·[x > 0]. Linear in dy, so its gradient w.r.t. dy is ReluGrad(x, ddy);
// piecewise constant in x, so w.r.t. x it is zero.
Tensor relu_grad(const Tensor& x, const Tensor& dy) {
  detail::OutSpec out = binary_out("ReluGrad", x, dy, Require::numeric);
  if (!(x.shape() == dy.shape()))
    detail::fail<InvalidArgumentError>(
        "ReluGrad", "shapes differ: ", x.shape(), " vs. ", dy.shape());
  return run_op({.name = "ReluGrad",
                 .inputs = {x, dy},
                 .out = std::move(out),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.relu_grad(k); },
                 .grad = [](const GradCall& g) -> GradList {
                   return {g.needs(0) ? zeros_like(g.input(0)) : Tensor(),
                           g.needs(1) ? relu_grad(g.input(0), g.upstream()) : Tensor()};
                 }});
}
}  // namespace detail

namespace nn {

// relu: d = 1 where x > 0.
Tensor relu(const Tensor& x) {
  return run_op({.name = "Relu",
                 .inputs = {x},
                 .out = unary_out("Relu", x, Require::numeric),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.relu(k); },
                 // d relu/dx = 1 where x > 0: one fused ReluGrad kernel.
                 .grad = [](const GradCall& g) -> GradList {
                   return {detail::relu_grad(g.input(0), g.upstream())};
                 },
                 .saves = detail::saves::input0});
}

}  // namespace nn

namespace detail {
// erf is internal: gelu uses it. d/dx erf(x) = 2/√π · e^(-x²).
Tensor erf(const Tensor& x) {
  return run_op({.name = "Erf",
                 .inputs = {x},
                 .out = unary_out("Erf", x, Require::floating),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.erf(k); },
                 .grad = [](const GradCall& g) -> GradList {
                   return {g.upstream() * exp(-square(g.input(0))) * 1.1283791670955126};
                 },
                 .saves = detail::saves::input0});
}
}  // namespace detail

// ---- the long tail (issue #11): composites --------------------------------------------------

Tensor erf(const Tensor& x) { return detail::erf(x); }

Tensor reciprocal(const Tensor& x) {
  detail::check_defined("Reciprocal", x, 0);
  detail::check_dtype("Reciprocal", x, Require::numeric);
  return divide(scalar_like(x, 1.0), x);
}

Tensor squared_difference(const Tensor& x, const Tensor& y) {
  detail::check_same_dtype("SquaredDifference", {x, y});
  detail::check_dtype("SquaredDifference", x, Require::numeric);
  detail::broadcast_shapes("SquaredDifference", x.shape(), y.shape());
  Tensor d = x - y;
  return d * d;
}

Tensor ceil(const Tensor& x) {
  detail::check_defined("Ceil", x, 0);
  detail::check_dtype("Ceil", x, Require::floating);
  return negative(floor(negative(x)));  // exact, signed zeros included
}

Tensor is_nan(const Tensor& x) {
  detail::check_defined("IsNan", x, 0);
  detail::check_dtype("IsNan", x, Require::floating);
  return not_equal(x, x);
}

Tensor is_inf(const Tensor& x) {
  detail::check_defined("IsInf", x, 0);
  detail::check_dtype("IsInf", x, Require::floating);
  return equal(abs(x), scalar_like(x, HUGE_VAL));
}

Tensor is_finite(const Tensor& x) {
  detail::check_defined("IsFinite", x, 0);
  detail::check_dtype("IsFinite", x, Require::floating);
  return less(abs(x), scalar_like(x, HUGE_VAL));  // false for NaN too
}

// ---- the long tail (issue #11): kernels ------------------------------------------------------

// round: piecewise constant, so its gradient is zero (TF's). Integers are already round.
Tensor round(const Tensor& x) {
  detail::check_defined("Round", x, 0);
  detail::check_dtype("Round", x, Require::numeric);
  if (is_integer(x.dtype())) return identity(x);
  return run_op({.name = "Round",
                 .inputs = {x},
                 .out = unary_out("Round", x, Require::floating),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.round(k); },
                 .grad = [](const GradCall& g) -> GradList { return {zero_grad(g.upstream())}; }});
}

Tensor atan2(const Tensor& y, const Tensor& x) {
  return run_op({.name = "Atan2",
                 .inputs = {y, x},
                 .out = binary_out("Atan2", y, x, Require::floating),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.atan2(k); },
                 // θ = atan2(y, x): dθ/dy = x/(x² + y²), dθ/dx = -y/(x² + y²).
                 .grad = [](const GradCall& g) -> GradList {
                   const Tensor& y = g.input(0);
                   const Tensor& x = g.input(1);
                   Tensor s = g.upstream() / (x * x + y * y);
                   return {g.needs(0) ? unbroadcast(s * x, y.shape()) : Tensor(),
                           g.needs(1) ? unbroadcast(-s * y, x.shape()) : Tensor()};
                 }});
}

namespace {
// Integer division by zero is an error in TF's FloorDiv/FloorMod kernels (floats give inf/NaN).
void check_integer_divisor(const char* op, const Tensor& y) {
  if (!is_integer(y.dtype())) return;
  for (int64_t v : y.to_vector<int64_t>())
    if (v == 0) detail::fail<InvalidArgumentError>(op, "Integer division by zero");
}
}  // namespace

Tensor floordiv(const Tensor& x, const Tensor& y) {
  detail::OutSpec out = binary_out("FloorDiv", x, y, Require::numeric);
  check_integer_divisor("FloorDiv", y);
  return run_op({.name = "FloorDiv",
                 .inputs = {x, y},
                 .out = std::move(out),
                 .kernel = [](Backend& b, const KernelArgs& k) { b.floordiv(k); },
                 // TF registers FloorDiv as not differentiable; say so instead of a silent zero.
                 .grad = [](const GradCall&) -> GradList {
                   detail::fail<UnimplementedError>(
                       "FloorDiv",
                       "has no gradient (TensorFlow defines none); use floor(x / y) "
                       "for a zero gradient, or stop_gradient around it");
                 }});
}

Tensor floormod(const Tensor& x, const Tensor& y) {
  detail::OutSpec out = binary_out("FloorMod", x, y, Require::numeric);
  check_integer_divisor("FloorMod", y);
  return run_op(
      {.name = "FloorMod",
       .inputs = {x, y},
       .out = std::move(out),
       .kernel = [](Backend& b, const KernelArgs& k) { b.floormod(k); },
       // r = x - ⌊x/y⌋·y with ⌊x/y⌋ piecewise constant: dr/dx = 1, dr/dy = -⌊x/y⌋.
       .grad = [](const GradCall& g) -> GradList {
         const Tensor& x = g.input(0);
         const Tensor& y = g.input(1);
         return {g.needs(0) ? unbroadcast(g.upstream(), x.shape()) : Tensor(),
                 g.needs(1) ? unbroadcast(-g.upstream() * stop_gradient(floordiv(x, y)), y.shape())
                            : Tensor()};
       }});
}

}  // namespace tapeflow
