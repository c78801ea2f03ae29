// tf::nn conv2d, max_pool2d, avg_pool2d and dropout: hand-computed values (TF's SAME split and
// average-pool edge division), a naive direct convolution on random inputs, float64 finite
// differences at first and second order, dropout statistics, and argument errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Catch::Matchers::Equals;
using Vec = std::vector<double>;
using FVec = std::vector<float>;

namespace {

constexpr double kGradTol = 1e-6;

tf::Tensor normal64(const tf::Shape& shape, uint64_t seed) {
  tf::random::set_seed(seed);
  return tf::random::normal(shape, 0.0, 1.0, tf::float64);
}

/// 1..16 as a 1x4x4x1 image (rows [1 2 3 4], [5 6 7 8], ...).
tf::Tensor image_1_to_16() {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[size_t(i)] = float(i + 1);
  return tf::constant(v, tf::Shape{1, 4, 4, 1});
}

/// The output length and padding before along one axis, written out independently of the library:
/// SAME is ceil(in / s), VALID ceil((in - k + 1) / s); TF puts the smaller half of the padding
/// first.
void axis_ref(int64_t in, int64_t k, int64_t s, bool same, int64_t& out, int64_t& before) {
  out = same ? (in + s - 1) / s : (in - k + 1 + s - 1) / s;
  int64_t total = same ? std::max<int64_t>((out - 1) * s + k - in, 0) : 0;
  before = total / 2;
}

struct ConvCase {
  int64_t n, h, w, c, kh, kw, o, sh, sw;
  bool same;
};

/// Direct convolution: out[b, y, x, o] = Σ in[b, y·sh - pt + i, x·sw - pl + j, c] · f[i, j, c, o].
Vec naive_conv(const Vec& in, const Vec& f, const ConvCase& p, int64_t& oh, int64_t& ow) {
  int64_t pt, pl;
  axis_ref(p.h, p.kh, p.sh, p.same, oh, pt);
  axis_ref(p.w, p.kw, p.sw, p.same, ow, pl);
  Vec out(size_t(p.n * oh * ow * p.o), 0.0);
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x)
        for (int64_t o = 0; o < p.o; ++o) {
          double s = 0;
          for (int64_t i = 0; i < p.kh; ++i)
            for (int64_t j = 0; j < p.kw; ++j)
              for (int64_t c = 0; c < p.c; ++c) {
                int64_t iy = y * p.sh - pt + i, ix = x * p.sw - pl + j;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                s += in[size_t(((b * p.h + iy) * p.w + ix) * p.c + c)] *
                     f[size_t(((i * p.kw + j) * p.c + c) * p.o + o)];
              }
          out[size_t(((b * oh + y) * ow + x) * p.o + o)] = s;
        }
  return out;
}

}  // namespace

TEST_CASE(
    "conv2d of a 3x3 image with a 2x2 filter gives TF's values for SAME/VALID, strides 1 and 2",
    "[ops][nn][conv]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant(FVec{1, 2, 3, 4, 5, 6, 7, 8, 9}, tf::Shape{1, 3, 3, 1});
    auto f = tf::constant(FVec{1, 2, 3, 4}, tf::Shape{2, 2, 1, 1});
    auto valid = tf::nn::conv2d(x, f, {1}, "VALID");
    CHECK(valid.shape() == tf::Shape{1, 2, 2, 1});
    CHECK_THAT(valid.to_vector<float>(), Equals(FVec{37, 47, 67, 77}));
    // SAME: pad_total = 1, all of it after (bottom / right).
    auto same = tf::nn::conv2d(x, f, {1, 1}, "SAME");
    CHECK(same.shape() == tf::Shape{1, 3, 3, 1});
    CHECK_THAT(same.to_vector<float>(), Equals(FVec{37, 47, 21, 67, 77, 33, 23, 26, 9}));
    CHECK_THAT(tf::nn::conv2d(x, f, {2}, "VALID").to_vector<float>(), Equals(FVec{37}));
    auto same2 = tf::nn::conv2d(x, f, {1, 2, 2, 1}, "SAME");
    CHECK(same2.shape() == tf::Shape{1, 2, 2, 1});
    CHECK_THAT(same2.to_vector<float>(), Equals(FVec{37, 21, 23, 9}));
    // A 3x3 window with SAME pads one on each side: neighbourhood sums.
    auto box = tf::nn::conv2d(x, tf::ones({3, 3, 1, 1}), {1}, "SAME");
    CHECK_THAT(box.to_vector<float>(), Equals(FVec{12, 21, 16, 27, 45, 33, 24, 39, 28}));
  }
}

TEST_CASE("conv2d matches a direct convolution loop on random inputs", "[ops][nn][conv]") {
  const std::vector<ConvCase> cases = {{2, 7, 6, 3, 3, 3, 4, 1, 1, true},
                                       {2, 7, 6, 3, 3, 2, 5, 2, 2, true},
                                       {1, 8, 9, 2, 3, 3, 3, 2, 1, false},
                                       {3, 5, 5, 4, 1, 1, 2, 1, 1, false},
                                       {1, 6, 6, 2, 1, 1, 3, 2, 2, true},
                                       {1, 5, 7, 1, 5, 4, 2, 3, 2, true},
                                       {2, 4, 4, 3, 4, 4, 2, 1, 1, false},
                                       {1, 9, 9, 5, 3, 3, 6, 4, 4, true}};
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    for (const ConvCase& p : cases) {
      INFO("input " << p.n << "x" << p.h << "x" << p.w << "x" << p.c << " filter " << p.kh << "x"
                    << p.kw << " out " << p.o << " strides " << p.sh << "," << p.sw
                    << (p.same ? " SAME" : " VALID"));
      auto x = normal64({p.n, p.h, p.w, p.c}, 11);
      auto f = normal64({p.kh, p.kw, p.c, p.o}, 12);
      int64_t oh = 0, ow = 0;
      Vec want = naive_conv(x.to_vector<double>(), f.to_vector<double>(), p, oh, ow);
      auto y = tf::nn::conv2d(x, f, {int(p.sh), int(p.sw)}, p.same ? "SAME" : "VALID");
      CHECK(y.shape() == tf::Shape{p.n, oh, ow, p.o});
      CHECK_THAT(y.to_vector<double>(), M::Approx(want).epsilon(1e-12).margin(1e-12));
      auto y32 = tf::nn::conv2d(tf::cast(x, tf::float32),
                                tf::cast(f, tf::float32),
                                {int(p.sh), int(p.sw)},
                                p.same ? "SAME" : "VALID");
      CHECK(y32.dtype() == tf::float32);
      CHECK_THAT(tf::cast(y32, tf::float64).to_vector<double>(), M::Approx(want).margin(1e-4));
    }
  }
}

TEST_CASE("conv2d gradients match finite differences for input and filters", "[ops][nn][conv]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = normal64({1, 4, 4, 2}, 21);
    auto f = normal64({3, 3, 2, 2}, 22);
    for (const char* padding : {"SAME", "VALID"})
      for (int s : {1, 2}) {
        INFO(padding << " stride " << s);
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) { return tf::nn::conv2d(in[0], in[1], {s}, padding); }, {x, f}) <
              kGradTol);
      }
    // The 1x1 stride-1 path (reshape + matmul) and a batch of two.
    auto xb = normal64({2, 3, 3, 2}, 23);
    auto f1 = normal64({1, 1, 2, 3}, 24);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::nn::conv2d(in[0], in[1], {1}, "SAME"); }, {xb, f1}) <
          kGradTol);
  }
}

TEST_CASE("conv2d has second derivatives (Im2Col and Col2Im differentiate into each other)",
          "[ops][nn][conv]") {
  auto x = normal64({1, 3, 4, 2}, 31);
  auto f = normal64({2, 2, 2, 2}, 32);
  // d/d(x, f) of dL/dx with L = Σ conv(x, f)²: runs Col2Im's rule (Im2Col) under the outer tape.
  auto dx = [](std::vector<tf::Tensor>& in) {
    tf::GradientTape tape;
    tape.watch(in[0]);
    return tape.gradient(tf::reduce_sum(tf::square(tf::nn::conv2d(in[0], in[1], {2, 1}, "SAME"))),
                         in[0]);
  };
  CHECK(tf::test::max_gradient_error(dx, {x, f}) < kGradTol);
  auto df = [](std::vector<tf::Tensor>& in) {
    tf::GradientTape tape;
    tape.watch(in[1]);
    return tape.gradient(tf::reduce_sum(tf::square(tf::nn::conv2d(in[0], in[1], {1}, "VALID"))),
                         in[1]);
  };
  CHECK(tf::test::max_gradient_error(df, {x, f}) < kGradTol);
}

TEST_CASE(
    "max_pool2d and avg_pool2d on a 4x4 image give TF's values, SAME averages over valid cells",
    "[ops][nn][conv]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = image_1_to_16();
    auto mp = tf::nn::max_pool2d(x, {2, 2}, {2, 2}, "VALID");
    CHECK(mp.shape() == tf::Shape{1, 2, 2, 1});
    CHECK_THAT(mp.to_vector<float>(), Equals(FVec{6, 8, 14, 16}));
    CHECK_THAT(tf::nn::avg_pool2d(x, {2}, {2}, "VALID").to_vector<float>(),
               Equals(FVec{3.5, 5.5, 11.5, 13.5}));
    // 3x3 windows, stride 2, SAME: pad_total = 1, after; windows of 9, 6, 6 and 4 valid cells.
    CHECK_THAT(tf::nn::max_pool2d(x, {1, 3, 3, 1}, {1, 2, 2, 1}, "SAME").to_vector<float>(),
               Equals(FVec{11, 12, 15, 16}));
    auto ap = tf::nn::avg_pool2d(x, {3}, {2}, "SAME");
    CHECK(ap.shape() == tf::Shape{1, 2, 2, 1});
    CHECK_THAT(ap.to_vector<float>(), Equals(FVec{6, 7.5, 12, 13.5}));
    // 2x2 windows, stride 1, SAME: the last row and column see only the image's edge.
    CHECK_THAT(tf::nn::max_pool2d(x, {2}, {1}, "SAME").to_vector<float>(),
               Equals(FVec{6, 7, 8, 8, 10, 11, 12, 12, 14, 15, 16, 16, 14, 15, 16, 16}));
    auto ap1 = tf::nn::avg_pool2d(x, {2}, {1}, "SAME").to_vector<float>();
    CHECK(ap1[15] == 16.f);   // one valid cell
    CHECK(ap1[12] == 13.5f);  // (13 + 14) / 2
    CHECK(ap1[0] == 3.5f);    // (1 + 2 + 5 + 6) / 4
    // Channels pool independently.
    auto two = tf::concat({x, -x}, 3);
    CHECK_THAT(tf::nn::max_pool2d(two, {2}, {2}, "VALID").to_vector<float>(),
               Equals(FVec{6, -1, 8, -3, 14, -9, 16, -11}));
  }
}

TEST_CASE("pool gradients: max routes to the maximum, avg spreads 1/count", "[ops][nn][conv]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::cast(image_1_to_16(), tf::float64);
    tf::GradientTape tape({.persistent = true});
    tape.watch(x);
    auto gm = tape.gradient(tf::nn::max_pool2d(x, {2}, {2}, "VALID"), x).to_vector<double>();
    CHECK_THAT(gm, Equals(Vec{0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1}));
    // Ties: the first maximum in row-major window order takes the gradient.
    auto flat = tf::zeros({1, 2, 2, 1}, tf::float64);
    tape.watch(flat);
    CHECK_THAT(tape.gradient(tf::nn::max_pool2d(flat, {2}, {2}, "VALID"), flat).to_vector<double>(),
               Equals(Vec{1, 0, 0, 0}));
    auto ga = tape.gradient(tf::nn::avg_pool2d(x, {3}, {2}, "SAME"), x).to_vector<double>();
    CHECK(ga[0] == Approx(1.0 / 9));                                 // only the first window
    CHECK(ga[10] == Approx(1.0 / 9 + 1.0 / 6 + 1.0 / 6 + 1.0 / 4));  // cell (2, 2): all four
    CHECK(ga[15] == Approx(1.0 / 4));
  }
}

TEST_CASE("pool gradients match finite differences, first and second order", "[ops][nn][conv]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = normal64({2, 5, 4, 2}, 41);  // continuous random values: no ties within 1e-6
    for (const char* padding : {"SAME", "VALID"})
      for (int s : {1, 2}) {
        INFO(padding << " stride " << s);
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) {
                    return tf::nn::max_pool2d(in[0], {2, 3}, {s}, padding);
                  },
                  {x}) < kGradTol);
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) {
                    return tf::nn::avg_pool2d(in[0], {3, 2}, {s}, padding);
                  },
                  {x}) < kGradTol);
      }
  }
  // Second order: MaxPoolGrad is linear in its upstream (MaxPoolGradGrad), AvgPoolGrad in its
  // input (AvgPool).
  auto x = normal64({1, 4, 4, 2}, 42);
  auto v = normal64({1, 2, 2, 2}, 43);
  auto max_dx = [](std::vector<tf::Tensor>& in) {
    tf::GradientTape tape;
    tape.watch(in[0]);
    return tape.gradient(tf::reduce_sum(tf::nn::max_pool2d(in[0], {3}, {2}, "SAME") * in[1]),
                         in[0]);
  };
  CHECK(tf::test::max_gradient_error(max_dx, {x, v}) < kGradTol);
  auto avg_dx = [](std::vector<tf::Tensor>& in) {
    tf::GradientTape tape;
    tape.watch(in[0]);
    return tape.gradient(tf::reduce_sum(tf::square(tf::nn::avg_pool2d(in[0], {3}, {2}, "SAME"))),
                         in[0]);
  };
  CHECK(tf::test::max_gradient_error(avg_dx, {x}) < kGradTol);
  // Third order through MaxPoolGradGrad: d/dv of the pooled upstream picked back out.
  auto max_ddx = [&](std::vector<tf::Tensor>& in) {
    tf::GradientTape outer;
    outer.watch(in[1]);
    tf::Tensor g = max_dx(in);
    return outer.gradient(tf::reduce_sum(g * g), in[1]);
  };
  CHECK(tf::test::max_gradient_error(max_ddx, {x, v}) < kGradTol);
}

TEST_CASE("max_pool2d gradient where windows tile the image (stride = window), remainders too",
          "[ops][nn][conv]") {
  // Stride = window with VALID padding takes MaxPoolGrad's tiled path: each cell is written once.
  // 5x7 images leave a last row (and a last column) that no window covers.
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = normal64({2, 5, 7, 3}, 44);
    for (std::vector<int> k : {std::vector<int>{2, 2}, std::vector<int>{3, 2}}) {
      INFO("window " << k[0] << "x" << k[1]);
      CHECK(tf::test::max_gradient_error(
                [&](auto& in) { return tf::nn::max_pool2d(in[0], k, k, "VALID"); }, {x}) <
            kGradTol);
      tf::GradientTape tape;
      tape.watch(x);
      auto g = tape.gradient(tf::nn::max_pool2d(x, k, k, "VALID"), x).to_vector<double>();
      const int oh = 5 / k[0], ow = 7 / k[1];
      double sum = 0;
      for (int n = 0; n < 2; ++n)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < 7; ++j)
            for (int c = 0; c < 3; ++c) {
              const double v = g[size_t(((n * 5 + i) * 7 + j) * 3 + c)];
              sum += v;
              if (i >= oh * k[0] || j >= ow * k[1])
                CHECK(v == 0.0);  // outside every window
              else
                CHECK((v == 0.0 || v == 1.0));
            }
      CHECK(sum == double(2 * oh * ow * 3));  // one 1 per output
    }
    // Ties in several channels at once: the first cell in row-major window order wins.
    auto flat = tf::concat({tf::zeros({1, 2, 2, 1}), tf::ones({1, 2, 2, 1})}, 3);
    tf::GradientTape tape;
    tape.watch(flat);
    CHECK_THAT(tape.gradient(tf::nn::max_pool2d(flat, {2}, {2}, "VALID"), flat).to_vector<float>(),
               Equals(FVec{1, 1, 0, 0, 0, 0, 0, 0}));
  }
}

TEST_CASE("dropout keeps about 1 - rate of the values, scaled by 1/(1 - rate)",
          "[ops][nn][conv][dropout]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    const int64_t n = 100000;
    auto x = tf::ones({n});
    for (double rate : {0.1, 0.5, 0.8}) {
      INFO("rate " << rate);
      auto y = tf::nn::dropout(x, rate, 1234).to_vector<float>();
      const float scale = float(1.0 / (1.0 - rate));
      int64_t kept = 0;
      bool values_ok = true;
      for (float v : y) {
        if (v != 0.f) ++kept;
        values_ok = values_ok && (v == 0.f || v == scale);
      }
      CHECK(values_ok);
      // Binomial standard deviation at n = 1e5 is at most 0.0016; allow about 5 of them.
      CHECK(double(kept) / double(n) == Approx(1.0 - rate).margin(0.008));
    }
    // The same seed gives the same mask; another seed another one.
    auto a = tf::nn::dropout(x, 0.5, 7).to_vector<float>();
    CHECK(tf::nn::dropout(x, 0.5, 7).to_vector<float>() == a);
    CHECK(tf::nn::dropout(x, 0.5, 8).to_vector<float>() != a);
    // Without a seed the global seed decides, as for other random ops.
    tf::random::set_seed(99);
    auto b = tf::nn::dropout(x, 0.5).to_vector<float>();
    tf::random::set_seed(99);
    CHECK(tf::nn::dropout(x, 0.5).to_vector<float>() == b);
    CHECK(tf::nn::dropout(x, 0.0).to_vector<float>() == x.to_vector<float>());
  }
}

TEST_CASE("dropout gradient is the scaled mask", "[ops][nn][conv][dropout]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = normal64({4, 6}, 51);
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::nn::dropout(x, 0.4, 3);
    auto g = tape.gradient(y, x).to_vector<double>();
    auto yv = y.to_vector<double>(), xv = x.to_vector<double>();
    for (size_t i = 0; i < g.size(); ++i) {
      INFO("element " << i);
      CHECK(g[i] == Approx(yv[i] == 0.0 ? 0.0 : 1.0 / 0.6));
      CHECK(yv[i] == Approx(g[i] * xv[i]));
    }
    // The mask depends on the seed and shape only, so finite differences never cross it.
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::nn::dropout(in[0], 0.4, 3); },
                                       {x}) < kGradTol);
  }
}

TEST_CASE("conv2d, pools and dropout reject bad arguments, naming shapes and the op",
          "[ops][nn][conv]") {
  auto x = tf::zeros({1, 5, 5, 3});
  auto f = tf::zeros({3, 3, 3, 8});
  CHECK_THROWS_WITH(tf::nn::conv2d(x, tf::zeros({3, 3, 2, 8}), {1}, "SAME"),
                    Catch::Contains("input depth must be evenly divisible by filter depth") &&
                        Catch::Contains("(1, 5, 5, 3)") && Catch::Contains("(3, 3, 2, 8)") &&
                        Catch::Contains("[Op:Conv2D]"));
  CHECK_THROWS_AS(tf::nn::conv2d(x, tf::zeros({3, 3, 2, 8}), {1}, "SAME"),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::nn::conv2d(tf::zeros({5, 5, 3}), f, {1}, "SAME"),
                    Catch::Contains("4-dimensional") && Catch::Contains("(5, 5, 3)") &&
                        Catch::Contains("[Op:Conv2D]"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, tf::zeros({3, 3, 3}), {1}, "SAME"),
                    Catch::Contains("(3, 3, 3)") && Catch::Contains("[Op:Conv2D]"));
  CHECK_THROWS_WITH(
      tf::nn::conv2d(x, f, {1}, "same"),
      Catch::Contains("padding") && Catch::Contains("same") && Catch::Contains("[Op:Conv2D]"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {2, 2, 2, 1}, "SAME"),
                    Catch::Contains("batch and depth") && Catch::Contains("[2, 2, 2, 1]"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {1, 2, 3}, "SAME"), Catch::Contains("length 1, 2 or 4"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, f, {0}, "SAME"), Catch::Contains("positive"));
  CHECK_THROWS_WITH(tf::nn::conv2d(tf::zeros({1, 2, 2, 3}), f, {1}, "VALID"),
                    Catch::Contains("(1, 2, 2, 3)") && Catch::Contains("(3, 3, 3, 8)") &&
                        Catch::Contains("[Op:Conv2D]"));
  CHECK_NOTHROW(tf::nn::conv2d(tf::zeros({1, 2, 2, 3}), f, {1}, "SAME"));
  CHECK_THROWS_WITH(tf::nn::conv2d(x, tf::zeros({3, 3, 3, 8}, tf::float64), {1}, "SAME"),
                    Catch::Contains("float64") && Catch::Contains("[Op:Conv2D]"));
  CHECK_THROWS_AS(
      tf::nn::conv2d(
          tf::zeros({1, 5, 5, 3}, tf::int32), tf::zeros({3, 3, 3, 8}, tf::int32), {1}, "SAME"),
      tf::InvalidArgumentError);

  CHECK_THROWS_WITH(tf::nn::max_pool2d(x, {1, 2, 2, 2}, {1}, "VALID"),
                    Catch::Contains("ksize") && Catch::Contains("[Op:MaxPool]"));
  CHECK_THROWS_WITH(tf::nn::max_pool2d(x, {6}, {1}, "VALID"),
                    Catch::Contains("(1, 5, 5, 3)") && Catch::Contains("[Op:MaxPool]"));
  CHECK_THROWS_WITH(tf::nn::avg_pool2d(x, {2}, {1}, "FULL"), Catch::Contains("[Op:AvgPool]"));
  CHECK_THROWS_WITH(tf::nn::avg_pool2d(tf::zeros({5, 5}), {2}, {1}, "SAME"),
                    Catch::Contains("(5, 5)") && Catch::Contains("[Op:AvgPool]"));
  CHECK(tf::nn::max_pool2d(x, {6}, {1}, "SAME").shape() == tf::Shape{1, 5, 5, 3});

  CHECK_THROWS_AS(tf::nn::dropout(x, 1.0), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::nn::dropout(x, -0.1),
                    Catch::Contains("[0, 1)") && Catch::Contains("[Op:Dropout]"));
  CHECK_THROWS_WITH(tf::nn::dropout(tf::constant({1, 2}), 0.5), Catch::Contains("int32"));
}

TEST_CASE("conv2d and pools: SAME sizes of a huge empty axis do not overflow", "[ops][conv]") {
  // Found by the ops fuzzer: ceil(in / s) was computed as (in + s - 1) / s.
  const int64_t big = std::numeric_limits<int64_t>::max();
  const auto x = tf::zeros({0, big, 4, 1});
  CHECK(tf::nn::conv2d(x, tf::ones({3, 3, 1, 2}), {2, 2}, "SAME").shape() ==
        tf::Shape{0, big / 2 + 1, 2, 2});
  CHECK(tf::nn::max_pool2d(x, {3, 3}, {3, 3}, "SAME").shape() == tf::Shape{0, big / 3 + 1, 2, 1});
}
