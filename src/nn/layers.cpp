// tf::layers: Keras-style layers as handles over Layer::Impl. Each layer builds its weights on
// the first call from the input's shape, like Keras, and computes with public tf:: ops only, so
// gradients, devices and tapes need nothing here.
#include "tapeflow/layers.hpp"

#include <cxxabi.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>

#include "core/fail.hpp"
#include "core/shape_check.hpp"
#include "core/window.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using namespace internal;  // NOLINT(google-build-using-namespace): the layers' shared helpers

namespace {
std::mutex names_mutex;
std::unordered_map<std::string, int64_t> name_counts;
}  // namespace

namespace internal {

[[noreturn]] void incompatible(const std::string& layer,
                               const Shape& shape,
                               const std::string& what) {
  throw InvalidArgumentError(str_cat("Input 0 of layer \"",
                                     layer,
                                     "\" is incompatible with the layer: ",
                                     what,
                                     ". Full shape received: ",
                                     shape));
}

void check_rank(const std::string& layer, const Shape& shape, int min_rank, int max_rank) {
  if (shape.rank() < min_rank)
    incompatible(
        layer, shape, str_cat("expected min_ndim=", min_rank, ", found ndim=", shape.rank()));
  if (shape.rank() > max_rank)
    incompatible(layer, shape, str_cat("expected ndim=", max_rank, ", found ndim=", shape.rank()));
}

void check_last_dim(const std::string& layer, const Shape& shape, int64_t expected) {
  if (shape[shape.rank() - 1] != expected)
    incompatible(layer, shape, str_cat("expected axis -1 of input shape to have value ", expected));
}

// Keras autocasts inputs to the layer's dtype (here: the dtype its weights were built with).
Tensor as_dtype(const Tensor& x, DType dtype) { return x.dtype() == dtype ? x : cast(x, dtype); }

using ActivationFn = Tensor (*)(const Tensor&);

ActivationFn activation_fn(const std::string& name) {
  if (name.empty() || name == "linear") return nullptr;
  if (name == "relu") return [](const Tensor& x) { return nn::relu(x); };
  if (name == "sigmoid") return [](const Tensor& x) { return sigmoid(x); };
  if (name == "tanh") return [](const Tensor& x) { return tanh(x); };
  if (name == "softmax") return [](const Tensor& x) { return nn::softmax(x, -1); };
  if (name == "relu6") return [](const Tensor& x) { return nn::relu6(x); };
  if (name == "elu") return [](const Tensor& x) { return nn::elu(x); };
  if (name == "gelu") return [](const Tensor& x) { return nn::gelu(x, false); };
  if (name == "softplus") return [](const Tensor& x) { return nn::softplus(x); };
  throw InvalidArgumentError(str_cat(
      "Unknown activation function: '",
      name,
      "'; expected one of \"\", linear, relu, sigmoid, tanh, softmax, relu6, elu, gelu, softplus"));
}

Tensor activate(ActivationFn f, const Tensor& x) { return f ? f(x) : x; }

// Keras' GlorotUniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), drawn from
// the global generator so that tf::random::set_seed makes model initialisation reproducible.
Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, DType dtype) {
  double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  return random::uniform(shape, -limit, limit, dtype);
}

std::string padding_attr(const std::string& layer_kind, const std::string& padding) {
  std::string p;
  for (char c : padding) p += char(std::toupper(static_cast<unsigned char>(c)));
  if (p != "VALID" && p != "SAME")
    throw InvalidArgumentError(str_cat("The `padding` argument of ",
                                       layer_kind,
                                       " must be one of \"valid\", \"same\". Received: ",
                                       padding));
  return p;
}

// Output length of a window op along one axis, as tf.nn.conv2d / max_pool2d compute it.
int64_t window_out(int64_t in, int64_t window, int64_t stride, const std::string& padding) {
  return detail::window_axis(in, window, stride, padding == "SAME").out;
}

void check_positive(const char* what, const Size2& s) {
  if (s.h <= 0 || s.w <= 0)
    throw InvalidArgumentError(
        str_cat("`", what, "` must be positive; received (", s.h, ", ", s.w, ")"));
}

}  // namespace internal

namespace {

void collect(const Layer& layer,
             int want_trainable,
             std::vector<Variable>& out,
             std::unordered_set<uint64_t>& seen) {
  for (const Variable& v : layer.impl()->weights())
    if ((want_trainable < 0 || v.trainable() == bool(want_trainable)) &&
        seen.insert(v.handle_id()).second)
      out.push_back(v);
  for (const Layer& sub : layer.impl()->sublayers()) collect(sub, want_trainable, out, seen);
}

}  // namespace

std::string unique_layer_name(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(names_mutex);
  int64_t n = name_counts[prefix]++;
  return n == 0 ? prefix : str_cat(prefix, "_", n);
}

void clear_session() {
  std::lock_guard<std::mutex> lock(names_mutex);
  name_counts.clear();
}

// ---- Layer --------------------------------------------------------------------------------------

Layer::Impl::Impl(std::string name) : name_(std::move(name)) {}
Layer::Impl::~Impl() = default;
void Layer::Impl::build(const Shape&, DType) {}
Shape Layer::Impl::compute_output_shape(const Shape&) const {
  throw UnimplementedError(
      str_cat("Layer \"", name_, "\" does not implement compute_output_shape"));
}
std::vector<Layer> Layer::Impl::sublayers() const {
  std::vector<Layer> out;
  out.reserve(tracked_.size());
  for (const std::shared_ptr<Impl>& impl : tracked_) out.emplace_back(impl);
  return out;
}

void Layer::Impl::track_layer(const Layer& layer) {
  if (!layer.defined())
    throw InvalidArgumentError(str_cat("Layer \"", name_, "\" cannot track an undefined layer"));
  if (layer.impl().get() == this)
    throw InvalidArgumentError(str_cat("Layer \"", name_, "\" cannot track itself"));
  for (const std::shared_ptr<Impl>& t : tracked_)
    if (t == layer.impl()) return;  // declared twice: once is enough
  tracked_.push_back(layer.impl());
}

void Layer::Impl::build_inputs(const std::vector<Shape>& input_shapes, DType dtype) {
  if (input_shapes.size() != 1)
    throw InvalidArgumentError(str_cat(
        "Layer \"", name_, "\" expects 1 input, but it received ", input_shapes.size(), " inputs"));
  build(input_shapes[0], dtype);
}

Tensor Layer::Impl::call_inputs(const std::vector<Tensor>& inputs, bool training) {
  if (inputs.size() != 1)
    throw InvalidArgumentError(str_cat(
        "Layer \"", name_, "\" expects 1 input, but it received ", inputs.size(), " inputs"));
  return call(inputs[0], training);
}
LayerConfig Layer::Impl::get_config() const { return LayerConfig(name_); }

std::string Layer::Impl::class_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  if (size_t colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

Variable Layer::Impl::add_weight(const std::string& name,
                                 const Tensor& initial_value,
                                 bool trainable) {
  Variable v(initial_value, {.name = name_ + "/" + name, .trainable = trainable});
  weights_.push_back(v);
  return v;
}

Layer::Layer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {
  if (!impl_) throw InvalidArgumentError("Layer: the implementation is null");
}

Layer::Impl& Layer::checked_impl() const {
  if (!impl_) throw FailedPreconditionError("use of an undefined (default-constructed) Layer");
  return *impl_;
}

void Layer::build(const Shape& input_shape, DType dtype) const {
  Impl& impl = checked_impl();
  if (impl.built_) return;
  if (!is_floating(dtype)) dtype = float32;
  try {
    impl.build(input_shape, dtype);
  } catch (...) {
    impl.weights_.clear();  // a failed build leaves the layer unbuilt, as before the call
    throw;
  }
  impl.built_ = true;
  impl.build_input_shape_ = input_shape;
  impl.build_dtype_ = dtype;
}

Tensor Layer::operator()(const Tensor& x, bool training) const {
  Impl& impl = checked_impl();
  if (!x.defined())
    throw InvalidArgumentError(
        str_cat("Layer \"", impl.name_, "\" was called on an undefined tensor"));
  if (!impl.built_) build(x.shape(), x.dtype());
  return impl.call(x, training);
}

void Layer::build_for_inputs(const std::vector<Tensor>& inputs) const {
  Impl& impl = checked_impl();
  if (inputs.empty())
    throw InvalidArgumentError(
        str_cat("Layer \"", impl.name_, "\" was called on an empty list of inputs"));
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined())
      throw InvalidArgumentError(
          str_cat("Layer \"", impl.name_, "\" was called with an undefined tensor as input #", i));
  if (impl.built_) return;
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  build_inputs(shapes, inputs[0].dtype());
}

void Layer::build_inputs(const std::vector<Shape>& input_shapes, DType dtype) const {
  Impl& impl = checked_impl();
  if (impl.built_) return;
  if (input_shapes.empty())
    throw InvalidArgumentError(
        str_cat("Layer \"", impl.name_, "\" was built for an empty list of inputs"));
  if (!is_floating(dtype)) dtype = float32;
  try {
    impl.build_inputs(input_shapes, dtype);
  } catch (...) {
    impl.weights_.clear();  // as build(): a failed build leaves the layer unbuilt
    throw;
  }
  impl.built_ = true;
  impl.build_input_shapes_ = input_shapes;
  impl.build_dtype_ = dtype;
}

Tensor Layer::operator()(const std::vector<Tensor>& inputs, bool training) const {
  build_for_inputs(inputs);
  return impl_->call_inputs(inputs, training);
}

Shape Layer::compute_output_shape(const Shape& input_shape) const {
  return checked_impl().compute_output_shape(input_shape);
}

std::vector<Variable> Layer::trainable_variables() const {
  checked_impl();
  std::vector<Variable> out;
  std::unordered_set<uint64_t> seen;
  collect(*this, 1, out, seen);
  return out;
}

std::vector<Variable> Layer::non_trainable_variables() const {
  checked_impl();
  std::vector<Variable> out;
  std::unordered_set<uint64_t> seen;
  collect(*this, 0, out, seen);
  return out;
}

std::vector<Variable> Layer::variables() const {
  std::vector<Variable> out = trainable_variables();
  for (Variable& v : non_trainable_variables()) out.push_back(std::move(v));
  return out;
}

std::string Layer::name() const { return checked_impl().name(); }
std::string Layer::class_name() const { return checked_impl().class_name(); }
bool Layer::built() const { return checked_impl().built(); }

// ---- Dense --------------------------------------------------------------------------------------

namespace {
class DenseImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Dense"; }
  explicit DenseImpl(DenseOptions o)
      : Impl(o.name.empty() ? unique_layer_name("dense") : o.name),
        units_(o.units),
        activation_(activation_fn(o.activation)),
        activation_name_(o.activation),
        use_bias_(o.use_bias) {
    if (units_ <= 0)
      throw InvalidArgumentError(str_cat(
          "Received an invalid value for `units`, expected a positive integer. Received: units=",
          units_));
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 2);
    const int64_t in = s[s.rank() - 1];
    kernel_ = add_weight("kernel", glorot_uniform({in, units_}, in, units_, dtype));
    if (use_bias_) bias_ = add_weight("bias", zeros({units_}, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    check_rank(name(), input.shape(), 2);
    check_last_dim(name(), input.shape(), kernel_.shape()[0]);
    Tensor x = as_dtype(input, kernel_.dtype());
    Tensor y;
    if (x.rank() == 2) {
      y = matmul(x, kernel_);
    } else {
      // Keras' tensordot on the last axis: fold the leading axes into one batch axis.
      Shape out = compute_output_shape(x.shape());
      y = reshape(matmul(reshape(x, {-1, kernel_.shape()[0]}), kernel_), out);
    }
    if (use_bias_) y = nn::bias_add(y, bias_);
    return activate(activation_, y);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 2);
    std::vector<int64_t> d = s.dims();
    d.back() = units_;
    return Shape(d);
  }

  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_int("units", units_)
        .set_string("activation", activation_name_)
        .set_bool("use_bias", use_bias_);
  }

  Variable kernel_, bias_;

 private:
  int64_t units_;
  ActivationFn activation_;
  std::string activation_name_;
  bool use_bias_;
};
}  // namespace

Dense::Dense(DenseOptions options) : Layer(std::make_shared<DenseImpl>(std::move(options))) {}
Dense::Dense(int64_t units, std::string activation)
    : Dense(DenseOptions{.units = units, .activation = std::move(activation), .name = {}}) {}
Variable Dense::kernel() const { return static_cast<DenseImpl&>(checked_impl()).kernel_; }
Variable Dense::bias() const { return static_cast<DenseImpl&>(checked_impl()).bias_; }

// ---- Conv2D -------------------------------------------------------------------------------------

namespace {
class Conv2DImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Conv2D"; }
  explicit Conv2DImpl(Conv2DOptions o)
      : Impl(o.name.empty() ? unique_layer_name("conv2d") : o.name),
        filters_(o.filters),
        kernel_size_(o.kernel_size),
        strides_(o.strides),
        padding_(padding_attr("Conv2D", o.padding)),
        activation_(activation_fn(o.activation)),
        activation_name_(o.activation),
        use_bias_(o.use_bias) {
    if (filters_ <= 0)
      throw InvalidArgumentError(
          str_cat("Invalid value for argument `filters`. Expected a strictly positive value. "
                  "Received filters=",
                  filters_));
    check_positive("kernel_size", kernel_size_);
    check_positive("strides", strides_);
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 4, 4);
    const int64_t in_c = s[3], area = kernel_size_.h * kernel_size_.w;
    kernel_ = add_weight(
        "kernel",
        glorot_uniform(
            {kernel_size_.h, kernel_size_.w, in_c, filters_}, area * in_c, area * filters_, dtype));
    if (use_bias_) bias_ = add_weight("bias", zeros({filters_}, dtype));
  }

  Tensor call(const Tensor& input, bool) override {
    check_rank(name(), input.shape(), 4, 4);
    check_last_dim(name(), input.shape(), kernel_.shape()[2]);
    Tensor x = as_dtype(input, kernel_.dtype());
    Tensor y = nn::conv2d(x, kernel_, {int(strides_.h), int(strides_.w)}, padding_);
    if (use_bias_) y = nn::bias_add(y, bias_);
    return activate(activation_, y);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    return {s[0],
            window_out(s[1], kernel_size_.h, strides_.h, padding_),
            window_out(s[2], kernel_size_.w, strides_.w, padding_),
            filters_};
  }

  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_int("filters", filters_)
        .set_ints("kernel_size", {kernel_size_.h, kernel_size_.w})
        .set_ints("strides", {strides_.h, strides_.w})
        .set_string("padding", padding_ == "SAME" ? "same" : "valid")
        .set_string("activation", activation_name_)
        .set_bool("use_bias", use_bias_);
  }

  Variable kernel_, bias_;

 private:
  int64_t filters_;
  Size2 kernel_size_, strides_;
  std::string padding_;
  ActivationFn activation_;
  std::string activation_name_;
  bool use_bias_;
};
}  // namespace

Conv2D::Conv2D(Conv2DOptions options) : Layer(std::make_shared<Conv2DImpl>(std::move(options))) {}
Conv2D::Conv2D(int64_t filters, Size2 kernel_size, std::string activation)
    : Conv2D(Conv2DOptions{.filters = filters,
                           .kernel_size = kernel_size,
                           .activation = std::move(activation),
                           .name = {}}) {}
Variable Conv2D::kernel() const { return static_cast<Conv2DImpl&>(checked_impl()).kernel_; }
Variable Conv2D::bias() const { return static_cast<Conv2DImpl&>(checked_impl()).bias_; }

// ---- pooling ------------------------------------------------------------------------------------

namespace {
class Pool2DImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return max_ ? "MaxPooling2D" : "AveragePooling2D"; }
  Pool2DImpl(Pool2DOptions o, bool max)
      : Impl(!o.name.empty() ? o.name
                             : unique_layer_name(max ? "max_pooling2d" : "average_pooling2d")),
        max_(max),
        pool_size_(o.pool_size),
        strides_(o.strides.h == 0 && o.strides.w == 0 ? o.pool_size : o.strides),
        padding_(padding_attr(max ? "MaxPool2D" : "AveragePooling2D", o.padding)) {
    check_positive("pool_size", pool_size_);
    check_positive("strides", strides_);
  }

  Tensor call(const Tensor& x, bool) override {
    check_rank(name(), x.shape(), 4, 4);
    std::vector<int> ksize{int(pool_size_.h), int(pool_size_.w)};
    std::vector<int> strides{int(strides_.h), int(strides_.w)};
    return max_ ? nn::max_pool2d(x, ksize, strides, padding_)
                : nn::avg_pool2d(x, ksize, strides, padding_);
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 4, 4);
    return {s[0],
            window_out(s[1], pool_size_.h, strides_.h, padding_),
            window_out(s[2], pool_size_.w, strides_.w, padding_),
            s[3]};
  }

  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_ints("pool_size", {pool_size_.h, pool_size_.w})
        .set_ints("strides", {strides_.h, strides_.w})
        .set_string("padding", padding_ == "SAME" ? "same" : "valid");
  }

 private:
  bool max_;
  Size2 pool_size_, strides_;
  std::string padding_;
};
}  // namespace

MaxPool2D::MaxPool2D(Pool2DOptions options)
    : Layer(std::make_shared<Pool2DImpl>(std::move(options), true)) {}
AveragePooling2D::AveragePooling2D(Pool2DOptions options)
    : Layer(std::make_shared<Pool2DImpl>(std::move(options), false)) {}

// ---- Flatten, Dropout ---------------------------------------------------------------------------

namespace {
class FlattenImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Flatten"; }
  explicit FlattenImpl(std::string name)
      : Impl(name.empty() ? unique_layer_name("flatten") : std::move(name)) {}

  Tensor call(const Tensor& x, bool) override {
    return reshape(x, compute_output_shape(x.shape()));
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 1);
    int64_t rest = 1;
    for (int i = 1; i < s.rank(); ++i)
      rest = detail::checked_mul("Flatten", rest, s[i], "the flattened size");
    return {s[0], rest};
  }
};

class DropoutImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Dropout"; }
  explicit DropoutImpl(DropoutOptions o)
      : Impl(o.name.empty() ? unique_layer_name("dropout") : o.name), rate_(o.rate), seed_(o.seed) {
    if (!(rate_ >= 0.0 && rate_ < 1.0))
      throw InvalidArgumentError(
          str_cat("Invalid value received for argument `rate`. Expected a float value in [0, 1). "
                  "Received: rate=",
                  rate_));
  }

  Tensor call(const Tensor& x, bool training) override {
    if (!training || rate_ == 0.0) return x;
    // A fixed seed must not give the same mask every step: step n uses seed + n.
    std::optional<uint64_t> seed;
    if (seed_) seed = *seed_ + calls_++;
    return nn::dropout(x, rate_, seed);
  }

  Shape compute_output_shape(const Shape& s) const override { return s; }

  // The seed saved is the one the next training call would use, so that a loaded model draws
  // the masks the saved one would have drawn next.
  LayerConfig get_config() const override {
    LayerConfig c(name());
    c.set_double("rate", rate_);
    if (seed_) c.set_int("seed", int64_t(*seed_ + calls_));
    return c;
  }

 private:
  double rate_;
  std::optional<uint64_t> seed_;
  uint64_t calls_ = 0;
};
}  // namespace

Flatten::Flatten(std::string name) : Layer(std::make_shared<FlattenImpl>(std::move(name))) {}
Dropout::Dropout(DropoutOptions options)
    : Layer(std::make_shared<DropoutImpl>(std::move(options))) {}
Dropout::Dropout(double rate) : Dropout(DropoutOptions{.rate = rate, .seed = {}, .name = {}}) {}

// ---- BatchNormalization -------------------------------------------------------------------------

namespace {
class BatchNormImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "BatchNormalization"; }
  explicit BatchNormImpl(BatchNormalizationOptions o)
      : Impl(o.name.empty() ? unique_layer_name("batch_normalization") : o.name),
        momentum_(o.momentum),
        epsilon_(o.epsilon),
        center_(o.center),
        scale_(o.scale) {
    if (!(epsilon_ > 0.0))
      throw InvalidArgumentError(
          str_cat("BatchNormalization: epsilon must be positive; received ", epsilon_));
  }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 2);
    const int64_t c = s[s.rank() - 1];
    if (scale_) gamma_ = add_weight("gamma", ones({c}, dtype));
    if (center_) beta_ = add_weight("beta", zeros({c}, dtype));
    moving_mean_ = add_weight("moving_mean", zeros({c}, dtype), false);
    moving_variance_ = add_weight("moving_variance", ones({c}, dtype), false);
  }

  Tensor call(const Tensor& input, bool training) override {
    check_rank(name(), input.shape(), 2);
    check_last_dim(name(), input.shape(), moving_mean_.shape()[0]);
    Tensor x = as_dtype(input, moving_mean_.dtype());
    Tensor mean, variance;
    if (training) {
      std::vector<int> axes;
      for (int i = 0; i + 1 < x.rank(); ++i) axes.push_back(i);
      mean = reduce_mean(x, axes);
      variance = reduce_mean(square(x - mean), axes);  // biased, as Keras normalises with
      // The moving statistics are state, not part of the model's function: update them from
      // stop_gradient values through peek(), so no tape records or watches the update.
      moving_mean_.assign(moving_mean_.peek() * momentum_ +
                          stop_gradient(mean) * (1.0 - momentum_));
      moving_variance_.assign(moving_variance_.peek() * momentum_ +
                              stop_gradient(variance) * (1.0 - momentum_));
    } else {
      mean = moving_mean_.value();
      variance = moving_variance_.value();
    }
    Tensor inv = rsqrt(variance + epsilon_);
    if (scale_) inv = inv * gamma_;
    Tensor y = (x - mean) * inv;
    return center_ ? y + beta_ : y;
  }

  Shape compute_output_shape(const Shape& s) const override { return s; }

  LayerConfig get_config() const override {
    return LayerConfig(name())
        .set_double("momentum", momentum_)
        .set_double("epsilon", epsilon_)
        .set_bool("center", center_)
        .set_bool("scale", scale_);
  }

  Variable gamma_, beta_, moving_mean_, moving_variance_;

 private:
  double momentum_, epsilon_;
  bool center_, scale_;
};
}  // namespace

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : Layer(std::make_shared<BatchNormImpl>(std::move(options))) {}
Variable BatchNormalization::gamma() const {
  return static_cast<BatchNormImpl&>(checked_impl()).gamma_;
}
Variable BatchNormalization::beta() const {
  return static_cast<BatchNormImpl&>(checked_impl()).beta_;
}
Variable BatchNormalization::moving_mean() const {
  return static_cast<BatchNormImpl&>(checked_impl()).moving_mean_;
}
Variable BatchNormalization::moving_variance() const {
  return static_cast<BatchNormImpl&>(checked_impl()).moving_variance_;
}

// ---- Sequential ---------------------------------------------------------------------------------

namespace {
class SequentialImpl final : public Layer::Impl {
 public:
  std::string class_name() const override { return "Sequential"; }
  SequentialImpl(std::vector<Layer> layers, std::string name)
      : Impl(name.empty() ? unique_layer_name("sequential") : std::move(name)) {
    for (Layer& l : layers) add(std::move(l));
  }

  void add(Layer layer) {
    if (!layer.defined()) throw InvalidArgumentError("Sequential.add: the layer is undefined");
    if (layer.impl().get() == this)
      throw InvalidArgumentError(str_cat("Sequential \"", name(), "\" cannot contain itself"));
    layers_.push_back(std::move(layer));
  }

  // Builds the layers one after another from the propagated shape. A custom layer without
  // compute_output_shape stops the walk; it and the layers after it build on the first call.
  void build(const Shape& input_shape, DType dtype) override {
    Shape s = input_shape;
    for (const Layer& l : layers_) {
      l.build(s, dtype);
      try {
        s = l.compute_output_shape(s);
      } catch (const UnimplementedError&) {
        return;
      }
    }
  }

  Tensor call(const Tensor& input, bool training) override {
    Tensor x = input;
    for (const Layer& l : layers_) x = l(x, training);
    return x;
  }

  Shape compute_output_shape(const Shape& input_shape) const override {
    Shape s = input_shape;
    for (const Layer& l : layers_) s = l.compute_output_shape(s);
    return s;
  }

  std::vector<Layer> sublayers() const override { return layers_; }

 private:
  std::vector<Layer> layers_;
};
}  // namespace

Sequential::Sequential(std::vector<Layer> layers, std::string name)
    : Layer(std::make_shared<SequentialImpl>(std::move(layers), std::move(name))) {}
void Sequential::add(const Layer& layer) const {
  static_cast<SequentialImpl&>(checked_impl()).add(layer);
}
std::vector<Layer> Sequential::layers() const { return checked_impl().sublayers(); }

}  // namespace tapeflow::layers
