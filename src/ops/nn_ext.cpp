// tf::nn convolutions beyond conv2d, embedding lookup and functional batch normalization, all
// composites: conv1d is conv2d on a height-1 image; conv2d_transpose is conv2d's input gradient
// written forwards (one GEMM with the filters, then Col2Im); depthwise_conv2d is Im2Col then a
// per-channel contraction (einsum, one batched matmul). Their gradients follow from the
// primitives' rules (MatMul, Im2Col ↔ Col2Im, Reshape, Transpose), so every order exists.
#include <optional>

#include "core/shape_check.hpp"
#include "ops/conv.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Conv2DAttrs;
using detail::fail;
using detail::HW;

namespace {

/// TF's conv1d stride / dilations: 1 int or 3 ([1, s, 1]); the 2-D form (1 along the height).
std::vector<int> conv1d_pair(const char* op, const char* what, const std::vector<int>& v) {
  if (v.size() == 1) return {1, v[0]};
  if (v.size() == 3) {
    if (v[0] != 1 || v[2] != 1)
      fail<InvalidArgumentError>(
          op, what, " must be 1 in the batch and depth dimensions: ", detail::vec_str(v));
    return {1, v[1]};
  }
  fail<InvalidArgumentError>(
      op, what, " should be of length 1 or 3 but was ", v.size(), ": ", detail::vec_str(v));
}

}  // namespace

namespace nn {

Tensor conv1d(const Tensor& input,
              const Tensor& filters,
              int stride,
              const std::string& padding,
              int dilations) {
  return conv1d(input, filters, std::vector<int>{stride}, padding, std::vector<int>{dilations});
}

Tensor conv1d(const Tensor& input,
              const Tensor& filters,
              std::vector<int> stride,
              const std::string& padding,
              std::vector<int> dilations) {
  const char* op = "Conv1D";
  detail::check_defined(op, input, 0);
  detail::check_defined(op, filters, 1);
  if (input.rank() != 3)
    fail<InvalidArgumentError>(
        op,
        "input must be 3-dimensional [batch, width, channels] (NWC), got shape ",
        input.shape());
  if (filters.rank() != 3)
    fail<InvalidArgumentError>(
        op,
        "filters must be 3-dimensional [filter_width, in_channels, out_channels], got shape ",
        filters.shape());
  const std::vector<int> s = conv1d_pair(op, "stride", stride);
  const std::vector<int> d = conv1d_pair(op, "dilations", dilations);
  Tensor y = conv2d(expand_dims(input, 1), expand_dims(filters, 0), s, padding, d);
  return squeeze(y, {1});
}

Tensor conv2d_transpose(const Tensor& input,
                        const Tensor& filters,
                        const Shape& output_shape,
                        std::vector<int> strides,
                        const std::string& padding,
                        std::vector<int> dilations) {
  const char* op = "Conv2DBackpropInput";
  detail::check_image(op, input, 0);
  detail::check_defined(op, filters, 1);
  detail::check_same_dtype(op, {input, filters});
  const Shape& xs = input.shape();
  const Shape& fs = filters.shape();
  if (filters.rank() != 4)
    fail<InvalidArgumentError>(
        op,
        "filter must be 4-dimensional [filter_height, filter_width, out_channels, "
        "in_channels], got shape ",
        fs);
  if (output_shape.rank() != 4)
    fail<InvalidArgumentError>(
        op,
        "output_shape must have 4 elements [batch, height, width, channels], got ",
        output_shape);
  for (int64_t v : output_shape)
    if (v < 0)
      fail<InvalidArgumentError>(op, "output_shape must be non-negative, got ", output_shape);
  detail::checked_num_elements(op, output_shape);
  if (output_shape[0] != xs[0])
    fail<InvalidArgumentError>(op,
                               "output_shape batch ",
                               output_shape[0],
                               " does not match the input's ",
                               xs[0],
                               " (input shape ",
                               xs,
                               ")");
  if (output_shape[3] != fs[2])
    fail<InvalidArgumentError>(op,
                               "output_shape depth ",
                               output_shape[3],
                               " does not match filter's out_channels ",
                               fs[2],
                               " (filter shape ",
                               fs,
                               ")");
  if (xs[3] != fs[3])
    fail<InvalidArgumentError>(op,
                               "input depth ",
                               xs[3],
                               " does not match filter's in_channels ",
                               fs[3],
                               " (input shape ",
                               xs,
                               ", filter shape ",
                               fs,
                               ")");
  const HW s = detail::spatial_pair(op, "strides", strides);
  const HW d = detail::spatial_pair(op, "dilations", dilations);
  const bool same = detail::is_same_padding(op, padding);
  // The geometry of the forward conv2d whose input has output_shape: its output must be `input`.
  const Conv2DAttrs a = detail::window_geometry(
      op, output_shape, {fs[0], fs[1]}, s, same, detail::str_cat("filter shape ", fs), d);
  if (a.oh != xs[1] || a.ow != xs[2])
    fail<InvalidArgumentError>(
        op,
        "Conv2DSlowBackpropInput: Size of out_backprop doesn't match computed: "
        "input ",
        xs,
        " vs. ",
        a.oh,
        "x",
        a.ow,
        " computed from output_shape ",
        output_shape,
        ", filter shape ",
        fs,
        ", strides ",
        detail::vec_str(strides),
        ", padding ",
        padding);
  const int64_t pixels = detail::checked_mul(
      op, detail::checked_mul(op, xs[0], xs[1], "the pixel count"), xs[2], "the pixel count");
  const int64_t row = detail::checked_mul(
      op, detail::checked_mul(op, fs[0], fs[1], "the patch size"), fs[2], "the patch size");
  detail::checked_mul(op, pixels, row, "the patch matrix's size");
  // dL/dx of conv2d is col2im(dy · Fᵀ); here dy is the input and F [kh·kw·o, c].
  Tensor cols = matmul(
      reshape(input, Shape{pixels, xs[3]}), reshape(filters, Shape{row, fs[3]}), false, true);
  return detail::col2im(cols, a);
}

Tensor depthwise_conv2d(const Tensor& input,
                        const Tensor& filter,
                        std::vector<int> strides,
                        const std::string& padding,
                        std::vector<int> dilations) {
  const char* op = "DepthwiseConv2dNative";
  detail::check_image(op, input, 0);
  detail::check_defined(op, filter, 1);
  detail::check_same_dtype(op, {input, filter});
  const Shape& xs = input.shape();
  const Shape& fs = filter.shape();
  if (filter.rank() != 4)
    fail<InvalidArgumentError>(
        op,
        "filter must be 4-dimensional [filter_height, filter_width, in_channels, "
        "channel_multiplier], got shape ",
        fs);
  if (xs[3] != fs[2])
    fail<InvalidArgumentError>(op,
                               "input and filter must have the same depth: ",
                               xs[3],
                               " vs ",
                               fs[2],
                               " (input shape ",
                               xs,
                               ", filter shape ",
                               fs,
                               ")");
  const HW s = detail::spatial_pair(op, "strides", strides);
  const HW d = detail::spatial_pair(op, "dilations", dilations);
  const bool same = detail::is_same_padding(op, padding);
  const Conv2DAttrs a = detail::window_geometry(
      op, xs, {fs[0], fs[1]}, s, same, detail::str_cat("filter shape ", fs), d);
  const int64_t pixels = detail::checked_mul(
      op, detail::checked_mul(op, a.n, a.oh, "the output size"), a.ow, "the output size");
  const int64_t taps = detail::checked_mul(op, a.kh, a.kw, "the filter size");
  detail::checked_mul(op,
                      detail::checked_mul(op, pixels, taps, "the patch matrix's size"),
                      a.c,
                      "the patch matrix's size");
  detail::checked_num_elements(op, Shape{pixels, a.c, fs[3]});
  const int64_t out_channels = detail::checked_mul(op, a.c, fs[3], "the output channels");
  // out[p, c, m] = Σ_k patches[p, k, c] · filter[k, c, m].
  Tensor cols = reshape(detail::im2col(input, a), Shape{pixels, taps, a.c});
  Tensor y = einsum("pkc,kcm->pcm", {cols, reshape(filter, Shape{taps, a.c, fs[3]})});
  return reshape(y, Shape{a.n, a.oh, a.ow, out_channels});
}

Tensor embedding_lookup(const Tensor& params, const Tensor& ids) {
  // As TF (one shard): a gather along axis 0; GatherV2 refuses ids outside [0, rows).
  return gather(params, ids, 0);
}

Tensor batch_normalization(const Tensor& x,
                           const Tensor& mean,
                           const Tensor& variance,
                           const std::optional<Tensor>& offset,
                           const std::optional<Tensor>& scale,
                           double variance_epsilon) {
  const char* op = "BatchNormalization";
  detail::check_defined(op, x, 0);
  detail::check_defined(op, mean, 1);
  detail::check_defined(op, variance, 2);
  detail::check_dtype(op, x, detail::Require::floating);
  const bool has_offset = offset && offset->defined(), has_scale = scale && scale->defined();
  std::vector<Tensor> all = {x, mean, variance};
  if (has_offset) all.push_back(*offset);
  if (has_scale) all.push_back(*scale);
  detail::check_same_dtype(op, all);
  Shape out = x.shape();
  for (size_t i = 1; i < all.size(); ++i) out = detail::broadcast_shapes(op, out, all[i].shape());
  // TF's composite: inv = rsqrt(variance + ε)·scale; x·inv + (offset − mean·inv).
  Tensor inv = rsqrt(variance + variance_epsilon);
  if (has_scale) inv = inv * *scale;
  return x * inv + (has_offset ? *offset - mean * inv : -(mean * inv));
}

}  // namespace nn
}  // namespace tapeflow
