// The seed: y = a·w² + b·w + c at (a, b, c, w) = (1, 2, 1, 4), so dy/dw = 2aw + b = 10.
#include <cassert>
#include <iostream>
#include <tapeflow/tapeflow.hpp>

namespace tf = tapeflow;

int main() {
  auto a = tf::constant(1.f), b = tf::constant(2.f), c = tf::constant(1.f);
  auto w = tf::constant(4.f);
  tf::GradientTape tape;
  tape.watch(w);
  auto y = a * tf::pow(w, 2.f) + b * w + c;
  auto grads = tape.gradient(y, {w});
  std::cout << grads[0] << "\n";  // tf.Tensor(10.0, shape=(), dtype=float32)
  assert(grads[0].item<float>() == 10.f);
  return grads[0].item<float>() == 10.f ? 0 : 1;
}
