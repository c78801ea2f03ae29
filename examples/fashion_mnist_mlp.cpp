// Fashion-MNIST with a multilayer perceptron (TensorFlow's "basic classification" tutorial),
// trained imperatively with a GradientTape. Last line: `test accuracy: 0.xxxx`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

int main(int argc, char** argv) {
  CLI::App app{"Train an MLP on Fashion-MNIST with tapeflow"};
  int epochs = 15;
  int64_t batch = 128, limit = 0;
  double lr = 1e-3, target = 0.0;
  uint64_t seed = 42;
  int threads = 0;
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str();
  app.add_option("--batch_size", batch, "batch size")->capture_default_str();
  app.add_option("--learning_rate", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", seed, "seed for initialisation and shuffling")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: all)");
  app.add_option("--limit", limit, "use only the first N training images (0: all)");
  app.add_option("--min_accuracy", target, "exit 1 if the final test accuracy is lower");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) {
    setenv("TAPEFLOW_NUM_THREADS", std::to_string(threads).c_str(), 1);
    setenv("OPENBLAS_NUM_THREADS", std::to_string(threads).c_str(), 1);
  }

  tf::random::set_seed(seed);
  auto [train, test] = example::load(tf::Shape{-1, 784}, limit);
  L::Sequential model({L::Dense(256, "relu"), L::Dense(128, "relu"), L::Dense(10)});
  tf::optimizers::Adam opt({.learning_rate = lr});
  double acc = example::fit(model, opt, train, test, epochs, batch, seed);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= target ? 0 : 1;
}
