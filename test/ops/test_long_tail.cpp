// Issue #11's composite ops: reference values from NumPy/SciPy or the TensorFlow documentation,
// float64 central-difference gradients, and bad input.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;
using Vec = std::vector<double>;
using test::signed_away_from_zero;
using test::uniform64;

namespace {
constexpr double kGradTol = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

tf::Tensor v1(const Vec& v) { return tf::constant(v, tf::Shape{int64_t(v.size())}); }

Vec vals(const tf::Tensor& t) { return t.to_vector<double>(); }

void check_close(const Vec& got, const Vec& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol).epsilon(tol));
}

double grad_err(const tf::test::TestFunction& f, std::vector<tf::Tensor> in) {
  return tf::test::max_gradient_error(f, in);
}
}  // namespace

TEST_CASE("erf, reciprocal, squared_difference, ceil: values and gradients", "[ops][long_tail]") {
  check_close(
      vals(tf::erf(v1(Vec{0.0, 0.5, 1.0, -2.0}))),
      {0.0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527});  // scipy.special.erf
  CHECK(tf::erf(tf::constant(0.5f)).item<float>() == Approx(0.5204998778f).epsilon(1e-6));
  check_close(vals(tf::reciprocal(v1(Vec{2.0, -4.0, 0.1}))), {0.5, -0.25, 10.0});
  CHECK(tf::reciprocal(v1(Vec{0.0})).item<double>() == kInf);
  check_close(vals(tf::squared_difference(v1(Vec{1.0, 2.0, 3.0}), tf::constant(3.0))),
              {4.0, 1.0, 0.0});
  CHECK(tf::squared_difference(tf::constant({5, -2}), tf::constant({1, 1})).to_vector<int>() ==
        std::vector<int>{16, 9});
  const Vec c = vals(tf::ceil(v1(Vec{-1.5, -0.5, 0.2, 1.0, 2.7, -0.0})));
  check_close(c, {-1.0, 0.0, 1.0, 1.0, 3.0, 0.0});
  CHECK(std::signbit(c[1]));  // ceil(-0.5) = -0.0, as np.ceil
  CHECK(std::signbit(c[5]));

  const auto x = signed_away_from_zero({2, 3}, 0.5, 2.0);
  CHECK(grad_err([](auto& in) { return tf::erf(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::reciprocal(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::squared_difference(in[0], in[1]); },
                 {x, uniform64({3}, -1, 1)}) < kGradTol);
  // d/dx (1/x) = -1/x² exactly at x = 2.
  {
    auto two = tf::constant(2.0);
    tf::GradientTape tape;
    tape.watch(two);
    CHECK(tape.gradient(tf::reciprocal(two), two).item<double>() == -0.25);
  }
  CHECK_THROWS_WITH(tf::erf(tf::constant({1, 2})), Contains("[Op:Erf]") && Contains("int32"));
  CHECK_THROWS_WITH(tf::ceil(tf::constant({1, 2})), Contains("[Op:Ceil]"));
  CHECK_THROWS_WITH(tf::squared_difference(tf::zeros({2}), tf::zeros({3})),
                    Contains("Incompatible shapes: (2,) vs. (3,) [Op:SquaredDifference]"));
  CHECK_THROWS_WITH(tf::squared_difference(tf::zeros({2}), tf::zeros({2}, tf::float64)),
                    Contains("[Op:SquaredDifference]"));
}

TEST_CASE("is_nan, is_inf, is_finite", "[ops][long_tail]") {
  const auto x = v1(Vec{1.0, kInf, -kInf, std::nan(""), 0.0});
  CHECK(tf::is_nan(x).to_vector<bool>() == std::vector<bool>{false, false, false, true, false});
  CHECK(tf::is_inf(x).to_vector<bool>() == std::vector<bool>{false, true, true, false, false});
  CHECK(tf::is_finite(x).to_vector<bool>() == std::vector<bool>{true, false, false, false, true});
  CHECK(tf::is_finite(tf::constant(3.f)).item<bool>());
  CHECK_THROWS_WITH(tf::is_nan(tf::constant(1)), Contains("[Op:IsNan]"));
  CHECK_THROWS_WITH(tf::is_finite(tf::constant(true)), Contains("[Op:IsFinite]"));
}

TEST_CASE("reduce_logsumexp, reduce_variance, reduce_std: TF's documented values",
          "[ops][long_tail]") {
  const auto z = tf::zeros({2, 3}, tf::float64);
  CHECK(tf::reduce_logsumexp(z).item<double>() == Approx(std::log(6.0)).epsilon(1e-15));
  check_close(vals(tf::reduce_logsumexp(z, {0})), {std::log(2.0), std::log(2.0), std::log(2.0)});
  CHECK(tf::reduce_logsumexp(z, {1}, true).shape() == tf::Shape{2, 1});
  // Stable for large values; -inf rows stay -inf.
  check_close(vals(tf::reduce_logsumexp(tf::constant({{1000.0, 1000.0}, {-kInf, -kInf}}), {1})),
              {1000.0 + std::log(2.0), -kInf});
  const auto x = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
  CHECK(tf::reduce_variance(x).item<double>() == 1.25);
  check_close(vals(tf::reduce_variance(x, {0})), {1.0, 1.0});
  check_close(vals(tf::reduce_variance(x, {1})), {0.25, 0.25});
  CHECK(tf::reduce_std(x).item<double>() == Approx(1.118033988749895).epsilon(1e-15));
  check_close(vals(tf::reduce_std(x, {1}, true)), {0.5, 0.5});
  CHECK(tf::reduce_std(x, {1}, true).shape() == tf::Shape{2, 1});

  const auto r = uniform64({3, 4}, -2, 2);
  CHECK(grad_err([](auto& in) { return tf::reduce_logsumexp(in[0], {1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::reduce_logsumexp(in[0]); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::reduce_variance(in[0], {0}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::reduce_std(in[0], {-1}, true); }, {r}) < kGradTol);
  CHECK_THROWS_WITH(tf::reduce_variance(tf::constant({1, 2})), Contains("[Op:ReduceVariance]"));
  CHECK_THROWS_WITH(tf::reduce_logsumexp(x, {2}), Contains("Invalid reduction dimension"));
}

TEST_CASE("reduce_any and reduce_all", "[ops][long_tail]") {
  const auto x = tf::constant(std::vector<bool>{true, true, false, false}, tf::Shape{2, 2});
  CHECK(tf::reduce_any(x).item<bool>());
  CHECK(tf::reduce_any(x, {0}).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(tf::reduce_any(x, {1}).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK_FALSE(tf::reduce_all(x).item<bool>());
  CHECK(tf::reduce_all(x, {0}).to_vector<bool>() == std::vector<bool>{false, false});
  CHECK(tf::reduce_all(x, {1}, true).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(tf::reduce_all(x, {1}, true).shape() == tf::Shape{2, 1});
  const auto empty = tf::constant(std::vector<bool>{}, tf::Shape{0});
  CHECK_FALSE(tf::reduce_any(empty).item<bool>());
  CHECK(tf::reduce_all(empty).item<bool>());
  CHECK_THROWS_WITH(tf::reduce_any(tf::zeros({2})), Contains("[Op:Any]") && Contains("float32"));
}

TEST_CASE("norm: vector and matrix norms of every supported ord", "[ops][long_tail]") {
  const auto v = v1(Vec{3.0, -4.0});
  CHECK(tf::norm(v).item<double>() == 5.0);
  CHECK(tf::norm(v, 1.0).item<double>() == 7.0);
  CHECK(tf::norm(v, "inf").item<double>() == 4.0);
  CHECK(tf::norm(v, kInf).item<double>() == 4.0);
  CHECK(tf::norm(v, 2.0).item<double>() == 5.0);
  CHECK(tf::norm(v, 3.0).item<double>() == Approx(4.497941445275415).epsilon(1e-14));  // 91^(1/3)
  const auto m = tf::constant({{1.0, -2.0}, {3.0, 4.0}});
  CHECK(tf::norm(m).item<double>() == Approx(std::sqrt(30.0)).epsilon(1e-15));  // whole tensor
  CHECK(tf::norm(m, "fro", {0, 1}).item<double>() == Approx(std::sqrt(30.0)).epsilon(1e-15));
  CHECK(tf::norm(m, 1.0, {0, 1}).item<double>() == 6.0);    // largest column sum |.|
  CHECK(tf::norm(m, "inf", {0, 1}).item<double>() == 7.0);  // largest row sum |.|
  check_close(vals(tf::norm(m, "euclidean", {1})), {std::sqrt(5.0), 5.0});
  check_close(vals(tf::norm(m, 1.0, {0}, true)), {4.0, 6.0});
  CHECK(tf::norm(m, 1.0, {0}, true).shape() == tf::Shape{1, 2});

  const auto r = signed_away_from_zero({3, 4}, 0.5, 2.0);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0]); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], 1.0, {1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], 3.0, {0}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], "fro", {0, 1}); }, {r}) < kGradTol);
  CHECK(grad_err(
            [](auto& in) {
              return tf::norm(in[0], "inf", {0, 1});
            },
            {tf::constant({{1.0, -2.0, 0.5}, {3.0, 4.0, -1.5}})}) < kGradTol);

  CHECK_THROWS_WITH(tf::norm(m, 2.0, {0, 1}), Contains("[Op:Norm]"));
  CHECK_THROWS_AS(tf::norm(m, 2.0, {0, 1}), tf::UnimplementedError);
  CHECK_THROWS_WITH(tf::norm(v, "fro"), Contains("'fro' needs a matrix norm"));
  CHECK_THROWS_WITH(tf::norm(v, "max"), Contains("'max'") && Contains("[Op:Norm]"));
  CHECK_THROWS_AS(tf::norm(v, -1.0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(v, std::nan("")), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(m, 3.0, {0, 1}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(m, "euclidean", {0, 0}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(m, "euclidean", {0, 1, 1}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(m, "euclidean", {2}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::norm(tf::constant({1, 2})), tf::InvalidArgumentError);
}

TEST_CASE("silu, selu, softsign, log_sigmoid, hard_sigmoid", "[ops][long_tail][nn]") {
  check_close(vals(tf::nn::silu(v1(Vec{0.0, 1.0, -1.0}))),
              {0.0, 0.7310585786300049, -0.2689414213699951});
  check_close(vals(tf::nn::selu(v1(Vec{-1.0, 0.0, 2.0}))),
              {-1.1113307378125625, 0.0, 2.101401974710961});
  check_close(vals(tf::nn::softsign(v1(Vec{3.0, -1.0, 0.0}))), {0.75, -0.5, 0.0});
  check_close(vals(tf::nn::log_sigmoid(v1(Vec{0.0, 1.0, -1000.0, 1000.0}))),
              {-0.6931471805599453, -0.31326168751822286, -1000.0, 0.0});
  check_close(
      vals(tf::nn::hard_sigmoid(v1(Vec{-3.0, 0.0, 1.0, 3.0}))), {0.0, 0.5, 0.7, 1.0}, 1e-15);
  CHECK(vals(tf::nn::selu(v1(Vec{1000.0})))[0] == Approx(1050.7009873554805));

  const auto x = signed_away_from_zero({2, 3}, 0.3, 2.0);
  CHECK(grad_err([](auto& in) { return tf::nn::silu(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::selu(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::softsign(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::log_sigmoid(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::hard_sigmoid(in[0]); },
                 {v1(Vec{-1.0, 0.3, 1.7, -2.2})}) < kGradTol);
  for (auto* f : {&tf::nn::silu,
                  &tf::nn::selu,
                  &tf::nn::softsign,
                  &tf::nn::log_sigmoid,
                  &tf::nn::hard_sigmoid})
    CHECK_THROWS_AS(f(tf::constant({1, 2})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::nn::selu(tf::constant(1)), Contains("[Op:Selu]"));
}

TEST_CASE("nn::moments: mean and variance, as tf.nn.moments", "[ops][long_tail][nn]") {
  const auto x = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
  auto [mean, var] = tf::nn::moments(x, {0});
  check_close(vals(mean), {2.0, 3.0});
  check_close(vals(var), {1.0, 1.0});
  auto [m_all, v_all] = tf::nn::moments(x, {0, 1}, true);
  CHECK(m_all.shape() == tf::Shape{1, 1});
  CHECK(m_all.item<double>() == 2.5);
  CHECK(v_all.item<double>() == 1.25);
  const auto r = uniform64({3, 4}, -1, 1);
  CHECK(grad_err([](auto& in) { return tf::nn::moments(in[0], {1}).first; }, {r}) < kGradTol);
  // The variance's path through the mean is stopped (as TF), so its gradient is 2(x - mean)/N,
  // which is also the true derivative: Σ(x - mean) = 0.
  CHECK(grad_err([](auto& in) { return tf::nn::moments(in[0], {0}).second; }, {r}) < kGradTol);
  CHECK_THROWS_AS(tf::nn::moments(tf::constant({1, 2}), {0}), tf::InvalidArgumentError);
}

TEST_CASE("reverse, roll, repeat: TF's documented examples", "[ops][long_tail][shape]") {
  const auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  check_close(vals(tf::reverse(x, {1})), {3, 2, 1, 6, 5, 4});
  check_close(vals(tf::reverse(x, {-1})), {3, 2, 1, 6, 5, 4});
  check_close(vals(tf::reverse(x, {0, 1})), {6, 5, 4, 3, 2, 1});
  check_close(vals(tf::reverse(x, {})), {1, 2, 3, 4, 5, 6});
  CHECK_THROWS_WITH(tf::reverse(x, {1, -1}),
                    Contains("more than once") && Contains("[Op:ReverseV2]"));
  CHECK_THROWS_AS(tf::reverse(x, {2}), tf::InvalidArgumentError);

  const auto t = tf::range(10);
  CHECK(tf::roll(t, 2, 0).to_vector<int>() == std::vector<int>{8, 9, 0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(tf::roll(t, -3, 0).to_vector<int>() == std::vector<int>{3, 4, 5, 6, 7, 8, 9, 0, 1, 2});
  CHECK(tf::roll(t, 23, 0).to_vector<int>() == tf::roll(t, 3, 0).to_vector<int>());
  const auto m = tf::reshape(t, tf::Shape{2, 5});
  CHECK(tf::roll(m, {1, -2}, {0, 1}).to_vector<int>() ==
        std::vector<int>{7, 8, 9, 5, 6, 2, 3, 4, 0, 1});
  CHECK(tf::roll(m, {2, -3}, {1, 1}).to_vector<int>() ==
        std::vector<int>{1, 2, 3, 4, 0, 6, 7, 8, 9, 5});
  CHECK(tf::roll(m, std::numeric_limits<int64_t>::max(), 1).shape() == tf::Shape{2, 5});
  // A huge (empty) axis: the shift arithmetic must not overflow (found by the ops fuzzer).
  const auto huge = tf::zeros({0, int64_t(1) << 62});
  CHECK(tf::roll(huge,
                 {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()},
                 {1, 1})
            .shape() == huge.shape());
  CHECK_THROWS_WITH(tf::roll(m, {1}, {0, 1}), Contains("[Op:Roll]"));
  CHECK_THROWS_AS(tf::roll(tf::constant(1.0), 1, 0), tf::InvalidArgumentError);

  const auto p = tf::constant({{1, 2}, {3, 4}});
  CHECK(tf::repeat(p, {2, 3}, 0).to_vector<int>() ==
        std::vector<int>{1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  CHECK(tf::repeat(p, {2, 3}, 0).shape() == tf::Shape{5, 2});
  CHECK(tf::repeat(p, {2, 3}, 1).to_vector<int>() ==
        std::vector<int>{1, 1, 2, 2, 2, 3, 3, 4, 4, 4});
  CHECK(tf::repeat(tf::constant(3), 4).to_vector<int>() == std::vector<int>{3, 3, 3, 3});
  CHECK(tf::repeat(p, 2).to_vector<int>() == std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4});
  CHECK(tf::repeat(tf::constant({1, 2, 3}), {3, 0, 2}, 0).to_vector<int>() ==
        std::vector<int>{1, 1, 1, 3, 3});
  CHECK(tf::repeat(p, 0, 1).shape() == tf::Shape{2, 0});
  CHECK_THROWS_WITH(tf::repeat(p, {1, 2, 3}, 0), Contains("[Op:Repeat]"));
  CHECK_THROWS_WITH(tf::repeat(p, -1, 0), Contains("non-negative"));
  CHECK_THROWS_AS(tf::repeat(p, std::numeric_limits<int64_t>::max(), 0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::repeat(p, int64_t(1) << 40, 0), tf::ResourceExhaustedError);

  const auto r = uniform64({2, 3}, -1, 1);
  CHECK(grad_err([](auto& in) { return tf::reverse(in[0], {0, 1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::roll(in[0], {1, 2}, {0, 1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::repeat(in[0], {2, 0, 3}, 1); }, {r}) < kGradTol);
  // repeat's gradient sums the copies: d Σ repeat(x, 3) / dx = 3.
  auto y = v1(Vec{1.0, 2.0});
  tf::GradientTape tape;
  tape.watch(y);
  check_close(vals(tape.gradient(tf::reduce_sum(tf::repeat(y, 3)), y)), {3.0, 3.0});
}

// ---- math kernels: inverse/hyperbolic trigonometry, erfc, expm1, round, atan2, floordiv/mod --

TEST_CASE("inverse and hyperbolic trigonometry: NumPy's values and float64 gradients",
          "[ops][long_tail][math]") {
  const Vec x{-0.9, -0.3, 0.0, 0.5, 0.99};
  // np.arcsin(x), np.arccos(x), ... for the same x.
  check_close(
      vals(tf::asin(v1(x))),
      {-1.1197695149986342, -0.3046926540153975, 0.0, 0.5235987755982989, 1.4292568534704693},
      1e-15);
  check_close(vals(tf::acos(v1(x))),
              {2.6905658417935308,
               1.8754889808102941,
               1.5707963267948966,
               1.0471975511965979,
               0.1415394733244273},
              1e-15);
  check_close(
      vals(tf::atan(v1(x))),
      {-0.7328151017865066, -0.2914567944778671, 0.0, 0.4636476090008061, 0.7803730800666359},
      1e-15);
  check_close(
      vals(tf::sinh(v1(x))),
      {-1.0265167257081753, -0.3045202934471426, 0.0, 0.5210953054937474, 1.1598288906636083},
      1e-15);
  check_close(vals(tf::cosh(v1(x))),
              {1.4330863854487745, 1.0453385141288605, 1.0, 1.1276259652063807, 1.5314055816856538},
              1e-15);
  check_close(
      vals(tf::asinh(v1(x))),
      {-0.8088669356527824, -0.29567304756342244, 0.0, 0.48121182505960347, 0.8742848121872949},
      1e-15);
  check_close(
      vals(tf::atanh(v1(x))),
      {-1.4722194895832204, -0.30951960420311175, 0.0, 0.5493061443340548, 2.6466524123622457},
      1e-15);
  check_close(vals(tf::acosh(v1(Vec{1.0, 1.5, 3.0, 10.0}))),
              {0.0, 0.9624236501192069, 1.762747174039086, 2.993222846126381},
              1e-15);
  CHECK(tf::asin(tf::constant(0.5f)).item<float>() == Approx(0.5235987756f).epsilon(1e-6));
  // Outside the domain: NaN, as TF and NumPy; at the ends of it: ±inf.
  CHECK(std::isnan(tf::asin(tf::constant(1.5)).item<double>()));
  CHECK(std::isnan(tf::acosh(tf::constant(0.5)).item<double>()));
  CHECK(tf::atanh(tf::constant(1.0)).item<double>() == kInf);

  const auto in = uniform64({2, 3}, -0.8, 0.8);
  CHECK(grad_err([](auto& t) { return tf::asin(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::acos(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::atan(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::sinh(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::cosh(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::asinh(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::atanh(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::acosh(t[0]); }, {uniform64({2, 3}, 1.2, 3.0)}) <
        kGradTol);
  // Exact first derivatives: d asin/dx at 0 is 1, d atan/dx at 1 is 1/2, d acosh/dx at 2 is 1/√3.
  {
    auto a = tf::constant(0.0), b = tf::constant(1.0), c = tf::constant(2.0);
    tf::GradientTape tape({.persistent = true});
    tape.watch({a, b, c});
    CHECK(tape.gradient(tf::asin(a), a).item<double>() == 1.0);
    CHECK(tape.gradient(tf::atan(b), b).item<double>() == 0.5);
    CHECK(tape.gradient(tf::acosh(c), c).item<double>() ==
          Approx(1 / std::sqrt(3.0)).epsilon(1e-15));
  }
  // Second order through the rules (they are tapeflow ops): d²/dx² sinh = sinh.
  {
    auto v = tf::constant(0.7);
    tf::GradientTape outer;
    outer.watch(v);
    tf::Tensor g;
    {
      tf::GradientTape inner;
      inner.watch(v);
      g = inner.gradient(tf::sinh(v), v);
    }
    CHECK(outer.gradient(g, v).item<double>() == Approx(std::sinh(0.7)).epsilon(1e-14));
  }
  for (auto* f : {&tf::asin,
                  &tf::acos,
                  &tf::atan,
                  &tf::sinh,
                  &tf::cosh,
                  &tf::asinh,
                  &tf::acosh,
                  &tf::atanh,
                  &tf::erfc,
                  &tf::expm1})
    CHECK_THROWS_AS(f(tf::constant({1, 2})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::atanh(tf::constant({1, 2})), Contains("[Op:Atanh]") && Contains("int32"));
}

TEST_CASE("erfc, expm1, round (half to even): reference values and gradients",
          "[ops][long_tail][math]") {
  // math.erfc: accurate far in the tail, where 1 - erf(x) would be 0.
  check_close(vals(tf::erfc(v1(Vec{-1.0, 0.0, 0.5, 3.0}))),
              {1.842700792949715, 1.0, 0.4795001221869535, 2.2090496998585438e-05},
              1e-15);
  CHECK(tf::erfc(tf::constant(10.0)).item<double>() ==
        Approx(2.088487583762545e-45).epsilon(1e-13));
  // np.expm1: exact to the last digit near 0, where exp(x) - 1 loses everything.
  check_close(vals(tf::expm1(v1(Vec{1e-10, -1e-5, 0.5, -2.0}))),
              {1.00000000005e-10, -9.999950000166666e-06, 0.6487212707001282, -0.8646647167633873},
              1e-15);
  CHECK(tf::expm1(tf::constant(1e-10)).item<double>() == Approx(1.00000000005e-10).epsilon(1e-15));
  // TF's documented example: tf.math.round([0.9, 2.5, 2.3, 1.5, -4.5]) == [1, 2, 2, 2, -4].
  check_close(vals(tf::round(v1(Vec{0.9, 2.5, 2.3, 1.5, -4.5}))), {1.0, 2.0, 2.0, 2.0, -4.0}, 0);
  const Vec r = vals(tf::round(v1(Vec{0.5, -0.5, -3.6, 1e300})));  // np.round: 0, -0, -4
  check_close(r, {0.0, 0.0, -4.0, 1e300}, 0);
  CHECK(std::signbit(r[1]));
  CHECK(tf::round(tf::constant({2.5f, 3.5f})).to_vector<float>() == std::vector<float>{2.f, 4.f});
  CHECK(tf::round(tf::constant({7, -3})).to_vector<int>() == std::vector<int>{7, -3});

  const auto in = uniform64({3, 2}, -1.5, 1.5);
  CHECK(grad_err([](auto& t) { return tf::erfc(t[0]); }, {in}) < kGradTol);
  CHECK(grad_err([](auto& t) { return tf::expm1(t[0]); }, {in}) < kGradTol);
  {
    auto v = tf::constant(Vec{0.3, 1.7}, tf::Shape{2});
    tf::GradientTape tape;
    tape.watch(v);
    CHECK(vals(tape.gradient(tf::reduce_sum(tf::round(v)), v)) == Vec{0.0, 0.0});
  }
  CHECK_THROWS_WITH(tf::round(tf::constant(true)), Contains("[Op:Round]") && Contains("bool"));
}

TEST_CASE("atan2, floordiv, floormod: NumPy's values, signs, gradients and errors",
          "[ops][long_tail][math]") {
  // np.arctan2 in all four quadrants and on the negative x axis.
  check_close(vals(tf::atan2(v1(Vec{1, 1, -1, -1, 0, 0}), v1(Vec{1, -1, -1, 1, -1, 1}))),
              {0.7853981633974483,
               2.356194490192345,
               -2.356194490192345,
               -0.7853981633974483,
               3.141592653589793,
               0.0},
              1e-15);
  // Python's // and % (TF's FloorDiv / FloorMod): the quotient rounds down, the remainder takes
  // the divisor's sign.
  auto a = tf::constant({7, -7, 7, -7}), b = tf::constant({2, 2, -2, -2});
  CHECK(tf::floordiv(a, b).to_vector<int>() == std::vector<int>{3, -4, -4, 3});
  CHECK(tf::floormod(a, b).to_vector<int>() == std::vector<int>{1, 1, -1, -1});
  CHECK(vals(tf::floordiv(v1(Vec{7.5, -7.5, 7.5, -7.5}), v1(Vec{2, 2, -2, -2}))) ==
        Vec{3, -4, -4, 3});
  CHECK(vals(tf::floormod(v1(Vec{7.5, -7.5, 7.5, -7.5}), v1(Vec{2, 2, -2, -2}))) ==
        Vec{1.5, 0.5, -0.5, -1.5});
  // Broadcasting, int64, and the one overflowing case: MIN // -1 wraps to MIN, MIN % -1 is 0.
  const int64_t mn = std::numeric_limits<int64_t>::min();
  auto big = tf::constant(std::vector<int64_t>{mn, 9}, tf::Shape{2});
  CHECK(tf::floordiv(big, tf::constant(int64_t(-1))).to_vector<int64_t>() ==
        std::vector<int64_t>{mn, -9});
  CHECK(tf::floormod(big, tf::constant(int64_t(-1))).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 0});
  CHECK_THROWS_WITH(tf::floordiv(a, tf::constant({1, 0, 1, 1})),
                    Contains("[Op:FloorDiv]") && Contains("division by zero"));
  CHECK_THROWS_AS(tf::floormod(a, tf::constant(0)), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::atan2(tf::constant({1, 2}), tf::constant({1, 2})), Contains("[Op:Atan2]"));
  CHECK_THROWS_WITH(tf::floordiv(a, tf::constant({1.0, 2.0})), Contains("[Op:FloorDiv]"));
  CHECK_THROWS_WITH(tf::floormod(a, tf::constant({1, 2, 3})), Contains("Incompatible shapes"));

  const auto y = uniform64({2, 3}, -2, 2), x = signed_away_from_zero({3}, 0.5, 2.0);
  CHECK(grad_err([](auto& t) { return tf::atan2(t[0], t[1]); }, {y, x}) < kGradTol);
  // floormod: d/dx = 1, d/dy = -floor(x/y) (away from the jumps: x/y not near an integer).
  {
    auto xv = tf::constant(Vec{7.5, -7.5}, tf::Shape{2}), yv = tf::constant(2.0);
    tf::GradientTape tape({.persistent = true});
    tape.watch({xv, yv});
    auto r = tf::reduce_sum(tf::floormod(xv, yv));
    CHECK(vals(tape.gradient(r, xv)) == Vec{1, 1});
    CHECK(tape.gradient(r, yv).item<double>() == -(3 + -4));
    // floordiv has no gradient in TF: differentiating through it is a clear error.
    auto q = tf::reduce_sum(tf::floordiv(xv, yv));
    CHECK_THROWS_WITH(tape.gradient(q, xv), Contains("[Op:FloorDiv]") && Contains("no gradient"));
  }
}

namespace {
/// |got - want| in units in the last place of `want` (0 when both are NaN or equal).
template <class T>
double ulp_error(T got, T want) {
  if ((std::isnan(got) && std::isnan(want)) || got == want) return 0;
  if (!std::isfinite(got) || !std::isfinite(want)) return std::numeric_limits<double>::infinity();
  const T ulp = std::nextafter(std::abs(want), std::numeric_limits<T>::infinity()) - std::abs(want);
  return std::abs(double(got) - double(want)) / double(ulp);
}

/// The largest ulp error of `op` against glibc's `fn` over `n` values spread evenly on [lo, hi]
/// (n is not a multiple of 8, so the vector loop's scalar tail runs too), in dtype T.
template <class T>
double max_ulp_error(tf::Tensor (*op)(const tf::Tensor&), T (*fn)(T), double lo, double hi) {
  const int64_t n = 1003;
  std::vector<T> x(size_t(n), T(0));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = T(lo + (hi - lo) * double(i) / double(n - 1));
  const std::vector<T> y = op(tf::constant(x, tf::Shape{n})).template to_vector<T>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulp_error(y[i], fn(x[i])));
  return worst;
}
}  // namespace

TEST_CASE("vectorised long-tail ops agree with glibc to a few ulp, special values included",
          "[ops][long_tail][math]") {
  // On the CPU these run through xsimd (src/cpu/elementwise.cpp, XsimdForm): within 4 ulp of
  // glibc over their domains, float32 and float64. CUDA's libm is documented within 4 ulp too.
  struct Case {
    const char* name;
    tf::Tensor (*op)(const tf::Tensor&);
    float (*f32)(float);
    double (*f64)(double);
    double lo, hi;
  };
  const std::vector<Case> cases = {
      {"tan", tf::tan, ::tanf, ::tan, -10, 10},
      {"asin", tf::asin, ::asinf, ::asin, -1, 1},
      {"acos", tf::acos, ::acosf, ::acos, -1, 1},
      {"atan", tf::atan, ::atanf, ::atan, -100, 100},
      {"sinh", tf::sinh, ::sinhf, ::sinh, -80, 80},
      {"cosh", tf::cosh, ::coshf, ::cosh, -80, 80},
      {"asinh", tf::asinh, ::asinhf, ::asinh, -1e3, 1e3},
      {"acosh", tf::acosh, ::acoshf, ::acosh, 1, 1e3},
      {"atanh", tf::atanh, ::atanhf, ::atanh, -0.999, 0.999},
      {"expm1", tf::expm1, ::expm1f, ::expm1, -80, 80},
      {"erfc", tf::erfc, ::erfcf, ::erfc, -5, 9},
  };
  const double tol = tf::config::default_device().type == tf::DeviceType::CPU ? 4 : 8;
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(max_ulp_error<float>(c.op, c.f32, c.lo, c.hi) <= tol);
    CHECK(max_ulp_error<double>(c.op, c.f64, c.lo, c.hi) <= tol);
  }
  // Round half to even, exactly, on both sides of the vector loop's tail.
  std::vector<float> halves;
  for (int i = -20; i <= 20; ++i) halves.push_back(float(i) + 0.5f);
  const auto r =
      tf::round(tf::constant(halves, tf::Shape{int64_t(halves.size())})).to_vector<float>();
  for (size_t i = 0; i < halves.size(); ++i) CHECK(r[i] == std::nearbyint(halves[i]));

  // Special values as glibc gives them: NaN in, NaN out; outside the domain, NaN; the poles.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto at = [](tf::Tensor (*op)(const tf::Tensor&), std::vector<double> x) {
    return op(tf::constant(x, tf::Shape{int64_t(x.size())})).to_vector<double>();
  };
  for (auto op : {tf::tan,
                  tf::asin,
                  tf::acos,
                  tf::atan,
                  tf::sinh,
                  tf::cosh,
                  tf::asinh,
                  tf::acosh,
                  tf::atanh,
                  tf::expm1,
                  tf::round})
    CHECK(std::isnan(at(op, {nan})[0]));
  CHECK(std::isnan(at(tf::asin, {2.0})[0]));
  CHECK(std::isnan(at(tf::acos, {-1.5})[0]));
  CHECK(std::isnan(at(tf::acosh, {0.5})[0]));
  CHECK(std::isnan(at(tf::tan, {kInf})[0]));
  CHECK(at(tf::atanh, {1.0, -1.0}) == Vec{kInf, -kInf});
  CHECK(at(tf::sinh, {1000.0, -1000.0, kInf}) == Vec{kInf, -kInf, kInf});
  CHECK(at(tf::cosh, {-kInf})[0] == kInf);
  CHECK(at(tf::asinh, {-kInf})[0] == -kInf);
  CHECK(at(tf::atan, {kInf})[0] == Approx(M_PI / 2).epsilon(1e-16));
  CHECK(at(tf::expm1, {-kInf, 709.0})[0] == -1.0);
  CHECK(at(tf::round, {kInf, -kInf}) == Vec{kInf, -kInf});
  // Just below overflow the results stay finite, as glibc's (xsimd's exp and expm1 alone give
  // inf from 88.38 in float32 and 709.44 in float64).
  for (auto op : {tf::exp, tf::expm1}) {
    const auto f = op(tf::constant({88.5f, 88.7f, 88.8f})).to_vector<float>();
    CHECK(f[0] == Approx(std::exp(88.5f)).epsilon(1e-6));
    CHECK(f[1] == Approx(std::exp(88.7f)).epsilon(1e-6));
    CHECK(std::isinf(f[2]));
    const auto d = at(op, {709.6, 709.7, 709.8});
    CHECK(d[0] == Approx(std::exp(709.6)).epsilon(1e-14));
    CHECK(d[1] == Approx(std::exp(709.7)).epsilon(1e-14));
    CHECK(std::isinf(d[2]));
  }
  const auto z = at(tf::asinh, {-0.0});
  CHECK((z[0] == 0.0 && std::signbit(z[0])));
}

TEST_CASE("atan2, floormod and float erfc: vector forms match glibc, broadcasts and IEEE cases",
          "[ops][long_tail][math]") {
  // src/cpu/vector_math.hpp: atan2 (float32, float64) within 4 ulp of glibc, IEEE's special
  // cases exactly; floormod (float32) bit for bit TF's fmod-based definition; erfc (float32)
  // within 4 ulp down to subnormal results. 1003 elements: not a whole number of vectors.
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-20, 20);
  const int64_t n = 1003;
  std::vector<float> yf, xf;
  std::vector<double> yd, xd;
  for (int64_t i = 0; i < n; ++i) {
    yd.push_back(std::ldexp(unit(gen), exponent(gen)));
    xd.push_back(std::ldexp(unit(gen), exponent(gen)));
    yf.push_back(float(yd.back()));
    xf.push_back(float(xd.back()));
  }
  const tf::Shape s{n};
  {
    const auto f = tf::atan2(tf::constant(yf, s), tf::constant(xf, s)).to_vector<float>();
    const auto d = tf::atan2(tf::constant(yd, s), tf::constant(xd, s)).to_vector<double>();
    double worst_f = 0, worst_d = 0;
    for (size_t i = 0; i < size_t(n); ++i) {
      worst_f = std::max(worst_f, ulp_error(f[i], std::atan2(yf[i], xf[i])));
      worst_d = std::max(worst_d, ulp_error(d[i], std::atan2(yd[i], xd[i])));
    }
    CHECK(worst_f <= 4);
    CHECK(worst_d <= 4);
  }
  // Broadcasts: a scalar on either side, and rows against a row vector and a column.
  {
    const std::vector<float> row(yf.begin(), yf.begin() + 17);
    const auto m = tf::constant(std::vector<float>(xf.begin(), xf.begin() + 5 * 17), {5, 17});
    const auto col = tf::constant(std::vector<float>(yf.begin() + 100, yf.begin() + 105), {5, 1});
    const auto by_row = tf::atan2(tf::constant(row, {17}), m).to_vector<float>();
    const auto by_col = tf::atan2(col, tf::constant(row, {17})).to_vector<float>();
    const auto by_scalar = tf::atan2(tf::constant(0.75f), m).to_vector<float>();
    const auto scalar_x = tf::atan2(m, tf::constant(-0.5f)).to_vector<float>();
    double worst = 0;
    for (size_t r = 0; r < 5; ++r)
      for (size_t c = 0; c < 17; ++c) {
        const float mv = xf[r * 17 + c];
        worst = std::max(worst, ulp_error(by_row[r * 17 + c], std::atan2(row[c], mv)));
        worst = std::max(worst, ulp_error(by_col[r * 17 + c], std::atan2(yf[100 + r], row[c])));
        worst = std::max(worst, ulp_error(by_scalar[r * 17 + c], std::atan2(0.75f, mv)));
        worst = std::max(worst, ulp_error(scalar_x[r * 17 + c], std::atan2(mv, -0.5f)));
      }
    CHECK(worst <= 4);
  }
  // IEEE's special cases (C99 Annex F), in every pairing, signs of zero and π included.
  {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> sv{0.0, -0.0, kInf, -kInf, nan, 1.0, -1.0, 1e-310};
    std::vector<double> ys, xs;
    for (double y : sv)
      for (double x : sv) ys.push_back(y), xs.push_back(x);
    const tf::Shape ss{int64_t(ys.size())};
    const auto d = tf::atan2(tf::constant(ys, ss), tf::constant(xs, ss)).to_vector<double>();
    std::vector<float> ysf(ys.begin(), ys.end()), xsf(xs.begin(), xs.end());
    const auto f = tf::atan2(tf::constant(ysf, ss), tf::constant(xsf, ss)).to_vector<float>();
    for (size_t i = 0; i < ys.size(); ++i) {
      INFO("atan2(" << ys[i] << ", " << xs[i] << ")");
      const double want = std::atan2(ys[i], xs[i]);
      CHECK(ulp_error(d[i], want) <= 4);
      CHECK(std::signbit(d[i]) == std::signbit(want));
      const float wantf = std::atan2(ysf[i], xsf[i]);
      CHECK(ulp_error(f[i], wantf) <= 4);
      CHECK(std::signbit(f[i]) == std::signbit(wantf));
    }
    CHECK(d[0] == 0.0);  // atan2(+0, +0) = +0 and atan2(+0, -0) = +π: not NaN
    CHECK(d[1] == Approx(M_PI).epsilon(1e-16));
  }
  // floormod, float32: TF's definition (fmod, then the divisor's sign), bit for bit, for
  // quotients small and beyond 2^28 (those take the scalar path), zeros, infinities, NaN.
  {
    auto want = [](float a, float b) {
      const float r = std::fmod(a, b);
      return (r != 0 && ((b < 0) != (r < 0))) ? r + b : r;
    };
    std::vector<float> a, b;
    std::uniform_int_distribution<int> wide(-40, 40);
    for (int64_t i = 0; i < n; ++i) {
      a.push_back(float(std::ldexp(unit(gen), wide(gen))));
      b.push_back(float(std::ldexp(unit(gen), exponent(gen) / 2)));
    }
    const float inf = std::numeric_limits<float>::infinity();
    const float nanf = std::numeric_limits<float>::quiet_NaN();
    for (auto [x, y] : std::vector<std::pair<float, float>>{{-4.f, 2.f},
                                                            {4.f, -2.f},
                                                            {-0.f, 3.f},
                                                            {7.f, 0.f},
                                                            {inf, 2.f},
                                                            {3.f, inf},
                                                            {-3.f, inf},
                                                            {nanf, 1.f},
                                                            {1e30f, 3.f},
                                                            {16777217.f, 0.1f}})
      a.push_back(x), b.push_back(y);
    const tf::Shape fs{int64_t(a.size())};
    const auto got = tf::floormod(tf::constant(a, fs), tf::constant(b, fs)).to_vector<float>();
    int mismatches = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const float w = want(a[i], b[i]);
      const bool same = (std::isnan(w) && std::isnan(got[i])) ||
                        (got[i] == w && std::signbit(got[i]) == std::signbit(w));
      if (!same) {
        ++mismatches;
        UNSCOPED_INFO("floormod(" << a[i] << ", " << b[i] << ") = " << got[i] << ", want " << w);
      }
    }
    CHECK(mismatches == 0);
    // A broadcast divisor.
    const auto by3 = tf::floormod(tf::constant({-7.5f, 7.5f, -0.f}), tf::constant(-3.f));
    const auto v = by3.to_vector<float>();
    CHECK(v == std::vector<float>{-1.5f, -1.5f, 0.f});
    CHECK(std::signbit(v[2]));
  }
  // erfc, float32, down to subnormal results (erfc(10) ≈ 2.1e-45) and its limits.
  CHECK(max_ulp_error<float>(tf::erfc, ::erfcf, 8.5, 10.1) <= 4);
  const float inf_f = std::numeric_limits<float>::infinity();
  const auto e = tf::erfc(tf::constant({-inf_f, inf_f, 0.f, 26.f})).to_vector<float>();
  CHECK(e == std::vector<float>{2.f, 0.f, 1.f, 0.f});
  CHECK(std::isnan(tf::erfc(tf::constant(std::nanf(""))).item<float>()));
}
