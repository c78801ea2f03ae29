#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::optimizers {

/// Base of the Keras-style optimizers: per-variable slots, an iteration counter.
class TAPEFLOW_API Optimizer {
 public:
  virtual ~Optimizer();
  /// One update of each variable by its gradient; undefined gradients are skipped.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  /// Records `loss` on its own tape, then applies the gradients w.r.t. `vars`.
  /// Returns the loss value.
  Tensor minimize(const std::function<Tensor()>& loss, const std::vector<Variable>& vars);
  /// Number of apply_gradients calls so far.
  int64_t iterations() const { return iterations_; }
  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float lr) { learning_rate_ = lr; }

 protected:
  explicit Optimizer(float learning_rate) : learning_rate_(learning_rate) {}
  /// Update one variable (called with a defined gradient of the variable's shape/dtype).
  virtual void update(const Variable& var, const Tensor& grad) = 0;
  /// The slot `name` of `var`, created as zeros on first use.
  Variable& slot(const Variable& var, const char* name);

  float learning_rate_;
  int64_t iterations_ = 0;

 private:
  std::unordered_map<uint64_t, std::unordered_map<std::string, Variable>> slots_;
};

struct SGDOptions {
  float learning_rate = 0.01f;
  float momentum = 0.f;
  bool nesterov = false;
};

/// Keras SGD: v = momentum*v - lr*g; w += v (nesterov: w += momentum*v - lr*g);
/// plain w -= lr*g when momentum is 0.
class TAPEFLOW_API SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions options = {});
  float momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void update(const Variable& var, const Tensor& grad) override;

 private:
  float momentum_;
  bool nesterov_;
};

}  // namespace tapeflow::optimizers
