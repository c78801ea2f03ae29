// Fashion-MNIST with a small ResNet (issue #12): a Conv2D + BatchNormalization + relu stem,
// three stages of residual blocks (the second and third halve the image and double the width,
// with a 1x1 projection on their shortcut), global average pooling and Dense(10) logits. The
// blocks and the model are user-defined layers over sublayers declared with track(), as in
// docs/training.md; RandomFlip("horizontal") and RandomTranslation augment the images while
// training only. Trained with Model::fit (Adam, cosine decay). Results: docs/examples/resnet.md.
// Prints per-epoch loss and validation accuracy and, last, `test accuracy: 0.xxxx`.
#include <cstdio>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

namespace {

// PyTorch's BatchNorm momentum (0.1 there, 0.9 in Keras' terms): the moving statistics settle
// within a few hundred steps, so short runs evaluate sensibly too.
L::BatchNormalization batch_norm() { return L::BatchNormalization({.momentum = 0.9}); }

L::Conv2D conv(int64_t filters, int64_t kernel, int64_t stride) {
  return L::Conv2D({.filters = filters,
                    .kernel_size = kernel,
                    .strides = stride,
                    .padding = "same",
                    .use_bias = false});
}

// relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); the shortcut is x itself, or a strided 1x1
// convolution + batch norm when the block changes the width or the image size.
class ResidualBlockImpl : public L::Layer::Impl {
 public:
  ResidualBlockImpl(int64_t filters, int64_t stride, bool project)
      : Impl(L::unique_layer_name("residual_block")),
        conv1_(track(conv(filters, 3, stride))),
        bn1_(track(batch_norm())),
        conv2_(track(conv(filters, 3, 1))),
        bn2_(track(batch_norm())) {
    if (project) {
      project_conv_ = track(conv(filters, 1, stride));
      project_bn_ = track(batch_norm());
    }
  }

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor y = tf::nn::relu(bn1_(conv1_(x), training));
    y = bn2_(conv2_(y), training);
    tf::Tensor shortcut = project_conv_.defined() ? project_bn_(project_conv_(x), training) : x;
    return tf::nn::relu(L::Add()({shortcut, y}));
  }

  std::string class_name() const override { return "ResidualBlock"; }

 private:
  L::Conv2D conv1_;
  L::BatchNormalization bn1_;
  L::Conv2D conv2_;
  L::BatchNormalization bn2_;
  L::Layer project_conv_, project_bn_;
};

// Augmentation, stem, `blocks` residual blocks per stage at widths w, 2w, 4w (28, 14, 7
// pixels), global average pooling, logits.
class ResNetImpl : public L::Layer::Impl {
 public:
  ResNetImpl(int64_t width, int blocks, uint64_t seed)
      : Impl("resnet"),
        flip_(track(L::RandomFlip({.mode = "horizontal", .seed = seed}))),
        shift_(track(L::RandomTranslation({.height_factor = 0.1,
                                           .width_factor = 0.1,
                                           .fill_mode = "constant",
                                           .seed = seed + 1}))),
        stem_conv_(track(conv(width, 3, 1))),
        stem_bn_(track(batch_norm())) {
    int64_t in = width;
    for (int stage = 0; stage < 3; ++stage) {
      const int64_t filters = width << stage;
      for (int b = 0; b < blocks; ++b) {
        const int64_t stride = stage > 0 && b == 0 ? 2 : 1;
        const bool project = stride != 1 || in != filters;
        blocks_.push_back(
            track(L::Layer(std::make_shared<ResidualBlockImpl>(filters, stride, project))));
        in = filters;
      }
    }
    pool_ = track(L::GlobalAveragePooling2D());
    logits_ = track(L::Dense(10));
  }

  // The sublayers create their weights on their first call, so building the model (as a resumed
  // run does before restoring a checkpoint) is one inference call on zeros.
  void build(const tf::Shape& input_shape, tf::DType dtype) override {
    call(tf::zeros(input_shape, dtype), /*training=*/false);
  }

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor y = shift_(flip_(x, training), training);
    y = tf::nn::relu(stem_bn_(stem_conv_(y), training));
    for (const L::Layer& block : blocks_) y = block(y, training);
    return logits_(pool_(y));
  }

  std::string class_name() const override { return "ResNet"; }

 private:
  L::RandomFlip flip_;
  L::RandomTranslation shift_;
  L::Conv2D stem_conv_;
  L::BatchNormalization stem_bn_;
  std::vector<L::Layer> blocks_;
  L::Layer pool_, logits_;
};

}  // namespace

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train a small ResNet on Fashion-MNIST with tapeflow (Model.fit)"};
  example::Flags flags{.epochs = 15, .batch_size = 128, .learning_rate = 2e-3};
  example::add_flags(app, flags);
  int64_t width = 16;
  int blocks = 1;
  int64_t test_limit = 0;
  double min_loss_drop = 0.0;
  app.add_option("--width", width, "filters of the first stage (then 2x, 4x)")
      ->capture_default_str();
  app.add_option("--blocks", blocks, "residual blocks per stage")->capture_default_str();
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
  tf::Model model(L::Layer(std::make_shared<ResNetImpl>(width, blocks, flags.seed)));
  model.build(tf::Shape{1, 28, 28, 1});
  int64_t params = 0;
  for (const tf::Variable& v : model.trainable_variables()) params += v.shape().num_elements();
  std::printf("ResNet: width %lld, %d block(s) per stage, %lld trainable parameters\n",
              (long long)width,
              blocks,
              (long long)params);
  const int64_t steps = flags.epochs * ((train.x.shape()[0] + batch - 1) / batch);
  // --learning_rate is the start of a cosine decay to 0 over the whole run.
  model.compile(
      {.optimizer = tf::optimizers::Adam(
           {.learning_rate = tf::optimizers::schedules::CosineDecay(flags.learning_rate, steps)}),
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
