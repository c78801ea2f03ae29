// More tf::layers (issue #12): merging layers called on a list of inputs, Activation, Reshape,
// Permute, global pooling, UpSampling2D, ZeroPadding2D, Embedding, LayerNormalization, Conv1D
// and RandomFlip. As layers.cpp: public tf:: ops only, weights built on the first call.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/fail.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using namespace internal;  // NOLINT(google-build-using-namespace): the layers' shared helpers

namespace {

std::string shapes_str(const std::vector<Shape>& shapes) {
  std::string s = "[";
  for (size_t i = 0; i < shapes.size(); ++i) s += str_cat(i ? ", " : "", shapes[i]);
  return s + "]";
}

std::string name_or(std::string name, const char* prefix) {
  return name.empty() ? unique_layer_name(prefix) : std::move(name);
}

// Normalises a possibly negative axis of a rank-`rank` input; InvalidArgumentError naming the
// layer when it is out of range.
int normalize_axis(const std::string& layer, int axis, int rank) {
  if (axis < -rank || axis >= rank)
    throw InvalidArgumentError(str_cat(
        "Layer \"", layer, "\": axis ", axis, " is out of bounds for inputs of rank ", rank));
  return axis < 0 ? axis + rank : axis;
}

// ---- merging ------------------------------------------------------------------------------------

enum class MergeKind { add, subtract, multiply, average, maximum, minimum };

class MergeImpl final : public Layer::Impl {
 public:
  MergeImpl(MergeKind kind, const char* prefix, std::string name)
      : Impl(name_or(std::move(name), prefix)), kind_(kind) {}

  std::string class_name() const override {
    switch (kind_) {
      case MergeKind::add:
        return "Add";
      case MergeKind::subtract:
        return "Subtract";
      case MergeKind::multiply:
        return "Multiply";
      case MergeKind::average:
        return "Average";
      case MergeKind::maximum:
        return "Maximum";
      case MergeKind::minimum:
        return "Minimum";
    }
    return "Merge";
  }

  Tensor call(const Tensor& x, bool) override {
    throw InvalidArgumentError(
        str_cat("A merge layer should be called on a list of inputs "
                "(layer \"",
                name(),
                "\"). Received: input shape ",
                x.shape(),
                " (not a list)"));
  }

  void build_inputs(const std::vector<Shape>& shapes, DType) override { check(shapes); }

  Tensor call_inputs(const std::vector<Tensor>& inputs, bool) override {
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.shape());
    check(shapes);
    const DType dtype = inputs[0].dtype();
    Tensor out = inputs[0];
    for (size_t i = 1; i < inputs.size(); ++i) {
      Tensor t = as_dtype(inputs[i], dtype);
      switch (kind_) {
        case MergeKind::add:
        case MergeKind::average:
          out = out + t;
          break;
        case MergeKind::subtract:
          out = out - t;
          break;
        case MergeKind::multiply:
          out = out * t;
          break;
        case MergeKind::maximum:
          out = maximum(out, t);
          break;
        case MergeKind::minimum:
          out = minimum(out, t);
          break;
      }
    }
    if (kind_ == MergeKind::average) out = out / double(inputs.size());
    return out;
  }

 private:
  // Keras' rule: the same rank, and each axis equal or 1 (broadcast).
  void check(const std::vector<Shape>& shapes) const {
    if (kind_ == MergeKind::subtract ? shapes.size() != 2 : shapes.size() < 2)
      throw InvalidArgumentError(
          str_cat("Layer \"",
                  name(),
                  "\" should be called on ",
                  kind_ == MergeKind::subtract ? "exactly 2 inputs" : "at least 2 inputs",
                  ". Received: ",
                  shapes.size(),
                  " input(s) of shapes ",
                  shapes_str(shapes)));
    for (size_t i = 1; i < shapes.size(); ++i) {
      const Shape &a = shapes[0], &b = shapes[i];
      bool ok = a.rank() == b.rank();
      for (int d = 0; ok && d < a.rank(); ++d) ok = a[d] == b[d] || a[d] == 1 || b[d] == 1;
      if (!ok)
        throw InvalidArgumentError(str_cat("Layer \"",
                                           name(),
                                           "\": inputs have incompatible shapes. Received shapes ",
                                           a,
                                           " and ",
                                           b));
    }
  }

  MergeKind kind_;
};

class ConcatenateImpl final : public Layer::Impl {
 public:
  explicit ConcatenateImpl(ConcatenateOptions o)
      : Impl(name_or(std::move(o.name), "concatenate")), axis_(o.axis) {}

  std::string class_name() const override { return "Concatenate"; }
  LayerConfig get_config() const override { return LayerConfig(name()).set_int("axis", axis_); }

  Tensor call(const Tensor& x, bool) override {
    throw InvalidArgumentError(
        str_cat("A `Concatenate` layer (\"",
                name(),
                "\") should be called on a list of at least 1 input. Received: input shape ",
                x.shape(),
                " (not a list)"));
  }

  void build_inputs(const std::vector<Shape>& shapes, DType) override { check(shapes); }

  Tensor call_inputs(const std::vector<Tensor>& inputs, bool) override {
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.shape());
    const int axis = check(shapes);
    std::vector<Tensor> values;
    for (const Tensor& t : inputs) values.push_back(as_dtype(t, inputs[0].dtype()));
    return concat(values, axis);
  }

 private:
  int check(const std::vector<Shape>& shapes) const {
    const int rank = shapes[0].rank();
    auto mismatch = [&] {
      throw InvalidArgumentError(str_cat("A `Concatenate` layer (\"",
                                         name(),
                                         "\") requires inputs with matching shapes except for the "
                                         "concatenation axis ",
                                         axis_,
                                         ". Received: input_shape=",
                                         shapes_str(shapes)));
    };
    if (rank == 0) mismatch();
    const int axis = normalize_axis(name(), axis_, rank);
    for (const Shape& s : shapes) {
      if (s.rank() != rank) mismatch();
      for (int d = 0; d < rank; ++d)
        if (d != axis && s[d] != shapes[0][d]) mismatch();
    }
    return axis;
  }

  int axis_;
};

// ---- Activation, Reshape, Permute ------------------------------------------------------------

class ActivationImpl final : public Layer::Impl {
 public:
  ActivationImpl(const std::string& activation, std::string name)
      : Impl(name_or(std::move(name), "activation")),
        fn_(activation_fn(activation)),
        activation_(activation) {}
  std::string class_name() const override { return "Activation"; }
  Tensor call(const Tensor& x, bool) override { return activate(fn_, x); }
  Shape compute_output_shape(const Shape& s) const override { return s; }
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_string("activation", activation_);
  }

 private:
  ActivationFn fn_;
  std::string activation_;
};

class ReshapeImpl final : public Layer::Impl {
 public:
  ReshapeImpl(std::vector<int64_t> target, std::string name)
      : Impl(name_or(std::move(name), "reshape")), target_(std::move(target)) {
    int unknown = 0;
    for (int64_t d : target_) {
      if (d == -1)
        ++unknown;
      else if (d < 0)
        throw InvalidArgumentError(str_cat("Reshape: target_shape ",
                                           detail::vec_str(target_),
                                           " has a negative dimension other than -1"));
    }
    if (unknown > 1)
      throw InvalidArgumentError(str_cat("Reshape: target_shape ",
                                         detail::vec_str(target_),
                                         " can only have one unknown (-1) dim"));
  }

  std::string class_name() const override { return "Reshape"; }
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_ints("target_shape", target_);
  }

  Tensor call(const Tensor& x, bool) override {
    return reshape(x, compute_output_shape(x.shape()));
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 1);
    int64_t have = 1, known = 1;
    for (int i = 1; i < s.rank(); ++i) have *= s[i];
    int unknown_at = -1;
    for (size_t i = 0; i < target_.size(); ++i) {
      if (target_[i] == -1)
        unknown_at = int(i);
      else
        known *= target_[i];
    }
    std::vector<int64_t> out{s[0]};
    out.insert(out.end(), target_.begin(), target_.end());
    if (unknown_at >= 0 && known != 0 && have % known == 0)
      out[unknown_at + 1] = have / known;
    else if (unknown_at >= 0 || known != have)
      throw InvalidArgumentError(str_cat("Layer \"",
                                         name(),
                                         "\": the total size of the target shape ",
                                         detail::vec_str(target_),
                                         " must be unchanged from the input shape ",
                                         s,
                                         " (without its batch axis)"));
    return Shape(out);
  }

 private:
  std::vector<int64_t> target_;
};

class PermuteImpl final : public Layer::Impl {
 public:
  PermuteImpl(std::vector<int> dims, std::string name)
      : Impl(name_or(std::move(name), "permute")), dims_(std::move(dims)) {
    std::vector<int> sorted = dims_;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != int(i) + 1)
        throw InvalidArgumentError(str_cat(
            "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
            "must be consecutive and start from 1. Received dims=",
            detail::vec_str(dims_)));
  }

  std::string class_name() const override { return "Permute"; }
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_ints("dims", std::vector<int64_t>(dims_.begin(), dims_.end()));
  }

  Tensor call(const Tensor& x, bool) override {
    compute_output_shape(x.shape());
    std::vector<int> perm{0};
    perm.insert(perm.end(), dims_.begin(), dims_.end());
    return transpose(x, perm);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, int(dims_.size()) + 1, int(dims_.size()) + 1);
    std::vector<int64_t> out{s[0]};
    for (int d : dims_) out.push_back(s[d]);
    return Shape(out);
  }

 private:
  std::vector<int> dims_;
};

// ---- global pooling, UpSampling2D, ZeroPadding2D ---------------------------------------------

class GlobalPoolImpl final : public Layer::Impl {
 public:
  GlobalPoolImpl(GlobalPoolingOptions o, int spatial, bool max)
      : Impl(name_or(
            std::move(o.name),
            max ? (spatial == 1 ? "global_max_pooling1d" : "global_max_pooling2d")
                : (spatial == 1 ? "global_average_pooling1d" : "global_average_pooling2d"))),
        spatial_(spatial),
        max_(max),
        keepdims_(o.keepdims) {}

  std::string class_name() const override {
    return str_cat("Global", max_ ? "Max" : "Average", "Pooling", spatial_, "D");
  }
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_bool("keepdims", keepdims_);
  }

  Tensor call(const Tensor& x, bool) override {
    check_rank(name(), x.shape(), spatial_ + 2, spatial_ + 2);
    std::vector<int> axes = spatial_ == 1 ? std::vector<int>{1} : std::vector<int>{1, 2};
    return max_ ? reduce_max(x, axes, keepdims_) : reduce_mean(x, axes, keepdims_);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, spatial_ + 2, spatial_ + 2);
    if (!keepdims_) return {s[0], s[s.rank() - 1]};
    return spatial_ == 1 ? Shape{s[0], 1, s[2]} : Shape{s[0], 1, 1, s[3]};
  }

 private:
  int spatial_;
  bool max_, keepdims_;
};

class UpSampling2DImpl final : public Layer::Impl {
 public:
  explicit UpSampling2DImpl(UpSampling2DOptions o)
      : Impl(name_or(std::move(o.name), "up_sampling2d")),
        size_(o.size),
        interpolation_(o.interpolation) {
    check_positive("size", size_);
    if (o.interpolation == "bilinear")
      throw UnimplementedError(
          "UpSampling2D: interpolation=\"bilinear\" is not implemented yet; "
          "use \"nearest\"");
    if (o.interpolation != "nearest")
      throw InvalidArgumentError(str_cat(
          "UpSampling2D: interpolation must be \"nearest\"; received \"", o.interpolation, "\""));
  }

  std::string class_name() const override { return "UpSampling2D"; }
  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_ints("size", {size_.h, size_.w})
        .set_string("interpolation", interpolation_);
  }

  Tensor call(const Tensor& x, bool) override {
    check_rank(name(), x.shape(), 4, 4);
    Tensor y = size_.h == 1 ? x : repeat(x, size_.h, 1);
    return size_.w == 1 ? y : repeat(y, size_.w, 2);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    return {s[0], s[1] * size_.h, s[2] * size_.w, s[3]};
  }

 private:
  Size2 size_;
  std::string interpolation_;
};

class ZeroPadding2DImpl final : public Layer::Impl {
 public:
  explicit ZeroPadding2DImpl(ZeroPadding2DOptions o)
      : Impl(name_or(std::move(o.name), "zero_padding2d")) {
    const bool explicit_pads = o.top_bottom.h || o.top_bottom.w || o.left_right.h || o.left_right.w;
    top_bottom_ = explicit_pads ? o.top_bottom : Size2(o.padding.h, o.padding.h);
    left_right_ = explicit_pads ? o.left_right : Size2(o.padding.w, o.padding.w);
    if (top_bottom_.h < 0 || top_bottom_.w < 0 || left_right_.h < 0 || left_right_.w < 0)
      throw InvalidArgumentError("ZeroPadding2D: padding must be non-negative");
  }

  std::string class_name() const override { return "ZeroPadding2D"; }
  // Keras' ((top, bottom), (left, right)).
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_json("padding",
                                        str_cat("[[",
                                                top_bottom_.h,
                                                ",",
                                                top_bottom_.w,
                                                "],[",
                                                left_right_.h,
                                                ",",
                                                left_right_.w,
                                                "]]"));
  }

  Tensor call(const Tensor& x, bool) override {
    check_rank(name(), x.shape(), 4, 4);
    return pad(x, {{0, 0}, {top_bottom_.h, top_bottom_.w}, {left_right_.h, left_right_.w}, {0, 0}});
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    return {s[0], s[1] + top_bottom_.h + top_bottom_.w, s[2] + left_right_.h + left_right_.w, s[3]};
  }

 private:
  Size2 top_bottom_, left_right_;
};

// ---- Embedding, LayerNormalization ---------------------------------------------------------

class EmbeddingImpl final : public Layer::Impl {
 public:
  explicit EmbeddingImpl(EmbeddingOptions o)
      : Impl(name_or(std::move(o.name), "embedding")),
        input_dim_(o.input_dim),
        output_dim_(o.output_dim) {
    if (input_dim_ <= 0 || output_dim_ <= 0)
      throw InvalidArgumentError(
          str_cat("Both `input_dim` and `output_dim` should be positive, Received input_dim = ",
                  input_dim_,
                  " and output_dim = ",
                  output_dim_));
  }

  std::string class_name() const override { return "Embedding"; }
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_int("input_dim", input_dim_).set_int("output_dim", output_dim_);
  }

  void build(const Shape&, DType dtype) override {
    embeddings_ =
        add_weight("embeddings", random::uniform({input_dim_, output_dim_}, -0.05, 0.05, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    Tensor idx = input.dtype() == int32 || input.dtype() == int64 ? input : cast(input, int32);
    return gather(embeddings_, idx, 0);
  }

  Shape compute_output_shape(const Shape& s) const override {
    std::vector<int64_t> d = s.dims();
    d.push_back(output_dim_);
    return Shape(d);
  }

  Variable embeddings_;

 private:
  int64_t input_dim_, output_dim_;
};

class LayerNormImpl final : public Layer::Impl {
 public:
  explicit LayerNormImpl(LayerNormalizationOptions o)
      : Impl(name_or(std::move(o.name), "layer_normalization")),
        axis_(std::move(o.axis)),
        epsilon_(o.epsilon),
        center_(o.center),
        scale_(o.scale) {
    if (axis_.empty()) throw InvalidArgumentError("LayerNormalization: `axis` must not be empty");
    if (!(epsilon_ > 0.0))
      throw InvalidArgumentError(
          str_cat("LayerNormalization: epsilon must be positive; received ", epsilon_));
  }

  std::string class_name() const override { return "LayerNormalization"; }
  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_ints("axis", std::vector<int64_t>(axis_.begin(), axis_.end()))
        .set_double("epsilon", epsilon_)
        .set_bool("center", center_)
        .set_bool("scale", scale_);
  }

  void build(const Shape& s, DType dtype) override {
    axes_ = axes_for(s);
    std::vector<int64_t> param;
    for (int a : axes_) param.push_back(s[a]);
    if (scale_) gamma_ = add_weight("gamma", ones(Shape(param), dtype));
    if (center_) beta_ = add_weight("beta", zeros(Shape(param), dtype));
    rank_ = s.rank();
    dims_ = s.dims();
  }

  Tensor call(const Tensor& input, bool) override {
    if (input.rank() != rank_)
      incompatible(
          name(), input.shape(), str_cat("expected ndim=", rank_, ", found ndim=", input.rank()));
    for (int a : axes_)
      if (input.shape()[a] != dims_[a])
        incompatible(name(),
                     input.shape(),
                     str_cat("expected axis ",
                             a,
                             " of input shape to "
                             "have value ",
                             dims_[a]));
    Tensor x = as_dtype(input, scale_ ? gamma_.dtype() : center_ ? beta_.dtype() : input.dtype());
    auto [mean, variance] = nn::moments(x, axes_, true);
    // Keras' form: x·inv + (beta - mean·inv), with inv = gamma / sqrt(variance + epsilon).
    Tensor inv = rsqrt(variance + epsilon_);
    if (scale_) inv = inv * broadcastable(gamma_);
    Tensor y = (x - mean) * inv;
    return center_ ? y + broadcastable(beta_) : y;
  }

  Shape compute_output_shape(const Shape& s) const override { return s; }

  Variable gamma_, beta_;

 private:
  std::vector<int> axes_for(const Shape& s) const {
    std::vector<int> axes;
    for (int a : axis_) axes.push_back(normalize_axis(name(), a, s.rank()));
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
      throw InvalidArgumentError(
          str_cat("LayerNormalization: duplicate axis in ", detail::vec_str(axis_)));
    return axes;
  }

  // gamma/beta [d_a for a in axes] reshaped to broadcast against the input (1 elsewhere).
  Tensor broadcastable(const Variable& v) const {
    if (axes_.size() == 1 && axes_[0] == rank_ - 1) return v;
    std::vector<int64_t> shape(rank_, 1);
    for (int a : axes_) shape[a] = dims_[a];
    return reshape(v, Shape(shape));
  }

  std::vector<int> axis_, axes_;
  double epsilon_;
  bool center_, scale_;
  int rank_ = 0;
  std::vector<int64_t> dims_;
};

// ---- Conv1D ----------------------------------------------------------------------------------

class Conv1DImpl final : public Layer::Impl {
 public:
  explicit Conv1DImpl(Conv1DOptions o)
      : Impl(name_or(std::move(o.name), "conv1d")),
        filters_(o.filters),
        kernel_size_(o.kernel_size),
        strides_(o.strides),
        causal_(o.padding == "causal" || o.padding == "CAUSAL"),
        padding_(causal_ ? "VALID" : padding_attr("Conv1D", o.padding)),
        activation_(activation_fn(o.activation)),
        activation_name_(o.activation),
        use_bias_(o.use_bias) {
    if (filters_ <= 0)
      throw InvalidArgumentError(
          str_cat("Invalid value for argument `filters`. Expected a strictly positive value. "
                  "Received filters=",
                  filters_));
    check_positive("kernel_size", Size2(kernel_size_, 1));
    check_positive("strides", Size2(strides_, 1));
  }

  std::string class_name() const override { return "Conv1D"; }
  // kernel_size and strides as Keras writes them: lists of one value.
  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_int("filters", filters_)
        .set_ints("kernel_size", {kernel_size_})
        .set_ints("strides", {strides_})
        .set_string("padding",
                    causal_              ? "causal"
                    : padding_ == "SAME" ? "same"
                                         : "valid")
        .set_string("activation", activation_name_)
        .set_bool("use_bias", use_bias_);
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 3, 3);
    const int64_t in_c = s[2];
    kernel_ = add_weight(
        "kernel",
        glorot_uniform(
            {kernel_size_, in_c, filters_}, kernel_size_ * in_c, kernel_size_ * filters_, dtype));
    if (use_bias_) bias_ = add_weight("bias", zeros({filters_}, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    check_rank(name(), input.shape(), 3, 3);
    check_last_dim(name(), input.shape(), kernel_.shape()[1]);
    Tensor x = as_dtype(input, kernel_.dtype());
    if (causal_) x = pad(x, {{0, 0}, {kernel_size_ - 1, 0}, {0, 0}});
    // A [batch, steps, channels] sequence is a height-1 NHWC image.
    Tensor y = nn::conv2d(
        expand_dims(x, 1), expand_dims(kernel_.value(), 0), {1, int(strides_)}, padding_);
    y = squeeze(y, {1});
    if (use_bias_) y = nn::bias_add(y, bias_);
    return activate(activation_, y);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 3, 3);
    const int64_t steps = causal_ ? s[1] + kernel_size_ - 1 : s[1];
    return {s[0], window_out(steps, kernel_size_, strides_, padding_), filters_};
  }

  Variable kernel_, bias_;

 private:
  int64_t filters_, kernel_size_, strides_;
  bool causal_;
  std::string padding_;
  ActivationFn activation_;
  std::string activation_name_;
  bool use_bias_;
};

// ---- RandomFlip ------------------------------------------------------------------------------

class RandomFlipImpl final : public Layer::Impl {
 public:
  explicit RandomFlipImpl(RandomFlipOptions o)
      : Impl(name_or(std::move(o.name), "random_flip")), mode_(o.mode), seed_(o.seed) {
    if (o.mode == "horizontal")
      horizontal_ = true;
    else if (o.mode == "vertical")
      vertical_ = true;
    else if (o.mode == "horizontal_and_vertical")
      horizontal_ = vertical_ = true;
    else
      throw InvalidArgumentError(str_cat("RandomFlip layer ",
                                         name(),
                                         " received an unknown mode argument ",
                                         o.mode,
                                         "; expected horizontal, vertical or "
                                         "horizontal_and_vertical"));
    if (o.seed) generator_ = random::Generator::from_seed(*o.seed);
  }

  std::string class_name() const override { return "RandomFlip"; }
  // The seed given, not the generator's position: a loaded RandomFlip restarts its draws.
  LayerConfig get_config() const override {
    LayerConfig c(name());
    c.set_string("mode", mode_);
    if (seed_) c.set_int("seed", int64_t(*seed_));
    return c;
  }

  Tensor call(const Tensor& x, bool training) override {
    check_rank(name(), x.shape(), 4, 4);
    if (!training) return x;
    Tensor y = x;
    if (horizontal_) y = flip(y, 2);
    if (vertical_) y = flip(y, 1);
    return y;
  }

  Shape compute_output_shape(const Shape& s) const override { return s; }

 private:
  // Each image of the batch flipped along `axis` with probability 1/2.
  Tensor flip(const Tensor& x, int axis) {
    Shape u{x.shape()[0], 1, 1, 1};
    Tensor draw = generator_ ? generator_->uniform(u) : random::uniform(u);
    return where(less(draw, scalar_like(draw, 0.5)), reverse(x, {axis}), x);
  }

  std::string mode_;
  std::optional<uint64_t> seed_;
  bool horizontal_ = false, vertical_ = false;
  std::optional<random::Generator> generator_;
};

}  // namespace

Add::Add(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::add, "add", std::move(name))) {}
Subtract::Subtract(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::subtract, "subtract", std::move(name))) {}
Multiply::Multiply(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::multiply, "multiply", std::move(name))) {}
Average::Average(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::average, "average", std::move(name))) {}
Maximum::Maximum(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::maximum, "maximum", std::move(name))) {}
Minimum::Minimum(std::string name)
    : Layer(std::make_shared<MergeImpl>(MergeKind::minimum, "minimum", std::move(name))) {}
Concatenate::Concatenate(ConcatenateOptions options)
    : Layer(std::make_shared<ConcatenateImpl>(std::move(options))) {}

Activation::Activation(std::string activation, std::string name)
    : Layer(std::make_shared<ActivationImpl>(activation, std::move(name))) {}
Reshape::Reshape(std::vector<int64_t> target_shape, std::string name)
    : Layer(std::make_shared<ReshapeImpl>(std::move(target_shape), std::move(name))) {}
Permute::Permute(std::vector<int> dims, std::string name)
    : Layer(std::make_shared<PermuteImpl>(std::move(dims), std::move(name))) {}

GlobalAveragePooling1D::GlobalAveragePooling1D(GlobalPoolingOptions options)
    : Layer(std::make_shared<GlobalPoolImpl>(std::move(options), 1, false)) {}
GlobalMaxPooling1D::GlobalMaxPooling1D(GlobalPoolingOptions options)
    : Layer(std::make_shared<GlobalPoolImpl>(std::move(options), 1, true)) {}
GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPoolingOptions options)
    : Layer(std::make_shared<GlobalPoolImpl>(std::move(options), 2, false)) {}
GlobalMaxPooling2D::GlobalMaxPooling2D(GlobalPoolingOptions options)
    : Layer(std::make_shared<GlobalPoolImpl>(std::move(options), 2, true)) {}
UpSampling2D::UpSampling2D(UpSampling2DOptions options)
    : Layer(std::make_shared<UpSampling2DImpl>(std::move(options))) {}
ZeroPadding2D::ZeroPadding2D(ZeroPadding2DOptions options)
    : Layer(std::make_shared<ZeroPadding2DImpl>(std::move(options))) {}

Embedding::Embedding(EmbeddingOptions options)
    : Layer(std::make_shared<EmbeddingImpl>(std::move(options))) {}
Embedding::Embedding(int64_t input_dim, int64_t output_dim)
    : Embedding(EmbeddingOptions{.input_dim = input_dim, .output_dim = output_dim, .name = {}}) {}
Variable Embedding::embeddings() const {
  return static_cast<EmbeddingImpl&>(checked_impl()).embeddings_;
}

LayerNormalization::LayerNormalization(LayerNormalizationOptions options)
    : Layer(std::make_shared<LayerNormImpl>(std::move(options))) {}
Variable LayerNormalization::gamma() const {
  return static_cast<LayerNormImpl&>(checked_impl()).gamma_;
}
Variable LayerNormalization::beta() const {
  return static_cast<LayerNormImpl&>(checked_impl()).beta_;
}

Conv1D::Conv1D(Conv1DOptions options) : Layer(std::make_shared<Conv1DImpl>(std::move(options))) {}
Variable Conv1D::kernel() const { return static_cast<Conv1DImpl&>(checked_impl()).kernel_; }
Variable Conv1D::bias() const { return static_cast<Conv1DImpl&>(checked_impl()).bias_; }

RandomFlip::RandomFlip(RandomFlipOptions options)
    : Layer(std::make_shared<RandomFlipImpl>(std::move(options))) {}

}  // namespace tapeflow::layers
