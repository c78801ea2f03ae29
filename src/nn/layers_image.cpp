// Image layers of issue #12 beyond Conv2D: Conv2DTranspose (tf::nn::conv2d_transpose),
// DepthwiseConv2D (tf::nn::depthwise_conv2d) and the RandomTranslation augmentation. As
// layers.cpp: public tf:: ops only, weights built on the first call, Keras' names and defaults.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/fail.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using namespace internal;  // NOLINT(google-build-using-namespace): the layers' shared helpers

namespace {

std::string name_or(std::string name, const char* prefix) {
  return name.empty() ? unique_layer_name(prefix) : std::move(name);
}

// An InvalidArgumentError about an option, naming the layer: `<Kind> layer "<name>": <what>`.
[[noreturn]] void bad_option(const char* kind, const std::string& name, const std::string& what) {
  throw InvalidArgumentError(str_cat(kind, " layer \"", name, "\": ", what));
}

void check_positive_option(const char* kind,
                           const std::string& name,
                           const char* what,
                           const Size2& s) {
  if (s.h <= 0 || s.w <= 0)
    bad_option(
        kind, name, str_cat("`", what, "` must be positive; received (", s.h, ", ", s.w, ")"));
}

// The shared option checks of the two convolutions, with the layer named in each message.
std::string checked_padding(const char* kind, const std::string& name, const std::string& p) {
  try {
    return padding_attr(kind, p);
  } catch (const InvalidArgumentError& e) {
    bad_option(kind, name, e.what());
  }
}
ActivationFn checked_activation(const char* kind, const std::string& name, const std::string& a) {
  try {
    return activation_fn(a);
  } catch (const InvalidArgumentError& e) {
    bad_option(kind, name, e.what());
  }
}

// ---- Conv2DTranspose ---------------------------------------------------------------------------

class Conv2DTransposeImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Conv2DTranspose"; }
  explicit Conv2DTransposeImpl(Conv2DTransposeOptions o)
      : Impl(name_or(std::move(o.name), "conv2d_transpose")),
        filters_(o.filters),
        kernel_size_(o.kernel_size),
        strides_(o.strides),
        output_padding_(o.output_padding),
        activation_name_(o.activation),
        use_bias_(o.use_bias) {
    const char* kind = "Conv2DTranspose";
    if (filters_ <= 0)
      bad_option(kind,
                 name(),
                 str_cat("Invalid value for argument `filters`. Expected a strictly positive "
                         "value. Received filters=",
                         filters_));
    check_positive_option(kind, name(), "kernel_size", kernel_size_);
    check_positive_option(kind, name(), "strides", strides_);
    padding_ = checked_padding(kind, name(), o.padding);
    activation_ = checked_activation(kind, name(), o.activation);
    if (output_padding_) {
      const Size2& p = *output_padding_;
      if (p.h < 0 || p.w < 0 || p.h >= strides_.h || p.w >= strides_.w)
        bad_option(kind,
                   name(),
                   str_cat("Strides must be greater than output padding, and output padding "
                           "non-negative. Received strides=(",
                           strides_.h,
                           ", ",
                           strides_.w,
                           "), output_padding=(",
                           p.h,
                           ", ",
                           p.w,
                           ")"));
    }
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 4, 4);
    const int64_t in_c = s[3], area = kernel_size_.h * kernel_size_.w;
    kernel_ = add_weight(
        "kernel",
        glorot_uniform(
            {kernel_size_.h, kernel_size_.w, filters_, in_c}, area * filters_, area * in_c, dtype));
    if (use_bias_) bias_ = add_weight("bias", zeros({filters_}, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    check_rank(name(), input.shape(), 4, 4);
    check_last_dim(name(), input.shape(), kernel_.shape()[3]);
    Tensor x = as_dtype(input, kernel_.dtype());
    Tensor y = nn::conv2d_transpose(
        x, kernel_, compute_output_shape(x.shape()), {int(strides_.h), int(strides_.w)}, padding_);
    if (use_bias_) y = nn::bias_add(y, bias_);
    return activate(activation_, y);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    const Shape out{s[0],
                    output_length(s[1], kernel_size_.h, strides_.h, output_padding_, true),
                    output_length(s[2], kernel_size_.w, strides_.w, output_padding_, false),
                    filters_};
    // "same" with an even kernel and no output padding shrinks below in·stride - stride + 1:
    // conv2d of that output would not give the input back (TF refuses it too).
    for (int a = 1; a <= 2; ++a) {
      const int64_t k = a == 1 ? kernel_size_.h : kernel_size_.w;
      const int64_t st = a == 1 ? strides_.h : strides_.w;
      if (out[a] <= 0 || window_out(out[a], k, st, padding_) != s[a])
        incompatible(name(),
                     s,
                     str_cat("kernel_size (",
                             kernel_size_.h,
                             ", ",
                             kernel_size_.w,
                             "), strides and output_padding give an output of shape ",
                             out,
                             ", which a Conv2D with padding \"",
                             padding_ == "SAME" ? "same" : "valid",
                             "\" does not map back onto the input"));
    }
    return out;
  }

  LayerConfig get_config() const override {
    LayerConfig c = LayerConfig(name())
                        .set_int("filters", filters_)
                        .set_ints("kernel_size", {kernel_size_.h, kernel_size_.w})
                        .set_ints("strides", {strides_.h, strides_.w})
                        .set_string("padding", padding_ == "SAME" ? "same" : "valid")
                        .set_string("activation", activation_name_)
                        .set_bool("use_bias", use_bias_);
    if (output_padding_) c.set_ints("output_padding", {output_padding_->h, output_padding_->w});
    return c;
  }

  Variable kernel_, bias_;

 private:
  // Keras' deconv_output_length (dilation 1).
  int64_t output_length(int64_t in,
                        int64_t k,
                        int64_t stride,
                        const std::optional<Size2>& output_padding,
                        bool rows) const {
    const bool same = padding_ == "SAME";
    if (!output_padding) return same ? in * stride : in * stride + std::max<int64_t>(k - stride, 0);
    const int64_t pad = same ? k / 2 : 0;
    return (in - 1) * stride + k - 2 * pad + (rows ? output_padding->h : output_padding->w);
  }

  int64_t filters_;
  Size2 kernel_size_, strides_;
  std::optional<Size2> output_padding_;
  std::string padding_;
  ActivationFn activation_ = nullptr;
  std::string activation_name_;
  bool use_bias_;
};

// ---- DepthwiseConv2D ---------------------------------------------------------------------------

class DepthwiseConv2DImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "DepthwiseConv2D"; }
  explicit DepthwiseConv2DImpl(DepthwiseConv2DOptions o)
      : Impl(name_or(std::move(o.name), "depthwise_conv2d")),
        kernel_size_(o.kernel_size),
        strides_(o.strides),
        depth_multiplier_(o.depth_multiplier),
        activation_name_(o.activation),
        use_bias_(o.use_bias) {
    const char* kind = "DepthwiseConv2D";
    if (depth_multiplier_ <= 0)
      bad_option(kind,
                 name(),
                 str_cat("Invalid value for argument `depth_multiplier`. Expected a strictly "
                         "positive value. Received depth_multiplier=",
                         depth_multiplier_));
    check_positive_option(kind, name(), "kernel_size", kernel_size_);
    check_positive_option(kind, name(), "strides", strides_);
    padding_ = checked_padding(kind, name(), o.padding);
    activation_ = checked_activation(kind, name(), o.activation);
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 4, 4);
    const int64_t in_c = s[3], area = kernel_size_.h * kernel_size_.w;
    kernel_ = add_weight("depthwise_kernel",
                         glorot_uniform({kernel_size_.h, kernel_size_.w, in_c, depth_multiplier_},
                                        area * in_c,
                                        area * depth_multiplier_,
                                        dtype));
    if (use_bias_) bias_ = add_weight("bias", zeros({in_c * depth_multiplier_}, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    check_rank(name(), input.shape(), 4, 4);
    check_last_dim(name(), input.shape(), kernel_.shape()[2]);
    compute_output_shape(input.shape());
    Tensor x = as_dtype(input, kernel_.dtype());
    Tensor y =
        nn::depthwise_conv2d(x, kernel_, {int(strides_.h), int(strides_.w)}, padding_, {1, 1});
    if (use_bias_) y = nn::bias_add(y, bias_);
    return activate(activation_, y);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    const Shape out{s[0],
                    window_out(s[1], kernel_size_.h, strides_.h, padding_),
                    window_out(s[2], kernel_size_.w, strides_.w, padding_),
                    s[3] * depth_multiplier_};
    if (out[1] <= 0 || out[2] <= 0)
      incompatible(name(),
                   s,
                   str_cat("the image is smaller than the kernel (",
                           kernel_size_.h,
                           ", ",
                           kernel_size_.w,
                           ") with padding \"valid\""));
    return out;
  }

  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_ints("kernel_size", {kernel_size_.h, kernel_size_.w})
        .set_ints("strides", {strides_.h, strides_.w})
        .set_string("padding", padding_ == "SAME" ? "same" : "valid")
        .set_int("depth_multiplier", depth_multiplier_)
        .set_string("activation", activation_name_)
        .set_bool("use_bias", use_bias_);
  }

  Variable kernel_, bias_;

 private:
  Size2 kernel_size_, strides_;
  int64_t depth_multiplier_;
  std::string padding_;
  ActivationFn activation_ = nullptr;
  std::string activation_name_;
  bool use_bias_;
};

// ---- RandomTranslation -------------------------------------------------------------------------

enum class Fill { reflect, constant, nearest, wrap };

// TF's ImageProjectiveTransform (what Keras' RandomTranslation calls) maps a source coordinate
// that falls outside [0, len - 1] back inside by the fill mode, then clamps it; "constant"
// leaves it, and reading outside then gives the fill value. Written from TF's definitions,
// including their "wrap", which for shifts of len - 1 or more differs from a plain modulo.
double map_coordinate(double c, int64_t len, Fill fill) {
  const double last = double(len - 1);
  if (fill == Fill::constant) return c;
  if (c < 0 || c > last) {
    if (len <= 1) return 0.0;
    if (fill == Fill::reflect) {  // d c b a | a b c d | d c b a
      const double period = 2.0 * double(len);
      if (c < 0) {
        c += period * double(int64_t(-c / period));
        c = c < -double(len) ? c + period : -c - 1;
      } else {
        c -= period * double(int64_t(c / period));
        if (c >= double(len)) c = period - c - 1;
      }
    } else if (fill == Fill::wrap) {  // a b c d | a b c d | a b c d
      c = c < 0 ? c + double(len) * double(int64_t(-c / last) + 1)
                : c - double(len) * double(int64_t(c / last));
    }
  }
  return std::clamp(c, 0.0, last);  // Fill::nearest: clamping is all it does
}

// One source pixel along an axis and its weight; index -1 reads the fill value.
struct Tap {
  int64_t index;
  double weight;
};

// The (up to) two taps output index i reads along an axis of length len shifted by t: nearest
// rounds the source coordinate (half away from zero, as TF), bilinear weighs floor and ceil.
std::array<Tap, 2> axis_taps(int64_t i, double t, int64_t len, Fill fill, bool bilinear) {
  const double c = map_coordinate(double(i) - t, len, fill);
  auto at = [len](double v) { return v >= 0 && v < double(len) ? int64_t(v) : int64_t(-1); };
  if (!bilinear) return {Tap{at(std::round(c)), 1.0}, Tap{-1, 0.0}};
  const double f = std::floor(c);
  return {Tap{at(f), f + 1 - c}, Tap{at(f + 1), c - f}};
}

class RandomTranslationImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "RandomTranslation"; }
  explicit RandomTranslationImpl(RandomTranslationOptions o)
      : Impl(name_or(std::move(o.name), "random_translation")),
        height_(o.height_factor),
        width_(o.width_factor),
        fill_value_(o.fill_value) {
    const char* kind = "RandomTranslation";
    auto check_factor = [&](const char* what, const TranslationFactor& f) {
      if (!(std::abs(f.lower) <= 1.0 && std::abs(f.upper) <= 1.0))
        bad_option(kind,
                   name(),
                   str_cat("`",
                           what,
                           "` cannot have an absolute value larger than 1.0. Received: (",
                           f.lower,
                           ", ",
                           f.upper,
                           ")"));
      if (f.upper < f.lower)
        bad_option(kind,
                   name(),
                   str_cat("`",
                           what,
                           "` cannot have upper bound less than lower bound. Received: (",
                           f.lower,
                           ", ",
                           f.upper,
                           ")"));
    };
    check_factor("height_factor", height_);
    check_factor("width_factor", width_);
    if (o.fill_mode == "reflect")
      fill_ = Fill::reflect;
    else if (o.fill_mode == "constant")
      fill_ = Fill::constant;
    else if (o.fill_mode == "nearest")
      fill_ = Fill::nearest;
    else if (o.fill_mode == "wrap")
      fill_ = Fill::wrap;
    else
      bad_option(kind,
                 name(),
                 str_cat("Unknown `fill_mode` ",
                         o.fill_mode,
                         ". Expected one of reflect, wrap, constant, nearest"));
    if (o.interpolation == "bilinear")
      bilinear_ = true;
    else if (o.interpolation != "nearest")
      bad_option(
          kind,
          name(),
          str_cat(
              "Unknown `interpolation` ", o.interpolation, ". Expected one of nearest, bilinear"));
    if (o.seed) generator_ = random::Generator::from_seed(*o.seed);
  }

  Tensor call(const Tensor& x, bool training) override {
    check_rank(name(), x.shape(), 4, 4);
    if (!training) return x;
    const int64_t b = x.shape()[0], h = x.shape()[1], w = x.shape()[2], c = x.shape()[3];
    if (b * h * w == 0) return x;
    // One draw per image and axis: u in [0, 1), scaled into the factor's range.
    const Shape draw_shape{b, 2};
    Tensor draw = generator_ ? generator_->uniform(draw_shape, 0.0, 1.0, float64)
                             : random::uniform(draw_shape, 0.0, 1.0, float64);
    const std::vector<double> u = draw.to_vector<double>();
    // Each output pixel is a weighted sum of up to 4 source pixels (rows × columns taps): tap k
    // of every pixel is one gather of the flattened [b·h·w, c] image, scaled by its weights;
    // taps outside the image add their weight to the fill value's instead.
    const size_t pixels = size_t(b * h * w), taps = bilinear_ ? 4 : 1;
    std::vector<std::vector<int64_t>> index(taps, std::vector<int64_t>(pixels));
    std::vector<std::vector<double>> weight(taps, std::vector<double>(pixels));
    std::vector<double> fill_weight(pixels, 0.0);
    for (int64_t n = 0; n < b; ++n) {
      const double ty = translation(height_, u[size_t(2 * n)], h);
      const double tx = translation(width_, u[size_t(2 * n + 1)], w);
      for (int64_t i = 0; i < h; ++i) {
        const std::array<Tap, 2> rows = axis_taps(i, ty, h, fill_, bilinear_);
        for (int64_t j = 0; j < w; ++j) {
          const std::array<Tap, 2> cols = axis_taps(j, tx, w, fill_, bilinear_);
          const size_t p = size_t((n * h + i) * w + j);
          for (size_t k = 0; k < taps; ++k) {
            const Tap& r = rows[k / 2];
            const Tap& col = cols[k % 2];
            const double wk = r.weight * col.weight;
            const bool inside = r.index >= 0 && col.index >= 0;
            index[k][p] = inside ? (n * h + r.index) * w + col.index : 0;
            weight[k][p] = inside ? wk : 0.0;
            if (!inside) fill_weight[p] += wk;
          }
        }
      }
    }
    const Shape flat{b, h, w}, per_pixel{b, h, w, 1};
    Tensor source = reshape(x, {b * h * w, c});
    Tensor out;
    for (size_t k = 0; k < taps; ++k) {
      const auto& wk = weight[k];
      if (std::all_of(wk.begin(), wk.end(), [](double v) { return v == 0.0; })) continue;
      Tensor moved = gather(source, constant(index[k], flat), 0);
      if (!std::all_of(wk.begin(), wk.end(), [](double v) { return v == 1.0; }))
        moved = moved * constant(wk, per_pixel, x.dtype());
      out = out.defined() ? out + moved : moved;
    }
    const bool fills =
        std::any_of(fill_weight.begin(), fill_weight.end(), [](double v) { return v != 0.0; });
    if (fills && fill_value_ != 0.0) {
      Tensor f = constant(fill_weight, per_pixel, x.dtype()) * fill_value_;
      out = out.defined() ? out + f : f + zeros_like(x);
    }
    if (!out.defined()) out = zeros_like(x);  // every tap outside, fill value 0
    return reshape(out, x.shape());
  }

  Shape compute_output_shape(const Shape& s) const override { return s; }

  LayerConfig get_config() const override {
    const char* fills[] = {"reflect", "constant", "nearest", "wrap"};
    LayerConfig c =
        LayerConfig(name())
            .set_json(
                "height_factor",
                str_cat("[", json_double(height_.lower), ", ", json_double(height_.upper), "]"))
            .set_json("width_factor",
                      str_cat("[", json_double(width_.lower), ", ", json_double(width_.upper), "]"))
            .set_string("fill_mode", fills[int(fill_)])
            .set_string("interpolation", bilinear_ ? "bilinear" : "nearest")
            .set_double("fill_value", fill_value_);
    if (generator_) c.set_int("seed", int64_t(generator_->seed()));
    return c;
  }

 private:
  static std::string json_double(double v) {
    return LayerConfig().set_double("v", v).get_json("v");
  }

  // factor·length pixels for a draw u in [0, 1), the factor uniform in [lower, upper].
  static double translation(const TranslationFactor& f, double u, int64_t length) {
    return (f.lower + u * (f.upper - f.lower)) * double(length);
  }

  TranslationFactor height_, width_;
  Fill fill_ = Fill::reflect;
  bool bilinear_ = false;
  double fill_value_;
  std::optional<random::Generator> generator_;
};

}  // namespace

Conv2DTranspose::Conv2DTranspose(Conv2DTransposeOptions options)
    : Layer(std::make_shared<Conv2DTransposeImpl>(std::move(options))) {}
Variable Conv2DTranspose::kernel() const {
  return static_cast<Conv2DTransposeImpl&>(checked_impl()).kernel_;
}
Variable Conv2DTranspose::bias() const {
  return static_cast<Conv2DTransposeImpl&>(checked_impl()).bias_;
}

DepthwiseConv2D::DepthwiseConv2D(DepthwiseConv2DOptions options)
    : Layer(std::make_shared<DepthwiseConv2DImpl>(std::move(options))) {}
Variable DepthwiseConv2D::depthwise_kernel() const {
  return static_cast<DepthwiseConv2DImpl&>(checked_impl()).kernel_;
}
Variable DepthwiseConv2D::bias() const {
  return static_cast<DepthwiseConv2DImpl&>(checked_impl()).bias_;
}

RandomTranslation::RandomTranslation(RandomTranslationOptions options)
    : Layer(std::make_shared<RandomTranslationImpl>(std::move(options))) {}

}  // namespace tapeflow::layers
