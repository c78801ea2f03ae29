#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Catch::Matchers::Equals;

namespace {

std::string printed(const tf::Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

std::string printed(const tf::Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double stddev_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

}  // namespace

TEST_CASE("constant picks the dtype from the C++ type", "[core][creation]") {
  CHECK(tf::constant(1.5f).dtype() == tf::float32);
  CHECK(tf::constant(1.5).dtype() == tf::float64);
  CHECK(tf::constant(3).dtype() == tf::int32);
  CHECK(tf::constant(int64_t(3)).dtype() == tf::int64);
  CHECK(tf::constant(true).dtype() == tf::boolean);
  CHECK(tf::constant(1.5f).shape() == tf::Shape{});
  CHECK(tf::constant(1.5f).item<float>() == 1.5f);
  CHECK(tf::constant(int64_t(1) << 40).item<int64_t>() == (int64_t(1) << 40));
  CHECK(tf::constant(true).item<bool>());

  auto v = tf::constant({1, 2, 3});
  CHECK(v.dtype() == tf::int32);
  CHECK(v.shape() == tf::Shape{3});
  CHECK_THAT(v.to_vector<int>(), Equals(std::vector<int>{1, 2, 3}));
  CHECK(tf::constant({1.0, 2.0}).dtype() == tf::float64);
  CHECK(tf::constant({int64_t(1)}).dtype() == tf::int64);
  auto b = tf::constant({true, false, true});
  CHECK(b.dtype() == tf::boolean);
  CHECK_THAT(b.to_vector<bool>(), Equals(std::vector<bool>{true, false, true}));

  auto m = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  CHECK(m.dtype() == tf::float32);
  CHECK(m.shape() == tf::Shape{2, 3});
  CHECK(m.rank() == 2);
  CHECK(m.num_elements() == 6);
  CHECK_THAT(m.to_vector<float>(), Equals(std::vector<float>{1, 2, 3, 4, 5, 6}));
  CHECK_THROWS_AS(tf::constant({{1, 2}, {3}}), tf::InvalidArgumentError);
  auto bm = tf::constant({{true, false}, {false, true}});  // std::vector<bool> has no data()
  CHECK(bm.dtype() == tf::boolean);
  CHECK(bm.shape() == tf::Shape{2, 2});
  CHECK_THAT(bm.to_vector<bool>(), Equals(std::vector<bool>{true, false, false, true}));

  auto s = tf::constant(std::vector<double>{1, 2, 3, 4, 5, 6}, tf::Shape{3, 1, 2});
  CHECK(s.dtype() == tf::float64);
  CHECK(s.shape() == tf::Shape{3, 1, 2});
  CHECK(tf::constant(std::vector<int64_t>{7, 8}, tf::Shape{2}).dtype() == tf::int64);
  CHECK(tf::constant(std::vector<bool>{true}, tf::Shape{1, 1}).dtype() == tf::boolean);
  CHECK_THROWS_AS(tf::constant(std::vector<float>{1, 2, 3}, tf::Shape{2, 2}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::constant(std::vector<float>{1, 2, 3}, tf::Shape{2, 2}),
                    Catch::Contains("3 values") && Catch::Contains("(2, 2)"));
}

TEST_CASE("constant with an explicit dtype converts the value", "[core][creation]") {
  auto a = tf::constant(3, tf::float32);
  CHECK(a.dtype() == tf::float32);
  CHECK(a.item<float>() == 3.f);
  CHECK(tf::constant(2.75, tf::int32).item<int>() == 2);  // truncates as C++
  CHECK(tf::constant(0.0, tf::boolean).item<bool>() == false);
  auto c = tf::constant(std::vector<int>{1, 0, 2}, tf::Shape{3}, tf::float64);
  CHECK(c.dtype() == tf::float64);
  CHECK_THAT(c.to_vector<double>(), Equals(std::vector<double>{1, 0, 2}));
}

TEST_CASE("zeros, ones, fill, zeros_like and ones_like fill a shape with one value",
          "[core][creation]") {
  auto z = tf::zeros({2, 3});
  CHECK(z.dtype() == tf::float32);
  CHECK(z.shape() == tf::Shape{2, 3});
  CHECK_THAT(z.to_vector<float>(), Equals(std::vector<float>(6, 0.f)));
  auto o = tf::ones({4}, tf::int64);
  CHECK(o.dtype() == tf::int64);
  CHECK_THAT(o.to_vector<int64_t>(), Equals(std::vector<int64_t>(4, 1)));
  CHECK(tf::zeros({}).shape() == tf::Shape{});
  CHECK(tf::zeros({0, 3}).num_elements() == 0);
  CHECK_THROWS_AS(tf::zeros({-1}), tf::InvalidArgumentError);

  auto f = tf::fill({2, 2}, 7.5);
  CHECK(f.dtype() == tf::float64);
  CHECK_THAT(f.to_vector<double>(), Equals(std::vector<double>(4, 7.5)));
  auto fb = tf::fill({3}, true);
  CHECK(fb.dtype() == tf::boolean);
  CHECK_THAT(fb.to_vector<bool>(), Equals(std::vector<bool>(3, true)));
  CHECK(tf::fill({2}, 4).dtype() == tf::int32);
  CHECK_THROWS_AS(tf::fill({2}, tf::constant({1.f, 2.f})), tf::InvalidArgumentError);

  auto x = tf::constant({{1, 2, 3}});
  auto zl = tf::zeros_like(x);
  CHECK(zl.dtype() == tf::int32);
  CHECK(zl.shape() == tf::Shape{1, 3});
  CHECK_THAT(zl.to_vector<int>(), Equals(std::vector<int>{0, 0, 0}));
  auto ol = tf::ones_like(tf::constant({0.5, 0.25}));
  CHECK(ol.dtype() == tf::float64);
  CHECK_THAT(ol.to_vector<double>(), Equals(std::vector<double>{1, 1}));
}

TEST_CASE("range, linspace and eye give the documented sequences", "[core][creation]") {
  auto r = tf::range(0, 10, 3);
  CHECK(r.dtype() == tf::int32);
  CHECK_THAT(r.to_vector<int>(), Equals(std::vector<int>{0, 3, 6, 9}));
  CHECK_THAT(tf::range(5).to_vector<int>(), Equals(std::vector<int>{0, 1, 2, 3, 4}));
  auto rf = tf::range(1.0, 2.0, 0.25);
  CHECK(rf.dtype() == tf::float64);
  CHECK_THAT(rf.to_vector<double>(), Equals(std::vector<double>{1.0, 1.25, 1.5, 1.75}));
  CHECK_THAT(tf::range(5, 0, -2).to_vector<int>(), Equals(std::vector<int>{5, 3, 1}));
  CHECK(tf::range(int64_t(4)).dtype() == tf::int64);
  CHECK(tf::range(3, 3).num_elements() == 0);
  CHECK_THROWS_WITH(tf::range(0, 5, 0), Catch::Contains("[Op:Range]"));
  CHECK_THROWS_AS(tf::range(5, 0, 1), tf::InvalidArgumentError);

  auto l = tf::linspace(0.0, 1.0, 5);
  CHECK(l.dtype() == tf::float32);
  CHECK_THAT(l.to_vector<float>(), Equals(std::vector<float>{0.f, 0.25f, 0.5f, 0.75f, 1.f}));
  auto l64 = tf::linspace(-1.0, 1.0, 3, tf::float64);
  CHECK(l64.dtype() == tf::float64);
  CHECK_THAT(l64.to_vector<double>(), Equals(std::vector<double>{-1, 0, 1}));
  CHECK_THAT(tf::linspace(2.0, 3.0, 1).to_vector<float>(), Equals(std::vector<float>{2.f}));
  CHECK_THROWS_AS(tf::linspace(0.0, 1.0, 0), tf::InvalidArgumentError);

  auto e = tf::eye(3);
  CHECK(e.dtype() == tf::float32);
  CHECK(e.shape() == tf::Shape{3, 3});
  CHECK_THAT(e.to_vector<float>(), Equals(std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  auto e23 = tf::eye(2, 3, tf::int32);
  CHECK(e23.shape() == tf::Shape{2, 3});
  CHECK_THAT(e23.to_vector<int>(), Equals(std::vector<int>{1, 0, 0, 0, 1, 0}));
}

TEST_CASE("random ops: same seed gives the same numbers, another seed other numbers",
          "[core][creation]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    tf::random::set_seed(42);
    auto a1 = tf::random::normal({100}).to_vector<float>();
    auto a2 = tf::random::normal({100}).to_vector<float>();
    tf::random::set_seed(42);
    CHECK(tf::random::normal({100}).to_vector<float>() == a1);
    CHECK(tf::random::normal({100}).to_vector<float>() == a2);
    CHECK(a1 != a2);  // successive calls differ
    tf::random::set_seed(43);
    CHECK(tf::random::normal({100}).to_vector<float>() != a1);

    tf::random::set_seed(7);
    auto u1 = tf::random::uniform({50}, 0, 1, tf::float64).to_vector<double>();
    auto t1 = tf::random::truncated_normal({50}).to_vector<float>();
    tf::random::set_seed(7);
    CHECK(tf::random::uniform({50}, 0, 1, tf::float64).to_vector<double>() == u1);
    CHECK(tf::random::truncated_normal({50}).to_vector<float>() == t1);
    tf::random::set_seed(8);
    CHECK(tf::random::uniform({50}, 0, 1, tf::float64).to_vector<double>() != u1);
  }
  // The same seed gives the same numbers whatever the device (counter-based generator).
  if (tf::config::gpu_available()) {
    tf::random::set_seed(5);
    auto cpu = tf::random::normal({64}).to_vector<float>();
    tf::random::set_seed(5);
    tf::DeviceScope scope("/gpu:0");
    CHECK_THAT(tf::random::normal({64}).to_vector<float>(), M::Approx(cpu).margin(1e-5f));
  }
}

TEST_CASE("random ops have the requested dtype, shape, moments and ranges", "[core][creation]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    tf::random::set_seed(1234);
    // 20000 samples: the sample mean's standard error is σ/141, so ±0.05σ is over 7 errors.
    auto n = tf::random::normal({100, 200}, 3.0, 2.0, tf::float64);
    CHECK(n.dtype() == tf::float64);
    CHECK(n.shape() == tf::Shape{100, 200});
    auto nv = n.to_vector<double>();
    CHECK(mean_of(nv) == Approx(3.0).margin(0.1));
    CHECK(stddev_of(nv) == Approx(2.0).margin(0.1));

    auto u = tf::random::uniform({20000}, -2.0, 6.0);
    CHECK(u.dtype() == tf::float32);
    auto uv = u.to_vector<double>();
    CHECK(*std::min_element(uv.begin(), uv.end()) >= -2.0);
    CHECK(*std::max_element(uv.begin(), uv.end()) < 6.0);
    CHECK(mean_of(uv) == Approx(2.0).margin(0.1));
    CHECK(stddev_of(uv) == Approx(8.0 / std::sqrt(12.0)).margin(0.1));
    auto uv01 = tf::random::uniform({1000}).to_vector<float>();
    CHECK(*std::min_element(uv01.begin(), uv01.end()) >= 0.f);
    CHECK(*std::max_element(uv01.begin(), uv01.end()) < 1.f);

    auto t = tf::random::truncated_normal({20000}, -1.0, 0.5, tf::float64);
    auto tv = t.to_vector<double>();
    CHECK(*std::min_element(tv.begin(), tv.end()) >= -2.0);  // mean - 2 stddev
    CHECK(*std::max_element(tv.begin(), tv.end()) <= 0.0);   // mean + 2 stddev
    CHECK(mean_of(tv) == Approx(-1.0).margin(0.05));
    // A standard normal truncated to ±2 has stddev 0.8796; scaled by 0.5.
    CHECK(stddev_of(tv) == Approx(0.5 * 0.8796).margin(0.02));
  }
  CHECK_THROWS_AS(tf::random::uniform({2}, 1.0, 1.0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::random::normal({2}, 0, 1, tf::int32), tf::InvalidArgumentError);
}

TEST_CASE("tensors print exactly as TensorFlow (NumPy's str)", "[core][creation]") {
  CHECK(printed(tf::constant(10.f)) == "tf.Tensor(10.0, shape=(), dtype=float32)");
  CHECK(printed(tf::constant(0.1)) == "tf.Tensor(0.1, shape=(), dtype=float64)");
  CHECK(printed(tf::constant(100000.f)) == "tf.Tensor(100000.0, shape=(), dtype=float32)");
  CHECK(printed(tf::constant(1e-5)) == "tf.Tensor(1e-05, shape=(), dtype=float64)");
  CHECK(printed(tf::constant(-3)) == "tf.Tensor(-3, shape=(), dtype=int32)");
  CHECK(printed(tf::constant(true)) == "tf.Tensor(True, shape=(), dtype=bool)");
  CHECK(printed(tf::constant({1.f, 2.f, 3.f})) ==
        "tf.Tensor([1. 2. 3.], shape=(3,), dtype=float32)");
  CHECK(printed(tf::constant({{1.f, 2.f}, {3.f, 4.f}})) ==
        "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)");
  // Each element keeps its own digits, padded to a common width (NumPy 'maxprec').
  CHECK(printed(tf::constant({1.5f, 2.25f, -3.f})) ==
        "tf.Tensor([ 1.5   2.25 -3.  ], shape=(3,), dtype=float32)");
  CHECK(tf::to_string(tf::constant({0.1f, 0.2f})) == "[0.1 0.2]");  // float32's shortest digits
  CHECK(tf::to_string(tf::constant({1.0 / 3.0, 1.0})) == "[0.33333333 1.        ]");
  // Shortest round-trip digits, zero-filled (Dragon4 'unique'), not the exact binary value.
  CHECK(tf::to_string(tf::constant({99999992.f})) == "[99999990.]");
  // Scientific when the magnitudes span more than 1e3: one shared mantissa length.
  CHECK(tf::to_string(tf::constant({1e-5, 1.5})) == "[1.0e-05 1.5e+00]");
  CHECK(tf::to_string(tf::constant({1e9f, 1.f})) == "[1.e+09 1.e+00]");
  CHECK(tf::to_string(tf::constant(
            {1.0, std::nan(""), -std::numeric_limits<double>::infinity()})) == "[  1.  nan -inf]");
  CHECK(printed(tf::constant({1, -20, 300})) ==
        "tf.Tensor([  1 -20 300], shape=(3,), dtype=int32)");
  CHECK(printed(tf::constant({true, false})) == "tf.Tensor([ True False], shape=(2,), dtype=bool)");
  CHECK(printed(tf::constant(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}, tf::Shape{2, 2, 2})) ==
        "tf.Tensor(\n[[[1 2]\n  [3 4]]\n\n [[5 6]\n  [7 8]]], shape=(2, 2, 2), dtype=int64)");
  CHECK(printed(tf::zeros({0, 3})) == "tf.Tensor([], shape=(0, 3), dtype=float32)");
}

TEST_CASE("long rows wrap at 75 columns and large tensors are summarised with ...",
          "[core][creation]") {
  CHECK(printed(tf::range(30)) ==
        "tf.Tensor(\n[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n"
        " 24 25 26 27 28 29], shape=(30,), dtype=int32)");
  // Over 1000 elements: the first and last three along each axis, widths from those alone.
  CHECK(printed(tf::range(2000)) ==
        "tf.Tensor([   0    1    2 ... 1997 1998 1999], shape=(2000,), dtype=int32)");
  CHECK(tf::to_string(tf::range(0.f, 2000.f)) ==
        "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
  CHECK(
      tf::to_string(tf::reshape(tf::range(2000), {1000, 2})) ==
      "[[   0    1]\n [   2    3]\n [   4    5]\n ...\n [1994 1995]\n [1996 1997]\n [1998 1999]]");
  // Positional floats (100..1199 span less than 1e3) share a width of 5 ("1167.").
  CHECK(tf::to_string(tf::reshape(tf::range(100.0, 1200.0), {100, 11})) ==
        "[[ 100.  101.  102. ...  108.  109.  110.]\n"
        " [ 111.  112.  113. ...  119.  120.  121.]\n"
        " [ 122.  123.  124. ...  130.  131.  132.]\n"
        " ...\n"
        " [1167. 1168. 1169. ... 1175. 1176. 1177.]\n"
        " [1178. 1179. 1180. ... 1186. 1187. 1188.]\n"
        " [1189. 1190. 1191. ... 1197. 1198. 1199.]]");
}

TEST_CASE("shapes print as Python tuples", "[core][creation]") {
  CHECK(printed(tf::Shape{2, 3}) == "(2, 3)");
  CHECK(printed(tf::Shape{3}) == "(3,)");
  CHECK(printed(tf::Shape{}) == "()");
  CHECK(tf::Shape{4, 1, 2}.to_string() == "(4, 1, 2)");
}

TEST_CASE("item() needs exactly one element; to_vector converts the dtype", "[core][creation]") {
  CHECK_THROWS_AS(tf::constant({1.f, 2.f}).item<float>(), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::constant({1.f, 2.f}).item<float>(), Catch::Contains("(2,)"));
  CHECK_THROWS_AS(tf::zeros({0}).item<float>(), tf::InvalidArgumentError);
  CHECK(tf::constant({{2.5}}).item<double>() == 2.5);  // one element of any rank
  CHECK(tf::constant(7).item<double>() == 7.0);

  auto f = tf::constant({-1.5f, 0.f, 2.75f});
  CHECK_THAT(f.to_vector<double>(), Equals(std::vector<double>{-1.5, 0, 2.75}));
  CHECK_THAT(f.to_vector<int>(), Equals(std::vector<int>{-1, 0, 2}));  // truncates as C++
  CHECK_THAT(f.to_vector<bool>(), Equals(std::vector<bool>{true, false, true}));
  CHECK_THAT(tf::constant({true, false}).to_vector<float>(), Equals(std::vector<float>{1, 0}));
  CHECK_THAT(tf::constant({int64_t(1) << 33}).to_vector<double>(),
             Equals(std::vector<double>{8589934592.0}));
  CHECK_THROWS_AS(tf::Tensor().to_vector<float>(), tf::InvalidArgumentError);
}
