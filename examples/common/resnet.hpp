// The small ResNet of examples/fashion_mnist_resnet.cpp, shared with the W11 training benchmark
// (bench/bench_train.cpp; its LibTorch twin is in bench/peer/libtorch_train.cpp). Only the public
// tapeflow API is used. The blocks and the model are user-defined layers over sublayers declared
// with track(), the pattern of docs/training.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace example {

namespace tf = tapeflow;

// PyTorch's BatchNorm momentum (0.1 there, 0.9 in Keras' terms): the moving statistics settle
// within a few hundred steps, so short runs evaluate sensibly too.
inline tf::layers::BatchNormalization resnet_batch_norm() {
  return tf::layers::BatchNormalization({.momentum = 0.9});
}

inline tf::layers::Conv2D resnet_conv(int64_t filters, int64_t kernel, int64_t stride) {
  return tf::layers::Conv2D({.filters = filters,
                             .kernel_size = kernel,
                             .strides = stride,
                             .padding = "same",
                             .use_bias = false});
}

// relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); the shortcut is x itself, or a strided 1x1
// convolution + batch norm when the block changes the width or the image size.
class ResidualBlockImpl : public tf::layers::Layer::Impl {
 public:
  ResidualBlockImpl(int64_t filters, int64_t stride, bool project)
      : Impl(tf::layers::unique_layer_name("residual_block")),
        conv1_(track(resnet_conv(filters, 3, stride))),
        bn1_(track(resnet_batch_norm())),
        conv2_(track(resnet_conv(filters, 3, 1))),
        bn2_(track(resnet_batch_norm())) {
    if (project) {
      project_conv_ = track(resnet_conv(filters, 1, stride));
      project_bn_ = track(resnet_batch_norm());
    }
  }

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor y = tf::nn::relu(bn1_(conv1_(x), training));
    y = bn2_(conv2_(y), training);
    tf::Tensor shortcut = project_conv_.defined() ? project_bn_(project_conv_(x), training) : x;
    return tf::nn::relu(tf::layers::Add()({shortcut, y}));
  }

  std::string class_name() const override { return "ResidualBlock"; }

 private:
  tf::layers::Conv2D conv1_;
  tf::layers::BatchNormalization bn1_;
  tf::layers::Conv2D conv2_;
  tf::layers::BatchNormalization bn2_;
  tf::layers::Layer project_conv_, project_bn_;
};

struct ResNetOptions {
  int64_t width = 32;  // filters of the stem and the first stage; then 2x, 4x
  int blocks = 1;      // residual blocks per stage
  // Stride of the first stage's first block: 1 keeps it at 28x28 (stages at 28, 14, 7 pixels),
  // 2 halves the image after the stem (14, 7, 4 pixels) for a quarter of the cost per filter.
  int64_t first_stride = 2;
  // Augmentation, active in training only: RandomFlip("horizontal") and
  // RandomTranslation(translate, translate); none when `augment` is false.
  bool augment = true;
  double translate = 0.05;
  // Random erasing (Zhong et al., 2017), training only: with this probability per image, a
  // rectangle of 2-40 % of its area and aspect ratio 0.3-3.3 is set to 0. 0: off.
  double erase = 0.0;
  uint64_t seed = 42;
};

// The random-erasing augmentation, as user code over public ops: a per-image 0/1 mask drawn on
// the host and multiplied in (no gradient reaches the mask: it is a constant).
class RandomErasing {
 public:
  RandomErasing(double probability, uint64_t seed) : probability_(probability), engine_(seed) {}

  tf::Tensor operator()(const tf::Tensor& x) {  // x: [N, H, W, C]
    const tf::Shape& s = x.shape();
    const int64_t n = s[0], h = s[1], w = s[2];
    std::vector<float> mask(size_t(n * h * w), 1.0f);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int64_t i = 0; i < n; ++i) {
      if (unit(engine_) >= probability_) continue;
      for (int attempt = 0; attempt < 10; ++attempt) {  // the paper's retry on a misfit
        const double area = double(h * w) * (0.02 + 0.38 * unit(engine_));
        const double aspect =
            std::exp(std::log(0.3) + (std::log(3.3) - std::log(0.3)) * unit(engine_));
        const auto eh = int64_t(std::lround(std::sqrt(area * aspect)));
        const auto ew = int64_t(std::lround(std::sqrt(area / aspect)));
        if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
        const auto top = int64_t(unit(engine_) * double(h - eh + 1));
        const auto left = int64_t(unit(engine_) * double(w - ew + 1));
        for (int64_t r = top; r < top + eh; ++r)
          std::fill_n(mask.begin() + (i * h + r) * w + left, ew, 0.0f);
        break;
      }
    }
    return x * tf::cast(tf::constant(mask, tf::Shape{n, h, w, 1}), x.dtype());
  }

 private:
  double probability_;
  std::mt19937_64 engine_;
};

// Augmentation, stem, `blocks` residual blocks per stage at widths w, 2w, 4w, global average
// pooling, 10 logits.
class ResNetImpl : public tf::layers::Layer::Impl {
 public:
  explicit ResNetImpl(const ResNetOptions& o)
      : Impl("resnet"),
        stem_conv_(track(resnet_conv(o.width, 3, 1))),
        stem_bn_(track(resnet_batch_norm())),
        erase_(o.erase, o.seed + 2) {
    namespace L = tf::layers;
    if (o.augment) {
      flip_ = track(L::RandomFlip({.mode = "horizontal", .seed = o.seed}));
      if (o.translate > 0)
        shift_ = track(L::RandomTranslation({.height_factor = o.translate,
                                             .width_factor = o.translate,
                                             .fill_mode = "constant",
                                             .seed = o.seed + 1}));
    }
    erasing_ = o.augment && o.erase > 0;
    int64_t in = o.width;
    for (int stage = 0; stage < 3; ++stage) {
      const int64_t filters = o.width << stage;
      for (int b = 0; b < o.blocks; ++b) {
        const int64_t stride = b > 0 ? 1 : stage > 0 ? 2 : o.first_stride;
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
    tf::Tensor y = x;
    if (flip_.defined()) y = flip_(y, training);
    if (shift_.defined()) y = shift_(y, training);
    if (training && erasing_) y = erase_(y);
    y = tf::nn::relu(stem_bn_(stem_conv_(y), training));
    for (const tf::layers::Layer& block : blocks_) y = block(y, training);
    return logits_(pool_(y));
  }

  std::string class_name() const override { return "ResNet"; }

 private:
  tf::layers::Layer flip_, shift_;
  tf::layers::Conv2D stem_conv_;
  tf::layers::BatchNormalization stem_bn_;
  RandomErasing erase_;
  bool erasing_ = false;
  std::vector<tf::layers::Layer> blocks_;
  tf::layers::Layer pool_, logits_;
};

}  // namespace example
