// Element-wise math, comparisons, where and cast: forward values by hand, gradients by closed
// form and by float64 central differences, dtype and shape errors.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;

namespace {

// Central differences in float64 with h = 1e-6 are accurate to ~1e-9 for the smooth, O(1)
// functions below, so 1e-6 leaves a wide margin while still catching any wrong rule.
constexpr double kGradTol = 1e-6;

using test::grad_of;
using test::signed_away_from_zero;
using test::uniform64;

struct ShapePair {
  tf::Shape x, y;
};
// Same shapes, then each side broadcast: (2,3)+(3,), (2,3)+(2,1), (2,1)+(3,) (both), ()+(2,3).
const std::vector<ShapePair> kBinaryShapes = {
    {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 3}, {2, 1}}, {{2, 1}, {3}}, {{}, {2, 3}}, {{2, 3}, {}}};

}  // namespace

// ---- binary arithmetic ------------------------------------------------------------------------

TEST_CASE(
    "add/subtract/multiply/divide broadcast (2,3) with (3,) and (2,1) to hand-computed values",
    "[ops][elementwise]") {
  auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  auto row = tf::constant({10.0, 20.0, 30.0});
  auto col = tf::constant(Vec{2.0, 4.0}, tf::Shape{2, 1});

  auto s = tf::add(x, row);
  CHECK(s.shape() == tf::Shape{2, 3});
  CHECK(s.dtype() == tf::float64);
  CHECK_THAT(s.to_vector<double>(), M::Approx(Vec{11, 22, 33, 14, 25, 36}));
  CHECK_THAT(tf::subtract(x, row).to_vector<double>(), M::Approx(Vec{-9, -18, -27, -6, -15, -24}));
  CHECK_THAT(tf::multiply(x, col).to_vector<double>(), M::Approx(Vec{2, 4, 6, 16, 20, 24}));
  CHECK_THAT(tf::divide(x, col).to_vector<double>(), M::Approx(Vec{0.5, 1, 1.5, 1, 1.25, 1.5}));
  // Both sides broadcast: (2,1) op (3,) -> (2,3).
  auto both = tf::subtract(col, row);
  CHECK(both.shape() == tf::Shape{2, 3});
  CHECK_THAT(both.to_vector<double>(), M::Approx(Vec{-8, -18, -28, -6, -16, -26}));
  // The operators are the same ops.
  CHECK_THAT((x + row).to_vector<double>(), M::Approx(s.to_vector<double>()));
  CHECK_THAT((x - col).to_vector<double>(), M::Approx(Vec{-1, 0, 1, 0, 1, 2}));
  CHECK_THAT((x * row).to_vector<double>(), M::Approx(Vec{10, 40, 90, 40, 100, 180}));
  CHECK_THAT((row / x).to_vector<double>(), M::Approx(Vec{10, 10, 10, 2.5, 4, 5}));
}

TEST_CASE("operators with a C++ scalar on either side take the tensor's dtype",
          "[ops][elementwise]") {
  auto w = tf::constant({1.f, 2.f, 4.f});
  for (const tf::Tensor& t : {w * 2, 2 * w, w + 1, 1 + w, w - 1, 1 - w, w / 2, 2 / w, -w}) {
    CHECK(t.dtype() == tf::float32);
    CHECK(t.shape() == tf::Shape{3});
  }
  CHECK_THAT((w * 2).to_vector<float>(), M::Approx(std::vector<float>{2, 4, 8}));
  CHECK_THAT((2 * w).to_vector<float>(), M::Approx(std::vector<float>{2, 4, 8}));
  CHECK_THAT((w + 1).to_vector<float>(), M::Approx(std::vector<float>{2, 3, 5}));
  CHECK_THAT((1 + w).to_vector<float>(), M::Approx(std::vector<float>{2, 3, 5}));
  CHECK_THAT((w - 1).to_vector<float>(), M::Approx(std::vector<float>{0, 1, 3}));
  CHECK_THAT((1 - w).to_vector<float>(), M::Approx(std::vector<float>{0, -1, -3}));
  CHECK_THAT((w / 2).to_vector<float>(), M::Approx(std::vector<float>{0.5f, 1, 2}));
  CHECK_THAT((2 / w).to_vector<float>(), M::Approx(std::vector<float>{2, 1, 0.5f}));
  CHECK_THAT((-w).to_vector<float>(), M::Approx(std::vector<float>{-1, -2, -4}));
  CHECK_THAT(tf::negative(w).to_vector<float>(), M::Approx(std::vector<float>{-1, -2, -4}));
  // A double scalar next to a float32 tensor still gives float32; an int tensor stays int.
  CHECK((w * 0.5).dtype() == tf::float32);
  auto i = tf::constant({1, 2, 3});
  CHECK((i + 1).dtype() == tf::int32);
  CHECK((10 - i).to_vector<int32_t>() == std::vector<int32_t>{9, 8, 7});
  CHECK((-i).to_vector<int32_t>() == std::vector<int32_t>{-1, -2, -3});
  auto d = tf::constant(3.0);
  CHECK((d * 2).dtype() == tf::float64);
  CHECK((1.5f + d).item<double>() == 4.5);
}

TEST_CASE("binary arithmetic gradients match finite differences, broadcasting included",
          "[ops][elementwise]") {
  using Fn = std::function<tf::Tensor(std::vector<tf::Tensor>&)>;
  struct Case {
    const char* name;
    Fn f;
    double x_lo, x_hi, y_lo, y_hi;  // pow and divide need positive bases / nonzero divisors
  };
  const std::vector<Case> cases = {
      {"add", [](auto& in) { return tf::add(in[0], in[1]); }, -2, 2, -2, 2},
      {"subtract", [](auto& in) { return tf::subtract(in[0], in[1]); }, -2, 2, -2, 2},
      {"multiply", [](auto& in) { return tf::multiply(in[0], in[1]); }, -2, 2, -2, 2},
      {"divide", [](auto& in) { return tf::divide(in[0], in[1]); }, -2, 2, 0.5, 2},
      {"pow", [](auto& in) { return tf::pow(in[0], in[1]); }, 0.5, 2, -1.5, 2},
      // Continuous random inputs: ties have probability zero.
      {"maximum", [](auto& in) { return tf::maximum(in[0], in[1]); }, -2, 2, -2, 2},
      {"minimum", [](auto& in) { return tf::minimum(in[0], in[1]); }, -2, 2, -2, 2},
  };
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    tf::random::set_seed(7);
    for (const Case& c : cases) {
      for (const ShapePair& sp : kBinaryShapes) {
        INFO(c.name << " " << sp.x << " with " << sp.y);
        auto x = uniform64(sp.x, c.x_lo, c.x_hi);
        auto y = uniform64(sp.y, c.y_lo, c.y_hi);
        CHECK(tf::test::max_gradient_error(c.f, {x, y}) < kGradTol);
      }
    }
  }
}

TEST_CASE("binary gradients equal the closed forms and sum over broadcast axes",
          "[ops][elementwise]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto y = tf::constant({2.0, 4.0, 8.0});
    tf::GradientTape tape({.persistent = true});
    tape.watch({x, y});
    auto sum = x + y, diff = x - y, prod = x * y, quot = x / y;
    // d/dy sums over the broadcast rows: the gradient has y's shape (3,).
    auto gs = tape.gradient(sum, {x, y});
    CHECK(gs[0].shape() == x.shape());
    CHECK(gs[1].shape() == y.shape());
    CHECK_THAT(gs[0].to_vector<double>(), M::Approx(Vec(6, 1.0)));
    CHECK_THAT(gs[1].to_vector<double>(), M::Approx(Vec{2, 2, 2}));
    CHECK_THAT(tape.gradient(diff, y).to_vector<double>(), M::Approx(Vec{-2, -2, -2}));
    // d(x*y)/dx = y (broadcast), d(x*y)/dy = column sums of x.
    CHECK_THAT(tape.gradient(prod, x).to_vector<double>(), M::Approx(Vec{2, 4, 8, 2, 4, 8}));
    CHECK_THAT(tape.gradient(prod, y).to_vector<double>(), M::Approx(Vec{5, 7, 9}));
    // d(x/y)/dx = 1/y; d(x/y)/dy = -sum_rows(x)/y².
    CHECK_THAT(tape.gradient(quot, x).to_vector<double>(),
               M::Approx(Vec{0.5, 0.25, 0.125, 0.5, 0.25, 0.125}));
    CHECK_THAT(tape.gradient(quot, y).to_vector<double>(),
               M::Approx(Vec{-5.0 / 4, -7.0 / 16, -9.0 / 64}));
    // A scalar operand gets the sum of all upstream gradients.
    auto s = tf::constant(3.0);
    tf::GradientTape t2;
    t2.watch(s);
    auto g = t2.gradient(x * s, s);
    CHECK(g.shape() == tf::Shape{});
    CHECK(g.item<double>() == Approx(21.0));
  }
}

TEST_CASE("pow: values, d/dx = y*x^(y-1), d/dy = x^y*log(x), and 0 for the exponent at x <= 0",
          "[ops][elementwise]") {
  CHECK_THAT(tf::pow(tf::constant({2.0, 3.0, -2.0}), 2.0).to_vector<double>(),
             M::Approx(Vec{4, 9, 4}));
  CHECK(tf::pow(tf::constant(4.0), 0.5).item<double>() == Approx(2.0));
  CHECK(tf::pow(tf::constant(2.0), -1.0).item<double>() == Approx(0.5));
  CHECK(tf::pow(tf::constant(2), tf::constant(10)).item<int32_t>() == 1024);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant(2.0), y = tf::constant(3.0);
    tf::GradientTape tape;
    tape.watch({x, y});
    auto g = tape.gradient(tf::pow(x, y), {x, y});
    CHECK(g[0].item<double>() == Approx(12.0));                 // 3·2²
    CHECK(g[1].item<double>() == Approx(8.0 * std::log(2.0)));  // 2³·ln 2
    // The exponent's gradient at a non-positive base is defined as 0 (TF), never NaN.
    auto xb = tf::constant({-2.0, 0.0}), yb = tf::constant({2.0, 2.0});
    tf::GradientTape t2;
    t2.watch({xb, yb});
    auto g2 = t2.gradient(tf::pow(xb, yb), {xb, yb});
    CHECK_THAT(g2[0].to_vector<double>(), M::Approx(Vec{-4.0, 0.0}));
    CHECK_THAT(g2[1].to_vector<double>(), M::Approx(Vec{0.0, 0.0}));
  }
}

// ---- unary ------------------------------------------------------------------------------------

TEST_CASE("unary math ops give the std:: values", "[ops][elementwise]") {
  const Vec v{0.25, 1.0, 2.5};
  auto x = tf::constant(v, tf::Shape{3});
  auto apply = [&](double (*f)(double)) {
    Vec r;
    for (double e : v) r.push_back(f(e));
    return r;
  };
  CHECK_THAT(tf::square(x).to_vector<double>(), M::Approx(Vec{0.0625, 1.0, 6.25}));
  CHECK_THAT(tf::sqrt(x).to_vector<double>(), M::Approx(Vec{0.5, 1.0, std::sqrt(2.5)}));
  CHECK_THAT(tf::rsqrt(x).to_vector<double>(), M::Approx(Vec{2.0, 1.0, 1.0 / std::sqrt(2.5)}));
  CHECK_THAT(tf::exp(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::exp(a); })));
  CHECK_THAT(tf::log(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::log(a); })));
  CHECK_THAT(tf::log1p(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::log1p(a); })));
  CHECK_THAT(tf::sin(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::sin(a); })));
  CHECK_THAT(tf::cos(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::cos(a); })));
  CHECK_THAT(tf::tanh(x).to_vector<double>(),
             M::Approx(apply([](double a) { return std::tanh(a); })));
  CHECK_THAT(tf::sigmoid(x).to_vector<double>(),
             M::Approx(apply([](double a) { return 1.0 / (1.0 + std::exp(-a)); })));
  // log1p keeps precision where log(1 + x) would not.
  CHECK(tf::log1p(tf::constant(1e-17)).item<double>() == Approx(1e-17));

  auto s = tf::constant({-2.5, -0.0, 0.0, 1.5, -1.0});
  CHECK_THAT(tf::abs(s).to_vector<double>(), M::Approx(Vec{2.5, 0.0, 0.0, 1.5, 1.0}));
  CHECK_THAT(tf::sign(s).to_vector<double>(), M::Approx(Vec{-1, 0, 0, 1, -1}));
  CHECK_THAT(tf::floor(s).to_vector<double>(), M::Approx(Vec{-3, 0, 0, 1, -1}));
  CHECK_THAT(tf::negative(s).to_vector<double>(), M::Approx(Vec{2.5, 0.0, -0.0, -1.5, 1.0}));
  // Integer abs / sign / square / negative stay integer.
  auto i = tf::constant({-3, 0, 4});
  CHECK(tf::abs(i).to_vector<int32_t>() == std::vector<int32_t>{3, 0, 4});
  CHECK(tf::sign(i).to_vector<int32_t>() == std::vector<int32_t>{-1, 0, 1});
  CHECK(tf::square(i).to_vector<int32_t>() == std::vector<int32_t>{9, 0, 16});
  CHECK(tf::negative(i).dtype() == tf::int32);
  // float32 works too.
  CHECK(tf::sigmoid(tf::constant(0.f)).item<float>() == 0.5f);
  CHECK(tf::exp(tf::constant(0.f)).item<float>() == 1.f);
  // Saturation, not NaN: sigmoid(±1000) and tanh(±1000).
  CHECK_THAT(tf::sigmoid(tf::constant({-1000.0, 1000.0})).to_vector<double>(),
             M::Approx(Vec{0.0, 1.0}));
  CHECK_THAT(tf::tanh(tf::constant({-1000.0, 1000.0})).to_vector<double>(),
             M::Approx(Vec{-1.0, 1.0}));
}

TEST_CASE("unary gradients at hand-picked points equal the closed forms", "[ops][elementwise]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto at = [](double v, tf::Tensor (*op)(const tf::Tensor&)) {
      return grad_of([op](const tf::Tensor& t) { return op(t); }, tf::constant(v)).item<double>();
    };
    CHECK(at(0.0, tf::sigmoid) == Approx(0.25));  // σ(0)(1 - σ(0))
    CHECK(at(0.0, tf::tanh) == Approx(1.0));      // 1 - tanh²(0)
    CHECK(at(1.0, tf::tanh) == Approx(1.0 - std::tanh(1.0) * std::tanh(1.0)));
    CHECK(at(4.0, tf::sqrt) == Approx(0.25));          // 1/(2√4)
    CHECK(at(4.0, tf::rsqrt) == Approx(-1.0 / 16.0));  // -x^(-3/2)/2
    CHECK(at(2.0, tf::log) == Approx(0.5));
    CHECK(at(1.0, tf::log1p) == Approx(0.5));
    CHECK(at(0.0, tf::exp) == Approx(1.0));
    CHECK(at(1.0, tf::exp) == Approx(std::exp(1.0)));
    CHECK(at(0.0, tf::sin) == Approx(1.0));
    CHECK(at(M_PI / 2, tf::cos) == Approx(-1.0));
    CHECK(at(3.0, tf::square) == Approx(6.0));
    CHECK(at(-3.0, tf::abs) == Approx(-1.0));
    CHECK(at(3.0, tf::abs) == Approx(1.0));
    CHECK(at(3.0, tf::negative) == Approx(-1.0));
    CHECK(at(0.7, tf::sign) == 0.0);
    CHECK(at(2.3, tf::floor) == 0.0);
    // float32 gradients keep float32.
    auto f = tf::constant(0.f);
    auto g = grad_of([](const tf::Tensor& t) { return tf::sigmoid(t); }, f);
    CHECK(g.dtype() == tf::float32);
    CHECK(g.item<float>() == 0.25f);
  }
}

TEST_CASE("unary gradients match finite differences on random float64 inputs",
          "[ops][elementwise]") {
  using Op = tf::Tensor (*)(const tf::Tensor&);
  struct Case {
    const char* name;
    Op op;
    double lo, hi;  // domain of the random magnitudes
    bool signed_inputs;
  };
  const std::vector<Case> cases = {
      {"negative", tf::negative, -2, 2, false},
      {"square", tf::square, -2, 2, false},
      {"sqrt", tf::sqrt, 0.5, 3, false},
      {"rsqrt", tf::rsqrt, 0.5, 3, false},
      {"exp", tf::exp, -2, 2, false},
      {"log", tf::log, 0.5, 3, false},
      {"log1p", tf::log1p, -0.5, 2, false},
      {"abs", tf::abs, 0.2, 2, true},
      {"sin", tf::sin, -3, 3, false},
      {"cos", tf::cos, -3, 3, false},
      {"tan", tf::tan, -1.2, 1.2, false},
      {"tanh", tf::tanh, -2, 2, false},
      {"sigmoid", tf::sigmoid, -3, 3, false},
      // Piecewise constant: inputs stay inside (k + 0.1, k + 0.9), away from the jumps.
      {"sign", tf::sign, 0.2, 2, true},
  };
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    tf::random::set_seed(11);
    for (const Case& c : cases) {
      INFO(c.name);
      tf::Tensor x = c.signed_inputs ? signed_away_from_zero({2, 3}, c.lo, c.hi)
                                     : uniform64({2, 3}, c.lo, c.hi);
      Op op = c.op;
      CHECK(tf::test::max_gradient_error([op](auto& in) { return op(in[0]); }, {x}) < kGradTol);
    }
    auto frac = uniform64({2, 3}, 0.1, 0.9) + tf::constant({{-2.0, -1.0, 0.0}, {1.0, 2.0, 3.0}});
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::floor(in[0]); }, {frac}) <
          kGradTol);
  }
}

TEST_CASE("second derivatives through nested tapes: sin'' = -sin, tanh'' = -2 tanh (1 - tanh^2)",
          "[ops][elementwise]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant(0.5);
    tf::GradientTape outer;
    outer.watch(x);
    tf::Tensor d1, e1;
    {
      tf::GradientTape inner({.persistent = true});
      inner.watch(x);
      auto y = tf::sin(x);
      auto z = tf::tanh(x);
      d1 = inner.gradient(y, x);
      e1 = inner.gradient(z, x);
    }
    auto d2 = outer.gradient(d1 + e1, x);
    const double t = std::tanh(0.5);
    CHECK(d2.item<double>() == Approx(-std::sin(0.5) - 2 * t * (1 - t * t)));
  }
}

TEST_CASE("tan gives NumPy's values; d/dx = 1 + tan^2 x, d2/dx2 = 2 tan x (1 + tan^2 x)",
          "[ops][elementwise]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    // numpy.tan(0.5) = 0.5463024898437905, numpy.tan(-1.0) = -1.5574077246549023.
    auto x = tf::constant({0.5, -1.0, 0.0});
    CHECK_THAT(tf::tan(x).to_vector<double>(),
               M::Approx(Vec{0.5463024898437905, -1.5574077246549023, 0.0}).epsilon(1e-15));
    CHECK(tf::tan(tf::constant(0.5f)).item<float>() == Approx(0.5463025f));
    auto w = tf::constant(0.5);
    tf::GradientTape outer;
    outer.watch(w);
    tf::Tensor d1;
    {
      tf::GradientTape inner;
      inner.watch(w);
      d1 = inner.gradient(tf::tan(w), w);
    }
    const double t = 0.5463024898437905, c = std::cos(0.5);
    CHECK(d1.item<double>() == Approx(1.0 / (c * c)).epsilon(1e-14));
    CHECK(outer.gradient(d1, w).item<double>() == Approx(2 * t * (1 + t * t)).epsilon(1e-14));
  }
}

// ---- maximum, minimum, clip_by_value ----------------------------------------------------------

TEST_CASE("maximum/minimum broadcast and send the gradient to the picked input, x on ties",
          "[ops][elementwise]") {
  auto x = tf::constant({{1.0, 5.0, 3.0}, {-1.0, 0.0, 7.0}});
  auto y = tf::constant({2.0, 2.0, 3.0});
  CHECK_THAT(tf::maximum(x, y).to_vector<double>(), M::Approx(Vec{2, 5, 3, 2, 2, 7}));
  CHECK_THAT(tf::minimum(x, y).to_vector<double>(), M::Approx(Vec{1, 2, 3, -1, 0, 3}));
  CHECK_THAT(tf::maximum(x, 0.0).to_vector<double>(), M::Approx(Vec{1, 5, 3, 0, 0, 7}));
  CHECK_THAT(tf::minimum(x, 2).to_vector<double>(), M::Approx(Vec{1, 2, 2, -1, 0, 2}));
  CHECK(tf::maximum(tf::constant({1, 9}), tf::constant({4, 2})).to_vector<int32_t>() ==
        std::vector<int32_t>{4, 9});
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto xd = x.to(device), yd = y.to(device);
    tf::GradientTape tape({.persistent = true});
    tape.watch({xd, yd});
    auto gmax = tape.gradient(tf::maximum(xd, yd), {xd, yd});
    auto gmin = tape.gradient(tf::minimum(xd, yd), {xd, yd});
    // Column 2 is a tie (3 vs 3): it goes to x.
    CHECK_THAT(gmax[0].to_vector<double>(), M::Approx(Vec{0, 1, 1, 0, 0, 1}));
    CHECK_THAT(gmax[1].to_vector<double>(), M::Approx(Vec{2, 1, 0}));
    CHECK_THAT(gmin[0].to_vector<double>(), M::Approx(Vec{1, 0, 1, 1, 1, 0}));
    CHECK_THAT(gmin[1].to_vector<double>(), M::Approx(Vec{0, 1, 1}));
  }
}

TEST_CASE("clip_by_value clamps and passes the gradient only inside [lo, hi]",
          "[ops][elementwise]") {
  auto x = tf::constant({-2.0, 0.25, 0.5, 3.0});
  CHECK_THAT(tf::clip_by_value(x, 0.0, 1.0).to_vector<double>(), M::Approx(Vec{0, 0.25, 0.5, 1}));
  CHECK_THAT(tf::clip_by_value(tf::constant({-2.f, 5.f}), -1.0, 1.0).to_vector<float>(),
             M::Approx(std::vector<float>{-1, 1}));
  // Tensor bounds broadcast against x.
  auto lo = tf::constant({0.0, 0.5, 0.0, 0.0}), hi = tf::constant(2.0);
  CHECK_THAT(tf::clip_by_value(x, lo, hi).to_vector<double>(), M::Approx(Vec{0, 0.5, 0.5, 2}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto xd = x.to(device);
    auto g = grad_of([](const tf::Tensor& t) { return tf::clip_by_value(t, 0.0, 1.0); }, xd);
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{0, 1, 1, 0}));
    tf::random::set_seed(3);
    // Values in (-2, 2) clipped to [-1, 1]: a random point lands on a bound with probability 0.
    auto r = uniform64({2, 3}, -2, 2);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::clip_by_value(in[0], -1.0, 1.0); },
                                       {r}) < kGradTol);
    // Gradient with respect to tensor bounds: where x is clipped, the bound receives it.
    auto b_lo = uniform64({3}, -1.5, -0.5), b_hi = uniform64({2, 1}, 0.5, 1.5);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::clip_by_value(in[0], in[1], in[2]); }, {r, b_lo, b_hi}) <
          kGradTol);
  }
}

// ---- dtype and shape rules --------------------------------------------------------------------

TEST_CASE("mixing float32 and int32 throws InvalidArgumentError naming [Op:AddV2]",
          "[ops][elementwise]") {
  auto f = tf::constant({1.f, 2.f});
  auto i = tf::constant({1, 2});
  CHECK_THROWS_AS(f + i, tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      f + i,
      Catch::Contains("[Op:AddV2]") && Catch::Contains("float32") && Catch::Contains("int32"));
  CHECK_THROWS_WITH(tf::add(i, f), Catch::Contains("[Op:AddV2]"));
  CHECK_THROWS_WITH(f * i, Catch::Contains("[Op:Mul]"));
  CHECK_THROWS_WITH(f - i, Catch::Contains("[Op:Sub]"));
  CHECK_THROWS_WITH(f / i, Catch::Contains("[Op:RealDiv]"));
  CHECK_THROWS_AS(tf::pow(f, i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::maximum(f, tf::constant({1.0, 2.0})), tf::InvalidArgumentError);
  // It is a tf::Error, itself a std::runtime_error.
  CHECK_THROWS_AS(f + i, tf::Error);
  CHECK_THROWS_AS(f + i, std::runtime_error);
}

TEST_CASE("incompatible shapes (2,3) vs (4,) throw with TF's message", "[ops][elementwise]") {
  auto x = tf::zeros({2, 3});
  auto y = tf::zeros({4});
  CHECK_THROWS_AS(x + y, tf::InvalidArgumentError);
  CHECK_THROWS_WITH(x + y, "Incompatible shapes: (2, 3) vs. (4,) [Op:AddV2]");
  CHECK_THROWS_WITH(tf::multiply(y, x),
                    Catch::Contains("(4,) vs. (2, 3)") && Catch::Contains("[Op:Mul]"));
  CHECK_THROWS_AS(tf::maximum(tf::zeros({2, 3}), tf::zeros({2, 2})), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::where(tf::constant({true, false, true}), tf::zeros({2}), tf::zeros({2})),
                  tf::InvalidArgumentError);
}

TEST_CASE("floating-only ops reject int32 and bool; arithmetic rejects bool",
          "[ops][elementwise]") {
  auto i = tf::constant({4, 9});
  CHECK_THROWS_AS(tf::sqrt(i), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::sqrt(i), Catch::Contains("int32") && Catch::Contains("[Op:Sqrt]"));
  CHECK_THROWS_AS(tf::rsqrt(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::exp(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::log(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::log1p(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::sin(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::cos(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::tan(i), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::tan(i), Catch::Contains("int32") && Catch::Contains("[Op:Tan]"));
  CHECK_THROWS_AS(tf::tanh(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::sigmoid(i), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::floor(i), tf::InvalidArgumentError);
  auto b = tf::constant({true, false});
  CHECK_THROWS_AS(b + b, tf::InvalidArgumentError);
  CHECK_THROWS_AS(-b, tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::sqrt(b), tf::InvalidArgumentError);
}

TEST_CASE("integer division truncates toward zero and throws on division by zero",
          "[ops][elementwise]") {
  auto a = tf::constant({7, -7, 6});
  auto b = tf::constant({2, 2, 3});
  auto q = a / b;
  CHECK(q.dtype() == tf::int32);
  CHECK(q.to_vector<int32_t>() == std::vector<int32_t>{3, -3, 2});
  CHECK_THROWS_AS(a / tf::constant({2, 0, 1}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(a / tf::constant({2, 0, 1}), Catch::Contains("[Op:RealDiv]"));
  CHECK_THROWS_AS(a / 0, tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::constant(int64_t(5)) / tf::constant(int64_t(0)), tf::InvalidArgumentError);
  // Floating division by zero follows IEEE: ±inf, not an error.
  auto inf = tf::constant({1.0, -1.0}) / tf::constant({0.0, 0.0});
  auto v = inf.to_vector<double>();
  CHECK(std::isinf(v[0]));
  CHECK(v[0] > 0);
  CHECK(std::isinf(v[1]));
  CHECK(v[1] < 0);
}

// ---- comparisons and logical ops --------------------------------------------------------------

TEST_CASE("comparisons return bool with broadcasting", "[ops][elementwise]") {
  using B = std::vector<bool>;
  auto x = tf::constant({{1.0, 2.0, 3.0}, {3.0, 2.0, 1.0}});
  auto y = tf::constant({2.0, 2.0, 2.0});
  auto eq = tf::equal(x, y);
  CHECK(eq.dtype() == tf::boolean);
  CHECK(eq.shape() == tf::Shape{2, 3});
  CHECK(eq.to_vector<bool>() == B{false, true, false, false, true, false});
  CHECK(tf::not_equal(x, y).to_vector<bool>() == B{true, false, true, true, false, true});
  CHECK(tf::less(x, y).to_vector<bool>() == B{true, false, false, false, false, true});
  CHECK(tf::less_equal(x, y).to_vector<bool>() == B{true, true, false, false, true, true});
  CHECK(tf::greater(x, y).to_vector<bool>() == B{false, false, true, true, false, false});
  CHECK(tf::greater_equal(x, y).to_vector<bool>() == B{false, true, true, true, true, false});
  auto i = tf::constant({1, 5});
  CHECK(tf::less(i, tf::constant(3)).to_vector<bool>() == B{true, false});
  CHECK(tf::equal(tf::constant({true, false}), tf::constant({true, true})).to_vector<bool>() ==
        B{true, false});
  CHECK_THROWS_AS(tf::less(x, tf::constant({1, 2, 3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::equal(x, tf::constant({1, 2, 3})), Catch::Contains("[Op:Equal]"));
  CHECK_THROWS_WITH(tf::greater(x, tf::zeros({4}, tf::float64)),
                    Catch::Contains("Incompatible shapes"));
}

TEST_CASE("logical_and/or/not work on bool and reject other dtypes", "[ops][elementwise]") {
  using B = std::vector<bool>;
  auto a = tf::constant({true, true, false, false});
  auto b = tf::constant({true, false, true, false});
  CHECK(tf::logical_and(a, b).to_vector<bool>() == B{true, false, false, false});
  CHECK(tf::logical_or(a, b).to_vector<bool>() == B{true, true, true, false});
  CHECK(tf::logical_not(a).to_vector<bool>() == B{false, false, true, true});
  CHECK(tf::logical_and(a, tf::constant(true)).to_vector<bool>() == a.to_vector<bool>());
  CHECK_THROWS_AS(tf::logical_and(tf::constant({1.0}), tf::constant({0.0})),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::logical_not(tf::constant({1})), tf::InvalidArgumentError);
}

// ---- where ------------------------------------------------------------------------------------

TEST_CASE("where picks x or y with broadcasting and routes the gradient to the picked side",
          "[ops][elementwise]") {
  auto cond = tf::constant({true, false, true});
  auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  auto y = tf::constant(Vec{-1.0, -2.0}, tf::Shape{2, 1});
  auto w = tf::where(cond, x, y);
  CHECK(w.shape() == tf::Shape{2, 3});
  CHECK_THAT(w.to_vector<double>(), M::Approx(Vec{1, -1, 3, 4, -2, 6}));
  CHECK_THAT(tf::where(tf::constant(false), x, tf::constant(0.0)).to_vector<double>(),
             M::Approx(Vec(6, 0.0)));
  CHECK(tf::where(cond, tf::constant({1, 2, 3}), tf::constant(0)).to_vector<int32_t>() ==
        std::vector<int32_t>{1, 0, 3});
  CHECK_THROWS_AS(tf::where(tf::constant({1, 0, 1}), x, x), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::where(cond, x, tf::constant(0.f)), tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto c = cond.to(device), xd = x.to(device), yd = y.to(device);
    tf::GradientTape tape;
    tape.watch({xd, yd});
    auto g = tape.gradient(tf::where(c, xd, yd), {xd, yd});
    CHECK_THAT(g[0].to_vector<double>(), M::Approx(Vec{1, 0, 1, 1, 0, 1}));
    CHECK_THAT(g[1].to_vector<double>(), M::Approx(Vec{1, 1}));  // one unpicked column per row
    tf::random::set_seed(5);
    auto rx = uniform64({2, 3}, -1, 1), ry = uniform64({3}, -1, 1);
    CHECK(tf::test::max_gradient_error([c](auto& in) { return tf::where(c, in[0], in[1]) * in[0]; },
                                       {rx, ry}) < kGradTol);
  }
}

// ---- cast -------------------------------------------------------------------------------------

TEST_CASE("cast converts values (truncating toward zero) and is differentiable between floats",
          "[ops][elementwise]") {
  auto f = tf::constant({1.7, -1.7, 0.0, 2.0});
  auto i = tf::cast(f, tf::int32);
  CHECK(i.dtype() == tf::int32);
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{1, -1, 0, 2});
  CHECK(tf::cast(f, tf::int64).to_vector<int64_t>() == std::vector<int64_t>{1, -1, 0, 2});
  auto b = tf::cast(f, tf::boolean);
  CHECK(b.dtype() == tf::boolean);
  CHECK(b.to_vector<bool>() == std::vector<bool>{true, true, false, true});
  CHECK_THAT(tf::cast(tf::constant({true, false}), tf::float32).to_vector<float>(),
             M::Approx(std::vector<float>{1, 0}));
  CHECK_THAT(tf::cast(tf::constant({3, -4}), tf::float64).to_vector<double>(),
             M::Approx(Vec{3, -4}));
  auto f32 = tf::cast(f, tf::float32);
  CHECK(f32.dtype() == tf::float32);
  CHECK_THAT(f32.to_vector<float>(), M::Approx(std::vector<float>{1.7f, -1.7f, 0.f, 2.f}));
  CHECK(tf::cast(f, tf::float64).dtype() == tf::float64);  // same dtype: unchanged
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({0.5f, -2.f});
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::cast(x, tf::float64) * tf::constant({3.0, 4.0});
    auto g = tape.gradient(y, x);
    CHECK(g.dtype() == tf::float32);
    CHECK_THAT(g.to_vector<float>(), M::Approx(std::vector<float>{3, 4}));
    tf::random::set_seed(9);
    auto r = uniform64({4}, -2, 2);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::cast(tf::square(tf::cast(in[0], tf::float32)), tf::float64);
              },
              {r},
              1e-2) < 1e-3);  // float32 round trip: large step (exact for x²), float32 tolerance
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::cast(in[0], tf::float64) * 2; },
                                       {r}) < kGradTol);
  }
}

TEST_CASE("element-wise ops give the same values on every device as on the CPU",
          "[ops][elementwise]") {
  tf::random::set_seed(13);
  auto x = uniform64({4, 5}, 0.5, 2.0);
  auto y = uniform64({5}, -2.0, 2.0);
  using Fn = std::function<tf::Tensor(const tf::Tensor&, const tf::Tensor&)>;
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"add", [](auto& a, auto& b) { return a + b; }},
      {"subtract", [](auto& a, auto& b) { return a - b; }},
      {"multiply", [](auto& a, auto& b) { return a * b; }},
      {"divide", [](auto& a, auto& b) { return a / b; }},
      {"pow", [](auto& a, auto& b) { return tf::pow(a, b); }},
      {"maximum", [](auto& a, auto& b) { return tf::maximum(a, b); }},
      {"minimum", [](auto& a, auto& b) { return tf::minimum(a, b); }},
      {"where", [](auto& a, auto& b) { return tf::where(tf::greater(a, b), a, b); }},
      {"unary chain",
       [](auto& a, auto& b) {
         return tf::sqrt(a) + tf::rsqrt(a) + tf::exp(b) + tf::log(a) + tf::log1p(a) + tf::abs(b) +
                tf::sign(b) + tf::sin(b) + tf::cos(b) + tf::tanh(b) + tf::sigmoid(b) +
                tf::floor(b) + tf::square(b) - b;
       }},
      {"clip", [](auto& a, auto& b) { return tf::clip_by_value(b, -1.0, 1.0) * a; }},
  };
  for (const auto& [name, f] : ops) {
    INFO(name);
    Vec expect;
    {
      tf::DeviceScope cpu("/cpu:0");
      expect = f(x.to("/cpu:0"), y.to("/cpu:0")).to_vector<double>();
    }
    for (const std::string& device : test::devices()) {
      INFO("device " << device);
      tf::DeviceScope scope(device);
      auto r = f(x.to(device), y.to(device));
      CHECK(r.device() == tf::Tensor(tf::zeros({1}).to(device)).device());
      CHECK_THAT(r.to_vector<double>(), M::Approx(expect).epsilon(1e-12));
    }
  }
}
