#pragma once
// More Keras layers (issue #12), included from layers.hpp after the Layer they build on:
// merging layers that take several inputs, shape and pooling layers, Embedding,
// LayerNormalization, MultiHeadAttention, and the recurrent layers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tapeflow/layers.hpp"  // NOLINT(misc-header-include-cycle)

namespace tapeflow::layers {

// ---- merging: called on a list of inputs, `Add()({a, b})` ---------------------------------------

/// Element-wise sum of two or more inputs of one shape.
class TAPEFLOW_API Add : public Layer {
 public:
  explicit Add(std::string name = "");
};
/// inputs[0] - inputs[1] (exactly two inputs).
class TAPEFLOW_API Subtract : public Layer {
 public:
  explicit Subtract(std::string name = "");
};
/// Element-wise product of two or more inputs of one shape.
class TAPEFLOW_API Multiply : public Layer {
 public:
  explicit Multiply(std::string name = "");
};
/// Element-wise mean of two or more inputs of one shape.
class TAPEFLOW_API Average : public Layer {
 public:
  explicit Average(std::string name = "");
};
/// Element-wise max / min of two or more inputs of one shape.
class TAPEFLOW_API Maximum : public Layer {
 public:
  explicit Maximum(std::string name = "");
};
class TAPEFLOW_API Minimum : public Layer {
 public:
  explicit Minimum(std::string name = "");
};

struct ConcatenateOptions {
  int axis = -1;
  std::string name;
};

/// Joins two or more inputs along `axis`; the other axes must agree.
class TAPEFLOW_API Concatenate : public Layer {
 public:
  explicit Concatenate(ConcatenateOptions options = {});
};

// ---- element-wise and shape layers ----------------------------------------------------------

/// Applies a named activation (Dense's list: relu, sigmoid, tanh, softmax, gelu, ...).
class TAPEFLOW_API Activation : public Layer {
 public:
  explicit Activation(std::string activation, std::string name = "");
};

/// Reshapes each example to `target_shape` (the batch axis is kept; one entry may be -1).
class TAPEFLOW_API Reshape : public Layer {
 public:
  explicit Reshape(std::vector<int64_t> target_shape, std::string name = "");
};

/// Permutes the axes of each example: `dims` is 1-based and excludes the batch axis, as Keras'
/// (Permute({2, 1}) swaps the two axes after the batch).
class TAPEFLOW_API Permute : public Layer {
 public:
  explicit Permute(std::vector<int> dims, std::string name = "");
};

struct GlobalPoolingOptions {
  /// Keep the pooled axes with length 1.
  bool keepdims = false;
  std::string name;
};

/// Mean / max over the steps of [batch, steps, channels] → [batch, channels].
class TAPEFLOW_API GlobalAveragePooling1D : public Layer {
 public:
  explicit GlobalAveragePooling1D(GlobalPoolingOptions options = {});
};
class TAPEFLOW_API GlobalMaxPooling1D : public Layer {
 public:
  explicit GlobalMaxPooling1D(GlobalPoolingOptions options = {});
};
/// Mean / max over height and width of NHWC inputs → [batch, channels].
class TAPEFLOW_API GlobalAveragePooling2D : public Layer {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {});
};
class TAPEFLOW_API GlobalMaxPooling2D : public Layer {
 public:
  explicit GlobalMaxPooling2D(GlobalPoolingOptions options = {});
};

struct UpSampling2DOptions {
  /// Rows and columns repeated this many times.
  Size2 size = {2, 2};
  /// "nearest" only (bilinear: UnimplementedError).
  std::string interpolation = "nearest";
  std::string name;
};

/// Repeats each row and column of NHWC inputs (nearest-neighbour upsampling).
class TAPEFLOW_API UpSampling2D : public Layer {
 public:
  explicit UpSampling2D(UpSampling2DOptions options = {});
};

struct ZeroPadding2DOptions {
  /// Symmetric padding: `padding.h` rows above and below, `padding.w` columns left and right.
  Size2 padding = {1, 1};
  /// Keras' ((top, bottom), (left, right)): when either is set it replaces `padding`.
  Size2 top_bottom;
  Size2 left_right;
  std::string name;
};

/// Pads NHWC inputs with zero rows and columns.
class TAPEFLOW_API ZeroPadding2D : public Layer {
 public:
  explicit ZeroPadding2D(ZeroPadding2DOptions options = {});
};

// ---- Embedding, LayerNormalization -------------------------------------------------------

struct EmbeddingOptions {
  /// Vocabulary size: indices must lie in [0, input_dim).
  int64_t input_dim = 0;
  int64_t output_dim = 0;
  std::string name;
};

/// Looks up rows of "<name>/embeddings" [input_dim, output_dim] (Keras' RandomUniform(-0.05,
/// 0.05)) for integer indices of any shape: [..., output_dim]. Differentiable in the table.
class TAPEFLOW_API Embedding : public Layer {
 public:
  explicit Embedding(EmbeddingOptions options);
  Embedding(int64_t input_dim, int64_t output_dim);
  Variable embeddings() const;
};

struct LayerNormalizationOptions {
  /// Axes normalised over (and that gamma/beta span), negative from the end.
  std::vector<int> axis = {-1};
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  std::string name;
};

/// (x - mean) / sqrt(variance + epsilon) · gamma + beta, with the statistics of each example
/// over `axis`; gamma ones, beta zeros.
class TAPEFLOW_API LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});
  Variable gamma() const;
  Variable beta() const;
};

// ---- MultiHeadAttention ------------------------------------------------------------------

struct MultiHeadAttentionOptions {
  int64_t num_heads = 0;
  /// Size of each head of query and key.
  int64_t key_dim = 0;
  /// Size of each head of value; 0 means key_dim.
  int64_t value_dim = 0;
  /// Dropout rate on the attention probabilities while training.
  double dropout = 0.0;
  bool use_bias = true;
  /// Last axis of the output; 0 means the query's last axis.
  int64_t output_shape = 0;
  /// Fixes the dropout masks (the n-th training call uses seed + n).
  std::optional<uint64_t> seed;
  std::string name;
};

/// What one attention call may add to its inputs.
struct AttentionCallOptions {
  /// Bool or 0/1 [batch, target, source] (or broadcastable to it): where attention is allowed.
  Tensor attention_mask;
  /// Each target position t attends only to source positions <= t.
  bool use_causal_mask = false;
  bool training = false;
};

/// Keras' MultiHeadAttention on [batch, steps, features] inputs. Weights: query/key/value
/// kernels [features, num_heads, key_dim (value_dim for value)] with biases [num_heads, dim],
/// and attention_output kernel [num_heads, value_dim, output] with bias [output]; kernels
/// Glorot-uniform with Keras' fans for those shapes, biases zeros.
class TAPEFLOW_API MultiHeadAttention : public Layer {
 public:
  explicit MultiHeadAttention(MultiHeadAttentionOptions options);
  /// A handle on `layer`, which must be a MultiHeadAttention (InvalidArgumentError otherwise):
  /// how a factory given to register_layer gets its rebuilt attention sublayer back as one.
  explicit MultiHeadAttention(const Layer& layer);
  using Layer::operator();
  /// Attention of query over value (key defaults to value): [batch, target, output].
  Tensor operator()(const Tensor& query,
                    const Tensor& value,
                    const Tensor& key = Tensor(),
                    const AttentionCallOptions& options = {}) const;
  struct Result {
    Tensor output;
    /// The attention probabilities [batch, num_heads, target, source] (before dropout).
    Tensor scores;
  };
  /// As operator(), also returning the scores (Keras' return_attention_scores=True).
  Result call_with_scores(const Tensor& query,
                          const Tensor& value,
                          const Tensor& key = Tensor(),
                          const AttentionCallOptions& options = {}) const;
};

// ---- recurrent layers --------------------------------------------------------------------

struct SimpleRNNOptions {
  int64_t units = 0;
  std::string activation = "tanh";
  bool use_bias = true;
  /// Return every step's output [batch, steps, units] instead of the last [batch, units].
  bool return_sequences = false;
  /// call_with_state also returns the final state (operator() always returns the output only).
  bool return_state = false;
  /// Read the sequence last step first (the output sequence is then in that order too).
  bool go_backwards = false;
  std::string name;
};

struct LSTMOptions {
  int64_t units = 0;
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  bool use_bias = true;
  /// Initialise the forget gate's bias to 1 (Jozefowicz et al.), as Keras.
  bool unit_forget_bias = true;
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  std::string name;
};

struct GRUOptions {
  int64_t units = 0;
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  bool use_bias = true;
  /// Apply the reset gate after the recurrent matmul (Keras' default and cuDNN's layout); the
  /// bias is then [2, 3·units] (input and recurrent biases).
  bool reset_after = true;
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  std::string name;
};

/// What the recurrent layers share: inputs [batch, steps, features]; kernel [features, g·units]
/// Glorot-uniform, recurrent_kernel [units, g·units] orthogonal, bias zeros, with Keras' gate
/// order (LSTM i, f, c, o; GRU z, r, h). The input projection of all steps is one matmul and
/// each step one matmul with the recurrent kernel.
class TAPEFLOW_API RecurrentLayer : public Layer {
 public:
  using Layer::Layer;
  /// {output, final states...} (SimpleRNN/GRU: h; LSTM: h, c), as Keras with return_state.
  /// `initial_state` is empty (zeros) or one [batch, units] tensor per state.
  std::vector<Tensor> call_with_state(const Tensor& x,
                                      bool training = false,
                                      const std::vector<Tensor>& initial_state = {}) const;
  Variable kernel() const;
  Variable recurrent_kernel() const;
  Variable bias() const;
};

class TAPEFLOW_API SimpleRNN : public RecurrentLayer {
 public:
  explicit SimpleRNN(SimpleRNNOptions options);
};
class TAPEFLOW_API LSTM : public RecurrentLayer {
 public:
  explicit LSTM(LSTMOptions options);
};
class TAPEFLOW_API GRU : public RecurrentLayer {
 public:
  explicit GRU(GRUOptions options);
};

struct BidirectionalOptions {
  /// "concat", "sum", "mul" or "ave" of the forward and backward outputs.
  std::string merge_mode = "concat";
  std::string name;
};

/// Runs a recurrent layer forwards and a copy of it (same options, fresh weights) backwards,
/// and merges their outputs; with return_sequences the backward outputs are put back in time
/// order first, as Keras.
class TAPEFLOW_API Bidirectional : public Layer {
 public:
  explicit Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options = {});
  RecurrentLayer forward_layer() const;
  RecurrentLayer backward_layer() const;
};

// ---- Conv1D, augmentation ----------------------------------------------------------------

struct Conv1DOptions {
  int64_t filters = 0;
  int64_t kernel_size = 3;
  int64_t strides = 1;
  /// "valid", "same" or "causal" (left-padded by kernel_size - 1).
  std::string padding = "valid";
  std::string activation;
  bool use_bias = true;
  std::string name;
};

/// 1-d convolution of [batch, steps, channels] inputs (through tf::nn::conv2d on a height-1
/// image). Kernel [kernel_size, channels, filters] Glorot-uniform, bias zeros.
class TAPEFLOW_API Conv1D : public Layer {
 public:
  explicit Conv1D(Conv1DOptions options);
  Variable kernel() const;
  Variable bias() const;
};

struct RandomFlipOptions {
  /// "horizontal", "vertical" or "horizontal_and_vertical".
  std::string mode = "horizontal_and_vertical";
  std::optional<uint64_t> seed;
  std::string name;
};

/// While training, flips each NHWC image left-right and/or up-down with probability 1/2 each;
/// the identity otherwise.
class TAPEFLOW_API RandomFlip : public Layer {
 public:
  explicit RandomFlip(RandomFlipOptions options = {});
};

// ---- Conv2DTranspose, DepthwiseConv2D, RandomTranslation -----------------------------------

struct Conv2DTransposeOptions {
  int64_t filters = 0;
  Size2 kernel_size = {3, 3};
  Size2 strides = {1, 1};
  /// "valid" or "same" (either case).
  std::string padding = "valid";
  /// Extra rows / columns on the bottom / right of the output, each less than its stride
  /// (Keras' output_padding); unset: the output is input·stride (+ max(kernel - stride, 0)
  /// with "valid").
  std::optional<Size2> output_padding;
  std::string activation;
  bool use_bias = true;
  std::string name;
};

/// The transpose of Conv2D (tf::nn::conv2d_transpose) + bias, then the activation, on NHWC
/// inputs. Kernel "<name>/kernel" [kh, kw, filters, in_channels] Glorot-uniform (Keras' fans
/// kh·kw·filters and kh·kw·in_channels), bias zeros. Output size per axis, as Keras'
/// deconv_output_length: (in - 1)·stride + kernel - 2·pad + output_padding with pad 0
/// ("valid") or kernel / 2 ("same").
class TAPEFLOW_API Conv2DTranspose : public Layer {
 public:
  explicit Conv2DTranspose(Conv2DTransposeOptions options);
  Variable kernel() const;
  Variable bias() const;
};

struct DepthwiseConv2DOptions {
  Size2 kernel_size = {3, 3};
  Size2 strides = {1, 1};
  /// "valid" or "same" (either case).
  std::string padding = "valid";
  /// Output channels per input channel.
  int64_t depth_multiplier = 1;
  std::string activation;
  bool use_bias = true;
  std::string name;
};

/// Per-channel 2-d convolution of NHWC inputs (tf::nn::depthwise_conv2d) + bias, then the
/// activation: output channel c·depth_multiplier + m. Kernel "<name>/depthwise_kernel"
/// [kh, kw, in_channels, depth_multiplier] Glorot-uniform (fans kh·kw·in_channels and
/// kh·kw·depth_multiplier, as Keras), bias [in_channels·depth_multiplier] zeros.
class TAPEFLOW_API DepthwiseConv2D : public Layer {
 public:
  explicit DepthwiseConv2D(DepthwiseConv2DOptions options = {});
  Variable depthwise_kernel() const;
  Variable bias() const;
};

/// A translation range as a fraction of the image's height or width: `0.2` is [-0.2, 0.2],
/// `{-0.1, 0.3}` is [-0.1, 0.3]; positive values shift down / right.
struct TranslationFactor {
  TranslationFactor(double factor = 0.0)  // NOLINT(google-explicit-constructor): Keras' float
      : lower(-factor), upper(factor) {}
  TranslationFactor(double lower_bound, double upper_bound)
      : lower(lower_bound), upper(upper_bound) {}
  double lower;
  double upper;
};

struct RandomTranslationOptions {
  TranslationFactor height_factor;
  TranslationFactor width_factor;
  /// How pixels shifted in from outside are filled: "reflect" (d c b a | a b c d), "constant"
  /// (fill_value), "nearest" (a a a a | a b c d) or "wrap" (a b c d | a b c d).
  std::string fill_mode = "reflect";
  /// "bilinear" (weighs the 4 source pixels around a fractional position) or "nearest"
  /// (rounds it: whole-pixel shifts).
  std::string interpolation = "bilinear";
  double fill_value = 0.0;
  std::optional<uint64_t> seed;
  std::string name;
};

/// While training, shifts each NHWC image by its own random offset, u·height rows and
/// v·width columns with u, v uniform in height_factor and width_factor: output (i, j) reads
/// input (i - u·height, j - v·width), interpolated and filled as TF's
/// ImageProjectiveTransformV3, which Keras' RandomTranslation calls. The identity otherwise.
/// Differentiable in the input.
class TAPEFLOW_API RandomTranslation : public Layer {
 public:
  explicit RandomTranslation(RandomTranslationOptions options);
};

}  // namespace tapeflow::layers
