#include <cmath>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Catch::Matchers::Equals;

namespace {

// x[i][j][k] = 100 i + 10 j + k, shape (2, 3, 4): every sum is easy to check by hand.
tf::Tensor iota3() {
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(100.0 * i + 10.0 * j + k);
  return tf::constant(v, tf::Shape{2, 3, 4});
}

tf::Tensor random_input(const tf::Shape& shape, uint64_t seed) {
  tf::random::set_seed(seed);
  return tf::random::normal(shape, 0.0, 1.0, tf::float64);
}

}  // namespace

TEST_CASE("reduce_sum over all, one, negative and non-adjacent axes gives the hand sums",
          "[ops][reduce]") {
  auto x = iota3();
  CHECK(tf::reduce_sum(x).item<double>() == 12 * 100 + 8 * 30 + 6 * 6);  // 1476
  CHECK(tf::reduce_sum(x).shape() == tf::Shape{});

  auto s0 = tf::reduce_sum(x, {0});
  CHECK(s0.shape() == tf::Shape{3, 4});
  CHECK(s0.to_vector<double>()[0] == 100.0);   // 0 + 100
  CHECK(s0.to_vector<double>()[11] == 146.0);  // 23 + 123

  auto s_last = tf::reduce_sum(x, {-1});
  CHECK(s_last.shape() == tf::Shape{2, 3});
  CHECK_THAT(s_last.to_vector<double>(), Equals(std::vector<double>{6, 46, 86, 406, 446, 486}));

  // {0, 2}: non-adjacent axes; result indexed by j: Σ_i Σ_k (100 i + 10 j + k) = 400 + 80 j + 12.
  auto s02 = tf::reduce_sum(x, {0, 2});
  CHECK(s02.shape() == tf::Shape{3});
  CHECK_THAT(s02.to_vector<double>(), Equals(std::vector<double>{412, 492, 572}));
  // The same axes written negatively and out of order.
  CHECK_THAT(tf::reduce_sum(x, {-1, -3}).to_vector<double>(),
             Equals(std::vector<double>{412, 492, 572}));

  auto k = tf::reduce_sum(x, {0, 2}, /*keepdims=*/true);
  CHECK(k.shape() == tf::Shape{1, 3, 1});
  CHECK_THAT(k.to_vector<double>(), Equals(std::vector<double>{412, 492, 572}));
  CHECK(tf::reduce_sum(x, {}, true).shape() == tf::Shape{1, 1, 1});
}

TEST_CASE("reduce_sum of int32 stays int32 and exact", "[ops][reduce]") {
  auto x = tf::constant({{1, 2, 3}, {4, 5, 6}});
  auto s = tf::reduce_sum(x, {1});
  CHECK(s.dtype() == tf::int32);
  CHECK_THAT(s.to_vector<int>(), Equals(std::vector<int>{6, 15}));
}

TEST_CASE("reduce_mean, reduce_max, reduce_min, reduce_prod give the hand values",
          "[ops][reduce]") {
  auto x = tf::constant({{1.0, -2.0, 3.0}, {4.0, 5.0, -6.0}});
  CHECK(tf::reduce_mean(x).item<double>() == Approx(5.0 / 6.0));
  CHECK_THAT(tf::reduce_mean(x, {0}).to_vector<double>(),
             M::Approx(std::vector<double>{2.5, 1.5, -1.5}));
  CHECK_THAT(tf::reduce_mean(x, {-1}, true).to_vector<double>(),
             M::Approx(std::vector<double>{2.0 / 3.0, 1.0}));
  CHECK(tf::reduce_mean(x, {-1}, true).shape() == tf::Shape{2, 1});

  CHECK(tf::reduce_max(x).item<double>() == 5.0);
  CHECK_THAT(tf::reduce_max(x, {0}).to_vector<double>(), Equals(std::vector<double>{4, 5, 3}));
  CHECK_THAT(tf::reduce_max(x, {1}).to_vector<double>(), Equals(std::vector<double>{3, 5}));
  CHECK(tf::reduce_min(x).item<double>() == -6.0);
  CHECK_THAT(tf::reduce_min(x, {-2}).to_vector<double>(), Equals(std::vector<double>{1, -2, -6}));
  CHECK(tf::reduce_min(x, {1}, true).shape() == tf::Shape{2, 1});

  CHECK(tf::reduce_prod(x).item<double>() == 720.0);
  CHECK_THAT(tf::reduce_prod(x, {1}).to_vector<double>(), Equals(std::vector<double>{-6, -120}));
  CHECK_THAT(tf::reduce_prod(x, {0}, true).to_vector<double>(),
             Equals(std::vector<double>{4, -10, -18}));

  // Non-adjacent axes for max/min/prod too: shape (2, 3, 4) over {0, 2} → per j.
  auto y = iota3();
  CHECK_THAT(tf::reduce_max(y, {0, 2}).to_vector<double>(),
             Equals(std::vector<double>{103, 113, 123}));
  CHECK_THAT(tf::reduce_min(y, {2, 0}).to_vector<double>(), Equals(std::vector<double>{0, 10, 20}));
  CHECK_THAT(tf::reduce_mean(y, {0, 2}).to_vector<double>(),
             M::Approx(std::vector<double>{412.0 / 8, 492.0 / 8, 572.0 / 8}));
}

TEST_CASE("argmax and argmin return int64 indices along an axis, first on ties", "[ops][reduce]") {
  auto x = tf::constant({{1.f, 7.f, 7.f}, {9.f, -1.f, 0.f}});
  auto a0 = tf::argmax(x, 0);
  CHECK(a0.dtype() == tf::int64);
  CHECK(a0.shape() == tf::Shape{3});
  CHECK_THAT(a0.to_vector<int64_t>(), Equals(std::vector<int64_t>{1, 0, 0}));
  CHECK_THAT(tf::argmax(x, 1).to_vector<int64_t>(), Equals(std::vector<int64_t>{1, 0}));
  CHECK_THAT(tf::argmax(x, -1).to_vector<int64_t>(), Equals(std::vector<int64_t>{1, 0}));
  CHECK_THAT(tf::argmin(x, 1).to_vector<int64_t>(), Equals(std::vector<int64_t>{0, 1}));
  CHECK_THAT(tf::argmin(x, 0).to_vector<int64_t>(), Equals(std::vector<int64_t>{0, 1, 1}));
  // Middle axis of a rank-3 tensor.
  CHECK_THAT(tf::argmax(iota3(), 1).to_vector<int64_t>(), Equals(std::vector<int64_t>(8, 2)));
  CHECK_THAT(tf::argmin(tf::constant({3, 1, 1, 2}), 0).to_vector<int64_t>(),
             Equals(std::vector<int64_t>{1}));
}

TEST_CASE("reduce_sum and reduce_mean gradients: ones and 1/n broadcast back", "[ops][reduce]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    {
      tf::GradientTape tape;
      tape.watch(x);
      auto g = tape.gradient(tf::reduce_sum(x, {1}) * tf::constant({1.0, 10.0}), x);
      CHECK(g.device() == tf::Tensor(x).device());
      CHECK_THAT(g.to_vector<double>(), Equals(std::vector<double>{1, 1, 1, 10, 10, 10}));
    }
    {
      tf::GradientTape tape;
      tape.watch(x);
      auto g = tape.gradient(tf::reduce_mean(x, {0}), x);
      CHECK_THAT(g.to_vector<double>(), M::Approx(std::vector<double>(6, 0.5)));
    }
    auto r = random_input({2, 3, 4}, 11);
    for (std::vector<int> axes : {std::vector<int>{}, {0}, {-1}, {0, 2}, {1, 2}}) {
      INFO("axes size " << axes.size());
      for (bool keep : {false, true}) {
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) { return tf::reduce_sum(in[0], axes, keep); }, {r}) < 1e-6);
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) { return tf::reduce_mean(in[0], axes, keep); }, {r}) < 1e-6);
      }
    }
  }
}

TEST_CASE("reduce_max gradient goes to the max; ties share it equally", "[ops][reduce]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({{1.0, 3.0, 3.0}, {5.0, 2.0, 5.0}});
    tf::GradientTape tape({.persistent = true});
    tape.watch(x);
    auto all = tf::reduce_max(x);  // 5 appears twice
    CHECK(all.item<double>() == 5.0);
    CHECK_THAT(tape.gradient(all, x).to_vector<double>(),
               Equals(std::vector<double>{0, 0, 0, 0.5, 0, 0.5}));
    auto rows = tf::reduce_max(x, {1});
    CHECK_THAT(tape.gradient(rows, x).to_vector<double>(),
               Equals(std::vector<double>{0, 0.5, 0.5, 0.5, 0, 0.5}));
    auto cols = tf::reduce_min(x, {0}, true);
    CHECK_THAT(tape.gradient(cols, x).to_vector<double>(),
               Equals(std::vector<double>{1, 0, 1, 0, 1, 0}));

    // Random inputs have no ties (no kinks), so finite differences apply.
    auto r = random_input({2, 3, 4}, 12);
    for (std::vector<int> axes : {std::vector<int>{}, {1}, {-1}, {0, 2}}) {
      CHECK(tf::test::max_gradient_error([&](auto& in) { return tf::reduce_max(in[0], axes); },
                                         {r}) < 1e-6);
      CHECK(tf::test::max_gradient_error(
                [&](auto& in) { return tf::reduce_min(in[0], axes, true); }, {r}) < 1e-6);
    }
  }
}

TEST_CASE("reduce_prod gradient is the product of the others, exact with zeros in the input",
          "[ops][reduce]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto grad = [](const tf::Tensor& x, std::vector<int> axes) {
      tf::GradientTape tape;
      tape.watch(x);
      return tape.gradient(tf::reduce_prod(x, axes), x).to_vector<double>();
    };
    // No zero: y / x_i.
    CHECK_THAT(grad(tf::constant({2.0, 3.0, 4.0}), {}), Equals(std::vector<double>{12, 8, 6}));
    // One zero: it gets the product of the rest; the others get 0 (not NaN).
    CHECK_THAT(grad(tf::constant({2.0, 0.0, 4.0}), {}), Equals(std::vector<double>{0, 8, 0}));
    // Two zeros: every partial derivative is 0.
    CHECK_THAT(grad(tf::constant({0.0, 3.0, 0.0}), {}), Equals(std::vector<double>{0, 0, 0}));
    // Per row: one row with a zero, one with two, one with none.
    auto m = tf::constant({{0.0, 2.0, 5.0}, {0.0, 0.0, 1.0}, {1.0, 2.0, 3.0}});
    CHECK_THAT(grad(m, {1}), Equals(std::vector<double>{10, 0, 0, 0, 0, 0, 6, 3, 2}));

    auto r = random_input({2, 3, 4}, 13);
    for (std::vector<int> axes : {std::vector<int>{}, {0}, {-1}, {0, 2}}) {
      CHECK(tf::test::max_gradient_error([&](auto& in) { return tf::reduce_prod(in[0], axes); },
                                         {r}) < 1e-6);
    }
    // Finite differences still agree with one exact zero in each reduced row (the product is
    // linear in that element, so the central difference is exact).
    auto z = tf::constant({{0.0, 1.5, -0.7}, {0.3, 0.0, 2.0}});
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::reduce_prod(in[0], {1}); }, {z}) <
          1e-6);
  }
}

TEST_CASE("reductions reject an out-of-range axis naming the op and the shape", "[ops][reduce]") {
  auto x = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  CHECK_THROWS_AS(tf::reduce_sum(x, {3}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::reduce_sum(x, {3}),
                    Catch::Contains("Invalid reduction dimension") && Catch::Contains("(2, 3)") &&
                        Catch::Contains("[Op:Sum]"));
  CHECK_THROWS_WITH(tf::reduce_sum(x, {-3}), Catch::Contains("[Op:Sum]"));
  CHECK_THROWS_WITH(tf::reduce_mean(x, {2}), Catch::Contains("[Op:Mean]"));
  CHECK_THROWS_WITH(tf::reduce_max(x, {5}), Catch::Contains("[Op:Max]"));
  CHECK_THROWS_WITH(tf::reduce_min(x, {2}), Catch::Contains("[Op:Min]"));
  CHECK_THROWS_WITH(tf::reduce_prod(x, {2}), Catch::Contains("[Op:Prod]"));
  CHECK_THROWS_AS(tf::argmax(x, 2), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::argmax(x, 2), Catch::Contains("[Op:ArgMax]"));
  CHECK_THROWS_WITH(tf::argmin(x, -3), Catch::Contains("[Op:ArgMin]"));
  CHECK_THROWS_AS(tf::reduce_sum(tf::constant({true, false})), tf::InvalidArgumentError);
}
