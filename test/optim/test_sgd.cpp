#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;

namespace {

std::vector<float> values(const tf::Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_CASE("SGD defaults are Keras': learning_rate 0.01, momentum 0, no nesterov", "[optim]") {
  tf::optimizers::SGD opt;
  CHECK(opt.learning_rate() == 0.01f);
  CHECK(opt.momentum() == 0.f);
  CHECK_FALSE(opt.nesterov());
  CHECK(opt.iterations() == 0);
  CHECK_THROWS_AS(tf::optimizers::SGD({.momentum = 1.5f}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::optimizers::SGD({.momentum = -0.1f}), tf::InvalidArgumentError);
}

TEST_CASE("plain SGD updates w -= lr * g", "[optim]") {
  tf::Variable w(tf::constant({1.f, -2.f, 3.f}), {.name = "w"});
  tf::optimizers::SGD opt({.learning_rate = 0.5f});
  opt.apply_gradients({tf::constant({2.f, 4.f, -1.f})}, {w});
  CHECK(values(w.value()) == std::vector<float>{0.f, -4.f, 3.5f});
  opt.apply_gradients({tf::constant({2.f, 4.f, -1.f})}, {w});
  CHECK(values(w.value()) == std::vector<float>{-1.f, -6.f, 4.f});

  tf::Variable d(tf::constant(1.0), {.name = "d"});  // float64, lr 0.1
  tf::optimizers::SGD small({.learning_rate = 0.1f});
  small.apply_gradients({tf::constant(3.0)}, {d});
  CHECK(d.value().item<double>() == Approx(1.0 - 0.1 * 3.0).epsilon(1e-7));
}

TEST_CASE("SGD momentum 0.9, lr 0.1 on w^2/2 from w = 1 steps 0.9, 0.72, 0.486 (Keras)",
          "[optim]") {
  // Keras: v = m v - lr g; w += v. With g = w: v1 = -0.1, w1 = 0.9; v2 = -0.18, w2 = 0.72;
  // v3 = -0.234, w3 = 0.486.
  tf::Variable w(tf::constant(1.f), {.name = "w"});
  tf::optimizers::SGD opt({.learning_rate = 0.1f, .momentum = 0.9f});
  const std::vector<float> golden{0.9f, 0.72f, 0.486f};
  for (size_t step = 0; step < golden.size(); ++step) {
    INFO("step " << step + 1);
    tf::Tensor loss = opt.minimize([&] { return w * w / 2.f; }, {w});
    CHECK(loss.defined());
    CHECK(w.value().item<float>() == Approx(golden[step]).epsilon(1e-6));
  }
  CHECK(opt.iterations() == 3);
}

TEST_CASE("SGD nesterov momentum 0.9, lr 0.1 on w^2/2 from w = 1 steps 0.81, 0.5751, 0.327321",
          "[optim]") {
  // Keras: v = m v - lr g; w += m v - lr g. With g = w:
  // v1 = -0.1,     w1 = 1 - 0.09 - 0.1            = 0.81
  // v2 = -0.171,   w2 = 0.81 - 0.1539 - 0.081     = 0.5751
  // v3 = -0.21141, w3 = 0.5751 - 0.190269 - 0.05751 = 0.327321
  tf::Variable w(tf::constant(1.f), {.name = "w"});
  tf::optimizers::SGD opt({.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true});
  const std::vector<float> golden{0.81f, 0.5751f, 0.327321f};
  for (size_t step = 0; step < golden.size(); ++step) {
    INFO("step " << step + 1);
    tf::Tensor g = w.value();  // d(w^2/2)/dw
    opt.apply_gradients({g}, {w});
    CHECK(w.value().item<float>() == Approx(golden[step]).epsilon(1e-6));
  }
}

TEST_CASE("SGD momentum keeps separate velocity per variable", "[optim]") {
  tf::Variable a(tf::constant(1.f), {.name = "a"});
  tf::Variable b(tf::constant(1.f), {.name = "b"});
  tf::optimizers::SGD opt({.learning_rate = 0.1f, .momentum = 0.9f});
  opt.apply_gradients({tf::constant(1.f), tf::constant(0.f)}, {a, b});
  opt.apply_gradients({tf::constant(1.f), tf::constant(1.f)}, {a, b});
  // a: v = -0.1, -0.19 → 1 - 0.1 - 0.19 = 0.71; b: v = 0, -0.1 → 0.9.
  CHECK(a.value().item<float>() == Approx(0.71f).epsilon(1e-6));
  CHECK(b.value().item<float>() == Approx(0.9f).epsilon(1e-6));
}

TEST_CASE("iterations() counts apply_gradients calls", "[optim]") {
  tf::Variable w(tf::constant(0.f));
  tf::optimizers::SGD opt;
  CHECK(opt.iterations() == 0);
  for (int i = 1; i <= 4; ++i) {
    opt.apply_gradients({tf::constant(1.f)}, {w});
    CHECK(opt.iterations() == i);
  }
  opt.minimize([&] { return w * 3.f; }, {w});
  CHECK(opt.iterations() == 5);
}

TEST_CASE("minimize() records its own tape and descends the loss", "[optim]") {
  // Linear regression y = 2x + 1 by full-batch gradient descent on the mean squared error.
  auto x = tf::constant({0.f, 1.f, 2.f, 3.f});
  auto y = x * 2.f + 1.f;
  tf::Variable w(tf::constant(0.f), {.name = "w"});
  tf::Variable b(tf::constant(0.f), {.name = "b"});
  tf::optimizers::SGD opt({.learning_rate = 0.1f, .momentum = 0.5f});
  auto loss = [&] { return tf::reduce_mean(tf::square(w * x + b - y)); };
  float first = opt.minimize(loss, {w, b}).item<float>();
  CHECK(first == Approx(21.f));  // mean of (2x + 1)^2 = (1 + 9 + 25 + 49) / 4 at w = b = 0
  // The first step is exactly -lr * gradient: d/dw = -2 mean(x (2x+1)) = -17, d/db = -8.
  CHECK(w.value().item<float>() == Approx(1.7f));
  CHECK(b.value().item<float>() == Approx(0.8f));
  for (int i = 0; i < 200; ++i) opt.minimize(loss, {w, b});
  CHECK(loss().item<float>() < 1e-4f);
  CHECK(w.value().item<float>() == Approx(2.f).margin(1e-2));
  CHECK(b.value().item<float>() == Approx(1.f).margin(1e-2));
}

TEST_CASE("undefined gradients are skipped with a warning naming the variable", "[optim]") {
  tf::Variable used(tf::constant(1.f), {.name = "used"});
  tf::Variable unused(tf::constant(5.f), {.name = "unused"});
  tf::optimizers::SGD opt({.learning_rate = 0.5f});
  test::StderrCapture capture;
  opt.apply_gradients({tf::constant(2.f), tf::Tensor()}, {used, unused});
  std::string err = capture.text();
  CHECK_THAT(err, Catch::Contains("Gradients do not exist") && Catch::Contains("'unused'"));
  CHECK(used.value().item<float>() == 0.f);
  CHECK(unused.value().item<float>() == 5.f);
  CHECK(opt.iterations() == 1);

  // minimize() with a variable the loss does not use: skipped the same way.
  test::StderrCapture capture2;
  opt.minimize([&] { return used * 2.f; }, {used, unused});
  CHECK_THAT(capture2.text(), Catch::Contains("'unused'"));
  CHECK(used.value().item<float>() == -1.f);
  CHECK(unused.value().item<float>() == 5.f);
}

TEST_CASE("a gradient whose shape or dtype differs from its variable throws before any update",
          "[optim][errors]") {
  tf::Variable a(tf::constant({1.f, 2.f}), {.name = "a"});
  tf::Variable b(tf::constant({1.f, 2.f}), {.name = "b"});
  tf::optimizers::SGD opt({.learning_rate = 1.f});
  auto good = tf::constant({1.f, 1.f});
  auto wrong_shape = tf::constant({1.f, 1.f, 1.f});
  CHECK_THROWS_AS(opt.apply_gradients({good, wrong_shape}, {a, b}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(opt.apply_gradients({good, wrong_shape}, {a, b}),
                    Catch::Contains("(3,)") && Catch::Contains("(2,)") && Catch::Contains("'b'"));
  CHECK_THROWS_AS(opt.apply_gradients({good, tf::constant({1.0, 1.0})}, {a, b}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(opt.apply_gradients({good}, {a, b}), tf::InvalidArgumentError);
  CHECK(values(a.value()) == std::vector<float>{1.f, 2.f});
  CHECK(values(b.value()) == std::vector<float>{1.f, 2.f});
  CHECK(opt.iterations() == 0);
}
