#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;

namespace {
std::vector<float> values(const tf::Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST_CASE("assign, assign_add and assign_sub replace the value in place", "[variable]") {
  tf::Variable v(tf::constant({1.f, 2.f}));
  CHECK(values(v.value()) == std::vector<float>{1.f, 2.f});
  v.assign(tf::constant({3.f, 4.f}));
  CHECK(values(v.value()) == std::vector<float>{3.f, 4.f});
  v.assign_add(tf::constant({1.f, 10.f}));
  CHECK(values(v.value()) == std::vector<float>{4.f, 14.f});
  v.assign_sub(tf::constant({0.5f, 4.f}));
  CHECK(values(v.value()) == std::vector<float>{3.5f, 10.f});
  // Repeated updates with nobody holding the value (the optimizer's steady state).
  for (int i = 0; i < 3; ++i) v.assign_add(tf::constant({1.f, 1.f}));
  CHECK(values(v.peek()) == std::vector<float>{6.5f, 13.f});
}

TEST_CASE("copies of a Variable share its storage and identity", "[variable]") {
  tf::Variable a(tf::constant(1.f), {.name = "shared"});
  tf::Variable b = a;
  b.assign(tf::constant(5.f));
  CHECK(a.value().item<float>() == 5.f);
  a.assign_add(tf::constant(1.f));
  CHECK(b.value().item<float>() == 6.f);
  CHECK(a == b);
  CHECK(a.handle_id() == b.handle_id());
  tf::Variable other(tf::constant(6.f), {.name = "shared"});
  CHECK_FALSE(a == other);
  CHECK(a.handle_id() != other.handle_id());
}

TEST_CASE("a Tensor read before an assign keeps the value it saw", "[variable]") {
  auto init = tf::constant({1.f, 2.f});
  tf::Variable v(init);
  tf::Tensor before = v;  // implicit conversion reads the value
  v.assign(tf::constant({7.f, 8.f}));
  CHECK(values(before) == std::vector<float>{1.f, 2.f});
  tf::Tensor mid = v.value();
  v.assign_add(tf::constant({1.f, 1.f}));
  v.assign_sub(tf::constant({0.f, 3.f}));
  CHECK(values(mid) == std::vector<float>{7.f, 8.f});
  CHECK(values(v.value()) == std::vector<float>{8.f, 6.f});
  // The initial value was copied: writes never show through it.
  CHECK(values(init) == std::vector<float>{1.f, 2.f});
}

TEST_CASE("assigning a value of the wrong shape throws InvalidArgumentError naming both shapes",
          "[variable][errors]") {
  tf::Variable v(tf::zeros({2, 3}), {.name = "w"});
  auto bad = tf::zeros({3, 2});
  CHECK_THROWS_AS(v.assign(bad), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(v.assign(bad),
                    Catch::Contains("(3, 2)") && Catch::Contains("(2, 3)") &&
                        Catch::Contains("'w'") && Catch::Contains("[Op:AssignVariableOp]"));
  CHECK_THROWS_AS(v.assign_add(tf::zeros({3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(v.assign_add(tf::zeros({3})),
                    Catch::Contains("(3,)") && Catch::Contains("[Op:AssignAddVariableOp]"));
  CHECK_THROWS_WITH(v.assign_sub(tf::zeros({})),
                    Catch::Contains("()") && Catch::Contains("[Op:AssignSubVariableOp]"));
  // Nothing was written.
  CHECK(values(v.value()) == std::vector<float>(6, 0.f));
}

TEST_CASE("assigning a value of the wrong dtype throws InvalidArgumentError naming both dtypes",
          "[variable][errors]") {
  tf::Variable v(tf::constant({1.f, 2.f}));
  auto ints = tf::constant({1, 2});
  CHECK_THROWS_AS(v.assign(ints), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(v.assign(ints), Catch::Contains("int32") && Catch::Contains("float32"));
  CHECK_THROWS_AS(v.assign_add(tf::constant({1.0, 2.0})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(v.assign_sub(tf::constant({1.0, 2.0})),
                    Catch::Contains("float64") && Catch::Contains("float32"));
  CHECK(values(v.value()) == std::vector<float>{1.f, 2.f});
}

TEST_CASE("Variable accessors report name, trainable, shape, dtype and device", "[variable]") {
  tf::DeviceScope cpu("/cpu:0");
  tf::Variable d(tf::constant(1.f));
  CHECK(d.name() == "Variable");
  CHECK(d.trainable());
  CHECK(d.defined());

  tf::Variable w(tf::zeros({2, 3}, tf::float64), {.name = "dense/kernel", .trainable = false});
  CHECK(w.name() == "dense/kernel");
  CHECK_FALSE(w.trainable());
  CHECK(w.shape() == tf::Shape{2, 3});
  CHECK(w.dtype() == tf::float64);
  CHECK(w.device() == "/job:localhost/replica:0/task:0/device:CPU:0");
  CHECK(w.value().shape() == tf::Shape{2, 3});

  tf::Variable empty;
  CHECK_FALSE(empty.defined());
  CHECK_THROWS_AS(empty.value(), tf::FailedPreconditionError);
}

TEST_CASE("a Variable converts to Tensor and works in every op", "[variable]") {
  tf::Variable w(tf::constant({1.f, 2.f}), {.name = "w"});
  auto y = w * 2.f + w;
  CHECK(values(y) == std::vector<float>{3.f, 6.f});
  CHECK(tf::reduce_sum(w).item<float>() == 3.f);
  CHECK(values(tf::square(w)) == std::vector<float>{1.f, 4.f});
}

TEST_CASE("a Variable prints as TensorFlow's <tf.Variable 'name:0' shape=... dtype=...>",
          "[variable]") {
  std::ostringstream os;
  os << tf::Variable(tf::constant(3.f), {.name = "w"});
  CHECK(os.str() == "<tf.Variable 'w:0' shape=() dtype=float32, numpy=3.0>");

  std::ostringstream vec;
  vec << tf::Variable(tf::constant({1, 2, 3}), {.name = "counts"});
  CHECK_THAT(vec.str(),
             Catch::StartsWith("<tf.Variable 'counts:0' shape=(3,) dtype=int32, numpy=") &&
                 Catch::Contains("1") && Catch::Contains("3") && Catch::EndsWith(">"));

  std::ostringstream none;
  none << tf::Variable();
  CHECK(none.str() == "<tf.Variable (uninitialized)>");
}
