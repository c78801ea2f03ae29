// Fashion-MNIST with a small ResNet (issue #12): a Conv2D + BatchNormalization + relu stem,
// three stages of residual blocks (the second and third halve the image and double the width,
// with a 1x1 projection on their shortcut), global average pooling and Dense(10) logits. The
// blocks and the model are user-defined layers over sublayers declared with track(), as in
// docs/training.md; RandomFlip("horizontal") and RandomTranslation augment the images while
// training only. The model is in examples/common/resnet.hpp (shared with the W11 benchmark).
// Trained with Model::fit (AdamW: decoupled weight decay 0.05, cosine decay). Results:
// docs/examples/resnet.md.
// Prints per-epoch loss and validation accuracy and, last, `test accuracy: 0.xxxx`.
#include <cstdio>
#include <memory>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"
#include "common/resnet.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train a small ResNet on Fashion-MNIST with tapeflow (Model.fit)"};
  example::Flags flags{.epochs = 20, .batch_size = 128, .learning_rate = 2e-3};
  example::add_flags(app, flags);
  example::ResNetOptions model_options;
  int64_t test_limit = 0;
  double weight_decay = 0.05;
  double min_loss_drop = 0.0;
  app.add_option("--width", model_options.width, "filters of the first stage (then 2x, 4x)")
      ->capture_default_str();
  app.add_option("--blocks", model_options.blocks, "residual blocks per stage")
      ->capture_default_str();
  app.add_option("--first_stride",
                 model_options.first_stride,
                 "stride of the first stage (2: stages at 14, 7, 4 pixels)")
      ->capture_default_str();
  app.add_option("--translate",
                 model_options.translate,
                 "RandomTranslation's height and width factor (0: no translation)")
      ->capture_default_str();
  app.add_option("--erase",
                 model_options.erase,
                 "random erasing: the probability per training image (0: off)")
      ->capture_default_str();
  app.add_option("--weight_decay",
                 weight_decay,
                 "AdamW's decoupled weight decay (w -= w * decay * lr each step); 0: plain Adam")
      ->capture_default_str();
  app.add_option("--test_limit", test_limit, "use only the first N test images (0: all)");
  app.add_option("--min_loss_drop",
                 min_loss_drop,
                 "exit 1 unless the last epoch's training loss is this much below the first's");
  CLI11_PARSE(app, argc, argv);
  example::apply(flags);
  const int64_t batch = flags.batch_size;

  auto [train, test] = example::load({-1, 28, 28, 1}, flags.limit);
  if (test_limit > 0 && test_limit < test.x.shape()[0]) {
    test.x = tf::slice(test.x, {0, 0, 0, 0}, {test_limit, 28, 28, 1});
    test.y = tf::slice(test.y, {0}, {test_limit});
  }
  model_options.seed = flags.seed;
  tf::Model model(L::Layer(std::make_shared<example::ResNetImpl>(model_options)));
  model.build(tf::Shape{1, 28, 28, 1});
  int64_t params = 0;
  for (const tf::Variable& v : model.trainable_variables()) params += v.shape().num_elements();
  std::printf(
      "ResNet: width %lld, %d block(s) per stage, first stride %lld, translation %.3g, erasing "
      "%.3g, weight decay %.3g, %lld trainable parameters\n",
      (long long)model_options.width,
      model_options.blocks,
      (long long)model_options.first_stride,
      model_options.translate,
      model_options.erase,
      weight_decay,
      (long long)params);
  const int64_t steps = flags.epochs * ((train.x.shape()[0] + batch - 1) / batch);
  // --learning_rate is the start of a cosine decay to 0 over the whole run.
  const auto schedule = tf::optimizers::schedules::CosineDecay(flags.learning_rate, steps);
  std::shared_ptr<tf::optimizers::Optimizer> optimizer;
  if (weight_decay > 0)
    optimizer = std::make_shared<tf::optimizers::AdamW>(
        tf::optimizers::AdamWOptions{.learning_rate = schedule, .weight_decay = weight_decay});
  else
    optimizer = std::make_shared<tf::optimizers::Adam>(
        tf::optimizers::AdamOptions{.learning_rate = schedule});
  model.compile({.optimizer = optimizer,
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  tf::History history;
  const double acc = example::fit_model(
      model, train, test, flags.epochs, batch, flags.seed, flags.logdir, flags.ckpt_dir, &history);
  bool ok = acc >= flags.min_accuracy;
  if (min_loss_drop > 0) {
    const std::vector<double>& loss = history.history["loss"];
    const double drop = loss.size() >= 2 ? loss.front() - loss.back() : 0.0;
    std::printf("training loss: first epoch %.4f, last epoch %.4f (drop %.4f, needed %.4f)\n",
                loss.empty() ? 0.0 : loss.front(),
                loss.empty() ? 0.0 : loss.back(),
                drop,
                min_loss_drop);
    ok = ok && drop >= min_loss_drop;
  }
  std::printf("test accuracy: %.4f\n", acc);
  return ok ? 0 : 1;
}
