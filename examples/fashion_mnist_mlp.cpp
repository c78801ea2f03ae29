// Fashion-MNIST with a multilayer perceptron (TensorFlow's "basic classification" tutorial),
// trained the Keras way: compile, then fit with the library's callbacks. The same training as a
// hand-written GradientTape loop: fashion_mnist_custom_loop.cpp (--model mlp gives the same
// weights). Last line: `test accuracy: 0.xxxx`.
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"
#include "common/models.hpp"

namespace tf = tapeflow;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train an MLP on Fashion-MNIST with tapeflow (Model.fit)"};
  example::Flags flags{.epochs = 15, .batch_size = 128, .learning_rate = 1e-3};
  example::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  example::apply(flags);

  auto [train, test] = example::load(example::input_shape("mlp"), flags.limit);
  tf::Model model(example::make_mlp());
  model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = flags.learning_rate}),
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  double acc = example::fit_model(
      model, train, test, flags.epochs, flags.batch_size, flags.seed, flags.logdir, flags.ckpt_dir);
  std::printf("test accuracy: %.4f\n", acc);
  return acc >= flags.min_accuracy ? 0 : 1;
}
