// tf::nn activations and losses: hand-computed values and gradients, float64 finite
// differences, numerically extreme inputs, and argument errors.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;

namespace {

// Central differences in float64 (h = 1e-6) are good to ~1e-9 on these O(1) smooth functions.
constexpr double kGradTol = 1e-6;

using test::grad_of;
using test::normal64;
using test::signed_away_from_zero;
using test::uniform64;

Vec softmax_ref(const Vec& v) {
  double m = v[0];
  for (double e : v) m = std::max(m, e);
  double s = 0;
  for (double e : v) s += std::exp(e - m);
  Vec r;
  for (double e : v) r.push_back(std::exp(e - m) / s);
  return r;
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

// ---- activations ------------------------------------------------------------------------------

TEST_CASE("relu zeroes negatives; its gradient is 1 above 0 and 0 at and below 0", "[ops][nn]") {
  CHECK_THAT(tf::nn::relu(tf::constant({-2.0, 0.0, 3.0})).to_vector<double>(),
             M::Approx(Vec{0, 0, 3}));
  CHECK(tf::nn::relu(tf::constant({-2, 5})).to_vector<int32_t>() == std::vector<int32_t>{0, 5});
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto g = grad_of([](const tf::Tensor& t) { return tf::nn::relu(t); },
                     tf::constant({-2.0, 0.0, 3.0}));
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{0, 0, 1}));
    tf::random::set_seed(21);
    auto x = signed_away_from_zero({2, 3}, 0.1, 2);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::relu(in[0]); }, {x}) <
          kGradTol);
  }
}

TEST_CASE("relu6 clamps to [0, 6]; the gradient is 1 strictly inside", "[ops][nn]") {
  CHECK_THAT(tf::nn::relu6(tf::constant({-1.0, 3.0, 7.0})).to_vector<double>(),
             M::Approx(Vec{0, 3, 6}));
  CHECK_THAT(tf::nn::relu6(tf::constant({-1.f, 6.5f})).to_vector<float>(),
             M::Approx(std::vector<float>{0, 6}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto g = grad_of([](const tf::Tensor& t) { return tf::nn::relu6(t); },
                     tf::constant({-1.0, 3.0, 7.0}));
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{0, 1, 0}));
    tf::random::set_seed(22);
    // Values from (-3, 9): around both kinks, a random point hits 0 or 6 with probability 0.
    auto x = uniform64({3, 4}, -3, 9);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::relu6(in[0]); }, {x}) <
          kGradTol);
  }
}

TEST_CASE("leaky_relu scales negatives by alpha (default 0.2), gradient alpha or 1", "[ops][nn]") {
  auto x = tf::constant({-2.0, 3.0});
  CHECK_THAT(tf::nn::leaky_relu(x).to_vector<double>(), M::Approx(Vec{-0.4, 3.0}));
  CHECK_THAT(tf::nn::leaky_relu(x, 0.1).to_vector<double>(), M::Approx(Vec{-0.2, 3.0}));
  CHECK(tf::nn::leaky_relu(tf::constant(-1.f)).dtype() == tf::float32);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto xd = x.to(device);
    CHECK_THAT(
        grad_of([](const tf::Tensor& t) { return tf::nn::leaky_relu(t); }, xd).to_vector<double>(),
        M::Approx(Vec{0.2, 1.0}));
    CHECK_THAT(grad_of([](const tf::Tensor& t) { return tf::nn::leaky_relu(t, 0.01); }, xd)
                   .to_vector<double>(),
               M::Approx(Vec{0.01, 1.0}));
    tf::random::set_seed(23);
    auto r = signed_away_from_zero({2, 3}, 0.1, 2);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::leaky_relu(in[0], 0.3); },
                                       {r}) < kGradTol);
  }
}

TEST_CASE("elu is e^x - 1 below 0 and x above, finite for huge inputs", "[ops][nn]") {
  auto x = tf::constant({-1.0, 2.0, 1000.0, -1000.0});
  CHECK_THAT(tf::nn::elu(x).to_vector<double>(),
             M::Approx(Vec{std::exp(-1.0) - 1, 2.0, 1000.0, -1.0}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto g = grad_of([](const tf::Tensor& t) { return tf::nn::elu(t); }, x.to(device));
    // d/dx (e^x - 1) = e^x; no NaN from the unused branch at x = 1000.
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{std::exp(-1.0), 1.0, 1.0, 0.0}));
    tf::random::set_seed(24);
    auto r = signed_away_from_zero({2, 3}, 0.1, 2);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::elu(in[0]); }, {r}) <
          kGradTol);
  }
}

TEST_CASE("gelu, exact (erf) and approximate (tanh) forms, match their formulas", "[ops][nn]") {
  const Vec v{-1.5, 0.0, 1.0, 2.0};
  auto x = tf::constant(v, tf::Shape{4});
  Vec exact, approx;
  for (double e : v) {
    exact.push_back(0.5 * e * (1 + std::erf(e / std::sqrt(2.0))));
    approx.push_back(0.5 * e * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (e + 0.044715 * e * e * e))));
  }
  CHECK_THAT(tf::nn::gelu(x).to_vector<double>(), M::Approx(exact));
  CHECK_THAT(tf::nn::gelu(x, true).to_vector<double>(), M::Approx(approx));
  CHECK(tf::nn::gelu(tf::constant(1.0)).item<double>() == Approx(0.8413447460685429));
  CHECK_THROWS_AS(tf::nn::gelu(tf::constant({1, 2})), tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    // d/dx gelu at 0 is Φ(0) = 0.5 in both forms.
    CHECK(grad_of([](const tf::Tensor& t) { return tf::nn::gelu(t); }, tf::constant(0.0))
              .item<double>() == Approx(0.5));
    CHECK(grad_of([](const tf::Tensor& t) { return tf::nn::gelu(t, true); }, tf::constant(0.0))
              .item<double>() == Approx(0.5));
    // At 1: Φ(1) + φ(1).
    const double phi1 = std::exp(-0.5) / std::sqrt(2 * M_PI);
    CHECK(grad_of([](const tf::Tensor& t) { return tf::nn::gelu(t); }, tf::constant(1.0))
              .item<double>() == Approx(0.8413447460685429 + phi1));
    tf::random::set_seed(25);
    auto r = normal64({2, 3}) * 2;
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::gelu(in[0]); }, {r}) <
          kGradTol);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::gelu(in[0], true); }, {r}) <
          kGradTol);
  }
}

TEST_CASE("softplus is log(1 + e^x), exact at ±1000, gradient sigmoid(x)", "[ops][nn]") {
  CHECK(tf::nn::softplus(tf::constant(0.0)).item<double>() == Approx(std::log(2.0)));
  CHECK_THAT(tf::nn::softplus(tf::constant({-2.0, 3.0})).to_vector<double>(),
             M::Approx(Vec{std::log1p(std::exp(-2.0)), std::log1p(std::exp(3.0))}));
  CHECK(tf::nn::softplus(tf::constant(1000.0)).item<double>() == 1000.0);
  CHECK(tf::nn::softplus(tf::constant(1000.f)).item<float>() == 1000.f);
  CHECK(tf::nn::softplus(tf::constant(-1000.0)).item<double>() == 0.0);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto sp = [](const tf::Tensor& t) { return tf::nn::softplus(t); };
    CHECK(grad_of(sp, tf::constant(0.0)).item<double>() == Approx(0.5));
    CHECK(grad_of(sp, tf::constant(1000.0)).item<double>() == 1.0);
    CHECK(grad_of(sp, tf::constant(1000.f)).item<float>() == 1.f);
    CHECK(grad_of(sp, tf::constant(-1000.0)).item<double>() == Approx(0.0).margin(1e-300));
    CHECK(grad_of(sp, tf::constant(1.5)).item<double>() == Approx(sigmoid_ref(1.5)));
    tf::random::set_seed(26);
    auto r = signed_away_from_zero({2, 3}, 0.1, 3);  // |x| enters the stable form: avoid 0
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::softplus(in[0]); }, {r}) <
          kGradTol);
  }
}

// ---- softmax family ---------------------------------------------------------------------------

TEST_CASE("softmax and log_softmax: values, axis, and finite results for logits [1000, 0]",
          "[ops][nn]") {
  auto logits = tf::constant({{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}});
  Vec expect = softmax_ref({1, 2, 3});
  for (int i = 0; i < 3; ++i) expect.push_back(1.0 / 3);
  CHECK_THAT(tf::nn::softmax(logits).to_vector<double>(), M::Approx(expect));
  Vec log_expect;
  for (double e : expect) log_expect.push_back(std::log(e));
  CHECK_THAT(tf::nn::log_softmax(logits).to_vector<double>(), M::Approx(log_expect));
  // axis = 0 normalises the columns.
  Vec col = softmax_ref({1, 0});
  Vec col_expect{col[0],
                 softmax_ref({2, 0})[0],
                 softmax_ref({3, 0})[0],
                 col[1],
                 softmax_ref({2, 0})[1],
                 softmax_ref({3, 0})[1]};
  CHECK_THAT(tf::nn::softmax(logits, 0).to_vector<double>(), M::Approx(col_expect));
  // Huge logits: the max is subtracted first, so nothing overflows.
  auto big = tf::constant({1000.0, 0.0});
  CHECK_THAT(tf::nn::softmax(big).to_vector<double>(), M::Approx(Vec{1.0, 0.0}));
  auto ls = tf::nn::log_softmax(big).to_vector<double>();
  CHECK(std::isfinite(ls[0]));
  CHECK(std::isfinite(ls[1]));
  CHECK_THAT(ls, M::Approx(Vec{0.0, -1000.0}));
  auto ls32 = tf::nn::log_softmax(tf::constant({1000.f, 0.f})).to_vector<float>();
  CHECK_THAT(ls32, M::Approx(std::vector<float>{0.f, -1000.f}));
  CHECK_THROWS_AS(tf::nn::softmax(tf::constant({1, 2})), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::nn::log_softmax(logits, 2), tf::InvalidArgumentError);
}

TEST_CASE("softmax/log_softmax gradients: closed form and finite differences", "[ops][nn]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({1.0, 2.0, 3.0});
    Vec p = softmax_ref({1, 2, 3});
    // Weighted target w·softmax(x): d/dx_j = p_j (w_j - Σ w p).
    auto w = tf::constant({1.0, 0.0, 0.0});
    auto g = grad_of([&](const tf::Tensor& t) { return tf::nn::softmax(t) * w; }, x);
    CHECK_THAT(g.to_vector<double>(),
               M::Approx(Vec{p[0] * (1 - p[0]), -p[1] * p[0], -p[2] * p[0]}));
    // Σ softmax = 1 is constant: its gradient is 0.
    auto g0 = grad_of([](const tf::Tensor& t) { return tf::nn::softmax(t); }, x);
    CHECK_THAT(g0.to_vector<double>(), M::Approx(Vec{0, 0, 0}).margin(1e-12));
    // d/dx Σ log_softmax(x) = 1 - n·p.
    auto gl = grad_of([](const tf::Tensor& t) { return tf::nn::log_softmax(t); }, x);
    CHECK_THAT(gl.to_vector<double>(), M::Approx(Vec{1 - 3 * p[0], 1 - 3 * p[1], 1 - 3 * p[2]}));
    // Gradients at [1000, 0] are finite.
    auto gb = grad_of(
        [&](const tf::Tensor& t) {
          return tf::nn::log_softmax(t) * tf::constant({0.0, 1.0});
        },
        tf::constant({1000.0, 0.0}));
    CHECK_THAT(gb.to_vector<double>(), M::Approx(Vec{-1.0, 1.0}));
    tf::random::set_seed(27);
    auto r = normal64({2, 4});
    for (int axis : {-1, 0}) {
      INFO("axis " << axis);
      CHECK(tf::test::max_gradient_error([axis](auto& in) { return tf::nn::softmax(in[0], axis); },
                                         {r}) < kGradTol);
      CHECK(tf::test::max_gradient_error(
                [axis](auto& in) { return tf::nn::log_softmax(in[0], axis); }, {r}) < kGradTol);
    }
  }
}

// ---- bias_add, l2_normalize -------------------------------------------------------------------

TEST_CASE("bias_add adds along the last axis; the bias gradient sums the other axes", "[ops][nn]") {
  auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  auto b = tf::constant({10.0, 20.0, 30.0});
  CHECK_THAT(tf::nn::bias_add(x, b).to_vector<double>(), M::Approx(Vec{11, 22, 33, 14, 25, 36}));
  CHECK_THROWS_AS(tf::nn::bias_add(x, tf::constant({1.0, 2.0})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::nn::bias_add(x, tf::constant({1.0, 2.0})), Catch::Contains("[Op:BiasAdd]"));
  CHECK_THROWS_AS(tf::nn::bias_add(x, tf::constant({{1.0, 2.0, 3.0}})), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::nn::bias_add(x, tf::constant({1.f, 2.f, 3.f})), tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto xd = x.to(device), bd = b.to(device);
    tf::GradientTape tape;
    tape.watch({xd, bd});
    auto g = tape.gradient(tf::nn::bias_add(xd, bd) * xd, {xd, bd});
    CHECK_THAT(g[0].to_vector<double>(), M::Approx(Vec{12, 24, 36, 18, 30, 42}));  // 2x + b
    CHECK_THAT(g[1].to_vector<double>(), M::Approx(Vec{5, 7, 9}));  // column sums of x
    tf::random::set_seed(28);
    auto rx = normal64({2, 2, 3}), rb = normal64({3});
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::bias_add(in[0], in[1]); },
                                       {rx, rb}) < kGradTol);
  }
}

TEST_CASE("l2_normalize divides by the L2 norm along axes; zero vectors stay zero", "[ops][nn]") {
  CHECK_THAT(tf::nn::l2_normalize(tf::constant({3.0, 4.0})).to_vector<double>(),
             M::Approx(Vec{0.6, 0.8}));
  auto m = tf::constant({{3.0, 0.0}, {4.0, 5.0}});
  CHECK_THAT(tf::nn::l2_normalize(m).to_vector<double>(),
             M::Approx(Vec{1, 0, 4 / std::sqrt(41.0), 5 / std::sqrt(41.0)}));
  CHECK_THAT(tf::nn::l2_normalize(m, {0}).to_vector<double>(), M::Approx(Vec{0.6, 0, 0.8, 1}));
  auto all = tf::nn::l2_normalize(m, {0, 1}).to_vector<double>();
  CHECK_THAT(all, M::Approx(Vec{3 / std::sqrt(50.0), 0, 4 / std::sqrt(50.0), 5 / std::sqrt(50.0)}));
  auto z = tf::nn::l2_normalize(tf::zeros({3}, tf::float64)).to_vector<double>();
  CHECK_THAT(z, M::Approx(Vec{0, 0, 0}));
  CHECK_THROWS_AS(tf::nn::l2_normalize(tf::constant({3, 4})), tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    // d/dx (x/|x|)·w = (w - u(u·w))/|x| with u = x/|x|: at x = (3,4), w = (1,0): (0.64, -0.48)/5.
    auto g = grad_of(
        [](const tf::Tensor& t) {
          return tf::nn::l2_normalize(t) * tf::constant({1.0, 0.0});
        },
        tf::constant({3.0, 4.0}));
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{0.128, -0.096}));
    tf::random::set_seed(29);
    auto r = normal64({2, 3});
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::l2_normalize(in[0]); }, {r}) <
          kGradTol);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::l2_normalize(in[0], {0}); },
                                       {r}) < kGradTol);
  }
}

// ---- cross-entropy losses ---------------------------------------------------------------------

TEST_CASE("sparse softmax cross-entropy: per-example -log p[label], gradient softmax - one_hot",
          "[ops][nn]") {
  auto logits = tf::constant({{1.0, 2.0, 3.0}, {1.0, 2.0, 3.0}});
  auto labels = tf::constant({0, 2});
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  auto loss = tf::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
  CHECK(loss.shape() == tf::Shape{2});
  CHECK(loss.dtype() == tf::float64);
  CHECK_THAT(loss.to_vector<double>(), M::Approx(Vec{lse - 1, lse - 3}));
  // int64 labels and huge logits work too.
  auto big = tf::nn::sparse_softmax_cross_entropy_with_logits(tf::constant({int64_t(1)}),
                                                              tf::constant({{1000.0, 0.0}}));
  CHECK_THAT(big.to_vector<double>(), M::Approx(Vec{1000.0}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto ld = logits.to(device), lb = labels.to(device);
    auto g = grad_of(
        [&](const tf::Tensor& t) {
          return tf::nn::sparse_softmax_cross_entropy_with_logits(lb, t);
        },
        ld);
    Vec p = softmax_ref({1, 2, 3});
    CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{p[0] - 1, p[1], p[2], p[0], p[1], p[2] - 1}));
    tf::random::set_seed(30);
    auto r = normal64({3, 4});
    auto lab = tf::constant({3, 0, 1});
    CHECK(tf::test::max_gradient_error(
              [lab](auto& in) {
                return tf::nn::sparse_softmax_cross_entropy_with_logits(lab, in[0]);
              },
              {r}) < kGradTol);
  }
}

TEST_CASE("sparse softmax cross-entropy rejects out-of-range labels, bad ranks and dtypes",
          "[ops][nn]") {
  auto logits = tf::zeros({2, 3}, tf::float64);
  using tf::nn::sparse_softmax_cross_entropy_with_logits;
  CHECK_THROWS_AS(sparse_softmax_cross_entropy_with_logits(tf::constant({0, 3}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      sparse_softmax_cross_entropy_with_logits(tf::constant({0, 3}), logits),
      Catch::Contains("3") && Catch::Contains("[Op:SparseSoftmaxCrossEntropyWithLogits]"));
  CHECK_THROWS_AS(sparse_softmax_cross_entropy_with_logits(tf::constant({-1, 0}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(sparse_softmax_cross_entropy_with_logits(tf::constant({0, 1, 2}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(sparse_softmax_cross_entropy_with_logits(tf::constant({{0, 1}}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(sparse_softmax_cross_entropy_with_logits(tf::constant({0.0, 1.0}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(
      sparse_softmax_cross_entropy_with_logits(tf::constant({0, 1}), tf::zeros({2, 3}, tf::int32)),
      tf::InvalidArgumentError);
}

TEST_CASE("softmax cross-entropy: -Σ labels·log_softmax, gradients for logits and labels",
          "[ops][nn]") {
  auto logits = tf::constant({{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}});
  auto labels = tf::constant({{0.0, 0.5, 0.5}, {1.0, 0.0, 0.0}});
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  auto loss = tf::nn::softmax_cross_entropy_with_logits(labels, logits);
  CHECK(loss.shape() == tf::Shape{2});
  CHECK_THAT(loss.to_vector<double>(), M::Approx(Vec{lse - 2.5, std::log(3.0)}));
  CHECK_THAT(tf::nn::softmax_cross_entropy_with_logits(tf::constant({{0.0, 1.0}}),
                                                       tf::constant({{1000.0, 0.0}}))
                 .to_vector<double>(),
             M::Approx(Vec{1000.0}));
  CHECK_THROWS_AS(tf::nn::softmax_cross_entropy_with_logits(tf::zeros({2, 2}, tf::float64), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::nn::softmax_cross_entropy_with_logits(tf::zeros({2, 3}), logits),
                  tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto ld = logits.to(device), yd = labels.to(device);
    tf::GradientTape tape;
    tape.watch({ld, yd});
    auto g = tape.gradient(tf::nn::softmax_cross_entropy_with_logits(yd, ld), {ld, yd});
    Vec p = softmax_ref({1, 2, 3});
    const double t = 1.0 / 3;
    // d/dlogits = softmax·Σlabels - labels; d/dlabels = -log_softmax.
    CHECK_THAT(g[0].to_vector<double>(), M::Approx(Vec{p[0], p[1] - 0.5, p[2] - 0.5, t - 1, t, t}));
    CHECK_THAT(
        g[1].to_vector<double>(),
        M::Approx(Vec{lse - 1, lse - 2, lse - 3, std::log(3.0), std::log(3.0), std::log(3.0)}));
    tf::random::set_seed(31);
    auto r = normal64({3, 4});
    auto lab = tf::nn::softmax(normal64({3, 4}));
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::nn::softmax_cross_entropy_with_logits(in[1], in[0]); },
              {r, lab}) < kGradTol);
  }
}

TEST_CASE("sigmoid cross-entropy: stable values at logits ±100, gradient sigmoid(x) - z",
          "[ops][nn]") {
  auto logits = tf::constant({0.0, 2.0, -1.0});
  auto labels = tf::constant({1.0, 0.0, 0.25});
  Vec expect;
  for (auto [x, z] : {std::pair{0.0, 1.0}, {2.0, 0.0}, {-1.0, 0.25}})
    expect.push_back(-z * std::log(sigmoid_ref(x)) - (1 - z) * std::log(1 - sigmoid_ref(x)));
  CHECK_THAT(tf::nn::sigmoid_cross_entropy_with_logits(labels, logits).to_vector<double>(),
             M::Approx(expect));
  CHECK(expect[0] == Approx(std::log(2.0)));
  // Extremes: the naive -log(sigmoid(-100)) would be -log(0) in float32.
  for (tf::DType dt : {tf::float32, tf::float64}) {
    INFO("dtype " << dt);
    auto x = tf::cast(tf::constant({100.0, -100.0, 100.0, -100.0}), dt);
    auto z = tf::cast(tf::constant({1.0, 1.0, 0.0, 0.0}), dt);
    auto v = tf::nn::sigmoid_cross_entropy_with_logits(z, x).to_vector<double>();
    for (double e : v) CHECK(std::isfinite(e));
    CHECK_THAT(v, M::Approx(Vec{0.0, 100.0, 100.0, 0.0}).margin(1e-6));
    tf::GradientTape tape;
    tape.watch(x);
    auto g = tape.gradient(tf::nn::sigmoid_cross_entropy_with_logits(z, x), x).to_vector<double>();
    for (double e : g) CHECK(std::isfinite(e));
    CHECK_THAT(g, M::Approx(Vec{0.0, -1.0, 1.0, 0.0}).margin(1e-6));
  }
  CHECK_THROWS_AS(tf::nn::sigmoid_cross_entropy_with_logits(tf::constant({1.0}), logits),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::nn::sigmoid_cross_entropy_with_logits(tf::constant({1.f, 0.f, 0.f}), logits),
                  tf::InvalidArgumentError);
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto ld = logits.to(device), zd = labels.to(device);
    tf::GradientTape tape;
    tape.watch({ld, zd});
    auto g = tape.gradient(tf::nn::sigmoid_cross_entropy_with_logits(zd, ld), {ld, zd});
    CHECK_THAT(g[0].to_vector<double>(),
               M::Approx(Vec{0.5 - 1.0, sigmoid_ref(2.0), sigmoid_ref(-1.0) - 0.25}));
    CHECK_THAT(g[1].to_vector<double>(), M::Approx(Vec{-0.0, -2.0, 1.0}).margin(1e-12));  // -x
    tf::random::set_seed(32);
    auto r = signed_away_from_zero({2, 3}, 0.1, 3);  // |x| and max(x, 0) have kinks at 0
    auto z = uniform64({2, 3}, 0, 1);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::nn::sigmoid_cross_entropy_with_logits(in[1], in[0]); },
              {r, z}) < kGradTol);
  }
}

TEST_CASE("relu backward is one ReluGrad op whose own gradient is exact (nested tapes)",
          "[ops][nn]") {
  auto x = tf::constant({-1.0, 2.0, 3.0});
  auto w = tf::constant({5.0, 7.0, 11.0});
  tf::GradientTape outer;
  outer.watch(w);
  tf::Tensor gx;
  {
    tf::GradientTape inner;
    inner.watch(x);
    gx = inner.gradient(tf::nn::relu(x) * w, x);  // w·[x > 0]
  }
  CHECK(gx.to_vector<double>() == std::vector<double>{0.0, 7.0, 11.0});
  // d/dw of sum(w·[x > 0]) = [x > 0]: flows through ReluGrad's gradient w.r.t. its upstream.
  CHECK(outer.gradient(gx, w).to_vector<double>() == std::vector<double>{0.0, 1.0, 1.0});
}
