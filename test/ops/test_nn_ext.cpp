// conv2d with dilations, conv1d, conv2d_transpose, depthwise_conv2d, embedding_lookup,
// batch_normalization; tf::random::categorical and shuffle. Reference values from NumPy,
// agreement with the equivalent undilated / per-channel convolutions and with conv2d's input
// gradient, float64 central differences, and bad input.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;
using Vec = std::vector<double>;
using test::uniform64;

namespace {
constexpr double kGradTol = 1e-6;

tf::Tensor arange(int64_t n, const tf::Shape& s) {
  return tf::reshape(tf::range(0.0, double(n), 1.0, tf::float64), s);
}

void check_close(const Vec& got, const Vec& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol).epsilon(tol));
}

void check_same(const tf::Tensor& got, const tf::Tensor& want, double tol = 1e-12) {
  REQUIRE(got.shape() == want.shape());
  check_close(got.to_vector<double>(), want.to_vector<double>(), tol);
}

/// The filter with d - 1 zero taps between its taps: conv2d with it equals the dilated conv2d.
tf::Tensor dilate_filter(const tf::Tensor& f, int dh, int dw) {
  const auto& s = f.shape();
  const int64_t kh = (s[0] - 1) * dh + 1, kw = (s[1] - 1) * dw + 1;
  std::vector<double> src = f.to_vector<double>(), out(size_t(kh * kw * s[2] * s[3]), 0.0);
  const int64_t io = s[2] * s[3];
  for (int64_t y = 0; y < s[0]; ++y)
    for (int64_t x = 0; x < s[1]; ++x)
      for (int64_t q = 0; q < io; ++q)
        out[size_t(((y * dh) * kw + x * dw) * io + q)] = src[size_t((y * s[1] + x) * io + q)];
  return tf::constant(out, tf::Shape{kh, kw, s[2], s[3]});
}
}  // namespace

TEST_CASE("conv2d dilations: values, equivalence with a dilated filter, gradients", "[nn_ext]") {
  // VALID, 2x2 ones dilated by 2 over arange(25) 5x5: x[i,j] + x[i,j+2] + x[i+2,j] + x[i+2,j+2].
  auto y = tf::nn::conv2d(
      arange(25, {1, 5, 5, 1}), tf::ones({2, 2, 1, 1}, tf::float64), {1}, "VALID", {2});
  CHECK(y.shape() == tf::Shape{1, 3, 3, 1});
  check_close(y.to_vector<double>(), {24, 28, 32, 44, 48, 52, 64, 68, 72});
  struct Case {
    tf::Shape x;
    int kh, kw, sh, sw, dh, dw;
    const char* pad;
  };
  const std::vector<Case> cases = {{{2, 7, 6, 3}, 3, 2, 1, 1, 2, 3, "SAME"},
                                   {{2, 7, 6, 3}, 3, 2, 1, 1, 2, 2, "VALID"},
                                   {{1, 9, 8, 2}, 3, 3, 2, 2, 2, 2, "SAME"},
                                   {{1, 9, 8, 2}, 2, 3, 2, 1, 3, 2, "VALID"},
                                   {{1, 4, 4, 1}, 3, 3, 1, 1, 3, 3, "SAME"}};
  for (const auto& c : cases) {
    auto x = uniform64(c.x, -1, 1), f = uniform64({c.kh, c.kw, c.x[3], 2}, -1, 1);
    const std::vector<int> s = {c.sh, c.sw}, d = {1, c.dh, c.dw, 1};
    check_same(tf::nn::conv2d(x, f, s, c.pad, d),
               tf::nn::conv2d(x, dilate_filter(f, c.dh, c.dw), s, c.pad));
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) { return tf::nn::conv2d(in[0], in[1], s, c.pad, d); }, {x, f}) <
          kGradTol);
  }
  // float32 too.
  auto x32 = tf::cast(uniform64({1, 6, 6, 2}, -1, 1), tf::float32);
  auto f32 = tf::cast(uniform64({3, 3, 2, 2}, -1, 1), tf::float32);
  auto a = tf::nn::conv2d(x32, f32, {1}, "SAME", {2, 2});
  auto b = tf::nn::conv2d(
      x32, tf::cast(dilate_filter(tf::cast(f32, tf::float64), 2, 2), tf::float32), {1}, "SAME");
  check_close(tf::cast(a, tf::float64).to_vector<double>(),
              tf::cast(b, tf::float64).to_vector<double>(),
              1e-5);
  // Bad dilations.
  auto x = tf::zeros({1, 5, 5, 1}), f = tf::zeros({3, 3, 1, 1});
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {1}, "SAME", {0}),
                    Contains("dilations must be positive") && Contains("[Op:Conv2D]"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {1}, "SAME", {2, 2, 2, 1}),
                    Contains("dilations") && Contains("batch"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {1}, "VALID", {3}), Contains("7x7 window is larger"));
  // A huge dilation is fine with SAME (only the centre tap lands inside the image).
  CHECK(tf::nn::conv2d(
            tf::ones({1, 5, 5, 1}), tf::ones({3, 3, 1, 1}), {1}, "SAME", {1 << 30, 1 << 30})
            .to_vector<float>() == std::vector<float>(25, 1.f));
}

TEST_CASE("conv1d: values via conv2d, stride, dilations, gradient", "[nn_ext]") {
  auto x = tf::reshape(tf::constant({1.0, 2.0, 3.0, 4.0, 5.0}), {1, 5, 1});
  auto f = tf::reshape(tf::constant({1.0, 2.0}), {2, 1, 1});
  check_close(tf::nn::conv1d(x, f, 1, "VALID").to_vector<double>(),
              {5, 8, 11, 14});  // x[i] + 2 x[i+1]
  check_close(tf::nn::conv1d(x, f, 1, "SAME").to_vector<double>(), {5, 8, 11, 14, 5});
  check_close(tf::nn::conv1d(x, f, 2, "VALID").to_vector<double>(), {5, 11});
  check_close(tf::nn::conv1d(x, f, {1, 1, 1}, "VALID", {2}).to_vector<double>(),
              {7, 10, 13});  // x[i] + 2 x[i+2]
  CHECK(tf::nn::conv1d(x, f, 1, "VALID").shape() == tf::Shape{1, 4, 1});
  CHECK(tf::test::max_gradient_error(
            [](auto& in) { return tf::nn::conv1d(in[0], in[1], 2, "SAME", 1); },
            {uniform64({2, 7, 3}, -1, 1), uniform64({3, 3, 2}, -1, 1)}) < kGradTol);
  CHECK(tf::test::max_gradient_error(
            [](auto& in) { return tf::nn::conv1d(in[0], in[1], 1, "VALID", 2); },
            {uniform64({1, 8, 2}, -1, 1), uniform64({3, 2, 2}, -1, 1)}) < kGradTol);
  CHECK_THROWS_WITH(tf::nn::conv1d(tf::zeros({5, 1}), tf::zeros({2, 1, 1}), 1, "SAME"),
                    Contains("[Op:Conv1D]") && Contains("(5, 1)"));
  CHECK_THROWS_WITH(tf::nn::conv1d(tf::zeros({1, 5, 1}), tf::zeros({2, 1}), 1, "SAME"),
                    Contains("[Op:Conv1D]"));
  CHECK_THROWS_WITH(tf::nn::conv1d(tf::zeros({1, 5, 1}), tf::zeros({2, 1, 1}), {2, 2}, "SAME"),
                    Contains("length 1 or 3"));
}

TEST_CASE("conv2d_transpose: conv2d's input gradient, values, gradients", "[nn_ext]") {
  // Ones [1, 2, 2, 1] through 3x3 ones, stride 2, SAME, into 4x4: window cover counts.
  auto y = tf::nn::conv2d_transpose(tf::ones({1, 2, 2, 1}, tf::float64),
                                    tf::ones({3, 3, 1, 1}, tf::float64),
                                    tf::Shape{1, 4, 4, 1},
                                    {2},
                                    "SAME");
  check_close(y.to_vector<double>(), {1, 1, 2, 1, 1, 1, 2, 1, 2, 2, 4, 2, 1, 1, 2, 1});
  struct Case {
    tf::Shape x;
    int kh, kw, s, d;
    const char* pad;
  };
  for (const Case& c : std::vector<Case>{{{2, 5, 6, 3}, 3, 2, 2, 1, "SAME"},
                                         {{1, 7, 7, 2}, 3, 3, 2, 1, "VALID"},
                                         {{1, 6, 5, 2}, 2, 2, 1, 2, "SAME"}}) {
    auto x = uniform64(c.x, -1, 1), f = uniform64({c.kh, c.kw, c.x[3], 4}, -1, 1);
    const std::vector<int> s = {c.s}, d = {c.d};
    auto conv = tf::nn::conv2d(x, f, s, c.pad, d);
    auto dy = uniform64(conv.shape(), -1, 1);
    tf::GradientTape tape;
    tape.watch(x);
    auto want = tape.gradient(tf::nn::conv2d(x, f, s, c.pad, d), x, dy);
    check_same(tf::nn::conv2d_transpose(dy, f, c.x, s, c.pad, d), want);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) { return tf::nn::conv2d_transpose(in[0], in[1], c.x, s, c.pad, d); },
              {dy, f}) < kGradTol);
  }
  auto f = tf::zeros({3, 3, 2, 4});
  CHECK_THROWS_WITH(
      tf::nn::conv2d_transpose(tf::zeros({1, 3, 3, 4}), f, tf::Shape{1, 8, 8, 2}, {2}, "SAME"),
      Contains("doesn't match computed") && Contains("[Op:Conv2DBackpropInput]"));
  CHECK_THROWS_WITH(
      tf::nn::conv2d_transpose(tf::zeros({1, 3, 3, 3}), f, tf::Shape{1, 6, 6, 2}, {2}, "SAME"),
      Contains("in_channels"));
  CHECK_THROWS_WITH(
      tf::nn::conv2d_transpose(tf::zeros({1, 3, 3, 4}), f, tf::Shape{1, 6, 6, 3}, {2}, "SAME"),
      Contains("out_channels"));
  CHECK_THROWS_WITH(
      tf::nn::conv2d_transpose(tf::zeros({1, 3, 3, 4}), f, tf::Shape{1, 6, 6}, {2}, "SAME"),
      Contains("4 elements"));
  CHECK_THROWS_AS(tf::nn::conv2d_transpose(tf::zeros({1, 3, 3, 4}),
                                           f,
                                           tf::Shape{1, int64_t(1) << 40, int64_t(1) << 40, 2},
                                           {2},
                                           "SAME"),
                  tf::InvalidArgumentError);
}

TEST_CASE("depthwise_conv2d: values, per-channel conv2d, gradients", "[nn_ext]") {
  // 2x2 ones over arange(18) [3, 3, 2]: per-channel window sums (NumPy).
  auto y = tf::nn::depthwise_conv2d(
      arange(18, {1, 3, 3, 2}), tf::ones({2, 2, 2, 1}, tf::float64), {1}, "VALID");
  CHECK(y.shape() == tf::Shape{1, 2, 2, 2});
  check_close(y.to_vector<double>(), {16, 20, 24, 28, 40, 44, 48, 52});
  auto x = uniform64({2, 6, 5, 3}, -1, 1), f = uniform64({3, 2, 3, 2}, -1, 1);
  for (const char* pad : {"SAME", "VALID"}) {
    auto got = tf::nn::depthwise_conv2d(x, f, {2, 1}, pad);
    std::vector<tf::Tensor> parts;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t m = 0; m < 2; ++m)
        parts.push_back(tf::nn::conv2d(tf::slice(x, {0, 0, 0, c}, {-1, -1, -1, 1}),
                                       tf::slice(f, {0, 0, c, m}, {-1, -1, 1, 1}),
                                       {2, 1},
                                       pad));
    check_same(got, tf::concat(parts, 3));
  }
  CHECK(tf::test::max_gradient_error(
            [](auto& in) { return tf::nn::depthwise_conv2d(in[0], in[1], {1}, "SAME"); },
            {uniform64({1, 4, 5, 2}, -1, 1), uniform64({3, 3, 2, 2}, -1, 1)}) < kGradTol);
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::nn::depthwise_conv2d(in[0], in[1], {1}, "VALID", {2, 2});
            },
            {uniform64({1, 6, 6, 2}, -1, 1), uniform64({2, 2, 2, 1}, -1, 1)}) < kGradTol);
  CHECK_THROWS_WITH(
      tf::nn::depthwise_conv2d(tf::zeros({1, 4, 4, 3}), tf::zeros({2, 2, 2, 1}), {1}, "SAME"),
      Contains("same depth") && Contains("[Op:DepthwiseConv2dNative]"));
  CHECK_THROWS_WITH(
      tf::nn::depthwise_conv2d(tf::zeros({4, 4, 3}), tf::zeros({2, 2, 3, 1}), {1}, "SAME"),
      Contains("4-dimensional"));
}

TEST_CASE("embedding_lookup and batch_normalization", "[nn_ext]") {
  auto params = tf::constant({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  auto e = tf::nn::embedding_lookup(params, tf::constant({2, 0, 2}));
  CHECK(e.shape() == tf::Shape{3, 2});
  check_close(e.to_vector<double>(), {5, 6, 1, 2, 5, 6});
  CHECK(tf::nn::embedding_lookup(params, tf::constant({{1, 1}})).shape() == tf::Shape{1, 2, 2});
  CHECK_THROWS_AS(tf::nn::embedding_lookup(params, tf::constant({3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::nn::embedding_lookup(params, tf::constant({-1})),
                    Contains("-1 is not in [0, 3)"));
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::nn::embedding_lookup(in[0], tf::constant({2, 0, 2}));
            },
            {uniform64({3, 2}, -1, 1)}) < kGradTol);

  auto x = tf::constant({1.0, 2.0, 3.0});
  auto m = tf::constant(2.0), v = tf::constant(4.0);
  check_close(tf::nn::batch_normalization(x, m, v, tf::constant(1.0), tf::constant(2.0), 0.0)
                  .to_vector<double>(),
              {0, 1, 2});
  check_close(
      tf::nn::batch_normalization(x, m, v, std::nullopt, std::nullopt, 0.0).to_vector<double>(),
      {-0.5, 0, 0.5});
  check_close(tf::nn::batch_normalization(x, m, v, tf::Tensor(), tf::constant(2.0), 0.0)
                  .to_vector<double>(),
              {-1, 0, 1});
  auto xb = uniform64({4, 3}, -1, 1);
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::nn::batch_normalization(in[0], in[1], in[2], in[3], in[4], 1e-3);
            },
            {xb,
             uniform64({3}, -1, 1),
             uniform64({3}, 0.5, 2),
             uniform64({3}, -1, 1),
             uniform64({3}, 0.5, 2)}) < kGradTol);
  CHECK_THROWS_WITH(tf::nn::batch_normalization(xb,
                                                tf::zeros({4}, tf::float64),
                                                tf::ones({3}, tf::float64),
                                                std::nullopt,
                                                std::nullopt,
                                                1e-3),
                    Contains("(4, 3)") && Contains("(4,)") && Contains("[Op:BatchNormalization]"));
  CHECK_THROWS_AS(
      tf::nn::batch_normalization(
          xb, tf::zeros({3}), tf::ones({3}, tf::float64), std::nullopt, std::nullopt, 1e-3),
      tf::InvalidArgumentError);
}

TEST_CASE("random::categorical: frequencies, determinism, -inf logits, errors",
          "[nn_ext][random]") {
  const Vec p = {0.1, 0.2, 0.7};
  auto logits =
      tf::log(tf::constant(std::vector<double>{0.1, 0.2, 0.7, 0.5, 0.5, 0.0}, tf::Shape{2, 3}));
  const int64_t n = 100000;
  auto s = tf::random::categorical(logits, n, 7);
  CHECK(s.shape() == tf::Shape{2, n});
  CHECK(s.dtype() == tf::int64);
  auto v = s.to_vector<int64_t>();
  std::vector<double> freq(3, 0.0);
  for (int64_t i = 0; i < n; ++i) freq[size_t(v[size_t(i)])] += 1.0 / double(n);
  for (int c = 0; c < 3; ++c) CHECK(freq[size_t(c)] == Approx(p[size_t(c)]).margin(0.006));
  int64_t zeros = 0;
  for (int64_t i = n; i < 2 * n; ++i) {
    CHECK(v[size_t(i)] != 2);  // probability 0 (logit -inf): never drawn
    zeros += v[size_t(i)] == 0;
  }
  CHECK(double(zeros) / double(n) == Approx(0.5).margin(0.006));
  CHECK(tf::random::categorical(logits, 50, 7).to_vector<int64_t>() ==
        tf::random::categorical(logits, 50, 7).to_vector<int64_t>());
  CHECK(tf::random::categorical(logits, 50, 7).to_vector<int64_t>() !=
        tf::random::categorical(logits, 50, 8).to_vector<int64_t>());
  CHECK(
      tf::random::categorical(tf::cast(logits, tf::float32), 3, std::nullopt, tf::int32).dtype() ==
      tf::int32);
  CHECK(tf::random::categorical(logits, 0, 1).shape() == tf::Shape{2, 0});
  CHECK_THROWS_WITH(tf::random::categorical(tf::constant({1.0, 2.0}), 2, 1),
                    Contains("matrix") && Contains("[Op:Multinomial]"));
  CHECK_THROWS_AS(tf::random::categorical(logits, -1, 1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::random::categorical(tf::constant({{1, 2}}), 1, 1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::random::categorical(logits, int64_t(1) << 62, 1), tf::InvalidArgumentError);
}

TEST_CASE("random::shuffle: permutations along axis 0, determinism, uniformity",
          "[nn_ext][random]") {
  auto x = tf::range(0, 10);
  auto s = tf::random::shuffle(x, 3);
  auto v = s.to_vector<int>();
  CHECK(v == tf::random::shuffle(x, 3).to_vector<int>());
  auto sorted = v;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == x.to_vector<int>());
  CHECK(v != x.to_vector<int>());
  // Rows stay whole.
  auto m = tf::reshape(tf::range(0, 12), {4, 3});
  auto rows = tf::random::shuffle(m, 5).to_vector<int>();
  for (int r = 0; r < 4; ++r) {
    CHECK(rows[size_t(r * 3)] % 3 == 0);
    CHECK(rows[size_t(r * 3 + 1)] == rows[size_t(r * 3)] + 1);
  }
  // Element 0 lands in each of 4 places about equally often.
  std::vector<int> where(4, 0);
  auto four = tf::range(0, 4);
  const int trials = 2000;
  for (int seed = 0; seed < trials; ++seed) {
    auto p = tf::random::shuffle(four, uint64_t(seed)).to_vector<int>();
    ++where[size_t(std::find(p.begin(), p.end(), 0) - p.begin())];
  }
  for (int c : where) CHECK(double(c) / trials == Approx(0.25).margin(0.04));
  CHECK(tf::random::shuffle(tf::constant(5.0)).item<double>() == 5.0);
  CHECK(tf::random::shuffle(tf::zeros({0, 3})).shape() == tf::Shape{0, 3});
  CHECK(tf::random::shuffle(x).shape() == tf::Shape{10});
}
