// tf::layers::SimpleRNN, LSTM, GRU and Bidirectional (issue #12), with Keras' weights, gate
// order and initialisers. The input projection of every step is one matmul over
// [batch·steps, features] before the loop; each step then does one matmul with the recurrent
// kernel (two for GRU with reset_after=false, as Keras) and element-wise gate math.
#include <cmath>

#include "core/fail.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/linalg.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using namespace internal;  // NOLINT(google-build-using-namespace): the layers' shared helpers

namespace {

// Keras' Orthogonal(gain=1): the q of a normal matrix's QR, its columns' signs fixed by r's
// diagonal, transposed when the kernel is wider than tall.
Tensor orthogonal(int64_t rows, int64_t cols, DType dtype) {
  Tensor a = random::normal({std::max(rows, cols), std::min(rows, cols)}, 0.0, 1.0, dtype);
  auto [q, r] = linalg::qr(a);
  q = q * sign(linalg::diag_part(r));
  return rows < cols ? transpose(q) : q;
}

enum class Cell { simple, lstm, gru };

struct RecurrentConfig {
  Cell cell;
  int64_t units;
  std::string activation, recurrent_activation;
  bool use_bias, unit_forget_bias, reset_after, return_sequences, return_state, go_backwards;
  std::string name;
};

const char* prefix(Cell c) {
  return c == Cell::simple ? "simple_rnn" : c == Cell::lstm ? "lstm" : "gru";
}

class RecurrentImpl final : public Layer::Impl {
 public:
  explicit RecurrentImpl(RecurrentConfig c)
      : Impl(c.name.empty() ? unique_layer_name(prefix(c.cell)) : c.name),
        c_(std::move(c)),
        activation_(activation_fn(c_.activation)),
        recurrent_activation_(activation_fn(c_.recurrent_activation)) {
    if (c_.units <= 0)
      throw InvalidArgumentError(str_cat(
          "Received an invalid value for argument `units`, expected a positive integer, got ",
          c_.units,
          " (layer \"",
          name(),
          "\")"));
  }

  // The same options (go_backwards flipped on request) under another name, unbuilt.
  std::shared_ptr<RecurrentImpl> clone(const std::string& new_name, bool flip_direction) const {
    RecurrentConfig c = c_;
    c.name = new_name;
    if (flip_direction) c.go_backwards = !c.go_backwards;
    return std::make_shared<RecurrentImpl>(std::move(c));
  }

  const RecurrentConfig& config() const { return c_; }

  std::string class_name() const override {
    return c_.cell == Cell::simple ? "SimpleRNN" : c_.cell == Cell::lstm ? "LSTM" : "GRU";
  }
  // Keras' names; each cell type its own options.
  LayerConfig get_config() const override {
    LayerConfig c(name());
    c.set_int("units", c_.units).set_string("activation", c_.activation);
    if (c_.cell != Cell::simple) c.set_string("recurrent_activation", c_.recurrent_activation);
    c.set_bool("use_bias", c_.use_bias);
    if (c_.cell == Cell::lstm) c.set_bool("unit_forget_bias", c_.unit_forget_bias);
    if (c_.cell == Cell::gru) c.set_bool("reset_after", c_.reset_after);
    return c.set_bool("return_sequences", c_.return_sequences)
        .set_bool("return_state", c_.return_state)
        .set_bool("go_backwards", c_.go_backwards);
  }

  int gates() const { return c_.cell == Cell::simple ? 1 : c_.cell == Cell::lstm ? 4 : 3; }

  void build(const Shape& s, DType dtype) override {
    check_rank(name(), s, 3, 3);
    const int64_t in = s[2], u = c_.units, g = gates() * u;
    kernel_ = add_weight("kernel", glorot_uniform({in, g}, in, g, dtype));
    recurrent_kernel_ = add_weight("recurrent_kernel", orthogonal(u, g, dtype));
    if (!c_.use_bias) return;
    Tensor b;
    if (c_.cell == Cell::lstm && c_.unit_forget_bias)
      b = concat({zeros({u}, dtype), ones({u}, dtype), zeros({2 * u}, dtype)}, 0);
    else if (c_.cell == Cell::gru && c_.reset_after)
      b = zeros({2, g}, dtype);
    else
      b = zeros({g}, dtype);
    bias_ = add_weight("bias", b);
  }

  Tensor call(const Tensor& x, bool) override { return run(x, {})[0]; }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 3, 3);
    return c_.return_sequences ? Shape{s[0], s[1], c_.units} : Shape{s[0], c_.units};
  }

  // {output, h} or {output, h, c}.
  std::vector<Tensor> run(const Tensor& input, const std::vector<Tensor>& initial_state) {
    check_rank(name(), input.shape(), 3, 3);
    check_last_dim(name(), input.shape(), kernel_.shape()[0]);
    const DType dtype = kernel_.dtype();
    const int64_t batch = input.shape()[0], steps = input.shape()[1], u = c_.units;
    const int64_t g = gates() * u;
    if (steps == 0)
      throw InvalidArgumentError(
          str_cat("Layer \"", name(), "\" needs at least one time step; received ", input.shape()));
    const size_t n_states = c_.cell == Cell::lstm ? 2 : 1;
    std::vector<Tensor> state;
    if (initial_state.empty()) {
      for (size_t i = 0; i < n_states; ++i) state.push_back(zeros({batch, u}, dtype));
    } else {
      if (initial_state.size() != n_states)
        throw InvalidArgumentError(str_cat("Layer \"",
                                           name(),
                                           "\" expects ",
                                           n_states,
                                           " initial state tensor(s); received ",
                                           initial_state.size()));
      for (const Tensor& s : initial_state) {
        if (s.shape() != Shape{batch, u})
          throw InvalidArgumentError(str_cat("Layer \"",
                                             name(),
                                             "\": an initial state must have shape (",
                                             batch,
                                             ", ",
                                             u,
                                             "); received ",
                                             s.shape()));
        state.push_back(as_dtype(s, dtype));
      }
    }

    Tensor x = as_dtype(input, dtype);
    if (c_.go_backwards) x = reverse(x, {1});
    // Every step's input projection in one matmul, then time-major so each step is one row.
    Tensor xw = matmul(reshape(x, {-1, kernel_.shape()[0]}), kernel_);
    Tensor recurrent_bias;
    if (c_.use_bias) {
      if (c_.cell == Cell::gru && c_.reset_after) {
        xw = xw + reshape(slice(bias_, {0, 0}, {1, g}), {g});
        recurrent_bias = reshape(slice(bias_, {1, 0}, {1, g}), {g});
      } else {
        xw = xw + bias_;
      }
    }
    std::vector<Tensor> xs = unstack(transpose(reshape(xw, {batch, steps, g}), {1, 0, 2}), 0);

    // GRU without reset_after multiplies the reset state by the candidate's own columns.
    Tensor u_zr, u_h;
    if (c_.cell == Cell::gru && !c_.reset_after) {
      u_zr = slice(recurrent_kernel_, {0, 0}, {u, 2 * u});
      u_h = slice(recurrent_kernel_, {0, 2 * u}, {u, u});
    }

    std::vector<Tensor> outputs;
    if (c_.return_sequences) outputs.reserve(size_t(steps));
    Tensor h = state[0];
    Tensor cell = n_states == 2 ? state[1] : Tensor();
    auto act = [&](const Tensor& t) { return activate(activation_, t); };
    auto rec = [&](const Tensor& t) { return activate(recurrent_activation_, t); };
    for (int64_t t = 0; t < steps; ++t) {
      const Tensor& xt = xs[size_t(t)];
      switch (c_.cell) {
        case Cell::simple:
          h = act(xt + matmul(h, recurrent_kernel_));
          break;
        case Cell::lstm: {
          std::vector<Tensor> z = split(xt + matmul(h, recurrent_kernel_), 4, 1);  // i f c o
          cell = rec(z[1]) * cell + rec(z[0]) * act(z[2]);
          h = rec(z[3]) * act(cell);
          break;
        }
        case Cell::gru: {
          std::vector<Tensor> xz = split(xt, 3, 1);  // z r h
          Tensor candidate, z;
          if (c_.reset_after) {
            Tensor inner = matmul(h, recurrent_kernel_);
            if (recurrent_bias.defined()) inner = inner + recurrent_bias;
            std::vector<Tensor> hz = split(inner, 3, 1);
            z = rec(xz[0] + hz[0]);
            Tensor r = rec(xz[1] + hz[1]);
            candidate = act(xz[2] + r * hz[2]);
          } else {
            std::vector<Tensor> hz = split(matmul(h, u_zr), 2, 1);
            z = rec(xz[0] + hz[0]);
            Tensor r = rec(xz[1] + hz[1]);
            candidate = act(xz[2] + matmul(r * h, u_h));
          }
          h = z * h + (1.0 - z) * candidate;
          break;
        }
      }
      if (c_.return_sequences) outputs.push_back(h);
    }
    std::vector<Tensor> result{c_.return_sequences ? stack(outputs, 1) : h, h};
    if (n_states == 2) result.push_back(cell);
    return result;
  }

  Variable kernel_, recurrent_kernel_, bias_;

 private:
  RecurrentConfig c_;
  ActivationFn activation_, recurrent_activation_;
};

RecurrentImpl& recurrent_impl(const Layer& layer, const char* what) {
  auto* impl = dynamic_cast<RecurrentImpl*>(layer.impl().get());
  if (!impl)
    throw InvalidArgumentError(str_cat(
        what, ": layer \"", layer.name(), "\" is not a recurrent layer (SimpleRNN, LSTM or GRU)"));
  return *impl;
}

class BidirectionalImpl final : public Layer::Impl {
 public:
  BidirectionalImpl(const RecurrentImpl& layer, BidirectionalOptions o)
      : BidirectionalImpl(layer.clone("forward_" + layer.name(), false),
                          layer.clone("backward_" + layer.name(), true),
                          std::move(o)) {}

  // Over a forward and a backward layer given as they are (load_model's rebuilt sublayers).
  BidirectionalImpl(std::shared_ptr<RecurrentImpl> forward,
                    std::shared_ptr<RecurrentImpl> backward,
                    BidirectionalOptions o)
      : Impl(o.name.empty() ? unique_layer_name("bidirectional") : o.name),
        forward_(std::move(forward)),
        backward_(std::move(backward)),
        merge_(o.merge_mode) {
    if (merge_ != "concat" && merge_ != "sum" && merge_ != "mul" && merge_ != "ave")
      throw InvalidArgumentError(str_cat("Invalid merge mode. Received: ",
                                         merge_,
                                         ". Merge mode should be one of {\"sum\", "
                                         "\"mul\", \"ave\", \"concat\"}"));
    track(Layer(forward_));
    track(Layer(backward_));
  }

  std::string class_name() const override { return "Bidirectional"; }
  // The wrapped layers are its sublayers (forward, backward), saved with their own configs.
  LayerConfig get_config() const override {
    return LayerConfig(name()).set_string("merge_mode", merge_);
  }

  Tensor call(const Tensor& x, bool training) override {
    Tensor yf = Layer(forward_)(x, training);
    Tensor yb = Layer(backward_)(x, training);
    // The backward layer's outputs come last step first; put them back in time order.
    if (forward_->config().return_sequences) yb = reverse(yb, {1});
    if (merge_ == "concat") return concat({yf, yb}, -1);
    if (merge_ == "sum") return yf + yb;
    if (merge_ == "mul") return yf * yb;
    return (yf + yb) * 0.5;
  }

  Shape compute_output_shape(const Shape& s) const override {
    Shape out = forward_->compute_output_shape(s);
    if (merge_ != "concat") return out;
    std::vector<int64_t> d = out.dims();
    d.back() *= 2;
    return Shape(d);
  }

  std::shared_ptr<RecurrentImpl> forward_, backward_;

 private:
  std::string merge_;
};

}  // namespace

std::vector<Tensor> RecurrentLayer::call_with_state(
    const Tensor& x, bool, const std::vector<Tensor>& initial_state) const {
  RecurrentImpl& impl = recurrent_impl(*this, "call_with_state");
  if (!x.defined())
    throw InvalidArgumentError(
        str_cat("Layer \"", impl.name(), "\" was called on an undefined tensor"));
  build(x.shape(), x.dtype());
  return impl.run(x, initial_state);
}
Variable RecurrentLayer::kernel() const { return recurrent_impl(*this, "kernel").kernel_; }
Variable RecurrentLayer::recurrent_kernel() const {
  return recurrent_impl(*this, "recurrent_kernel").recurrent_kernel_;
}
Variable RecurrentLayer::bias() const { return recurrent_impl(*this, "bias").bias_; }

SimpleRNN::SimpleRNN(SimpleRNNOptions o)
    : RecurrentLayer(
          std::make_shared<RecurrentImpl>(RecurrentConfig{.cell = Cell::simple,
                                                          .units = o.units,
                                                          .activation = o.activation,
                                                          .recurrent_activation = "",
                                                          .use_bias = o.use_bias,
                                                          .unit_forget_bias = false,
                                                          .reset_after = false,
                                                          .return_sequences = o.return_sequences,
                                                          .return_state = o.return_state,
                                                          .go_backwards = o.go_backwards,
                                                          .name = o.name})) {}

LSTM::LSTM(LSTMOptions o)
    : RecurrentLayer(std::make_shared<RecurrentImpl>(
          RecurrentConfig{.cell = Cell::lstm,
                          .units = o.units,
                          .activation = o.activation,
                          .recurrent_activation = o.recurrent_activation,
                          .use_bias = o.use_bias,
                          .unit_forget_bias = o.unit_forget_bias,
                          .reset_after = false,
                          .return_sequences = o.return_sequences,
                          .return_state = o.return_state,
                          .go_backwards = o.go_backwards,
                          .name = o.name})) {}

GRU::GRU(GRUOptions o)
    : RecurrentLayer(std::make_shared<RecurrentImpl>(
          RecurrentConfig{.cell = Cell::gru,
                          .units = o.units,
                          .activation = o.activation,
                          .recurrent_activation = o.recurrent_activation,
                          .use_bias = o.use_bias,
                          .unit_forget_bias = false,
                          .reset_after = o.reset_after,
                          .return_sequences = o.return_sequences,
                          .return_state = o.return_state,
                          .go_backwards = o.go_backwards,
                          .name = o.name})) {}

Bidirectional::Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options)
    : Layer(std::make_shared<BidirectionalImpl>(recurrent_impl(layer, "Bidirectional"),
                                                std::move(options))) {}
namespace internal {

Layer bidirectional_from_layers(const std::vector<Layer>& layers, BidirectionalOptions options) {
  if (layers.size() != 2)
    throw InvalidArgumentError(str_cat("Config of layer \"",
                                       options.name,
                                       "\": a Bidirectional layer has 2 sublayers (forward, "
                                       "backward); the config lists ",
                                       layers.size()));
  auto forward = std::dynamic_pointer_cast<RecurrentImpl>(layers[0].impl());
  auto backward = std::dynamic_pointer_cast<RecurrentImpl>(layers[1].impl());
  if (!forward || !backward)
    throw InvalidArgumentError(str_cat("Config of layer \"",
                                       options.name,
                                       "\": the sublayers of a Bidirectional layer must be "
                                       "recurrent layers (SimpleRNN, LSTM or GRU); received ",
                                       layers[0].class_name(),
                                       " and ",
                                       layers[1].class_name()));
  if (forward->config().return_sequences != backward->config().return_sequences)
    throw InvalidArgumentError(str_cat("Config of layer \"",
                                       options.name,
                                       "\": the forward and backward layers of a Bidirectional "
                                       "layer must agree on return_sequences"));
  return Layer(
      std::make_shared<BidirectionalImpl>(std::move(forward), std::move(backward), options));
}

}  // namespace internal

RecurrentLayer Bidirectional::forward_layer() const {
  return RecurrentLayer(static_cast<BidirectionalImpl&>(checked_impl()).forward_);
}
RecurrentLayer Bidirectional::backward_layer() const {
  return RecurrentLayer(static_cast<BidirectionalImpl&>(checked_impl()).backward_);
}

}  // namespace tapeflow::layers
