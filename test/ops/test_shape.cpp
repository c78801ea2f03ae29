#include <functional>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Matchers::Equals;

namespace {

/// 0, 1, 2, ... as float64 in `shape`.
tf::Tensor iota(const tf::Shape& shape) {
  std::vector<double> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  return tf::constant(v, shape);
}

tf::Tensor random_input(const tf::Shape& shape, uint64_t seed) {
  tf::random::set_seed(seed);
  return tf::random::normal(shape, 0.0, 1.0, tf::float64);
}

std::vector<double> grad_of(const tf::Tensor& x,
                            const std::function<tf::Tensor(const tf::Tensor&)>& f) {
  tf::GradientTape tape;
  tape.watch(x);
  return tape.gradient(f(x), x).to_vector<double>();
}

}  // namespace

TEST_CASE("reshape keeps row-major order and infers one -1 dimension", "[ops][shape]") {
  auto x = iota({2, 3, 4});
  auto y = tf::reshape(x, {-1, 4});
  CHECK(y.shape() == tf::Shape{6, 4});
  CHECK(y.to_vector<double>() == x.to_vector<double>());
  CHECK(tf::reshape(x, {4, -1}).shape() == tf::Shape{4, 6});
  CHECK(tf::reshape(x, {-1}).shape() == tf::Shape{24});
  CHECK(tf::reshape(tf::constant({7.f}), {}).shape() == tf::Shape{});
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto r = random_input({2, 6}, 21);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::reshape(in[0], {3, -1}) * tf::constant({1.0, 2.0, 3.0, 4.0});
              },
              {r}) < 1e-6);
    // d/dx Σ w ⊙ reshape(x) = reshape(w) back.
    CHECK_THAT(grad_of(iota({2, 2}),
                       [](const tf::Tensor& t) {
                         return tf::reshape(t, {4}) * tf::constant({1.0, 2.0, 3.0, 4.0});
                       }),
               Equals(std::vector<double>{1, 2, 3, 4}));
  }
}

TEST_CASE("reshape to a shape of another size names both shapes", "[ops][shape]") {
  auto x = tf::zeros({2, 3});
  CHECK_THROWS_AS(tf::reshape(x, {4}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      tf::reshape(x, {4}),
      Catch::Contains("(2, 3)") && Catch::Contains("(4,)") && Catch::Contains("[Op:Reshape]"));
  CHECK_THROWS_WITH(tf::reshape(x, {-1, 4}),
                    Catch::Contains("6 values") && Catch::Contains("[Op:Reshape]"));
  CHECK_THROWS_AS(tf::reshape(x, {-1, -1}), tf::InvalidArgumentError);
}

TEST_CASE("transpose permutes axes (empty perm reverses) and its gradient inverts the perm",
          "[ops][shape]") {
  auto x = iota({2, 3});
  auto t = tf::transpose(x);
  CHECK(t.shape() == tf::Shape{3, 2});
  CHECK_THAT(t.to_vector<double>(), Equals(std::vector<double>{0, 3, 1, 4, 2, 5}));
  auto y = iota({2, 3, 4});
  auto p = tf::transpose(y, {1, 2, 0});
  CHECK(p.shape() == tf::Shape{3, 4, 2});
  // p[j][k][i] = y[i][j][k] = 12 i + 4 j + k.
  CHECK(p.to_vector<double>()[0 * 8 + 1 * 2 + 1] == 12 + 0 + 1);
  CHECK(p.to_vector<double>()[2 * 8 + 3 * 2 + 0] == 0 + 8 + 3);
  CHECK(tf::transpose(y, {-1, 0, 1}).shape() == tf::Shape{4, 2, 3});
  CHECK_THROWS_WITH(tf::transpose(y, {0, 0, 1}), Catch::Contains("[Op:Transpose]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto r = random_input({2, 3, 4}, 22);
    auto w = random_input({4, 2, 3}, 23);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) {
                return tf::transpose(in[0], {2, 0, 1}) * w;
              },
              {r}) < 1e-6);
    CHECK_THAT(grad_of(iota({2, 2}),
                       [](const tf::Tensor& t) {
                         return tf::transpose(t) * tf::constant({{1.0, 2.0}, {3.0, 4.0}});
                       }),
               Equals(std::vector<double>{1, 3, 2, 4}));
  }
}

TEST_CASE("expand_dims and squeeze add and remove size-1 axes, differentiably", "[ops][shape]") {
  auto x = iota({2, 3});
  CHECK(tf::expand_dims(x, 0).shape() == tf::Shape{1, 2, 3});
  CHECK(tf::expand_dims(x, 1).shape() == tf::Shape{2, 1, 3});
  CHECK(tf::expand_dims(x, -1).shape() == tf::Shape{2, 3, 1});
  CHECK(tf::expand_dims(x, 2).shape() == tf::Shape{2, 3, 1});
  CHECK_THROWS_WITH(tf::expand_dims(x, 3), Catch::Contains("[Op:ExpandDims]"));
  auto y = tf::zeros({1, 2, 1, 3});
  CHECK(tf::squeeze(y).shape() == tf::Shape{2, 3});
  CHECK(tf::squeeze(y, {2}).shape() == tf::Shape{1, 2, 3});
  CHECK(tf::squeeze(y, {-4}).shape() == tf::Shape{2, 1, 3});
  CHECK_THROWS_AS(tf::squeeze(y, {1}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::squeeze(y, {1}), Catch::Contains("[Op:Squeeze]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto r = random_input({3, 1, 2}, 24);
    auto w = random_input({3, 2}, 25);
    CHECK(tf::test::max_gradient_error([&](auto& in) { return tf::squeeze(in[0]) * w; }, {r}) <
          1e-6);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) { return tf::expand_dims(in[0], 1) * tf::expand_dims(w, 1); }, {r}) <
          1e-6);
  }
}

TEST_CASE("concat joins along an axis and splits the gradient back", "[ops][shape]") {
  auto a = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
  auto b = tf::constant({{5.0}, {6.0}});
  auto c = tf::concat({a, b}, 1);
  CHECK(c.shape() == tf::Shape{2, 3});
  CHECK_THAT(c.to_vector<double>(), Equals(std::vector<double>{1, 2, 5, 3, 4, 6}));
  auto d = tf::concat({a, tf::constant({{7.0, 8.0}})}, -2);
  CHECK(d.shape() == tf::Shape{3, 2});
  CHECK_THAT(d.to_vector<double>(), Equals(std::vector<double>{1, 2, 3, 4, 7, 8}));
  CHECK_THAT(tf::concat({tf::constant({1, 2}), tf::constant({3})}, 0).to_vector<int>(),
             Equals(std::vector<int>{1, 2, 3}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = random_input({2, 3}, 26), y = random_input({2, 1}, 27), z = random_input({2, 2}, 28);
    auto w = random_input({2, 6}, 29);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) {
                return tf::concat({in[0], in[1], in[2]}, 1) * w;
              },
              {x, y, z}) < 1e-6);
    tf::GradientTape tape;
    tape.watch({a, b});
    auto gs = tape.gradient(
        tf::concat({a, b}, 1) * tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}), {a, b});
    CHECK_THAT(gs[0].to_vector<double>(), Equals(std::vector<double>{1, 2, 4, 5}));
    CHECK_THAT(gs[1].to_vector<double>(), Equals(std::vector<double>{3, 6}));
  }
}

TEST_CASE("concat of mismatched shapes names both shapes and ConcatV2", "[ops][shape]") {
  auto a = tf::zeros({2, 3}), b = tf::zeros({3, 2});
  CHECK_THROWS_AS(tf::concat({a, b}, 0), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::concat({a, b}, 0),
                    Catch::Contains("Dimension mismatch") && Catch::Contains("(3, 2)") &&
                        Catch::Contains("(2, 3)") && Catch::Contains("[Op:ConcatV2]"));
  CHECK_THROWS_WITH(tf::concat({a, tf::zeros({2, 3, 1})}, 0), Catch::Contains("[Op:ConcatV2]"));
  CHECK_THROWS_WITH(tf::concat({a, a}, 2), Catch::Contains("[Op:ConcatV2]"));
  CHECK_THROWS_AS(tf::concat({a, tf::zeros({2, 3}, tf::float64)}, 0), tf::InvalidArgumentError);
}

TEST_CASE("stack and unstack add and remove an axis, inverse of each other", "[ops][shape]") {
  auto a = tf::constant({1.0, 2.0}), b = tf::constant({3.0, 4.0}), c = tf::constant({5.0, 6.0});
  auto s0 = tf::stack({a, b, c});
  CHECK(s0.shape() == tf::Shape{3, 2});
  CHECK_THAT(s0.to_vector<double>(), Equals(std::vector<double>{1, 2, 3, 4, 5, 6}));
  auto s1 = tf::stack({a, b, c}, 1);
  CHECK(s1.shape() == tf::Shape{2, 3});
  CHECK_THAT(s1.to_vector<double>(), Equals(std::vector<double>{1, 3, 5, 2, 4, 6}));
  CHECK(tf::stack({a, b}, -1).shape() == tf::Shape{2, 2});
  CHECK_THROWS_WITH(tf::stack({a, tf::constant({1.0})}), Catch::Contains("[Op:Pack]"));

  auto parts = tf::unstack(s1, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].shape() == tf::Shape{2});
  CHECK_THAT(parts[1].to_vector<double>(), Equals(std::vector<double>{3, 4}));
  auto rows = tf::unstack(s1);
  REQUIRE(rows.size() == 2);
  CHECK_THAT(rows[0].to_vector<double>(), Equals(std::vector<double>{1, 3, 5}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = random_input({2, 3}, 30), y = random_input({2, 3}, 31);
    auto w = random_input({2, 2, 3}, 32);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) {
                return tf::stack({in[0], in[1]}, 1) * w;
              },
              {x, y}) < 1e-6);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                auto u = tf::unstack(in[0], -1);
                return u[0] * 1.0 + u[1] * 2.0 + tf::square(u[2]);
              },
              {x}) < 1e-6);
    CHECK_THAT(grad_of(s1,
                       [](const tf::Tensor& t) {
                         auto u = tf::unstack(t, 1);
                         return u[0] + u[2] * 3.0;
                       }),
               Equals(std::vector<double>{1, 0, 3, 1, 0, 3}));
  }
}

TEST_CASE("split by number and by sizes (with -1) gives the pieces and their gradients",
          "[ops][shape]") {
  auto x = iota({2, 6});
  auto three = tf::split(x, 3, 1);
  REQUIRE(three.size() == 3);
  CHECK(three[1].shape() == tf::Shape{2, 2});
  CHECK_THAT(three[1].to_vector<double>(), Equals(std::vector<double>{2, 3, 8, 9}));
  auto sized = tf::split(x, std::vector<int64_t>{1, -1, 2}, -1);
  REQUIRE(sized.size() == 3);
  CHECK(sized[0].shape() == tf::Shape{2, 1});
  CHECK(sized[1].shape() == tf::Shape{2, 3});
  CHECK_THAT(sized[2].to_vector<double>(), Equals(std::vector<double>{4, 5, 10, 11}));
  auto rows = tf::split(x, 2);
  CHECK(rows[1].shape() == tf::Shape{1, 6});
  CHECK_THROWS_WITH(tf::split(x, 4, 1), Catch::Contains("[Op:Split]"));
  CHECK_THROWS_WITH(tf::split(x, std::vector<int64_t>{2, 2}, 1), Catch::Contains("[Op:SplitV]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto r = random_input({3, 4}, 33);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                auto p = tf::split(in[0], 2, 1);
                return p[0] * 2.0 + tf::square(p[1]);
              },
              {r}) < 1e-6);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                auto p = tf::split(in[0], std::vector<int64_t>{2, -1}, 0);
                return tf::reduce_sum(p[0] * 3.0) + tf::reduce_sum(tf::exp(p[1]));
              },
              {r}) < 1e-6);
    // Σ p0 + 3 Σ p2: ones on the first column, threes on the last two, zeros between.
    CHECK_THAT(grad_of(iota({1, 6}),
                       [](const tf::Tensor& t) {
                         auto p = tf::split(t, std::vector<int64_t>{1, 3, 2}, 1);
                         return tf::reduce_sum(p[0]) + 3.0 * tf::reduce_sum(p[2]);
                       }),
               Equals(std::vector<double>{1, 0, 0, 0, 3, 3}));
    // Many pieces (unequal sizes, some empty) go through halving splits under a tape: the same
    // pieces, and each piece's weight lands on its own columns.
    const std::vector<int64_t> sizes{1, 0, 2, 1, 3, 1, 0, 2, 1, 1};
    auto wide = iota({2, 12});
    std::vector<tf::Tensor> direct = tf::split(wide, sizes, 1), taped;
    {
      tf::GradientTape tape;
      tape.watch(wide);
      taped = tf::split(wide, sizes, 1);
    }
    REQUIRE(taped.size() == sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      CHECK(taped[i].shape() == direct[i].shape());
      CHECK_THAT(taped[i].to_vector<double>(), Equals(direct[i].to_vector<double>()));
    }
    std::vector<double> want;
    for (int row = 0; row < 2; ++row)
      for (size_t i = 0; i < sizes.size(); ++i)
        for (int64_t j = 0; j < sizes[i]; ++j) want.push_back(double(i + 1));
    CHECK_THAT(grad_of(wide,
                       [&](const tf::Tensor& t) {
                         auto p = tf::split(t, sizes, 1);
                         tf::Tensor sum = tf::zeros({}, t.dtype());
                         for (size_t i = 0; i < p.size(); ++i)
                           sum = sum + double(i + 1) * tf::reduce_sum(p[i]);
                         return sum;
                       }),
               Equals(want));
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                tf::Tensor y = tf::zeros({3}, tf::float64);
                int k = 1;
                for (auto& step : tf::unstack(in[0], 1)) y = y * 0.5 + double(k++) * tf::sin(step);
                return y;
              },
              {random_input({3, 9}, 34)}) < 1e-6);
  }
}

TEST_CASE("slice takes a block (size -1 = to the end); its gradient pads with zeros",
          "[ops][shape]") {
  auto x = iota({3, 4});
  auto s = tf::slice(x, {1, 1}, {2, -1});
  CHECK(s.shape() == tf::Shape{2, 3});
  CHECK_THAT(s.to_vector<double>(), Equals(std::vector<double>{5, 6, 7, 9, 10, 11}));
  CHECK_THROWS_AS(tf::slice(x, {2, 0}, {2, 1}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::slice(x, {2, 0}, {2, 1}),
                    Catch::Contains("(3, 4)") && Catch::Contains("[Op:Slice]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    CHECK_THAT(grad_of(iota({2, 3}),
                       [](const tf::Tensor& t) {
                         return tf::slice(t, {0, 1}, {2, 1});
                       }),
               Equals(std::vector<double>{0, 1, 0, 0, 1, 0}));
    auto r = random_input({3, 4}, 34);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::square(tf::slice(in[0], {1, 0}, {-1, 3}));
              },
              {r}) < 1e-6);
  }
}

TEST_CASE("gather picks rows; repeated indices accumulate the gradient", "[ops][shape]") {
  auto x = tf::constant({10.0, 20.0, 30.0});
  auto idx = tf::constant({0, 2, 0});
  CHECK_THAT(tf::gather(x, idx).to_vector<double>(), Equals(std::vector<double>{10, 30, 10}));
  auto m = iota({3, 2});
  auto g0 = tf::gather(m, tf::constant({int64_t(2), int64_t(0)}));
  CHECK(g0.shape() == tf::Shape{2, 2});
  CHECK_THAT(g0.to_vector<double>(), Equals(std::vector<double>{4, 5, 0, 1}));
  auto g1 = tf::gather(m, tf::constant({{1, 1}, {0, 1}}), 1);  // indices of rank 2 along axis 1
  CHECK(g1.shape() == tf::Shape{3, 2, 2});
  CHECK_THAT(g1.to_vector<double>(),
             Equals(std::vector<double>{1, 1, 0, 1, 3, 3, 2, 3, 5, 5, 4, 5}));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    CHECK_THAT(grad_of(x, [&](const tf::Tensor& t) { return tf::gather(t, idx); }),
               Equals(std::vector<double>{2, 0, 1}));
    CHECK_THAT(grad_of(m,
                       [](const tf::Tensor& t) {
                         return tf::gather(t, tf::constant({1, 1, 1}), 1) * 2.0;
                       }),
               Equals(std::vector<double>{0, 6, 0, 6, 0, 6}));
    auto r = random_input({4, 3}, 35);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::square(tf::gather(in[0], tf::constant({3, 0, 3, 1})));
              },
              {r}) < 1e-6);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::exp(tf::gather(in[0], tf::constant({2, 2}), -1));
              },
              {r}) < 1e-6);
  }
}

TEST_CASE("gather with an out-of-range index names the index and GatherV2", "[ops][shape]") {
  auto x = tf::constant({1.f, 2.f, 3.f});
  CHECK_THROWS_AS(tf::gather(x, tf::constant({0, 3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::gather(x, tf::constant({0, 3})),
                    Catch::Contains("indices = 3") && Catch::Contains("[0, 3)") &&
                        Catch::Contains("[Op:GatherV2]"));
  CHECK_THROWS_WITH(tf::gather(x, tf::constant({-1})), Catch::Contains("[Op:GatherV2]"));
  CHECK_THROWS_AS(tf::gather(x, tf::constant({0.f})), tf::InvalidArgumentError);
}

TEST_CASE("one_hot puts on_value at each index; out-of-range rows are all off", "[ops][shape]") {
  auto h = tf::one_hot(tf::constant({0, 2, -1, 3}), 3);
  CHECK(h.dtype() == tf::float32);
  CHECK(h.shape() == tf::Shape{4, 3});
  CHECK_THAT(h.to_vector<float>(), Equals(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  auto h2 = tf::one_hot(tf::constant({{int64_t(1)}, {int64_t(0)}}), 2, 5.0, -1.0, tf::int32);
  CHECK(h2.dtype() == tf::int32);
  CHECK(h2.shape() == tf::Shape{2, 1, 2});
  CHECK_THAT(h2.to_vector<int>(), Equals(std::vector<int>{-1, 5, 5, -1}));
  CHECK_THROWS_AS(tf::one_hot(tf::constant({0.5f}), 2), tf::InvalidArgumentError);
}

TEST_CASE("tile repeats along each axis; its gradient sums the copies", "[ops][shape]") {
  auto x = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
  auto t = tf::tile(x, {2, 3});
  CHECK(t.shape() == tf::Shape{4, 6});
  CHECK_THAT(tf::slice(t, {0, 0}, {1, 6}).to_vector<double>(),
             Equals(std::vector<double>{1, 2, 1, 2, 1, 2}));
  CHECK_THAT(tf::slice(t, {3, 0}, {1, 2}).to_vector<double>(), Equals(std::vector<double>{3, 4}));
  CHECK_THROWS_WITH(tf::tile(x, {2}), Catch::Contains("[Op:Tile]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    CHECK_THAT(grad_of(x,
                       [](const tf::Tensor& v) {
                         return tf::tile(v, {2, 3});
                       }),
               Equals(std::vector<double>(4, 6.0)));
    auto r = random_input({2, 3}, 36);
    auto w = random_input({2, 6}, 37);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) {
                return tf::tile(in[0], {1, 2}) * w;
              },
              {r}) < 1e-6);
  }
}

TEST_CASE("pad surrounds with a constant; its gradient is the inner block", "[ops][shape]") {
  auto x = tf::constant({{1.0, 2.0}});
  auto p = tf::pad(x, {{1, 0}, {0, 2}}, -1.0);
  CHECK(p.shape() == tf::Shape{2, 4});
  CHECK_THAT(p.to_vector<double>(), Equals(std::vector<double>{-1, -1, -1, -1, 1, 2, -1, -1}));
  CHECK_THAT(tf::pad(tf::constant({5, 6}), {{2, 1}}).to_vector<int>(),
             Equals(std::vector<int>{0, 0, 5, 6, 0}));
  CHECK_THROWS_WITH(tf::pad(x, {{1, 1}}), Catch::Contains("[Op:PadV2]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    CHECK_THAT(
        grad_of(x,
                [](const tf::Tensor& v) {
                  return tf::pad(v, {{1, 1}, {1, 1}}) * tf::reshape(tf::range(0.0, 12.0), {3, 4});
                }),
        Equals(std::vector<double>{5, 6}));
    auto r = random_input({2, 3}, 38);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) {
                return tf::square(tf::pad(in[0], {{0, 1}, {2, 1}}, 3.0));
              },
              {r}) < 1e-6);
  }
}

TEST_CASE("broadcast_to expands size-1 and leading axes; its gradient sums them", "[ops][shape]") {
  auto x = tf::constant({{1.0}, {2.0}});
  auto b = tf::broadcast_to(x, {3, 2, 2});
  CHECK(b.shape() == tf::Shape{3, 2, 2});
  CHECK_THAT(tf::slice(b, {2, 0, 0}, {1, 2, 2}).to_vector<double>(),
             Equals(std::vector<double>{1, 1, 2, 2}));
  CHECK_THROWS_AS(tf::broadcast_to(x, {3, 3}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::broadcast_to(x, {3, 3}),
                    Catch::Contains("(2, 1)") && Catch::Contains("(3, 3)") &&
                        Catch::Contains("[Op:BroadcastTo]"));
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    CHECK_THAT(grad_of(x,
                       [](const tf::Tensor& v) {
                         return tf::broadcast_to(v, {3, 2, 2});
                       }),
               Equals(std::vector<double>{6, 6}));
    auto r = random_input({3, 1}, 39);
    auto w = random_input({2, 3, 4}, 40);
    CHECK(tf::test::max_gradient_error(
              [&](auto& in) {
                return tf::broadcast_to(in[0], {2, 3, 4}) * w;
              },
              {r}) < 1e-6);
  }
}

TEST_CASE("shape returns the dims as int32", "[ops][shape]") {
  auto s = tf::shape(tf::zeros({2, 3, 5}));
  CHECK(s.dtype() == tf::int32);
  CHECK(s.shape() == tf::Shape{3});
  CHECK_THAT(s.to_vector<int>(), Equals(std::vector<int>{2, 3, 5}));
  CHECK(tf::shape(tf::constant(1.f)).shape() == tf::Shape{0});
}

TEST_CASE("stop_gradient blocks the gradient; identity passes it unchanged", "[ops][shape]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({1.0, -2.0, 3.0});
    {
      tf::GradientTape tape;
      tape.watch(x);
      auto s = tf::stop_gradient(x);
      CHECK_THAT(s.to_vector<double>(), Equals(x.to_vector<double>()));
      // y = sg(x) * x: dy/dx = x, not 2x.
      CHECK_THAT(tape.gradient(s * x, x).to_vector<double>(),
                 Equals(std::vector<double>{1, -2, 3}));
    }
    {
      tf::GradientTape tape;
      tape.watch(x);
      CHECK_FALSE(tape.gradient(tf::stop_gradient(x), x).defined());
    }
    {
      tf::GradientTape tape;
      tape.watch(x);
      auto i = tf::identity(x);
      CHECK(i.id() != x.id());
      CHECK_THAT(i.to_vector<double>(), Equals(x.to_vector<double>()));
      CHECK_THAT(tape.gradient(i * x, x).to_vector<double>(),
                 Equals(std::vector<double>{2, -4, 6}));
    }
    auto r = random_input({2, 3}, 41);
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::square(tf::identity(in[0])); },
                                       {r}) < 1e-6);
  }
}

TEST_CASE("slicing whole leading rows is a view with the right values and gradient",
          "[ops][shape]") {
  tf::DeviceScope cpu("/cpu:0");  // data() below reads host memory
  auto x = tf::reshape(tf::range(0.0, 12.0, 1.0, tf::float64), tf::Shape{4, 3});
  tf::GradientTape tape;
  tape.watch(x);
  auto s = tf::slice(x, {1, 0}, {2, 3});
  CHECK(s.shape() == tf::Shape{2, 3});
  CHECK(s.to_vector<double>() == std::vector<double>{3, 4, 5, 6, 7, 8});
  CHECK(s.data() == static_cast<const double*>(x.data()) + 3);  // no copy
  auto g = tape.gradient(s * 2.0, x);
  CHECK(g.to_vector<double>() == std::vector<double>{0, 0, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0});
}
