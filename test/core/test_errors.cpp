#include <stdexcept>
#include <string>
#include <type_traits>

#include "test_util.hpp"

namespace tf = tapeflow;

template <class... E>
constexpr bool all_are_tf_errors = ((std::is_base_of_v<tf::Error, E> &&
                                     std::is_base_of_v<std::runtime_error, E>)&&...);

static_assert(std::is_base_of_v<std::runtime_error, tf::Error>);
static_assert(all_are_tf_errors<tf::InvalidArgumentError,
                                tf::NotFoundError,
                                tf::FailedPreconditionError,
                                tf::OutOfRangeError,
                                tf::ResourceExhaustedError,
                                tf::DataLossError,
                                tf::UnimplementedError,
                                tf::InternalError,
                                tf::RuntimeError>);

TEST_CASE("incompatible shapes throw InvalidArgumentError naming both shapes and the op",
          "[errors]") {
  auto x = tf::zeros({2, 3});
  auto y = tf::zeros({4});
  CHECK_THROWS_AS(x + y, tf::InvalidArgumentError);
  CHECK_THROWS_WITH(x + y, Catch::Equals("Incompatible shapes: (2, 3) vs. (4,) [Op:AddV2]"));
  CHECK_THROWS_WITH(tf::zeros({3}) * tf::zeros({2}),
                    Catch::Contains("(3,) vs. (2,)") && Catch::Contains("[Op:Mul]"));
  CHECK_THROWS_WITH(tf::zeros({3}) - tf::zeros({2}), Catch::Contains("[Op:Sub]"));
  CHECK_THROWS_WITH(tf::zeros({3}) / tf::zeros({2}), Catch::Contains("[Op:RealDiv]"));

  auto a = tf::zeros({2, 3});
  auto b = tf::zeros({2, 3});
  CHECK_THROWS_AS(tf::matmul(a, b), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::matmul(a, b), Catch::Contains("(2, 3)") && Catch::Contains("[Op:MatMul]"));
  CHECK_THROWS_WITH(tf::reshape(a, tf::Shape{4}),
                    Catch::Contains("[Op:Reshape]") && Catch::Contains("4"));
}

TEST_CASE("mixing dtypes throws InvalidArgumentError naming both dtypes and the op: no promotion",
          "[errors]") {
  auto f = tf::constant({1.f, 2.f});
  auto i = tf::constant({1, 2});
  CHECK_THROWS_AS(f + i, tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      f + i,
      Catch::Contains("float32") && Catch::Contains("int32") && Catch::Contains("[Op:AddV2]"));
  CHECK_THROWS_WITH(
      f * tf::constant({1.0, 2.0}),
      Catch::Contains("float32") && Catch::Contains("float64") && Catch::Contains("[Op:Mul]"));
  // A floating-only op refuses integers, naming the dtype.
  CHECK_THROWS_AS(tf::exp(i), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::exp(i), Catch::Contains("int32") && Catch::Contains("[Op:Exp]"));
}

TEST_CASE("an axis out of range throws InvalidArgumentError naming the axis, shape and op",
          "[errors]") {
  auto x = tf::zeros({2, 3});
  CHECK_THROWS_AS(tf::reduce_sum(x, {2}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      tf::reduce_sum(x, {2}),
      Catch::Contains("2") && Catch::Contains("(2, 3)") && Catch::Contains("[Op:Sum]"));
  CHECK_THROWS_AS(tf::reduce_mean(x, {-3}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::reduce_mean(x, {-3}),
                    Catch::Contains("-3") && Catch::Contains("[Op:Mean]"));
  CHECK_THROWS_AS(tf::expand_dims(x, 4), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::expand_dims(x, 4), Catch::Contains("[Op:ExpandDims]"));
  CHECK_THROWS_AS(tf::concat({x, x}, 2), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::transpose(x, {0, 0}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::transpose(x, {0, 0}), Catch::Contains("[Op:Transpose]"));
}

TEST_CASE(
    "item() on a tensor with more than one element throws InvalidArgumentError naming "
    "its shape",
    "[errors]") {
  auto x = tf::constant({1.f, 2.f});
  CHECK_THROWS_AS(x.item<float>(), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(x.item<float>(), Catch::Contains("(2,)"));
  CHECK_THROWS_AS(tf::zeros({0}).item<float>(), tf::InvalidArgumentError);
  CHECK(tf::constant({5.f}).item<float>() == 5.f);  // one element of any rank is fine
  CHECK_THROWS_AS(tf::Tensor().item<float>(), tf::InvalidArgumentError);
}

TEST_CASE(
    "assigning a wrongly shaped value to a Variable throws InvalidArgumentError with both "
    "shapes",
    "[errors][variable]") {
  tf::Variable v(tf::zeros({2}), {.name = "v"});
  CHECK_THROWS_AS(v.assign(tf::zeros({2, 1})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(v.assign(tf::zeros({2, 1})),
                    Catch::Contains("(2, 1)") && Catch::Contains("(2,)") &&
                        Catch::Contains("[Op:AssignVariableOp]"));
}

TEST_CASE("every thrown error can be caught as tf::Error and as std::runtime_error", "[errors]") {
  auto x = tf::zeros({2, 3});
  auto y = tf::zeros({4});
  CHECK_THROWS_AS(x + y, tf::Error);
  CHECK_THROWS_AS(x + y, std::runtime_error);
  CHECK_THROWS_AS(tf::Variable().value(), tf::Error);
  CHECK_THROWS_AS(tf::Variable().value(), std::runtime_error);
  tf::GradientTape tape;
  tape.watch(x);
  auto z = x * x;
  tape.gradient(z, x);
  CHECK_THROWS_AS(tape.gradient(z, x), tf::Error);
  CHECK_THROWS_AS(tape.gradient(z, x), std::runtime_error);
  try {
    (void)tf::reduce_sum(x, {5});
    FAIL("expected an exception");
  } catch (const tf::Error& e) {
    CHECK(std::string(e.what()).find("[Op:Sum]") != std::string::npos);
  }
}

TEST_CASE(
    "DeviceScope(\"/gpu:0\") throws InvalidArgumentError naming the devices when there is "
    "no GPU",
    "[errors]") {
  if (tf::config::gpu_available()) {
    tf::DeviceScope scope("/gpu:0");
    auto t = tf::zeros({2});
    CHECK(t.device() == "/job:localhost/replica:0/task:0/device:GPU:0");
    CHECK_THROWS_AS(tf::DeviceScope("/gpu:99"), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::DeviceScope("/gpu:99"),
                      Catch::Contains("GPU:99") && Catch::Contains("device:CPU:0"));
  } else {
    WARN("no GPU: checking that asking for one fails");
    CHECK_THROWS_AS(tf::DeviceScope("/gpu:0"), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::DeviceScope("/gpu:0"),
                      Catch::Contains("GPU:0") &&
                          Catch::Contains("/job:localhost/replica:0/task:0/device:CPU:0"));
    CHECK(tf::config::list_physical_devices("GPU").empty());
  }
  // A failed scope leaves no trace: ops still run on the default device.
  CHECK(tf::zeros({1}).device() == tf::config::default_device().name());
  CHECK_THROWS_AS(tf::DeviceScope("/cpu:3"), tf::InvalidArgumentError);
}

TEST_CASE("a malformed device string throws InvalidArgumentError quoting it", "[errors]") {
  CHECK_THROWS_AS(tf::DeviceScope("/tpu:0"), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::DeviceScope("/tpu:0"), Catch::Contains("'/tpu:0'"));
  CHECK_THROWS_AS(tf::DeviceScope("/gpu:x"), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::DeviceScope("banana"), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::zeros({2}).to("/npu:0"), tf::InvalidArgumentError);
  // Accepted spellings parse.
  CHECK(tf::Device::parse("/GPU:1").type == tf::DeviceType::GPU);
  CHECK(tf::Device::parse("/GPU:1").index == 1);
  CHECK(tf::Device::parse("/device:CPU:0") == tf::Device{tf::DeviceType::CPU, 0});
  CHECK(tf::Device::parse("/job:localhost/replica:0/task:0/device:GPU:2") ==
        tf::Device{tf::DeviceType::GPU, 2});
  tf::DeviceScope ok("cpu:0");
  CHECK(tf::zeros({1}).device() == "/job:localhost/replica:0/task:0/device:CPU:0");
}
