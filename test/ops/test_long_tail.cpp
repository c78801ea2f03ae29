// Issue #11's composite ops: reference values from NumPy/SciPy or the TensorFlow documentation,
// float64 central-difference gradients, and bad input.
#include <cmath>
#include <limits>
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
  check_close(vals(tf::erf(v1(Vec{0.0, 0.5, 1.0, -2.0}))),
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

TEST_CASE("reduce_logsumexp, reduce_variance, reduce_std: TF's documented values", "[ops][long_tail]") {
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
  CHECK(tf::norm(m, 1.0, {0, 1}).item<double>() == 6.0);     // largest column sum |.|
  CHECK(tf::norm(m, "inf", {0, 1}).item<double>() == 7.0);   // largest row sum |.|
  check_close(vals(tf::norm(m, "euclidean", {1})), {std::sqrt(5.0), 5.0});
  check_close(vals(tf::norm(m, 1.0, {0}, true)), {4.0, 6.0});
  CHECK(tf::norm(m, 1.0, {0}, true).shape() == tf::Shape{1, 2});

  const auto r = signed_away_from_zero({3, 4}, 0.5, 2.0);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0]); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], 1.0, {1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], 3.0, {0}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], "fro", {0, 1}); }, {r}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::norm(in[0], "inf", {0, 1}); },
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
  check_close(vals(tf::nn::hard_sigmoid(v1(Vec{-3.0, 0.0, 1.0, 3.0}))),
              {0.0, 0.5, 0.7, 1.0}, 1e-15);
  CHECK(vals(tf::nn::selu(v1(Vec{1000.0})))[0] == Approx(1050.7009873554805));

  const auto x = signed_away_from_zero({2, 3}, 0.3, 2.0);
  CHECK(grad_err([](auto& in) { return tf::nn::silu(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::selu(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::softsign(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::log_sigmoid(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::nn::hard_sigmoid(in[0]); },
                 {v1(Vec{-1.0, 0.3, 1.7, -2.2})}) < kGradTol);
  for (auto* f : {&tf::nn::silu, &tf::nn::selu, &tf::nn::softsign, &tf::nn::log_sigmoid,
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
  CHECK_THROWS_WITH(tf::reverse(x, {1, -1}), Contains("more than once") && Contains("[Op:ReverseV2]"));
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
  CHECK(tf::roll(huge, {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()},
                 {1, 1}).shape() == huge.shape());
  CHECK_THROWS_WITH(tf::roll(m, {1}, {0, 1}), Contains("[Op:Roll]"));
  CHECK_THROWS_AS(tf::roll(tf::constant(1.0), 1, 0), tf::InvalidArgumentError);

  const auto p = tf::constant({{1, 2}, {3, 4}});
  CHECK(tf::repeat(p, {2, 3}, 0).to_vector<int>() == std::vector<int>{1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  CHECK(tf::repeat(p, {2, 3}, 0).shape() == tf::Shape{5, 2});
  CHECK(tf::repeat(p, {2, 3}, 1).to_vector<int>() == std::vector<int>{1, 1, 2, 2, 2, 3, 3, 4, 4, 4});
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
