// Fashion-MNIST trained with a hand-written GradientTape loop (TensorFlow's "custom training
// loop" guide): the forward pass under a tape, the gradient, apply_gradients, metrics and the
// progress bar by hand (examples/common/fashion_mnist.hpp, example::fit). --model picks the
// architecture and optimizer of fashion_mnist_mlp or fashion_mnist_cnn, which train the same
// model with Model::fit: for the same flags, the two give the same weights and accuracy.
// Prints per-epoch test accuracy and, last, `test accuracy: 0.xxxx`.
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"
#include "common/models.hpp"

namespace tf = tapeflow;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train on Fashion-MNIST with a hand-written GradientTape loop"};
  std::string arch = "cnn";
  example::Flags flags{.epochs = 15, .batch_size = 0, .learning_rate = 1e-3};
  app.add_option("--model", arch, "cnn or mlp (each with its example's defaults)")
      ->check(CLI::IsMember({"cnn", "mlp"}))
      ->capture_default_str();
  example::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  if (flags.batch_size == 0) flags.batch_size = arch == "cnn" ? 64 : 128;
  example::apply(flags);
  const uint64_t seed = flags.seed;
  const int64_t batch = flags.batch_size;

  auto [train, test] = example::load(example::input_shape(arch), flags.limit);
  tf::layers::Sequential model = example::make_model(arch, seed);
  const int64_t steps = flags.epochs * ((train.x.shape()[0] + batch - 1) / batch);
  // The CNN's --learning_rate is the start of a cosine decay over the whole run.
  tf::optimizers::Adam opt(
      {.learning_rate = arch == "cnn"
                            ? tf::optimizers::LearningRate(tf::optimizers::schedules::CosineDecay(
                                  flags.learning_rate, steps, 0.05))
                            : tf::optimizers::LearningRate(flags.learning_rate)});
  double acc = example::fit(
      model, opt, train, test, flags.epochs, batch, seed, flags.logdir, flags.ckpt_dir);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= flags.min_accuracy ? 0 : 1;
}
