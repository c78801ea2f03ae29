#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;

namespace {

std::vector<float> values(const tf::Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_CASE("seed example: tape.gradient(y, {w}) returns a vector holding dy/dw = 10",
          "[autodiff][seed]") {
  auto a = tf::constant(1.f), b = tf::constant(2.f), c = tf::constant(1.f);
  auto w = tf::constant(4.f);
  tf::GradientTape tape;
  tape.watch(w);
  auto y = a * tf::pow(w, 2.f) + b * w + c;
  std::vector<tf::Tensor> grads = tape.gradient(y, {w});
  REQUIRE(grads.size() == 1);
  CHECK(grads[0].item<float>() == 10.f);
  CHECK(grads[0].shape() == tf::Shape{});
  CHECK(grads[0].dtype() == tf::float32);
}

TEST_CASE("a persistent tape allows gradient() to be called twice", "[autodiff]") {
  auto x = tf::constant(3.f);
  tf::GradientTape tape({.persistent = true});
  tape.watch(x);
  auto y = x * x;
  auto z = y * y;  // x^4
  CHECK(tape.gradient(y, x).item<float>() == 6.f);
  CHECK(tape.gradient(z, x).item<float>() == 108.f);  // 4x^3
  CHECK(tape.gradient(z, y).item<float>() == 18.f);   // 2y
}

TEST_CASE("a second gradient() on a non-persistent tape throws RuntimeError with TF's message",
          "[autodiff]") {
  auto x = tf::constant(3.f);
  tf::GradientTape tape;
  tape.watch(x);
  auto y = x * x;
  CHECK(tape.gradient(y, x).item<float>() == 6.f);
  CHECK_THROWS_AS(tape.gradient(y, x), tf::RuntimeError);
  CHECK_THROWS_WITH(tape.gradient(y, x),
                    Catch::Equals("A non-persistent GradientTape can only be used to compute one "
                                  "set of gradients (or jacobians)"));
  CHECK_THROWS_AS(tape.jacobian(y, x), tf::RuntimeError);
}

TEST_CASE(
    "an unconnected source has an undefined gradient, or zeros with "
    "UnconnectedGradients::Zero",
    "[autodiff]") {
  auto x = tf::constant(2.f);
  auto z = tf::constant({1.0, 2.0, 3.0});  // float64, shape (3,)
  tf::GradientTape tape({.persistent = true});
  tape.watch({x, z});
  auto y = x * 5.f;
  auto none = tape.gradient(y, {x, z});
  REQUIRE(none.size() == 2);
  CHECK(none[0].item<float>() == 5.f);
  CHECK_FALSE(none[1].defined());

  auto zero = tape.gradient(y, {x, z}, tf::Tensor(), tf::UnconnectedGradients::Zero);
  CHECK(zero[0].item<float>() == 5.f);
  REQUIRE(zero[1].defined());
  CHECK(zero[1].shape() == z.shape());
  CHECK(zero[1].dtype() == tf::float64);
  CHECK(zero[1].to_vector<double>() == std::vector<double>{0.0, 0.0, 0.0});
}

TEST_CASE("ops run under stop_recording() are not recorded, so the source is unconnected",
          "[autodiff]") {
  auto x = tf::constant(2.f);
  tf::GradientTape tape({.persistent = true});
  tape.watch(x);
  tf::Tensor y;
  {
    auto pause = tape.stop_recording();
    y = x * x;
  }
  auto z = x * 3.f;  // recording again after the pause
  CHECK_FALSE(tape.gradient(y, x).defined());
  CHECK(tape.gradient(z, x).item<float>() == 3.f);
}

TEST_CASE("reset() forgets recorded ops and watches and lets a non-persistent tape be reused",
          "[autodiff]") {
  auto x = tf::constant(2.f);
  tf::GradientTape tape;
  tape.watch(x);
  auto y = x * x;
  CHECK(tape.gradient(y, x).item<float>() == 4.f);
  tape.reset();
  // The earlier record is gone, and x is no longer watched.
  auto y2 = x * x;
  CHECK_FALSE(tape.gradient(y2, x).defined());
  tape.reset();
  tape.watch(x);
  auto y3 = x * x * x;
  CHECK(tape.gradient(y3, x).item<float>() == 12.f);
}

TEST_CASE("a non-persistent tape lets go of what it recorded in gradient() and records no more",
          "[autodiff]") {
  // use_count() counts the holders of a tensor's buffer: the test's handles plus tape records.
  tf::Variable w(tf::constant({1.f, 2.f, 3.f}));
  const long unrecorded = w.peek().impl().use_count();  // the variable and peek()'s copy
  {
    tf::GradientTape tape;
    auto h = w * 3.f;  // Mul keeps only the constant: dh/dw = 3 does not read w
    auto y = tf::reduce_sum(h * h) + tf::reduce_sum(w * w);  // w * w keeps w (twice)
    CHECK(h.impl().use_count() > 1);
    CHECK(w.peek().impl().use_count() > unrecorded);
    auto g = tape.gradient(y, {w})[0];
    CHECK(values(g) == std::vector<float>{20.f, 40.f, 60.f});  // d/dw Σ(3w)² + w² = 20w
    CHECK(h.impl().use_count() == 1);
    CHECK(w.peek().impl().use_count() == unrecorded);  // so an optimizer may update w in place
    auto z = w * w;                                    // the tape is done: nothing is recorded
    CHECK(z.impl().use_count() == 1);
    CHECK(w.peek().impl().use_count() == unrecorded);
  }
  {
    tf::GradientTape tape({.persistent = true});
    auto h = w * 3.f;
    auto y = tf::reduce_sum(h * h);
    tape.gradient(y, {w});
    CHECK(h.impl().use_count() > 1);  // kept for the next gradient() call
    CHECK(values(tape.gradient(y, {w})[0]) == std::vector<float>{18.f, 36.f, 54.f});
  }
}

TEST_CASE(
    "the gradient with respect to a variable follows the values read under the tape, "
    "as TF's follows the handle, even after an assign",
    "[autodiff]") {
  {
    tf::Variable w(tf::constant(3.f));
    tf::GradientTape tape;
    auto y = w * w;  // reads w = 3
    w.assign(tf::constant(5.f));
    auto g = tape.gradient(y, {w})[0];
    REQUIRE(g.defined());
    CHECK(g.item<float>() == 6.f);  // 2 * 3, at the value read
  }
  {
    // Two reads of two values: both paths count (1 from the first read, 2 * 3 from the second).
    tf::Variable v(tf::constant(2.f));
    tf::GradientTape tape({.persistent = true});
    auto a = v * 1.f;
    v.assign_add(tf::constant(1.f));
    auto b = v * v;
    CHECK(tape.gradient(a + b, {v})[0].item<float>() == 7.f);
    CHECK(tape.jacobian(a + b, v).item<float>() == 7.f);
    CHECK(tape.gradient(a, {v})[0].item<float>() == 1.f);
  }
}

TEST_CASE("watched_variables() lists trainable variables read under the tape, in read order",
          "[autodiff][variable]") {
  tf::Variable v(tf::constant(3.f), {.name = "v"});
  tf::Variable u(tf::constant(5.f), {.name = "u"});
  tf::Variable frozen(tf::constant(7.f), {.name = "frozen", .trainable = false});
  tf::Variable unused(tf::constant(1.f), {.name = "unused"});
  {
    tf::GradientTape tape({.persistent = true});
    auto y = v * u * frozen + v;  // v read twice: listed once
    auto watched = tape.watched_variables();
    REQUIRE(watched.size() == 2);
    CHECK(watched[0].name() == "v");
    CHECK(watched[1].name() == "u");
    auto g = tape.gradient(y, {v, u, frozen, unused});
    CHECK(g[0].item<float>() == 36.f);  // u*frozen + 1
    CHECK(g[1].item<float>() == 21.f);  // v*frozen
    CHECK_FALSE(g[2].defined());        // non-trainable: never watched automatically
    CHECK_FALSE(g[3].defined());
  }
  {
    tf::GradientTape tape({.persistent = true, .watch_accessed_variables = false});
    auto y = v * u;
    CHECK(tape.watched_variables().empty());
    CHECK_FALSE(tape.gradient(y, v).defined());
    tape.watch(u);
    auto y2 = v * u;
    auto watched = tape.watched_variables();
    REQUIRE(watched.size() == 1);
    CHECK(watched[0] == u);
    CHECK(tape.gradient(y2, u).item<float>() == 3.f);
    CHECK_FALSE(tape.gradient(y2, v).defined());
  }
  {
    // A variable read before the tape existed is not watched by it.
    tf::Tensor early = v;
    tf::GradientTape tape;
    auto y = early * 2.f;
    CHECK(tape.watched_variables().empty());
    CHECK_FALSE(tape.gradient(y, v).defined());
  }
}

TEST_CASE("gradient with respect to a Variable has the variable's shape and dtype",
          "[autodiff][variable]") {
  tf::Variable w(tf::constant({{1.f, 2.f}, {3.f, 4.f}}), {.name = "w"});
  auto x = tf::constant({{1.f}, {-1.f}});  // (2, 1)
  tf::GradientTape tape;
  auto y = tf::reduce_sum(tf::matmul(w, x) * tf::matmul(w, x));  // sum((Wx)^2)
  auto g = tape.gradient(y, w);
  REQUIRE(g.defined());
  CHECK(g.shape() == tf::Shape{2, 2});
  CHECK(g.dtype() == tf::float32);
  // Wx = (-1, -1); dy/dW = 2 (Wx) x^T = [[-2, 2], [-2, 2]].
  CHECK(values(g) == std::vector<float>{-2.f, 2.f, -2.f, 2.f});
}

TEST_CASE("output_gradients weight each element of the target", "[autodiff]") {
  auto x = tf::constant({1.f, 2.f, 3.f});
  tf::GradientTape tape({.persistent = true});
  tape.watch(x);
  auto y = x * x;
  auto g = tape.gradient(y, x, tf::constant({1.f, 10.f, 100.f}));
  CHECK(values(g) == std::vector<float>{2.f, 40.f, 600.f});
  // A seed that does not match the target is refused.
  CHECK_THROWS_AS(tape.gradient(y, x, tf::constant({1.f, 2.f})), tf::InvalidArgumentError);
}

TEST_CASE("a non-scalar target is summed before differentiating", "[autodiff]") {
  auto x = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  tf::GradientTape tape;
  tape.watch(x);
  auto y = x * x;  // shape (2, 3): gradient of sum(y) = 2x
  auto g = tape.gradient(y, x);
  CHECK(g.shape() == tf::Shape{2, 3});
  CHECK(values(g) == std::vector<float>{2.f, 4.f, 6.f, 8.f, 10.f, 12.f});
}

// This must be the first integer watch in the process (the warning is printed once): ctest runs
// each case alone, and this file is the first test file in the runner.
TEST_CASE("watching an int32 tensor warns on stderr and gives an undefined gradient",
          "[autodiff]") {
  auto i = tf::constant({1, 2, 3});
  auto f = tf::constant(2.f);
  tf::GradientTape tape;
  test::StderrCapture capture;
  tape.watch({i, f});
  tape.watch(i);  // the warning is printed once
  std::string err = capture.text();
  CHECK_THAT(err, Catch::Contains("WARNING") && Catch::Contains("int32"));
  CHECK(err.find("WARNING") == err.rfind("WARNING"));
  auto y = i * 2;
  auto z = f * f;
  auto g = tape.gradient(z + tf::cast(tf::reduce_sum(y), tf::float32), {i, f});
  CHECK_FALSE(g[0].defined());
  CHECK(g[1].item<float>() == 4.f);
}

TEST_CASE("reading a trainable int32 variable under a tape neither watches it nor warns",
          "[autodiff][variable]") {
  tf::Variable step(tf::constant(0), {.name = "step"});  // trainable by default, as in TF
  tf::Variable w(tf::constant(2.f), {.name = "w"});
  tf::GradientTape tape;
  test::StderrCapture capture;
  auto y = w * tf::cast(step + 1, tf::float32);
  CHECK(capture.text().empty());  // TF warns only for an explicit watch()
  auto watched = tape.watched_variables();
  REQUIRE(watched.size() == 1);
  CHECK(watched[0] == w);
  CHECK(tape.gradient(y, {w, step})[0].item<float>() == 1.f);
}

TEST_CASE("a tensor used twice accumulates its gradients: d/dx x*x = 2x", "[autodiff]") {
  auto x = tf::constant({-1.5f, 0.f, 2.f});
  tf::GradientTape tape;
  tape.watch(x);
  auto g = tape.gradient(x * x, x);
  CHECK(values(g) == std::vector<float>{-3.f, 0.f, 4.f});
}

TEST_CASE("a tensor used along several paths sums every path", "[autodiff]") {
  auto x = tf::constant(3.0);
  tf::GradientTape tape;
  tape.watch(x);
  auto a = x * 2.0;
  auto y = a * x + tf::exp(a) - x;  // 2x^2 + e^(2x) - x
  CHECK(tape.gradient(y, x).item<double>() == Approx(4.0 * 3.0 + 2.0 * std::exp(6.0) - 1.0));
}

TEST_CASE("nested tapes: the second derivative of x^3 at 2 is 12", "[autodiff]") {
  auto x = tf::constant(2.f);
  tf::GradientTape outer;
  outer.watch(x);
  tf::GradientTape inner;
  inner.watch(x);
  auto y = x * x * x;
  auto dy = inner.gradient(y, x);
  CHECK(dy.item<float>() == 12.f);  // 3x^2
  auto d2y = outer.gradient(dy, x);
  REQUIRE(d2y.defined());
  CHECK(d2y.item<float>() == 12.f);  // 6x
}

TEST_CASE("three nested tapes: the third derivative of x^4 at 2 is 48", "[autodiff]") {
  auto x = tf::constant(2.f);
  tf::GradientTape t1;
  t1.watch(x);
  tf::GradientTape t2;
  t2.watch(x);
  tf::GradientTape t3;
  t3.watch(x);
  auto y = tf::pow(x, 4.f);
  auto d1 = t3.gradient(y, x);   // 4x^3 = 32
  auto d2 = t2.gradient(d1, x);  // 12x^2 = 48
  auto d3 = t1.gradient(d2, x);  // 24x = 48
  CHECK(d1.item<float>() == Approx(32.f));
  CHECK(d2.item<float>() == Approx(48.f));
  REQUIRE(d3.defined());
  CHECK(d3.item<float>() == Approx(48.f));
}

TEST_CASE("jacobian of y = x^2 for x of shape (3,) is diag(2x) of shape (3, 3)", "[autodiff]") {
  auto x = tf::constant({1.f, 2.f, 3.f});
  tf::GradientTape tape;
  tape.watch(x);
  auto y = x * x;
  auto j = tape.jacobian(y, x);
  CHECK(j.shape() == tf::Shape{3, 3});
  CHECK(values(j) == std::vector<float>{2.f, 0.f, 0.f, 0.f, 4.f, 0.f, 0.f, 0.f, 6.f});
}

TEST_CASE("jacobian of y (2,) with respect to x (2, 3) has shape (2, 2, 3)", "[autodiff]") {
  auto x = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  tf::GradientTape tape;
  tape.watch(x);
  auto y = tf::reduce_sum(x * x, {1});  // y_i = sum_k x_ik^2
  auto j = tape.jacobian(y, x);
  REQUIRE(j.shape() == tf::Shape{2, 2, 3});
  // J[i, r, k] = 2 x_rk when i == r, else 0.
  CHECK(values(j) == std::vector<float>{2.f,
                                        4.f,
                                        6.f,
                                        0.f,
                                        0.f,
                                        0.f,  //
                                        0.f,
                                        0.f,
                                        0.f,
                                        8.f,
                                        10.f,
                                        12.f});
}

TEST_CASE("jacobian of an unconnected source is undefined, or zeros of shape y+x with Zero",
          "[autodiff]") {
  auto x = tf::constant({1.f, 2.f});
  auto z = tf::constant({1.f, 2.f, 3.f});
  tf::GradientTape tape({.persistent = true});
  tape.watch({x, z});
  auto y = x * 2.f;
  CHECK_FALSE(tape.jacobian(y, z).defined());
  auto j = tape.jacobian(y, z, tf::UnconnectedGradients::Zero);
  CHECK(j.shape() == tf::Shape{2, 3});
  CHECK(values(j) == std::vector<float>(6, 0.f));
}

TEST_CASE("batch_jacobian of x W for x [b, n] is W^T per example, shape [b, m, n]", "[autodiff]") {
  auto x = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});    // b = 2, n = 3
  auto w = tf::constant({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}});  // (3, 2): m = 2
  tf::GradientTape tape;
  tape.watch(x);
  auto y = tf::matmul(x, w);  // (2, 2)
  auto bj = tape.batch_jacobian(y, x);
  REQUIRE(bj.shape() == tf::Shape{2, 2, 3});
  // B[b, i, j] = dy_bi / dx_bj = W[j, i].
  CHECK(values(bj) == std::vector<float>{1.f,
                                         3.f,
                                         5.f,
                                         2.f,
                                         4.f,
                                         6.f,  //
                                         1.f,
                                         3.f,
                                         5.f,
                                         2.f,
                                         4.f,
                                         6.f});
}

TEST_CASE("batch_jacobian of an element-wise square is diag(2 x_b) per example", "[autodiff]") {
  auto x = tf::constant({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}});  // b = 3, n = 2
  tf::GradientTape tape;
  tape.watch(x);
  auto bj = tape.batch_jacobian(x * x, x);
  REQUIRE(bj.shape() == tf::Shape{3, 2, 2});
  CHECK(values(bj) == std::vector<float>{2.f,
                                         0.f,
                                         0.f,
                                         4.f,  //
                                         6.f,
                                         0.f,
                                         0.f,
                                         8.f,  //
                                         10.f,
                                         0.f,
                                         0.f,
                                         12.f});
}

TEST_CASE("batch_jacobian refuses target and source with different batch sizes", "[autodiff]") {
  auto x = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
  tf::GradientTape tape;
  tape.watch(x);
  auto y = tf::reshape(x, tf::Shape{4});
  CHECK_THROWS_AS(tape.batch_jacobian(y, x), tf::InvalidArgumentError);
}

TEST_CASE("stop_gradient blocks the gradient through its argument", "[autodiff]") {
  auto x = tf::constant(3.f);
  tf::GradientTape tape({.persistent = true});
  tape.watch(x);
  auto y = x * tf::stop_gradient(x);  // d/dx = stop_gradient(x) = 3, not 2x = 6
  CHECK(tape.gradient(y, x).item<float>() == 3.f);
  CHECK_FALSE(tape.gradient(tf::stop_gradient(x * x), x).defined());
}

TEST_CASE(
    "custom_gradient: log(1 + e^x) with the stable rule has gradient 1 at x = 100, "
    "not NaN",
    "[autodiff]") {
  // TensorFlow's tf.custom_gradient documentation example.
  auto log1pexp = tf::custom_gradient(
      [](const std::vector<tf::Tensor>& in) { return tf::log(1.f + tf::exp(in[0])); },
      [](const tf::Tensor& upstream, const std::vector<tf::Tensor>& in, const tf::Tensor&) {
        return std::vector<tf::Tensor>{upstream * (1.f - 1.f / (1.f + tf::exp(in[0])))};
      });
  auto x = tf::constant(100.f);
  {
    tf::GradientTape tape;
    tape.watch(x);
    auto y = log1pexp({x});
    auto g = tape.gradient(y, x);
    REQUIRE(g.defined());
    CHECK(g.item<float>() == 1.f);
  }
  {
    // The naive formula's gradient is e^x / (1 + e^x) = inf/inf: NaN in float32.
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::log(1.f + tf::exp(x));
    CHECK(std::isnan(tape.gradient(y, x).item<float>()));
  }
  {
    // At a moderate x the custom rule agrees with the analytic sigmoid.
    auto x0 = tf::constant(0.5f);
    tf::GradientTape tape;
    tape.watch(x0);
    auto y = log1pexp({x0});
    CHECK(y.item<float>() == Approx(std::log1p(std::exp(0.5))));
    CHECK(tape.gradient(y, x0).item<float>() == Approx(1.0 / (1.0 + std::exp(-0.5))));
  }
}

TEST_CASE("custom_gradient records only its own rule: the forward ops are not differentiated",
          "[autodiff]") {
  auto x = tf::constant(2.f);
  tf::GradientTape tape;
  tape.watch(x);
  // Forward x^2, deliberately "wrong" rule 7 * upstream: the tape must use the rule.
  auto y = tf::custom_gradient(
      {x},
      [](const std::vector<tf::Tensor>& in) { return in[0] * in[0]; },
      [](const tf::Tensor& up, const std::vector<tf::Tensor>&, const tf::Tensor&) {
        return std::vector<tf::Tensor>{up * 7.f};
      });
  CHECK(y.item<float>() == 4.f);
  CHECK(tape.gradient(y * 3.f, x).item<float>() == 21.f);
}

TEST_CASE("custom_gradient with a backward written in tf ops supports second derivatives",
          "[autodiff]") {
  auto cube = tf::custom_gradient(
      [](const std::vector<tf::Tensor>& in) { return in[0] * in[0] * in[0]; },
      [](const tf::Tensor& up, const std::vector<tf::Tensor>& in, const tf::Tensor&) {
        return std::vector<tf::Tensor>{up * 3.f * in[0] * in[0]};  // 3x^2
      });
  auto x = tf::constant(2.f);
  tf::GradientTape outer;
  outer.watch(x);
  tf::GradientTape inner;
  inner.watch(x);
  auto y = cube({x});
  auto dy = inner.gradient(y, x);
  CHECK(dy.item<float>() == 12.f);
  auto d2y = outer.gradient(dy, x);
  REQUIRE(d2y.defined());
  CHECK(d2y.item<float>() == 12.f);  // 6x
}

TEST_CASE("tapes are per thread: ops run on another thread are not recorded", "[autodiff]") {
  auto x = tf::constant(3.f);
  tf::GradientTape tape({.persistent = true});
  tape.watch(x);
  tf::Tensor from_thread;
  float thread_grad = 0.f;
  std::thread worker([&] {
    from_thread = x * x;  // not recorded: no tape lives on this thread
    // A tape on the worker thread works independently of the main thread's tape.
    tf::GradientTape own;
    own.watch(x);
    thread_grad = own.gradient(x * x * x, x).item<float>();
  });
  worker.join();
  CHECK(from_thread.item<float>() == 9.f);
  CHECK_FALSE(tape.gradient(from_thread, x).defined());
  CHECK(thread_grad == 27.f);
  CHECK(tape.gradient(x * x, x).item<float>() == 6.f);  // the main tape still records
}

TEST_CASE("gradients have the source's dtype: float64 stays float64", "[autodiff]") {
  auto x = tf::constant({0.5, 1.5});
  tf::GradientTape tape;
  tape.watch(x);
  auto g = tape.gradient(tf::sin(x), x);
  CHECK(g.dtype() == tf::float64);
  CHECK_THAT(g.to_vector<double>(),
             Catch::Matchers::Approx(std::vector<double>{std::cos(0.5), std::cos(1.5)}));
}

TEST_CASE("tf::test::compute_gradient returns [x.size, y.size] Jacobians that agree",
          "[autodiff]") {
  auto x = tf::constant(std::vector<double>{0.5, -1.0, 2.0, 1.5, 0.25, -0.75}, tf::Shape{2, 3});
  auto f = [](std::vector<tf::Tensor>& in) { return tf::reduce_sum(in[0] * in[0], {1}); };
  auto [theoretical, numerical] = tf::test::compute_gradient(f, {x});
  REQUIRE(theoretical.size() == 1);
  REQUIRE(numerical.size() == 1);
  CHECK(theoretical[0].shape() == tf::Shape{6, 2});
  CHECK(numerical[0].shape() == tf::Shape{6, 2});
  // Row j (element j of x) has 2 x_j in the column of the row of x it belongs to.
  CHECK_THAT(
      theoretical[0].to_vector<double>(),
      Catch::Matchers::Approx(std::vector<double>{1, 0, -2, 0, 4, 0, 0, 3, 0, 0.5, 0, -1.5}));
  CHECK_THAT(numerical[0].to_vector<double>(),
             Catch::Matchers::Approx(std::vector<double>{1, 0, -2, 0, 4, 0, 0, 3, 0, 0.5, 0, -1.5})
                 .margin(1e-6));
  CHECK(tf::test::max_gradient_error(f, {x}) < 1e-6);

  // Two inputs with broadcasting: f(a, b) = a * b, a (2,), b (1,).
  auto a = tf::constant({1.0, 2.0});
  auto b = tf::constant({3.0});
  auto g = [](std::vector<tf::Tensor>& in) { return in[0] * in[1]; };
  auto [th2, nu2] = tf::test::compute_gradient(g, {a, b});
  REQUIRE(th2.size() == 2);
  CHECK(th2[0].shape() == tf::Shape{2, 2});
  CHECK(th2[1].shape() == tf::Shape{1, 2});
  CHECK_THAT(th2[0].to_vector<double>(), Catch::Matchers::Approx(std::vector<double>{3, 0, 0, 3}));
  CHECK_THAT(th2[1].to_vector<double>(), Catch::Matchers::Approx(std::vector<double>{1, 2}));
  CHECK_THAT(nu2[1].to_vector<double>(),
             Catch::Matchers::Approx(std::vector<double>{1, 2}).margin(1e-6));
}

TEST_CASE("TF idioms: sources and watch targets as std::vector<Variable> or std::vector<Tensor>",
          "[tape][api]") {
  // ../shared/API.md §12, written exactly as there.
  tf::layers::Sequential model({tf::layers::Dense({.units = 2})});
  const auto x = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
  model.build(x.shape());
  std::vector<tf::Variable> vars = model.trainable_variables();
  {
    tf::GradientTape tape;
    tf::Tensor loss = tf::reduce_sum(model(x));
    std::vector<tf::Tensor> grads = tape.gradient(loss, model.trainable_variables());
    REQUIRE(grads.size() == 2);
    // d sum(xW + b)/dW[i][j] = sum over rows of x[:, i]; d/db[j] = number of rows.
    CHECK(grads[0].to_vector<float>() == std::vector<float>{4.f, 4.f, 6.f, 6.f});
    CHECK(grads[1].to_vector<float>() == std::vector<float>{2.f, 2.f});
  }
  {
    tf::GradientTape tape({.watch_accessed_variables = false});
    tape.watch(model.trainable_variables());
    tf::Tensor loss = tf::reduce_sum(model(x));
    CHECK(tape.watched_variables().size() == 2);
    tf::optimizers::SGD opt({.learning_rate = 0.5f});
    const float b0 = vars[1].value().to_vector<float>()[0];
    opt.apply_gradients(tape.gradient(loss, vars), vars);
    CHECK(vars[1].value().to_vector<float>()[0] == b0 - 1.f);
  }
  {
    const auto x1 = tf::constant(3.0), x2 = tf::constant(5.0);
    tf::GradientTape tape({.persistent = true});
    tape.watch(std::vector<tf::Tensor>{x1, x2});
    tf::Tensor y = x1 * x1 * x2;
    std::vector<tf::Tensor> gx = tape.gradient(y, std::vector<tf::Tensor>{x1, x2});
    CHECK(gx[0].item<double>() == 30.0);  // 2 x1 x2
    CHECK(gx[1].item<double>() == 9.0);   // x1²
    // The list form of jacobian, from a vector or a braced list.
    const auto v = tf::constant({1.0, 2.0});
    tape.watch(v);
    tf::Tensor z = v * v;
    std::vector<tf::Tensor> js = tape.jacobian(z, std::vector<tf::Tensor>{v, x1});
    REQUIRE(js.size() == 2);
    CHECK(js[0].to_vector<double>() == std::vector<double>{2.0, 0.0, 0.0, 4.0});
    CHECK_FALSE(js[1].defined());  // z does not depend on x1
    std::vector<tf::Tensor> jb = tape.jacobian(z, {v}, tf::UnconnectedGradients::Zero);
    CHECK(jb[0].shape() == tf::Shape{2, 2});
  }
}

TEST_CASE("the tape keeps only the tensors a gradient rule reads", "[autodiff]") {
  // 1000 floats: too big for the handle's inline buffer, so the tape would hold real memory.
  std::vector<float> xs(1000), ys(1000);
  for (int i = 0; i < 1000; ++i) {
    xs[size_t(i)] = 0.001f * float(i);
    ys[size_t(i)] = 0.5f - 0.0005f * float(i);
  }
  auto x = tf::constant(xs, tf::Shape{1000});
  auto y = tf::constant(ys, tf::Shape{1000});
  tf::GradientTape tape(tf::TapeOptions{.persistent = true});
  tape.watch(x);
  tf::Tensor s = x + y;  // AddV2 reads no values: its record keeps neither s nor x nor y
  CHECK(s.impl().use_count() == 1);
  tf::Tensor e = tf::exp(s);  // Exp reads its output only: s stays ours alone
  CHECK(s.impl().use_count() == 1);
  CHECK(e.impl().use_count() == 2);  // ours and Exp's record
  tf::Tensor p = e * y;              // Mul with only e watched reads y (dp/de = y), not e
  CHECK(e.impl().use_count() == 2);
  tf::Tensor loss = tf::reduce_sum(p);  // Sum reads shapes only
  CHECK(p.impl().use_count() == 1);
  // d/dx Σ exp(x + y)·y = exp(x + y)·y, from the stand-ins' shapes and the kept values.
  const std::vector<float> g = tape.gradient(loss, x).to_vector<float>();
  for (int i : {0, 1, 500, 999})
    CHECK(g[size_t(i)] == Approx(std::exp(xs[size_t(i)] + ys[size_t(i)]) * ys[size_t(i)]));
  // Second order through the same kept tensors: d²/dx² Σ exp(x + y)·y = exp(x + y)·y too.
  tf::GradientTape outer;
  outer.watch(x);
  tf::Tensor g1;
  {
    tf::GradientTape inner;
    inner.watch(x);
    g1 = inner.gradient(tf::reduce_sum(tf::exp(x + y) * y), x);
  }
  const std::vector<float> g2 = outer.gradient(tf::reduce_sum(g1), x).to_vector<float>();
  CHECK(g2[10] == Approx(std::exp(xs[10] + ys[10]) * ys[10]));
}
