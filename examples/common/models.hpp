// The Fashion-MNIST models, shared by the training examples and the prediction server, so a
// checkpoint written by one is restored into the same architecture by the other. Only the
// public tapeflow API is used (no CLI11, no data loading).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tapeflow/tapeflow.hpp>

namespace example {

namespace tf = tapeflow;

/// TensorFlow's "basic classification" MLP: 784 -> 256 -> 128 -> 10 logits.
inline tf::layers::Sequential make_mlp() {
  namespace L = tf::layers;
  return L::Sequential({L::Dense(256, "relu"), L::Dense(128, "relu"), L::Dense(10)});
}

/// A small CNN on 28x28x1 images: two conv/pool stages, dropout, 128 hidden units, 10 logits.
/// `seed` fixes the dropout masks (training only; inference ignores it).
inline tf::layers::Sequential make_cnn(uint64_t seed) {
  namespace L = tf::layers;
  return L::Sequential({
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
}

/// The input shape a model takes, batch first: {-1, 784} for "mlp", {-1, 28, 28, 1} for "cnn".
inline tf::Shape input_shape(const std::string& arch) {
  if (arch == "mlp") return tf::Shape{-1, 784};
  if (arch == "cnn") return tf::Shape{-1, 28, 28, 1};
  throw tf::InvalidArgumentError("unknown model '" + arch + "': expected cnn or mlp");
}

/// `make_mlp()` or `make_cnn(seed)` by name ("mlp" / "cnn"); InvalidArgumentError otherwise.
inline tf::layers::Sequential make_model(const std::string& arch, uint64_t seed = 42) {
  if (arch == "mlp") return make_mlp();
  if (arch == "cnn") return make_cnn(seed);
  throw tf::InvalidArgumentError("unknown model '" + arch + "': expected cnn or mlp");
}

/// The highest N of the `ckpt-N.safetensors` files in `dir` (the whole models the training
/// examples' ModelCheckpoint writes each epoch), 0 if there is none.
inline int latest_saved_epoch(const std::string& dir) {
  namespace fs = std::filesystem;
  int latest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("ckpt-") || !name.ends_with(".safetensors")) continue;
    const std::string digits = name.substr(5, name.size() - 5 - 12);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    latest = std::max(latest, std::stoi(digits));
  }
  return latest;
}

}  // namespace example
