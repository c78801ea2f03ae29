// tf::metrics: Keras' streaming metrics. State is host doubles, so a long epoch accumulates
// without float32 rounding and reading a result never touches a device.
#include "tapeflow/metrics.hpp"

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::metrics {

using detail::str_cat;

Mean::Mean(MetricOptions options)
    : name_(options.name.empty() ? "mean" : std::move(options.name)) {}

void Mean::update_state(double value, double weight) {
  total_ += value * weight;
  count_ += weight;
}

void Mean::update_state(const Tensor& values) {
  if (!values.defined())
    throw InvalidArgumentError(str_cat("Mean '", name_, "': update_state on an undefined tensor"));
  if (values.num_elements() == 0) return;
  Tensor v = values.dtype() == float64 ? values : cast(values, float64);
  total_ += reduce_sum(v).item<double>();
  count_ += double(values.num_elements());
}

Tensor Mean::operator()(const Tensor& values) {
  update_state(values);
  return result();
}

Tensor Mean::result() const { return constant(float(count_ == 0.0 ? 0.0 : total_ / count_)); }

void Mean::reset_state() { total_ = count_ = 0.0; }

SparseCategoricalAccuracy::SparseCategoricalAccuracy(MetricOptions options)
    : name_(options.name.empty() ? "sparse_categorical_accuracy" : std::move(options.name)) {}

void SparseCategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined())
    throw InvalidArgumentError(str_cat("SparseCategoricalAccuracy '", name_, "': undefined input"));
  if (y_pred.rank() < 1)
    throw InvalidArgumentError(str_cat("SparseCategoricalAccuracy '",
                                       name_,
                                       "': y_pred needs a class axis; got shape ",
                                       y_pred.shape()));
  Tensor labels = y_true;
  if (labels.rank() == y_pred.rank() && labels.rank() > 0 && labels.shape()[labels.rank() - 1] == 1)
    labels = squeeze(labels, {-1});
  Tensor predicted = argmax(y_pred, -1);
  if (!(labels.shape() == predicted.shape()))
    throw InvalidArgumentError(str_cat("SparseCategoricalAccuracy '",
                                       name_,
                                       "': labels of shape ",
                                       y_true.shape(),
                                       " do not match predictions of shape ",
                                       y_pred.shape()));
  std::vector<double> want = labels.to_vector<double>();
  std::vector<int64_t> got = predicted.to_vector<int64_t>();
  for (size_t i = 0; i < got.size(); ++i) correct_ += double(got[i]) == want[i] ? 1.0 : 0.0;
  count_ += double(got.size());
}

Tensor SparseCategoricalAccuracy::operator()(const Tensor& y_true, const Tensor& y_pred) {
  update_state(y_true, y_pred);
  return result();
}

Tensor SparseCategoricalAccuracy::result() const {
  return constant(float(count_ == 0.0 ? 0.0 : correct_ / count_));
}

void SparseCategoricalAccuracy::reset_state() { correct_ = count_ = 0.0; }

}  // namespace tapeflow::metrics
