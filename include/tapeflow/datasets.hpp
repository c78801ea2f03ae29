#pragma once

// tf::datasets: loaders for well-known data sets (Keras' tf.keras.datasets).

#include <string>
#include <utility>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::datasets::fashion_mnist {

/// Fashion-MNIST's two splits. Keras returns `((x_train, y_train), (x_test, y_test))` with uint8
/// values; tapeflow has no uint8 dtype, so x is float32 [N, 28, 28] holding the raw pixel values
/// 0..255 (not scaled: divide by 255 yourself, as with Keras) and y is int32 [N] in 0..9.
/// Unpack with `auto [x_train, y_train, x_test, y_test] = load_data();`, or take `train()` and
/// `test()` as pairs. N is 60000 for train and 10000 for test.
/// Where Debian's `dataset-fashion-mnist` package installs the files.
inline constexpr const char* kDefaultDir = "/usr/share/datasets/fashion-mnist";

struct Data {
  Tensor x_train, y_train, x_test, y_test;
  std::pair<Tensor, Tensor> train() const { return {x_train, y_train}; }
  std::pair<Tensor, Tensor> test() const { return {x_test, y_test}; }
};

/// Reads train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
/// t10k-labels-idx1-ubyte.gz from `dir` (Debian's `dataset-fashion-mnist` installs them in the
/// default directory; uncompressed files without `.gz` are accepted too). NotFoundError when a
/// file is missing; DataLossError for a corrupt gzip stream, a bad IDX header, truncated or
/// extra data, mismatched counts or labels outside 0..9. CPU tensors.
///
/// Every pixel is multiplied by `scale` as it is decoded: `load_data(kDefaultDir, 1 / 255.f)`
/// gives images in [0, 1] without the second full-size copy (188 MB for the training images)
/// that `x_train / 255` makes.
TAPEFLOW_API Data load_data(const std::string& dir = kDefaultDir, float scale = 1.0f);

}  // namespace tapeflow::datasets::fashion_mnist
