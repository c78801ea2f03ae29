#include <catch2/catch.hpp>
#include <sstream>
#include <tapeflow/tapeflow.hpp>

namespace tf = tapeflow;

TEST_CASE("seed: dy/dw of a*w^2 + b*w + c at w = 4 is exactly 10", "[autodiff][seed]") {
  auto a = tf::constant(1.f), b = tf::constant(2.f), c = tf::constant(1.f), w = tf::constant(4.f);
  tf::GradientTape tape;
  tape.watch(w);
  auto g = tape.gradient(a * tf::pow(w, 2.f) + b * w + c, w);
  REQUIRE(g.item<float>() == 10.f);
  std::ostringstream os;
  os << g;
  CHECK(os.str() == "tf.Tensor(10.0, shape=(), dtype=float32)");
}
