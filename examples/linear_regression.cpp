// Linear regression with a GradientTape and SGD: fit y = w·x + b to 100 noisy points of
// y = 0.8·x + 0.7 by minimising the mean squared error.
//
//   linear_regression [steps]      (default 2000; prints every steps/10)
//
// Ends with `converged: yes` (exit 0) when |w - 0.8| < 0.05 and |b - 0.7| < 0.05, else
// `converged: no` (exit 1).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <tapeflow/tapeflow.hpp>

namespace tf = tapeflow;

int main(int argc, char** argv) {
  const long steps = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 2000;
  if (steps <= 0) {
    std::cerr << "usage: linear_regression [steps > 0]\n";
    return 2;
  }
  const float true_w = 0.8f, true_b = 0.7f;

  // Data: x ~ U[-1, 1), y = 0.8x + 0.7 + N(0, 0.02²). Seeded, so every run is the same.
  tf::random::set_seed(42);
  tf::Tensor x = tf::random::uniform({100}, -1.0, 1.0);
  tf::Tensor y = x * true_w + true_b + tf::random::normal({100}, 0.0, 0.02);

  // The model y = w·x + b, starting away from the answer.
  tf::Variable w(tf::random::normal({}), {.name = "w"});
  tf::Variable b(tf::zeros({}), {.name = "b"});
  tf::optimizers::SGD opt({.learning_rate = 0.01f});

  const long every = steps >= 10 ? steps / 10 : 1;
  for (long step = 1; step <= steps; ++step) {
    tf::GradientTape tape;  // trainable variables read inside are watched automatically
    tf::Tensor loss = tf::reduce_mean(tf::square(w * x + b - y));
    std::vector<tf::Tensor> grads = tape.gradient(loss, {w, b});
    opt.apply_gradients(grads, {w, b});
    if (step % every == 0 || step == 1)
      std::printf("step %5ld  loss %.6f  w %.4f  b %.4f\n",
                  step,
                  loss.item<float>(),
                  w.peek().item<float>(),
                  b.peek().item<float>());
  }

  const float fw = w.peek().item<float>(), fb = b.peek().item<float>();
  const bool converged = std::fabs(fw - true_w) < 0.05f && std::fabs(fb - true_b) < 0.05f;
  std::printf("final: w = %.4f (true %.1f), b = %.4f (true %.1f)\n", fw, true_w, fb, true_b);
  std::printf("converged: %s\n", converged ? "yes" : "no");
  return converged ? 0 : 1;
}
