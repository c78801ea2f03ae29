#pragma once

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::losses {

/// How per-example losses become the returned value (Keras' tf.keras.losses.Reduction).
enum class Reduction {
  /// Sum divided by the number of per-example losses: the mean (Keras' default).
  sum_over_batch_size,
  sum,
  /// The per-example losses themselves (y's shape without its last axis).
  none,
};

/// Base of the Keras-style losses: `call` gives per-example losses, `operator()` reduces them.
class TAPEFLOW_API Loss {
 public:
  explicit Loss(Reduction reduction = Reduction::sum_over_batch_size) : reduction_(reduction) {}
  virtual ~Loss();
  /// The reduced loss of predictions y_pred against targets y_true. Differentiable in y_pred.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const;
  /// Per-example losses (the last axis averaged away, as Keras).
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};

struct MeanSquaredErrorOptions {
  Reduction reduction = Reduction::sum_over_batch_size;
};

/// mean((y_pred - y_true)^2) over the last axis; y_true is cast to y_pred's dtype.
class TAPEFLOW_API MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(MeanSquaredErrorOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct BinaryCrossentropyOptions {
  /// y_pred are logits (else probabilities, clipped to [1e-7, 1 - 1e-7] as Keras).
  bool from_logits = false;
  Reduction reduction = Reduction::sum_over_batch_size;
};

/// -(y log p + (1 - y) log(1 - p)) averaged over the last axis; targets in [0, 1].
class TAPEFLOW_API BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(BinaryCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  bool from_logits() const { return from_logits_; }

 private:
  bool from_logits_;
};

struct SparseCategoricalCrossentropyOptions {
  /// y_pred are logits (else probabilities, clipped to [1e-7, 1 - 1e-7] as Keras).
  bool from_logits = false;
  Reduction reduction = Reduction::sum_over_batch_size;
};

/// -log p[label] from integer labels [N] (or [N, 1]; float labels are cast) and y_pred [N, C].
class TAPEFLOW_API SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  bool from_logits() const { return from_logits_; }

 private:
  bool from_logits_;
};

}  // namespace tapeflow::losses
