// Fashion-MNIST with a small CNN (TensorFlow's "classify images of clothing" seed, with
// convolutions), trained the Keras way: compile, then fit with the library's callbacks. The same
// training as a hand-written GradientTape loop: fashion_mnist_custom_loop.cpp (--model cnn gives
// the same weights). Prints per-epoch validation accuracy and, last, `test accuracy: 0.xxxx`.
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"
#include "common/models.hpp"

namespace tf = tapeflow;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train a CNN on Fashion-MNIST with tapeflow (Model.fit)"};
  example::Flags flags{.epochs = 15, .batch_size = 64, .learning_rate = 1e-3};
  example::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  example::apply(flags);
  const int64_t batch = flags.batch_size;

  auto [train, test] = example::load(example::input_shape("cnn"), flags.limit);
  tf::Model model(example::make_cnn(flags.seed));
  const int64_t steps = flags.epochs * ((train.x.shape()[0] + batch - 1) / batch);
  // --learning_rate is the start of a cosine decay over the whole run.
  model.compile(
      {.optimizer = tf::optimizers::Adam({.learning_rate = tf::optimizers::schedules::CosineDecay(
                                              flags.learning_rate, steps, 0.05)}),
       .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
       .metrics = {"accuracy"}});
  double acc = example::fit_model(
      model, train, test, flags.epochs, batch, flags.seed, flags.logdir, flags.ckpt_dir);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= flags.min_accuracy ? 0 : 1;
}
