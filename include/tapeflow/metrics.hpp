#pragma once

#include <string>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::metrics {

struct MetricOptions {
  /// Empty: the metric's Keras name ("mean", "sparse_categorical_accuracy").
  std::string name;
};

/// Running mean of every value given to update_state, accumulated on the host in double.
class TAPEFLOW_API Mean {
 public:
  explicit Mean(MetricOptions options = {});
  /// Adds one value with weight `weight`.
  void update_state(double value, double weight = 1.0);
  /// Adds every element of `values` (any numeric dtype, any device).
  void update_state(const Tensor& values);
  /// update_state, then result() (as calling a Keras metric).
  Tensor operator()(const Tensor& values);
  /// The mean so far as a float32 scalar; 0 before any update.
  Tensor result() const;
  void reset_state();
  const std::string& name() const { return name_; }
  double total() const { return total_; }
  double count() const { return count_; }

 private:
  std::string name_;
  double total_ = 0.0;
  double count_ = 0.0;
};

/// Fraction of examples whose argmax over y_pred's last axis equals the integer label.
class TAPEFLOW_API SparseCategoricalAccuracy {
 public:
  explicit SparseCategoricalAccuracy(MetricOptions options = {});
  /// y_true: labels [N] or [N, 1] (integer or float); y_pred: scores [N, C] (probs or logits).
  void update_state(const Tensor& y_true, const Tensor& y_pred);
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred);
  /// Accuracy so far as a float32 scalar; 0 before any update.
  Tensor result() const;
  void reset_state();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  double correct_ = 0.0;
  double count_ = 0.0;
};

}  // namespace tapeflow::metrics
