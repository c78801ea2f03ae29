// tf::layers::MultiHeadAttention (issue #12), as Keras': per-head projections of query, key and
// value, scaled dot products, a masked softmax over the source axis, dropout on the
// probabilities while training, and an output projection. Keras writes the projections as
// einsums over [features, heads, dim] kernels; here each is one matmul on the folded batch
// (the kernel viewed as [features, heads·dim]) and the attention two batched matmuls.
#include <cmath>

#include "core/fail.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using namespace internal;  // NOLINT(google-build-using-namespace): the layers' shared helpers

namespace {

// Keras' compute_fans for a kernel of rank >= 3: the axes before the last two form the
// receptive field; fan_in = shape[-2]·field, fan_out = shape[-1]·field.
Tensor keras_glorot(const Shape& shape, DType dtype) {
  int64_t field = 1;
  for (int i = 0; i + 2 < shape.rank(); ++i) field *= shape[i];
  return glorot_uniform(
      shape, shape[shape.rank() - 2] * field, shape[shape.rank() - 1] * field, dtype);
}

// Keras' Softmax adds this to masked-out logits (float16 would need -3e4).
constexpr double kLargeNegative = -1e9;

class MultiHeadAttentionImpl final : public Layer::Impl {
 public:
  explicit MultiHeadAttentionImpl(MultiHeadAttentionOptions o)
      : Impl(o.name.empty() ? unique_layer_name("multi_head_attention") : o.name),
        heads_(o.num_heads),
        key_dim_(o.key_dim),
        value_dim_(o.value_dim > 0 ? o.value_dim : o.key_dim),
        dropout_(o.dropout),
        use_bias_(o.use_bias),
        output_dim_(o.output_shape),
        seed_(o.seed) {
    if (heads_ <= 0)
      throw InvalidArgumentError(str_cat("MultiHeadAttention \"",
                                         name(),
                                         "\": num_heads must be a positive integer; received "
                                         "num_heads=",
                                         heads_));
    if (key_dim_ <= 0)
      throw InvalidArgumentError(
          str_cat("MultiHeadAttention \"",
                  name(),
                  "\": key_dim must be a positive integer; received key_dim=",
                  key_dim_));
    if (o.value_dim < 0 || o.output_shape < 0)
      throw InvalidArgumentError(str_cat("MultiHeadAttention \"",
                                         name(),
                                         "\": value_dim and output_shape must be >= 0 (0: "
                                         "default); received ",
                                         o.value_dim,
                                         " and ",
                                         o.output_shape));
    if (!(dropout_ >= 0.0 && dropout_ < 1.0))
      throw InvalidArgumentError(
          str_cat("MultiHeadAttention: dropout must be in [0, 1); received dropout=", dropout_));
  }

  std::string class_name() const override { return "MultiHeadAttention"; }
  // Keras' names; output_shape null when it is the query's last axis. The seed saved is the
  // one the next training call would use (as Dropout's).
  LayerConfig get_config() const override {
    LayerConfig c(name());
    c.set_int("num_heads", heads_)
        .set_int("key_dim", key_dim_)
        .set_int("value_dim", value_dim_)
        .set_double("dropout", dropout_)
        .set_bool("use_bias", use_bias_);
    if (output_dim_ > 0)
      c.set_int("output_shape", output_dim_);
    else
      c.set_json("output_shape", "null");
    if (seed_) c.set_int("seed", int64_t(*seed_ + calls_));
    return c;
  }

  void build(const Shape& s, DType dtype) override { build_inputs({s, s}, dtype); }

  // Shapes {query, value} or {query, value, key}.
  void build_inputs(const std::vector<Shape>& shapes, DType dtype) override {
    check_count(shapes.size());
    for (const Shape& s : shapes) check_rank(name(), s, 3, 3);
    const int64_t dq = shapes[0][2], dv = shapes[1][2];
    const int64_t dk = shapes.size() == 3 ? shapes[2][2] : dv;
    const int64_t out = output_dim_ > 0 ? output_dim_ : dq;
    auto dense = [&](const std::string& prefix, const Shape& kernel, const Shape& bias) {
      Variable k = add_weight(prefix + "/kernel", keras_glorot(kernel, dtype));
      Variable b = use_bias_ ? add_weight(prefix + "/bias", zeros(bias, dtype)) : Variable();
      return std::pair{k, b};
    };
    std::tie(wq_, bq_) = dense("query", {dq, heads_, key_dim_}, {heads_, key_dim_});
    std::tie(wk_, bk_) = dense("key", {dk, heads_, key_dim_}, {heads_, key_dim_});
    std::tie(wv_, bv_) = dense("value", {dv, heads_, value_dim_}, {heads_, value_dim_});
    std::tie(wo_, bo_) = dense("attention_output", {heads_, value_dim_, out}, {out});
  }

  Tensor call(const Tensor& x, bool training) override {
    return attend(x, x, x, {.attention_mask = {}, .use_causal_mask = false, .training = training})
        .output;
  }

  Tensor call_inputs(const std::vector<Tensor>& inputs, bool training) override {
    check_count(inputs.size());
    const Tensor& key = inputs.size() == 3 ? inputs[2] : inputs[1];
    return attend(inputs[0],
                  inputs[1],
                  key,
                  {.attention_mask = {}, .use_causal_mask = false, .training = training})
        .output;
  }

  Shape compute_output_shape(const Shape& s) const override {
    check_rank(name(), s, 3, 3);
    return {s[0], s[1], output_dim_ > 0 ? output_dim_ : s[2]};
  }

  MultiHeadAttention::Result attend(const Tensor& query_in,
                                    const Tensor& value_in,
                                    const Tensor& key_in,
                                    const AttentionCallOptions& o) {
    check_inputs(query_in, value_in, key_in);
    const DType dtype = wq_.dtype();
    const Tensor query = as_dtype(query_in, dtype), value = as_dtype(value_in, dtype),
                 key = as_dtype(key_in, dtype);
    const int64_t t = query.shape()[1], s = value.shape()[1];

    // [batch, steps, heads, dim] → [batch, heads, steps, dim]. Keras scales the query (not the
    // scores) by 1/sqrt(key_dim).
    Tensor q = heads_first(project(query, wq_, bq_)) * (1.0 / std::sqrt(double(key_dim_)));
    Tensor k = heads_first(project(key, wk_, bk_));
    Tensor v = heads_first(project(value, wv_, bv_));
    Tensor scores = matmul(q, k, false, true);  // [batch, heads, t, s]

    Tensor mask = combined_mask(o, t, s, query.shape()[0]);
    if (mask.defined()) scores = scores + (1.0 - cast(mask, dtype)) * kLargeNegative;
    Tensor probs = nn::softmax(scores, -1);
    Tensor dropped = probs;
    if (o.training && dropout_ > 0.0) {
      std::optional<uint64_t> seed;
      if (seed_) seed = *seed_ + calls_++;
      dropped = nn::dropout(probs, dropout_, seed);
    }
    Tensor ctx = transpose(matmul(dropped, v), {0, 2, 1, 3});  // [batch, t, heads, value_dim]
    const int64_t out = wo_.shape()[2];
    Tensor y = matmul(reshape(ctx, {-1, heads_ * value_dim_}),
                      reshape(wo_.value(), {heads_ * value_dim_, out}));
    y = reshape(y, {query.shape()[0], t, out});
    if (use_bias_) y = y + bo_;
    return {y, probs};
  }

 private:
  void check_count(size_t n) const {
    if (n != 2 && n != 3)
      throw InvalidArgumentError(str_cat("MultiHeadAttention \"",
                                         name(),
                                         "\" takes a list of 2 or 3 inputs (query, value[, key]); "
                                         "received ",
                                         n));
  }

  void check_inputs(const Tensor& q, const Tensor& v, const Tensor& k) const {
    for (const Tensor* x : {&q, &v, &k}) check_rank(name(), x->shape(), 3, 3);
    auto bad = [&](const std::string& what) {
      throw InvalidArgumentError(str_cat("MultiHeadAttention \"",
                                         name(),
                                         "\": ",
                                         what,
                                         ". Received query ",
                                         q.shape(),
                                         ", value ",
                                         v.shape(),
                                         ", key ",
                                         k.shape()));
    };
    if (q.shape()[2] != wq_.shape()[0])
      bad(str_cat("the query's last axis must be ", wq_.shape()[0], " (as when built)"));
    if (v.shape()[2] != wv_.shape()[0])
      bad(str_cat("the value's last axis must be ", wv_.shape()[0], " (as when built)"));
    if (k.shape()[2] != wk_.shape()[0])
      bad(str_cat("the key's last axis must be ", wk_.shape()[0], " (as when built)"));
    if (q.shape()[0] != v.shape()[0] || k.shape()[0] != v.shape()[0])
      bad("query, value and key must have the same batch size");
    if (k.shape()[1] != v.shape()[1]) bad("key and value must have the same number of steps");
  }

  // x [batch, steps, features] · kernel [features, heads, dim] + bias [heads, dim].
  Tensor project(const Tensor& x, const Variable& kernel, const Variable& bias) const {
    const Shape& ks = kernel.shape();
    Tensor y = matmul(reshape(x, {-1, ks[0]}), reshape(kernel.value(), {ks[0], ks[1] * ks[2]}));
    y = reshape(y, {x.shape()[0], x.shape()[1], ks[1], ks[2]});
    return use_bias_ ? y + bias : y;
  }

  static Tensor heads_first(const Tensor& x) { return transpose(x, {0, 2, 1, 3}); }

  // The bool mask [batch or 1, 1, t, s] where attention is allowed, or undefined for none.
  Tensor combined_mask(const AttentionCallOptions& o, int64_t t, int64_t s, int64_t batch) const {
    Tensor mask;
    if (o.attention_mask.defined()) {
      Tensor m = o.attention_mask;
      if (m.dtype() != boolean) m = not_equal(m, zeros_like(m));
      const Shape& ms = m.shape();
      const bool ok =
          (ms.rank() == 3 && (ms[0] == batch || ms[0] == 1) && ms[1] == t && ms[2] == s) ||
          (ms.rank() == 2 && ms[0] == t && ms[1] == s);
      if (!ok)
        throw InvalidArgumentError(str_cat("MultiHeadAttention \"",
                                           name(),
                                           "\": attention_mask must have shape (batch, target, "
                                           "source) = (",
                                           batch,
                                           ", ",
                                           t,
                                           ", ",
                                           s,
                                           "); received ",
                                           ms));
      mask = ms.rank() == 3 ? expand_dims(m, 1) : m;  // the heads axis
    }
    if (o.use_causal_mask) {
      // Keras: target i attends to source j iff i >= j.
      Tensor rows = reshape(range(int64_t(0), t), {t, 1});
      Tensor cols = reshape(range(int64_t(0), s), {1, s});
      Tensor causal = greater_equal(rows, cols);
      mask = mask.defined() ? logical_and(mask, causal) : causal;
    }
    return mask;
  }

  int64_t heads_, key_dim_, value_dim_;
  double dropout_;
  bool use_bias_;
  int64_t output_dim_;
  std::optional<uint64_t> seed_;
  uint64_t calls_ = 0;
  Variable wq_, bq_, wk_, bk_, wv_, bv_, wo_, bo_;
};

}  // namespace

MultiHeadAttention::MultiHeadAttention(MultiHeadAttentionOptions options)
    : Layer(std::make_shared<MultiHeadAttentionImpl>(std::move(options))) {}

MultiHeadAttention::MultiHeadAttention(const Layer& layer) : Layer(layer.impl()) {
  if (!std::dynamic_pointer_cast<MultiHeadAttentionImpl>(impl_))
    throw InvalidArgumentError(str_cat("MultiHeadAttention: layer \"",
                                       layer.name(),
                                       "\" is a ",
                                       layer.class_name(),
                                       ", not a MultiHeadAttention"));
}

Tensor MultiHeadAttention::operator()(const Tensor& query,
                                      const Tensor& value,
                                      const Tensor& key,
                                      const AttentionCallOptions& options) const {
  return call_with_scores(query, value, key, options).output;
}

MultiHeadAttention::Result MultiHeadAttention::call_with_scores(
    const Tensor& query,
    const Tensor& value,
    const Tensor& key,
    const AttentionCallOptions& options) const {
  const Tensor& k = key.defined() ? key : value;
  build_for_inputs({query, value, k});
  return static_cast<MultiHeadAttentionImpl&>(*impl_).attend(query, value, k, options);
}

}  // namespace tapeflow::layers
