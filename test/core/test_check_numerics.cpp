#include <cmath>
#include <limits>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// enable_check_numerics() for one test, turned off again however the test ends.
struct CheckNumericsOn {
  CheckNumericsOn() { tf::debugging::enable_check_numerics(); }
  ~CheckNumericsOn() { tf::debugging::disable_check_numerics(); }
};

}  // namespace

TEST_CASE("check_numerics returns its input when every value is finite", "[debugging]") {
  auto x = tf::constant({1.f, -2.f, 0.f});
  auto y = tf::debugging::check_numerics(x, "x");
  CHECK(y.id() == x.id());
  CHECK(tf::debugging::check_numerics(tf::constant({1, 2}), "ints").dtype() == tf::int32);
  CHECK(tf::debugging::check_numerics(tf::zeros({0}), "empty").num_elements() == 0);
}

TEST_CASE("check_numerics: NaN, Inf and both, in TensorFlow's words", "[debugging]") {
  CHECK_THROWS_AS(tf::debugging::check_numerics(tf::constant({1.f, kNaN}), "m"),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::debugging::check_numerics(tf::constant({1.f, kNaN}), "after layer 3"),
                    "after layer 3 : Tensor had NaN values [Op:CheckNumerics]");
  CHECK_THROWS_WITH(tf::debugging::check_numerics(tf::constant({-kInf, 1.f}), "w"),
                    "w : Tensor had Inf values [Op:CheckNumerics]");
  CHECK_THROWS_WITH(
      tf::debugging::check_numerics(tf::constant({double(kInf), double(kNaN)}), "both"),
      "both : Tensor had Inf and NaN values [Op:CheckNumerics]");
}

TEST_CASE("enable_check_numerics: an op producing Inf or NaN throws, naming op and input shapes",
          "[debugging]") {
  CHECK_FALSE(tf::debugging::check_numerics_enabled());
  auto x = tf::constant({1.f, 0.f, 2.f});
  CHECK_NOTHROW(tf::log(x));  // off by default: -inf flows on silently
  {
    CheckNumericsOn on;
    CHECK(tf::debugging::check_numerics_enabled());
    CHECK_THROWS_AS(tf::log(x), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::log(x),
                      Contains("Op Log produced Inf/NaN in its output") &&
                          Contains("1 Inf and 0 NaN") && Contains("input shapes: (3,)") &&
                          Contains("[Op:Log]"));
    CHECK_THROWS_WITH(tf::ones({2, 3}) / tf::zeros({3}),
                      Contains("Op RealDiv") && Contains("6 Inf") &&
                          Contains("input shapes: (2, 3), (3,)") && Contains("[Op:RealDiv]"));
    CHECK_THROWS_WITH(tf::zeros({2}, tf::float64) / tf::zeros({2}, tf::float64),
                      Contains("0 Inf and 2 NaN") && Contains("float64"));
    CHECK_NOTHROW(tf::exp(x) + tf::sqrt(x));                     // finite results pass
    CHECK_NOTHROW(tf::constant({1, 2}) * tf::constant({3, 4}));  // integers are not checked
  }
  CHECK_FALSE(tf::debugging::check_numerics_enabled());
  CHECK_NOTHROW(tf::log(x));
}

TEST_CASE("enable_check_numerics covers gradient ops: sqrt at 0 is finite, its gradient is not",
          "[debugging]") {
  auto x = tf::constant({0.f, 4.f});
  {
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::sqrt(x);  // d/dx = 1 / (2 sqrt(x)): +Inf at 0
    auto g = tape.gradient(y, x);
    CHECK(std::isinf(g.to_vector<float>()[0]));  // unchecked: the Inf goes through
  }
  CheckNumericsOn on;
  {
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::sqrt(x);
    CHECK(y.to_vector<float>() == std::vector<float>{0.f, 2.f});
    CHECK_THROWS_WITH(
        tape.gradient(y, x),
        Contains("Op RealDiv produced Inf/NaN") && Contains("1 Inf") && Contains("[Op:RealDiv]"));
  }
  {
    // sqrt(x) * 0 is 0 everywhere, but the chain rule gives 0 / 0 = NaN at x = 0.
    tf::GradientTape tape;
    tape.watch(x);
    auto y = tf::sqrt(x) * 0.f;
    CHECK(y.to_vector<float>() == std::vector<float>{0.f, 0.f});
    CHECK_THROWS_WITH(tape.gradient(y, x), Contains("Op RealDiv") && Contains("0 Inf and 1 NaN"));
  }
}

TEST_CASE("check_numerics and enable_check_numerics on every device", "[debugging]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({4.f, 0.f}).to(device);
    CHECK_THROWS_WITH(tf::debugging::check_numerics(tf::log(x), "log"),
                      "log : Tensor had Inf values [Op:CheckNumerics]");
    CheckNumericsOn on;
    CHECK_NOTHROW(tf::sqrt(x));
    CHECK_THROWS_WITH(tf::log(x), Contains("Op Log produced Inf/NaN") && Contains("[Op:Log]"));
  }
}
