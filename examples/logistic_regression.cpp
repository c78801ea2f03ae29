// Logistic regression on two Gaussian blobs in 2-D: p(class 1 | x) = sigmoid(x·W + b), trained
// by full-batch gradient descent on the binary cross-entropy, written out with a GradientTape.
//
//   logistic_regression [steps]    (default 300; prints every steps/10)
//
// Ends with `accuracy: 0.xx` on the training set (two decimals, rounded down) and exits 1 when
// it is below 0.95.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <tapeflow/tapeflow.hpp>

namespace tf = tapeflow;

int main(int argc, char** argv) {
  const long steps = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 300;
  if (steps <= 0) {
    std::cerr << "usage: logistic_regression [steps > 0]\n";
    return 2;
  }
  const int64_t n = 200;  // points per class
  const float learning_rate = 0.5f;

  // Class 0 around (-2, -1.5), class 1 around (2, 1.5), unit stddev: the blobs overlap only in
  // their far tails, so a line separates all but a few points.
  tf::random::set_seed(7);
  tf::Tensor x0 = tf::random::normal({n, 2}) + tf::constant({{-2.f, -1.5f}});
  tf::Tensor x1 = tf::random::normal({n, 2}) + tf::constant({{2.f, 1.5f}});
  tf::Tensor x = tf::concat({x0, x1}, 0);                                    // [2n, 2]
  tf::Tensor labels = tf::concat({tf::zeros({n, 1}), tf::ones({n, 1})}, 0);  // [2n, 1]

  tf::Variable W(tf::zeros({2, 1}), {.name = "W"});
  tf::Variable b(tf::zeros({1}), {.name = "b"});

  const long every = steps >= 10 ? steps / 10 : 1;
  for (long step = 1; step <= steps; ++step) {
    tf::GradientTape tape;
    tf::Tensor logits = tf::matmul(x, W) + b;  // [2n, 1]
    tf::Tensor loss = tf::reduce_mean(tf::nn::sigmoid_cross_entropy_with_logits(labels, logits));
    std::vector<tf::Tensor> grads = tape.gradient(loss, {W, b});
    W.assign_sub(grads[0] * learning_rate);  // plain gradient descent: θ -= lr·dL/dθ
    b.assign_sub(grads[1] * learning_rate);
    if (step % every == 0 || step == 1)
      std::printf("step %4ld  loss %.6f\n", step, loss.item<float>());
  }

  // Predict class 1 where the logit is positive (p > 0.5).
  tf::Tensor predicted = tf::cast(tf::greater(tf::matmul(x, W) + b, tf::zeros({1})), tf::float32);
  const int64_t correct =
      tf::reduce_sum(tf::cast(tf::equal(predicted, labels), tf::int64)).item<int64_t>();
  const double accuracy = double(correct) / double(2 * n);
  std::vector<float> wv = W.peek().to_vector<float>();
  std::printf("W = [%.3f, %.3f], b = %.3f\n", wv[0], wv[1], b.peek().item<float>());
  // Rounded down, so the printed value never claims more than was reached.
  const int64_t hundredths = correct * 100 / (2 * n);  // integer division: no float rounding
  std::printf("accuracy: %lld.%02lld\n",
              static_cast<long long>(hundredths / 100),
              static_cast<long long>(hundredths % 100));
  return accuracy >= 0.95 ? 0 : 1;
}
