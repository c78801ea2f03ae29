// Fashion-MNIST with a small CNN, trained imperatively with a GradientTape (TensorFlow's
// "classify images of clothing" seed, with convolutions). Prints per-epoch test accuracy and,
// last, `test accuracy: 0.xxxx`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN on Fashion-MNIST with tapeflow"};
  int epochs = 10;
  int64_t batch = 64, limit = 0;
  double lr = 1e-3, target = 0.0;
  uint64_t seed = 42;
  int threads = 0;
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str();
  app.add_option("--batch_size", batch, "batch size")->capture_default_str();
  app.add_option("--learning_rate", lr, "Adam learning rate (cosine-decayed)")->capture_default_str();
  app.add_option("--seed", seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: all; sets TAPEFLOW_NUM_THREADS and OPENBLAS_NUM_THREADS)");
  app.add_option("--limit", limit, "use only the first N training images (0: all)");
  app.add_option("--min_accuracy", target, "exit 1 if the final test accuracy is lower");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) {
    // Read by the thread pool and OpenBLAS at first use; best set in the environment.
    setenv("TAPEFLOW_NUM_THREADS", std::to_string(threads).c_str(), 1);
    setenv("OPENBLAS_NUM_THREADS", std::to_string(threads).c_str(), 1);
  }

  tf::random::set_seed(seed);
  auto [train, test] = example::load(tf::Shape{-1, 28, 28, 1}, limit);
  L::Sequential model({
      L::Conv2D({.filters = 32, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"}),
      L::MaxPool2D(),
      L::Conv2D({.filters = 64, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"}),
      L::MaxPool2D(),
      L::Flatten(),
      L::Dropout({.rate = 0.3, .seed = seed}),
      L::Dense(128, "relu"),
      L::Dropout({.rate = 0.3, .seed = seed + 1}),
      L::Dense(10),
  });
  const int64_t steps = epochs * ((train.x.shape()[0] + batch - 1) / batch);
  tf::optimizers::Adam opt({.learning_rate = tf::optimizers::schedules::CosineDecay(lr, steps, 0.05)});
  double acc = example::fit(model, opt, train, test, epochs, batch, seed);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= target ? 0 : 1;
}
