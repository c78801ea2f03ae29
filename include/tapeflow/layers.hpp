#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::layers {

/// Height and width of a 2-d window or stride: `3` means {3, 3}; `{}` is {0, 0} ("unset").
struct Size2 {
  Size2() : h(0), w(0) {}
  Size2(int64_t size) : h(size), w(size) {}  // NOLINT(google-explicit-constructor)
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
  int64_t h;
  int64_t w;
};

class Layer;

/// A layer's options as a saved model stores them (Keras' get_config): option name → value,
/// plus the layer's name. Values are kept as JSON text; the typed getters throw
/// InvalidArgumentError naming the option when it is missing or of another type.
class TAPEFLOW_API LayerConfig {
 public:
  LayerConfig() = default;
  explicit LayerConfig(std::string name) : name_(std::move(name)) {}

  LayerConfig& set_bool(const std::string& key, bool value);
  LayerConfig& set_int(const std::string& key, int64_t value);
  LayerConfig& set_double(const std::string& key, double value);
  LayerConfig& set_string(const std::string& key, const std::string& value);
  LayerConfig& set_ints(const std::string& key, const std::vector<int64_t>& value);
  /// A value given as JSON text (InvalidArgumentError if it is not valid JSON).
  LayerConfig& set_json(const std::string& key, const std::string& json);

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  /// The value as JSON text (InvalidArgumentError if missing).
  const std::string& get_json(const std::string& key) const;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  /// Every option: key → JSON text.
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  const std::string& raw(const std::string& key) const;
  std::string name_;
  std::map<std::string, std::string> values_;
};

/// A Keras-style layer: a shared handle (copies refer to the same weights) over an `Impl`.
/// Weights are created on the first call from the input's shape and dtype (a floating input
/// gives weights of its dtype, anything else float32); later inputs are cast to that dtype.
class TAPEFLOW_API Layer {
 public:
  /// What a layer type implements. A custom layer derives from it and is wrapped as
  /// `Layer(std::make_shared<MyImpl>(...))`.
  class TAPEFLOW_API Impl {
   public:
    explicit Impl(std::string name);
    virtual ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    /// Creates the weights for inputs of `input_shape` (called once, before the first call).
    virtual void build(const Shape& input_shape, DType dtype);
    /// The forward computation; `training` selects dropout / batch statistics.
    virtual Tensor call(const Tensor& x, bool training) = 0;
    /// The output shape for an input shape (UnimplementedError unless overridden).
    virtual Shape compute_output_shape(const Shape& input_shape) const;
    /// Layers nested in this one, whose variables follow its own. The default: the layers
    /// declared with track(), in order.
    virtual std::vector<Layer> sublayers() const;
    /// The layer's type as Keras names it ("Dense"), shown by Model::summary(). The default is
    /// the C++ class name of the Impl without its namespaces and a trailing "Impl".
    virtual std::string class_name() const;
    /// A layer with several inputs (Add, Concatenate, MultiHeadAttention) overrides these two,
    /// which `layer({a, b})` calls. The defaults take exactly one input and forward it to
    /// build(Shape, DType) and call(Tensor, bool).
    virtual void build_inputs(const std::vector<Shape>& input_shapes, DType dtype);
    virtual Tensor call_inputs(const std::vector<Tensor>& inputs, bool training);
    /// The options that rebuild this layer through the factory registered under class_name()
    /// (Keras' get_config), for model.save. Sublayers are saved separately. Default: none.
    virtual LayerConfig get_config() const;

    const std::string& name() const { return name_; }
    bool built() const { return built_; }
    /// The input shape and dtype of the build that created the weights (unset before, and
    /// for a layer built from a list of inputs: see build_input_shapes()).
    const std::optional<Shape>& build_input_shape() const { return build_input_shape_; }
    /// The input shapes of a build from a list of inputs (`layer({a, b})`, build_inputs);
    /// empty for a layer built from one input or not built.
    const std::vector<Shape>& build_input_shapes() const { return build_input_shapes_; }
    DType build_dtype() const { return build_dtype_; }
    /// This layer's own variables (not its sublayers'), in creation order.
    const std::vector<Variable>& weights() const { return weights_; }

   protected:
    /// A variable named "<layer name>/<name>", owned by this layer.
    Variable add_weight(const std::string& name,
                        const Tensor& initial_value,
                        bool trainable = true);
    /// Declares `layer` a part of this one, so that trainable_variables(), checkpoints and
    /// everything else walking the model see its variables; returns it. A user-defined layer
    /// calls it once per sublayer, typically in its constructor: `dense_(track(Dense(64)))`.
    template <class L>
    L track(L layer) {
      track_layer(layer);
      return layer;
    }

   private:
    void track_layer(const Layer& layer);
    friend class Layer;
    std::string name_;
    bool built_ = false;
    std::optional<Shape> build_input_shape_;
    std::vector<Shape> build_input_shapes_;
    DType build_dtype_ = float32;
    std::vector<Variable> weights_;
    std::vector<std::shared_ptr<Impl>> tracked_;
  };

  /// The undefined layer (`defined() == false`).
  Layer() = default;
  explicit Layer(std::shared_ptr<Impl> impl);

  /// Applies the layer, building it first if needed. Differentiable in x and the weights.
  Tensor operator()(const Tensor& x, bool training = false) const;
  /// Applies a layer that takes several inputs, as Keras' list input: `Add()({a, b})`.
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false) const;
  /// Creates the weights now, for inputs of `input_shape` and `dtype` (as Keras' build).
  void build(const Shape& input_shape, DType dtype = float32) const;
  /// Creates the weights now, for a list of inputs of these shapes (a merge layer, attention
  /// over query and value): what `layer({a, b})` does before its first call.
  void build_inputs(const std::vector<Shape>& input_shapes, DType dtype = float32) const;
  Shape compute_output_shape(const Shape& input_shape) const;

  /// Trainable variables: this layer's, then its sublayers' in order.
  std::vector<Variable> trainable_variables() const;
  /// Non-trainable variables (e.g. BatchNormalization's moving statistics).
  std::vector<Variable> non_trainable_variables() const;
  /// All variables: trainable first, then non-trainable (as Keras' `weights`).
  std::vector<Variable> variables() const;
  std::string name() const;
  /// The layer's type ("Dense", "Sequential", or a custom Impl's class_name()).
  std::string class_name() const;
  bool built() const;
  bool defined() const { return impl_ != nullptr; }
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 protected:
  Impl& checked_impl() const;
  /// Checks a list of inputs and builds the layer from their shapes (the first input's dtype)
  /// if it is not built yet; what operator()(std::vector<Tensor>) does before calling.
  void build_for_inputs(const std::vector<Tensor>& inputs) const;
  std::shared_ptr<Impl> impl_;
};

/// Rebuilds a layer from its saved config and its sublayers (already rebuilt, in order); the
/// counterpart of Layer::Impl::get_config (Keras' from_config).
using LayerFactory =
    std::function<Layer(const LayerConfig& config, const std::vector<Layer>& sublayers)>;

/// Registers a layer type for tf::models::load_model under its class_name() (Keras'
/// register_keras_serializable). Registering a name again replaces its factory. The built-in
/// layers are registered already.
TAPEFLOW_API void register_layer(const std::string& class_name, LayerFactory factory);
/// Whether a factory is registered under class_name.
TAPEFLOW_API bool is_layer_registered(const std::string& class_name);
/// Rebuilds a layer with the factory registered under class_name (NotFoundError naming it if
/// none is; whatever the factory throws otherwise).
TAPEFLOW_API Layer layer_from_config(const std::string& class_name,
                                     const LayerConfig& config,
                                     const std::vector<Layer>& sublayers);

/// `prefix`, then `prefix_1`, `prefix_2`, ... on later calls (Keras' automatic layer names).
TAPEFLOW_API std::string unique_layer_name(const std::string& prefix);
/// Restarts the automatic names (as tf.keras.backend.clear_session), so the next Dense is "dense".
TAPEFLOW_API void clear_session();

struct DenseOptions {
  int64_t units = 0;
  /// "", "linear", "relu", "sigmoid", "tanh", "softmax", "relu6", "elu", "gelu", "softplus".
  std::string activation;
  bool use_bias = true;
  /// Empty: "dense", "dense_1", ...
  std::string name;
};

/// activation(x · kernel + bias) on the last axis (input rank >= 2). Kernel Glorot-uniform,
/// bias zeros; variables "<name>/kernel" [in, units] and "<name>/bias" [units].
class TAPEFLOW_API Dense : public Layer {
 public:
  explicit Dense(DenseOptions options);
  explicit Dense(int64_t units, std::string activation = "");
  /// The weights; undefined until the layer is built.
  Variable kernel() const;
  Variable bias() const;
};

struct Conv2DOptions {
  int64_t filters = 0;
  Size2 kernel_size = {3, 3};
  Size2 strides = {1, 1};
  /// "valid" or "same" (either case).
  std::string padding = "valid";
  std::string activation;
  bool use_bias = true;
  std::string name;
};

/// 2-d convolution of NHWC inputs (tf::nn::conv2d) + bias, then the activation. Kernel
/// [kh, kw, in_channels, filters], Glorot-uniform; bias zeros.
class TAPEFLOW_API Conv2D : public Layer {
 public:
  explicit Conv2D(Conv2DOptions options);
  Conv2D(int64_t filters, Size2 kernel_size, std::string activation = "");
  Variable kernel() const;
  Variable bias() const;
};

struct Pool2DOptions {
  Size2 pool_size = {2, 2};
  /// `{}` (the default) means pool_size.
  Size2 strides;
  std::string padding = "valid";
  std::string name;
};

/// Max over each window of NHWC inputs (tf::nn::max_pool2d).
class TAPEFLOW_API MaxPool2D : public Layer {
 public:
  explicit MaxPool2D(Pool2DOptions options = {});
};

/// Mean over each window of NHWC inputs (tf::nn::avg_pool2d).
class TAPEFLOW_API AveragePooling2D : public Layer {
 public:
  explicit AveragePooling2D(Pool2DOptions options = {});
};

/// [batch, d1, d2, ...] -> [batch, d1*d2*...]; rank-1 inputs become [batch, 1].
class TAPEFLOW_API Flatten : public Layer {
 public:
  explicit Flatten(std::string name = "");
};

struct DropoutOptions {
  /// Fraction of inputs zeroed while training, in [0, 1).
  double rate = 0.5;
  /// Fixes the masks: the n-th training call uses seed + n.
  std::optional<uint64_t> seed;
  std::string name;
};

/// tf::nn::dropout when training (kept values scaled by 1/(1-rate)); the identity otherwise.
class TAPEFLOW_API Dropout : public Layer {
 public:
  explicit Dropout(DropoutOptions options);
  explicit Dropout(double rate);
};

struct BatchNormalizationOptions {
  double momentum = 0.99;
  double epsilon = 1e-3;
  /// Add beta / multiply by gamma.
  bool center = true;
  bool scale = true;
  std::string name;
};

/// Normalises over every axis but the last. Training: batch mean and (biased) variance, and
/// moving = moving*momentum + batch*(1-momentum) for the non-trainable moving statistics;
/// inference: the moving statistics. gamma ones, beta zeros, moving mean 0, variance 1.
class TAPEFLOW_API BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  /// Undefined until built (gamma/beta also when scale/center is off).
  Variable gamma() const;
  Variable beta() const;
  Variable moving_mean() const;
  Variable moving_variance() const;
};

/// Layers applied one after another; its variables are theirs, in order.
class TAPEFLOW_API Sequential : public Layer {
 public:
  explicit Sequential(std::vector<Layer> layers = {}, std::string name = "");
  /// Appends a layer (built on the next call if it is not already).
  void add(const Layer& layer) const;
  std::vector<Layer> layers() const;
};

}  // namespace tapeflow::layers

// ---- more layers (issue #12): merging, attention, recurrent, shape and augmentation layers ----
#include "tapeflow/layers_ext.hpp"  // NOLINT(misc-header-include-cycle): after the Layer it extends
