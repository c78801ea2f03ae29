// tf::losses and tf::metrics: values against hand computations (Keras' documented examples
// among them), Keras' probability clipping, reductions, and gradients.
#include <cmath>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;

namespace {

constexpr double kEps = 1e-7;  // Keras' backend.epsilon()

double clip(double p) { return std::min(std::max(p, kEps), 1 - kEps); }

// Keras' binary_crossentropy on one probability, with its clipping and epsilons.
double bce(double y, double p) {
  double q = clip(p);
  return -(y * std::log(q + kEps) + (1 - y) * std::log(1 - q + kEps));
}

double bce_logits(double y, double x) {
  return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
}

}  // namespace

// ---- losses -------------------------------------------------------------------------------------

TEST_CASE("MeanSquaredError averages over the last axis, then over the batch", "[losses]") {
  tf::losses::MeanSquaredError mse;
  auto y_true = tf::constant({{0.f, 1.f}, {0.f, 0.f}});
  auto y_pred = tf::constant({{1.f, 1.f}, {1.f, 0.f}});
  CHECK(mse(y_true, y_pred).item<float>() == 0.5f);  // Keras' documented example
  CHECK(mse(y_true, y_pred).shape() == tf::Shape{});
  CHECK(mse.call(y_true, y_pred).to_vector<float>() == std::vector<float>{0.5f, 0.5f});
  tf::losses::MeanSquaredError sum({.reduction = tf::losses::Reduction::sum});
  CHECK(sum(y_true, y_pred).item<float>() == 1.f);
  tf::losses::MeanSquaredError none({.reduction = tf::losses::Reduction::none});
  CHECK(none(y_true, y_pred).shape() == tf::Shape{2});
  // Targets [N] meet predictions [N, 1]; integer targets are cast.
  CHECK(mse(tf::constant({1, 3}), tf::constant({{2.0}, {1.0}})).item<double>() == 2.5);
  CHECK_THROWS_AS(mse(tf::constant({1}), tf::constant({1})), tf::InvalidArgumentError);
}

TEST_CASE("BinaryCrossentropy on probabilities uses Keras' clipping and epsilons", "[losses]") {
  tf::losses::BinaryCrossentropy loss;
  auto y_true = tf::constant({{0.0, 1.0}, {0.0, 0.0}});
  auto y_pred = tf::constant({{0.6, 0.4}, {0.4, 0.6}});
  double want = ((bce(0, 0.6) + bce(1, 0.4)) / 2 + (bce(0, 0.4) + bce(0, 0.6)) / 2) / 2;
  CHECK(loss(y_true, y_pred).item<double>() == Approx(want).epsilon(1e-12));
  CHECK(want == Approx(0.815).epsilon(1e-3));  // Keras' documented value
  // p = 0 for a positive target: clipped to 1e-7, so -log(2e-7) rather than infinity.
  CHECK(loss(tf::constant({1.0}), tf::constant({0.0})).item<double>() ==
        Approx(-std::log(2e-7)).epsilon(1e-9));
  CHECK(loss(tf::constant({1.f}), tf::constant({0.f})).item<float>() ==
        Approx(-std::log(2e-7)).epsilon(1e-5));
  CHECK(std::isfinite(loss(tf::constant({0.f}), tf::constant({1.f})).item<float>()));
}

TEST_CASE("BinaryCrossentropy from logits is the stable sigmoid cross-entropy", "[losses]") {
  tf::losses::BinaryCrossentropy loss({.from_logits = true});
  Vec logits{-18.6, 0.51, 2.94, -12.8}, labels{0, 1, 0, 0};
  double want = 0;
  for (int i = 0; i < 4; ++i) want += bce_logits(labels[i], logits[i]) / 4;
  CHECK(loss(tf::constant({0.0, 1.0, 0.0, 0.0}), tf::constant({-18.6, 0.51, 2.94, -12.8}))
            .item<double>() == Approx(want).epsilon(1e-12));
  CHECK(want == Approx(0.865).epsilon(1e-3));  // Keras' documented value
  CHECK(loss(tf::constant({1.f}), tf::constant({-200.f})).item<float>() == Approx(200.f));

  // d/dx = (sigmoid(x) - y) / N.
  auto x = tf::constant({{0.5, -1.0}});
  tf::GradientTape tape;
  tape.watch(x);
  tf::Tensor g = tape.gradient(loss(tf::constant({{1.0, 0.0}}), x), x);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  CHECK_THAT(g.to_vector<double>(), M::Approx(Vec{(sig(0.5) - 1) / 2, sig(-1.0) / 2}));
}

TEST_CASE("SparseCategoricalCrossentropy on probabilities clips and renormalises as Keras",
          "[losses]") {
  tf::losses::SparseCategoricalCrossentropy loss;
  auto y_pred = tf::constant({{0.05, 0.95, 0.0}, {0.1, 0.8, 0.1}});
  // Row 0: log of the clipped probabilities, then a softmax: p = 0.95 / (1 + 1e-7).
  double row0 = -std::log(0.95 / (0.05 + 0.95 + kEps)), row1 = -std::log(0.1);
  CHECK(loss(tf::constant({1, 2}), y_pred).item<double>() ==
        Approx((row0 + row1) / 2).epsilon(1e-12));
  CHECK((row0 + row1) / 2 == Approx(1.177).epsilon(1e-3));  // Keras' documented value
  // Probability 0 for the true class: clipped to 1e-7, so -log(1e-7), not infinity.
  CHECK(loss(tf::constant({0}), tf::constant({{0.0, 1.0}})).item<double>() ==
        Approx(-std::log(kEps)).epsilon(1e-9));
  CHECK(loss(tf::constant({0}), tf::constant({{0.f, 1.f}})).item<float>() ==
        Approx(16.118095).epsilon(1e-5));
  // int64 labels, labels [N, 1] and float labels give the same.
  double two = loss(tf::constant({1, 2}), y_pred).item<double>();
  CHECK(loss(tf::constant({int64_t(1), int64_t(2)}), y_pred).item<double>() == two);
  CHECK(loss(tf::constant({{1}, {2}}), y_pred).item<double>() == two);
  CHECK(loss(tf::constant({1.0, 2.0}), y_pred).item<double>() == two);
  CHECK_THROWS_AS(loss(tf::constant({3, 0}), y_pred), tf::InvalidArgumentError);
}

TEST_CASE("SparseCategoricalCrossentropy from logits: -log_softmax at the label", "[losses]") {
  tf::losses::SparseCategoricalCrossentropy loss({.from_logits = true});
  auto logits = tf::constant({{2.0, 1.0, 0.1}, {0.5, 2.5, 0.3}});
  auto lse = [](Vec v) {
    double s = 0;
    for (double e : v) s += std::exp(e);
    return std::log(s);
  };
  double want = ((lse({2, 1, 0.1}) - 2.0) + (lse({0.5, 2.5, 0.3}) - 0.3)) / 2;
  CHECK(loss(tf::constant({0, 2}), logits).item<double>() == Approx(want).epsilon(1e-12));
  tf::losses::SparseCategoricalCrossentropy none(
      {.from_logits = true, .reduction = tf::losses::Reduction::none});
  CHECK(none(tf::constant({0, 2}), logits).shape() == tf::Shape{2});

  // d/dlogits = (softmax - one_hot) / N, and finite differences agree.
  tf::GradientTape tape;
  tape.watch(logits);
  tf::Tensor g = tape.gradient(loss(tf::constant({0, 2}), logits), logits);
  Vec sm = tf::nn::softmax(logits).to_vector<double>();
  CHECK_THAT(
      g.to_vector<double>(),
      M::Approx(Vec{(sm[0] - 1) / 2, sm[1] / 2, sm[2] / 2, sm[3] / 2, sm[4] / 2, (sm[5] - 1) / 2}));
  auto labels = tf::constant({0, 2});
  CHECK(tf::test::max_gradient_error([&](auto& in) { return loss(labels, in[0]); }, {logits}) <
        1e-7);
  tf::losses::SparseCategoricalCrossentropy probs;
  auto p = tf::constant({{0.2, 0.5, 0.3}, {0.6, 0.1, 0.3}});
  CHECK(tf::test::max_gradient_error([&](auto& in) { return probs(labels, in[0]); }, {p}) < 1e-7);
}

// ---- metrics ------------------------------------------------------------------------------------

TEST_CASE("metrics::Mean averages every value it is given; reset_state clears it", "[metrics]") {
  tf::metrics::Mean mean({.name = "train_loss"});
  CHECK(mean.name() == "train_loss");
  CHECK(tf::metrics::Mean().name() == "mean");
  CHECK(mean.result().item<float>() == 0.f);  // nothing yet: 0, not NaN
  mean.update_state(1.0);
  mean.update_state(2.0);
  mean.update_state(3.0);
  CHECK(mean.result().item<float>() == 2.f);
  CHECK(mean.result().dtype() == tf::float32);
  mean.update_state(tf::constant({4.f, 5.f}));  // tensors add each element
  CHECK(mean.result().item<float>() == 3.f);
  CHECK(mean(tf::constant(9.0)).item<float>() == 4.f);
  CHECK(mean.count() == 6.0);
  mean.reset_state();
  CHECK(mean.result().item<float>() == 0.f);
  mean.update_state(tf::constant({1, 2}));
  CHECK(mean.result().item<float>() == 1.5f);
}

TEST_CASE("metrics::SparseCategoricalAccuracy counts argmax == label", "[metrics]") {
  tf::metrics::SparseCategoricalAccuracy acc;
  CHECK(acc.name() == "sparse_categorical_accuracy");
  // Keras' documented example: 0.5.
  acc.update_state(tf::constant({2, 1}), tf::constant({{0.1f, 0.6f, 0.3f}, {0.05f, 0.95f, 0.f}}));
  CHECK(acc.result().item<float>() == 0.5f);
  // Logits work the same; labels [N, 1] and float labels too. 2 of 3 more right: 3/5.
  acc.update_state(tf::constant({{0.0}, {2.0}, {1.0}}),
                   tf::constant({{3.f, -1.f, 0.f}, {0.f, 1.f, 5.f}, {2.f, 1.f, 0.f}}));
  CHECK(acc.result().item<float>() == Approx(0.6f));
  CHECK(acc(tf::constant({int64_t(0)}), tf::constant({{1.f, 0.f}})).item<float>() ==
        Approx(4.f / 6.f));
  acc.reset_state();
  CHECK(acc.result().item<float>() == 0.f);
  CHECK_THROWS_AS(acc.update_state(tf::constant({1, 2, 3}), tf::constant({{1.f, 0.f}})),
                  tf::InvalidArgumentError);
}
