// The seed example (API.md section 1) built against an installed tapeflow.
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
  std::cout << "dy/dw = " << grads[0] << "\n";
  if (grads[0].item<float>() != 10.f) {
    std::cerr << "consumer: expected dy/dw = 10\n";
    return 1;
  }
  return 0;
}
