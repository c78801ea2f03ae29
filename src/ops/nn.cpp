// tf::nn activations and losses. Composites of primitive ops (exact gradients for free),
// written in their numerically stable forms.
#include "ops/run_op.hpp"

namespace tapeflow {
namespace detail {
Tensor erf(const Tensor& x);
}
namespace nn {

using detail::fail;

Tensor relu6(const Tensor& x) { return minimum(relu(x), scalar_like(x, 6.0)); }

Tensor leaky_relu(const Tensor& x, double alpha) {
  return where(greater(x, zeros_like(x)), x, x * alpha);
}

Tensor elu(const Tensor& x) {
  // exp is evaluated on min(x, 0) so large positive inputs never overflow into the unused branch.
  Tensor neg = minimum(x, scalar_like(x, 0.0));
  return where(greater(x, zeros_like(x)), x, exp(neg) - 1);
}

Tensor gelu(const Tensor& x, bool approximate) {
  detail::check_defined("Gelu", x, 0);
  detail::check_dtype("Gelu", x, detail::Require::floating);
  if (approximate) {
    // 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
    Tensor inner = (x + x * x * x * 0.044715) * 0.7978845608028654;
    return x * 0.5 * (tanh(inner) + 1);
  }
  return x * 0.5 * (detail::erf(x * 0.7071067811865476) + 1);
}

Tensor softplus(const Tensor& x) {
  // log(1 + eˣ) = max(x, 0) + log1p(e^(-|x|)). Both pieces split at x >= 0 (as TF's stable
  // form), so at x = 0 their gradients add to σ(0) = 0.5 instead of relu'(0) + sign(0) = 0.
  Tensor pos = greater_equal(x, zeros_like(x));
  return where(pos, x, zeros_like(x)) + log1p(exp(where(pos, -x, x)));
}

Tensor log_softmax(const Tensor& logits, int axis) {
  detail::check_defined("LogSoftmax", logits, 0);
  detail::check_dtype("LogSoftmax", logits, detail::Require::floating);
  int a = detail::canonical_axis("LogSoftmax", axis, logits.rank());
  Tensor shifted = logits - reduce_max(stop_gradient(logits), {a}, true);
  return shifted - log(reduce_sum(exp(shifted), {a}, true));
}

Tensor softmax(const Tensor& logits, int axis) {
  detail::check_defined("Softmax", logits, 0);
  detail::check_dtype("Softmax", logits, detail::Require::floating);
  int a = detail::canonical_axis("Softmax", axis, logits.rank());
  // The max is taken of an unwatched view, so no tape records it or keeps `logits` for it.
  Tensor e = exp(logits - reduce_max(stop_gradient(logits), {a}, true));
  return e / reduce_sum(e, {a}, true);
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  detail::check_same_dtype("BiasAdd", {x, bias});
  if (bias.rank() != 1 || x.rank() < 1 || x.shape()[x.rank() - 1] != bias.shape()[0])
    fail<InvalidArgumentError>("BiasAdd",
                               "Must provide as many biases as the last dimension of the input "
                               "tensor: ",
                               bias.shape(),
                               " vs. ",
                               x.shape());
  return x + bias;
}

Tensor l2_normalize(const Tensor& x, std::vector<int> axes, double epsilon) {
  detail::check_dtype("L2Normalize", x, detail::Require::floating);
  Tensor ss = reduce_sum(square(x), axes, true);
  return x * rsqrt(maximum(ss, scalar_like(ss, epsilon)));
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* op = "SparseSoftmaxCrossEntropyWithLogits";
  detail::check_defined(op, labels, 0);
  detail::check_defined(op, logits, 1);
  detail::check_dtype(op, labels, detail::Require::integer);
  detail::check_dtype(op, logits, detail::Require::floating);
  if (logits.rank() < 1 || labels.rank() != logits.rank() - 1)
    fail<InvalidArgumentError>(op,
                               "Rank mismatch: Rank of labels (received ",
                               labels.rank(),
                               ") should equal rank of logits minus 1 (received ",
                               logits.rank(),
                               "): ",
                               labels.shape(),
                               " vs. ",
                               logits.shape());
  for (int i = 0; i < labels.rank(); ++i)
    if (labels.shape()[i] != logits.shape()[i])
      fail<InvalidArgumentError>(
          op,
          "logits and labels must have the same first dimensions, got logits shape ",
          logits.shape(),
          " and labels shape ",
          labels.shape());
  const int64_t classes = logits.shape()[logits.rank() - 1];
  for (int64_t v : labels.to_vector<int64_t>())
    if (v < 0 || v >= classes)
      fail<InvalidArgumentError>(op,
                                 "Received a label value of ",
                                 v,
                                 " which is outside the valid range of [0, ",
                                 classes,
                                 ")");
  Tensor oh = one_hot(labels, classes, 1.0, 0.0, logits.dtype());
  return -reduce_sum(oh * log_softmax(logits, -1), {-1});
}

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* op = "SoftmaxCrossEntropyWithLogits";
  detail::check_same_dtype(op, {labels, logits});
  detail::check_dtype(op, logits, detail::Require::floating);
  if (!(labels.shape() == logits.shape()))
    fail<InvalidArgumentError>(op,
                               "logits and labels must be broadcastable: logits_size=",
                               logits.shape(),
                               " labels_size=",
                               labels.shape());
  return -reduce_sum(labels * log_softmax(logits, -1), {-1});
}

Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* op = "SigmoidCrossEntropyWithLogits";
  detail::check_same_dtype(op, {labels, logits});
  detail::check_dtype(op, logits, detail::Require::floating);
  if (!(labels.shape() == logits.shape()))
    fail<InvalidArgumentError>(op,
                               "logits and labels must have the same shape (",
                               logits.shape(),
                               " vs ",
                               labels.shape(),
                               ")");
  // max(x, 0) - x·z + log(1 + e^(-|x|)): no overflow for any x.
  // Split at x >= 0 as TF does, so the gradient at x = 0 is σ(0) - z (relu/abs would give -z).
  Tensor pos = greater_equal(logits, zeros_like(logits));
  return where(pos, logits, zeros_like(logits)) - logits * labels +
         log1p(exp(where(pos, -logits, logits)));
}

}  // namespace nn
// ---- the long tail (issue #11) ---------------------------------------------------------------
namespace nn {

Tensor silu(const Tensor& x) {
  detail::check_defined("Silu", x, 0);
  detail::check_dtype("Silu", x, detail::Require::floating);
  return x * sigmoid(x);
}

Tensor selu(const Tensor& x) {
  detail::check_defined("Selu", x, 0);
  detail::check_dtype("Selu", x, detail::Require::floating);
  // TF's Selu kernel: x < 0 ? scale·alpha·(eˣ - 1) : scale·x. exp sees min(x, 0) only, so a
  // large x never overflows into the unused branch (whose gradient would then be NaN).
  constexpr double kScale = 1.0507009873554804934193349852946;
  constexpr double kScaleAlpha = 1.7580993408473768599402175208123;
  Tensor neg = minimum(x, scalar_like(x, 0.0));
  return where(less(x, zeros_like(x)), (exp(neg) - 1) * kScaleAlpha, x * kScale);
}

Tensor softsign(const Tensor& x) {
  detail::check_defined("Softsign", x, 0);
  detail::check_dtype("Softsign", x, detail::Require::floating);
  return x / (abs(x) + 1);
}

Tensor log_sigmoid(const Tensor& x) {
  detail::check_defined("LogSigmoid", x, 0);
  detail::check_dtype("LogSigmoid", x, detail::Require::floating);
  return negative(softplus(negative(x)));
}

Tensor hard_sigmoid(const Tensor& x) {
  detail::check_defined("HardSigmoid", x, 0);
  detail::check_dtype("HardSigmoid", x, detail::Require::floating);
  return clip_by_value(x * 0.2 + 0.5, 0.0, 1.0);
}

std::pair<Tensor, Tensor> moments(const Tensor& x, std::vector<int> axes, bool keepdims) {
  detail::check_defined("Moments", x, 0);
  detail::check_dtype("Moments", x, detail::Require::floating);
  Tensor mean = reduce_mean(x, axes, /*keepdims=*/true);
  Tensor variance =
      reduce_mean(squared_difference(x, stop_gradient(mean)), axes, /*keepdims=*/true);
  if (keepdims) return {mean, variance};
  return {squeeze(mean, axes), squeeze(variance, axes)};  // no axes: all were reduced to 1
}

}  // namespace nn

}  // namespace tapeflow
