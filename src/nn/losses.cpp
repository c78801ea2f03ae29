// tf::losses: Keras' losses as composites of public ops. call() gives per-example losses (the
// last axis averaged away); Loss::operator() applies the reduction.
#include "tapeflow/losses.hpp"

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::losses {

using detail::str_cat;

namespace {

// Keras' backend.epsilon(): probabilities are clipped to [epsilon, 1 - epsilon] before log.
constexpr double kEpsilon = 1e-7;

void check_pred(const char* loss, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined())
    throw InvalidArgumentError(str_cat(loss, ": y_true and y_pred must be defined tensors"));
  if (!is_floating(y_pred.dtype()))
    throw InvalidArgumentError(
        str_cat(loss, ": y_pred must be float32 or float64; got ", y_pred.dtype()));
}

// Keras' squeeze_or_expand_dimensions: a trailing axis of size 1 on one side only is dropped,
// so targets [N] meet predictions [N, 1]. y_true is cast to y_pred's dtype, as Keras does.
std::pair<Tensor, Tensor> align(const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = y_true, p = y_pred;
  if (p.rank() == t.rank() + 1 && p.shape()[p.rank() - 1] == 1) {
    p = squeeze(p, {-1});
  } else if (t.rank() == p.rank() + 1 && t.shape()[t.rank() - 1] == 1) {
    t = squeeze(t, {-1});
  }
  if (t.dtype() != p.dtype()) t = cast(t, p.dtype());
  return {t, p};
}

Tensor mean_last_axis(const Tensor& x) { return x.rank() == 0 ? x : reduce_mean(x, {-1}); }

}  // namespace

Loss::~Loss() = default;

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  Tensor per_example = call(y_true, y_pred);
  switch (reduction_) {
    case Reduction::none:
      return per_example;
    case Reduction::sum:
      return reduce_sum(per_example);
    case Reduction::sum_over_batch_size:
      break;
  }
  // Keras divides with div_no_nan: an empty batch has loss 0, not NaN.
  if (per_example.num_elements() == 0) return zeros({}, per_example.dtype());
  return reduce_mean(per_example);
}

MeanSquaredError::MeanSquaredError(MeanSquaredErrorOptions options) : Loss(options.reduction) {}

Tensor MeanSquaredError::call(const Tensor& y_true, const Tensor& y_pred) const {
  check_pred("MeanSquaredError", y_true, y_pred);
  auto [t, p] = align(y_true, y_pred);
  return mean_last_axis(square(p - t));
}

BinaryCrossentropy::BinaryCrossentropy(BinaryCrossentropyOptions options)
    : Loss(options.reduction), from_logits_(options.from_logits) {}

Tensor BinaryCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  check_pred("BinaryCrossentropy", y_true, y_pred);
  auto [t, p] = align(y_true, y_pred);
  if (from_logits_) return mean_last_axis(nn::sigmoid_cross_entropy_with_logits(t, p));
  // Keras' backend.binary_crossentropy on probabilities: clip, then epsilon inside each log.
  Tensor q = clip_by_value(p, kEpsilon, 1.0 - kEpsilon);
  Tensor bce = t * log(q + kEpsilon) + (1 - t) * log(1 - q + kEpsilon);
  return mean_last_axis(-bce);
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(
    SparseCategoricalCrossentropyOptions options)
    : Loss(options.reduction), from_logits_(options.from_logits) {}

Tensor SparseCategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  check_pred("SparseCategoricalCrossentropy", y_true, y_pred);
  if (y_pred.rank() < 1)
    throw InvalidArgumentError(
        str_cat("SparseCategoricalCrossentropy: y_pred must have a class axis; got shape ",
                y_pred.shape()));
  Tensor labels = y_true;
  if (labels.rank() == y_pred.rank() && labels.shape()[labels.rank() - 1] == 1)
    labels = squeeze(labels, {-1});
  if (is_floating(labels.dtype())) labels = cast(labels, int64);  // Keras casts labels to int64
  // Keras on probabilities: log of the clipped probabilities, used as logits (so the softmax
  // inside renormalises them).
  Tensor logits = from_logits_ ? y_pred : log(clip_by_value(y_pred, kEpsilon, 1.0 - kEpsilon));
  return nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
}

}  // namespace tapeflow::losses
