// Fashion-MNIST with a multilayer perceptron (TensorFlow's "basic classification" tutorial),
// trained imperatively with a GradientTape. Last line: `test accuracy: 0.xxxx`.
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

int main(int argc, char** argv) {
  CLI::App app{"Train an MLP on Fashion-MNIST with tapeflow"};
  example::Flags flags{.epochs = 15, .batch_size = 128, .learning_rate = 1e-3};
  example::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  example::apply(flags);

  auto [train, test] = example::load(tf::Shape{-1, 784}, flags.limit);
  L::Sequential model({L::Dense(256, "relu"), L::Dense(128, "relu"), L::Dense(10)});
  tf::optimizers::Adam opt({.learning_rate = flags.learning_rate});
  double acc = example::fit(model, opt, train, test, flags.epochs, flags.batch_size, flags.seed);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= flags.min_accuracy ? 0 : 1;
}
