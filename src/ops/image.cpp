// tf::image: resizing, flips, random crops and per-image standardization, as composites.
//
// resize is separable: bilinear multiplies by two interpolation matrices (rows, then columns;
// each a batched matmul with the matrix shared across the batch), nearest gathers rows, then
// columns. Both are built with TF2's half-pixel centers, so they are exact TF values and
// differentiable in the images through MatMul / GatherV2.
#include <algorithm>
#include <cmath>

#include "core/shape_check.hpp"
#include "ops/random_ext.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::fail;

namespace {

constexpr uint64_t kFlipLeftRightStream = 0x464c49504c520000ULL;  // "FLIPLR"
constexpr uint64_t kFlipUpDownStream = 0x464c495055440000ULL;     // "FLIPUD"
constexpr uint64_t kCropStream = 0x43524f5000000000ULL;           // "CROP"

void check_images(const char* op, const Tensor& x, const char* what = "images") {
  detail::check_defined(op, x, 0);
  if (x.rank() != 3 && x.rank() != 4)
    fail<InvalidArgumentError>(op,
                               "'",
                               what,
                               "' must have either 3 or 4 dimensions ([height, width, channels] or "
                               "[batch, height, width, channels]), got shape ",
                               x.shape());
}

/// The bilinear weights of TF2's resize (half-pixel centers): out row i reads
/// in = (i + 0.5)·in_size/out_size − 0.5 between floor(in) (clamped to 0) and ceil(in)
/// (clamped to in_size − 1), weighted by the fraction. A [out, in] matrix.
Tensor bilinear_matrix(int64_t out, int64_t in, DType dtype) {
  std::vector<double> w(static_cast<size_t>(out * in), 0.0);
  const double scale = double(in) / double(out);
  for (int64_t i = 0; i < out; ++i) {
    const double x = (double(i) + 0.5) * scale - 0.5;
    const double xf = std::floor(x);
    const int64_t lo = std::max<int64_t>(int64_t(xf), 0);
    const int64_t hi = std::min<int64_t>(int64_t(std::ceil(x)), in - 1);
    const double lerp = x - xf;
    w[size_t(i * in + lo)] += 1.0 - lerp;
    w[size_t(i * in + hi)] += lerp;
  }
  return constant(w, Shape{out, in}, dtype);
}

/// TF2's nearest neighbour (half-pixel centers): out i reads min(floor((i + 0.5)·scale), in − 1).
Tensor nearest_index(int64_t out, int64_t in) {
  std::vector<int64_t> idx(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int64_t i = 0; i < out; ++i)
    idx[size_t(i)] = std::min<int64_t>(int64_t(std::floor((double(i) + 0.5) * scale)), in - 1);
  return constant(idx, Shape{out});
}

}  // namespace

namespace image {

Tensor resize(const Tensor& images, const std::vector<int64_t>& size, const std::string& method) {
  const bool bilinear = method == "bilinear";
  const char* op = bilinear ? "ResizeBilinear" : "ResizeNearestNeighbor";
  if (!bilinear && method != "nearest")
    fail<InvalidArgumentError>(
        op, "Resize method must be \"bilinear\" or \"nearest\", got \"", method, "\"");
  check_images(op, images);
  detail::check_dtype(op, images, detail::Require::numeric);
  if (size.size() != 2)
    fail<InvalidArgumentError>(
        op,
        "size must be a 1-D int Tensor of 2 elements: new_height, new_width; got ",
        detail::vec_str(size));
  if (size[0] <= 0 || size[1] <= 0)
    fail<InvalidArgumentError>(
        op, "output dimensions must be positive, got ", detail::vec_str(size));
  const bool batched = images.rank() == 4;
  Tensor x = batched ? images : expand_dims(images, 0);
  const int64_t n = x.shape()[0], h = x.shape()[1], w = x.shape()[2], c = x.shape()[3];
  const int64_t oh = size[0], ow = size[1];
  const DType out_dtype = bilinear && !is_floating(x.dtype()) ? DType::float32 : x.dtype();
  detail::check_output(op, Shape{n, oh, ow, c}, out_dtype, x.device_info());
  if ((h == 0 || w == 0) && n != 0 && c != 0)
    fail<InvalidArgumentError>(
        op, "input image must be of non-zero size, got shape ", images.shape());
  Tensor y;
  if (x.num_elements() == 0) {
    y = zeros(Shape{n, oh, ow, c}, out_dtype);
  } else if (bilinear) {
    if (!is_floating(x.dtype())) x = cast(x, DType::float32);
    // The interpolation matrices are built on the host: their sizes go through the same
    // checks as a tensor's (an output of 1 x 2^40 x 1 x 1 is fine, a 2^40 x h matrix is not).
    detail::check_output(op, Shape{oh, h}, DType::float64, Device{});
    detail::check_output(op, Shape{ow, w}, DType::float64, Device{});
    // Rows: [oh, h] · [n, h, w·c] → [n, oh, w·c]; columns: [ow, w] · [n·oh, w, c] → [n·oh, ow, c].
    Tensor rows = matmul(bilinear_matrix(oh, h, x.dtype()), reshape(x, Shape{n, h, w * c}));
    y = matmul(bilinear_matrix(ow, w, x.dtype()), reshape(rows, Shape{n * oh, w, c}));
    y = reshape(y, Shape{n, oh, ow, c});
  } else {
    detail::check_output(op, Shape{oh}, DType::int64, Device{});
    detail::check_output(op, Shape{ow}, DType::int64, Device{});
    y = gather(gather(x, nearest_index(oh, h), 1), nearest_index(ow, w), 2);
  }
  return batched ? y : squeeze(y, {0});
}

Tensor flip_left_right(const Tensor& image) {
  check_images("ReverseV2", image, "image");
  return reverse(image, {image.rank() - 2});
}

Tensor flip_up_down(const Tensor& image) {
  check_images("ReverseV2", image, "image");
  return reverse(image, {image.rank() - 3});
}

namespace {
/// Each image (or the one image) flipped along `axis` where its uniform draw is >= 0.5 (TF
/// rounds the draw to pick).
Tensor random_flip(const char* op,
                   const Tensor& image,
                   int axis_from_end,
                   std::optional<uint64_t> seed,
                   uint64_t stream) {
  check_images(op, image, "image");
  const bool batched = image.rank() == 4;
  const int64_t n = batched ? image.shape()[0] : 1;
  Tensor u = detail::seeded_uniform(op, batched ? Shape{n, 1, 1, 1} : Shape{1, 1, 1}, seed, stream);
  Tensor flip = greater_equal(u, scalar_like(u, 0.5));
  return where(flip, reverse(image, {image.rank() - axis_from_end}), image);
}
}  // namespace

Tensor random_flip_left_right(const Tensor& image, std::optional<uint64_t> seed) {
  return random_flip("RandomFlipLeftRight", image, 2, seed, kFlipLeftRightStream);
}

Tensor random_flip_up_down(const Tensor& image, std::optional<uint64_t> seed) {
  return random_flip("RandomFlipUpDown", image, 3, seed, kFlipUpDownStream);
}

Tensor random_crop(const Tensor& value,
                   const std::vector<int64_t>& size,
                   std::optional<uint64_t> seed) {
  const char* op = "RandomCrop";
  detail::check_defined(op, value, 0);
  const Shape& s = value.shape();
  if (int(size.size()) != value.rank())
    fail<InvalidArgumentError>(
        op, "size ", detail::vec_str(size), " must have one entry per dimension of value ", s);
  for (int i = 0; i < value.rank(); ++i)
    if (size[size_t(i)] < 0 || size[size_t(i)] > s[i])
      fail<InvalidArgumentError>(
          op, "Need value.shape >= size, got ", s, " and ", detail::vec_str(size));
  // Offsets uniform in [0, dim − size] on each axis.
  std::vector<double> u = detail::seeded_uniform_host(op, value.rank(), seed, kCropStream);
  std::vector<int64_t> begin(size.size());
  for (size_t i = 0; i < size.size(); ++i) {
    const int64_t span = s[int(i)] - size[i];  // >= 0; span + 1 may not fit (dim INT64_MAX)
    const double v = u[i] * (double(span) + 1.0);
    begin[i] = v >= double(span) ? span : int64_t(v);  // clamped before the cast
  }
  return slice(value, begin, size);
}

Tensor per_image_standardization(const Tensor& image) {
  const char* op = "PerImageStandardization";
  detail::check_defined(op, image, 0);
  if (image.rank() < 3)
    fail<InvalidArgumentError>(
        op,
        "image must be at least three-dimensional [height, width, channels], got shape ",
        image.shape());
  detail::check_dtype(op, image, detail::Require::numeric);
  Tensor x = is_floating(image.dtype()) ? image : cast(image, DType::float32);
  const int r = x.rank();
  const int64_t pixels =
      detail::mul_dims(detail::mul_dims(x.shape()[r - 3], x.shape()[r - 2]), x.shape()[r - 1]);
  // As TF: (x − mean) / max(stddev, 1/sqrt(N)) over each image's last three axes.
  Tensor mean = reduce_mean(x, {-1, -2, -3}, true);
  Tensor stddev = reduce_std(x, {-1, -2, -3}, true);
  Tensor adjusted =
      maximum(stddev, scalar_like(stddev, 1.0 / std::sqrt(double(std::max<int64_t>(pixels, 1)))));
  return (x - mean) / adjusted;
}

}  // namespace image
}  // namespace tapeflow
