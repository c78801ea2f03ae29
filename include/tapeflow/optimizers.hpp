#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/schedules.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::optimizers {

/// What every optimizer accepts besides its own hyperparameters (Keras' base-optimizer
/// arguments). Each XxxOptions repeats these last fields so designated initializers reach them.
struct OptimizerOptions {
  LearningRate learning_rate = 0.001;
  /// Decoupled weight decay, w -= w * weight_decay * lr before the update (Keras ≥ 2.11).
  std::optional<double> weight_decay;
  /// Each gradient rescaled to an L2 norm of at most clipnorm (tf.clip_by_norm).
  std::optional<double> clipnorm;
  /// Each gradient element clipped to [-clipvalue, clipvalue].
  std::optional<double> clipvalue;
  /// All gradients rescaled so that their joint L2 norm is at most global_clipnorm.
  std::optional<double> global_clipnorm;
};

/// Base of the Keras-style optimizers: per-variable slots, an iteration counter. Setting both
/// clipnorm and global_clipnorm is an InvalidArgumentError; as in Keras, clipnorm takes
/// precedence over global_clipnorm over clipvalue, and only one of them is applied.
class TAPEFLOW_API Optimizer {
 public:
  virtual ~Optimizer();
  /// One update of each variable by its gradient; undefined gradients are skipped. Gradients are
  /// clipped, then weight decay is applied, then the update (Keras' order).
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  /// Records `loss` on its own tape, then applies the gradients w.r.t. `vars`.
  /// Returns the loss value.
  Tensor minimize(const std::function<Tensor()>& loss, const std::vector<Variable>& vars);
  /// Number of apply_gradients calls so far.
  int64_t iterations() const { return iterations_; }
  /// Sets the step counter (restoring a checkpoint); schedules and Adam's bias correction use it.
  void set_iterations(int64_t iterations);
  /// The learning rate the next update uses: the schedule evaluated at iterations().
  double learning_rate() const { return options_.learning_rate(iterations_); }
  void set_learning_rate(LearningRate lr) { options_.learning_rate = std::move(lr); }
  /// The learning rate as set: a number or a schedule (saved models name the number).
  const LearningRate& learning_rate_setting() const { return options_.learning_rate; }
  const std::optional<double>& weight_decay() const { return options_.weight_decay; }
  const std::optional<double>& clipnorm() const { return options_.clipnorm; }
  const std::optional<double>& clipvalue() const { return options_.clipvalue; }
  const std::optional<double>& global_clipnorm() const { return options_.global_clipnorm; }

  /// Creates the slots of `vars` now rather than at their first update (Keras' build), so that
  /// a checkpoint can be restored into them. Idempotent.
  void build(const std::vector<Variable>& vars);
  /// The slot variables, in creation order, named "<variable name>/<slot>" (e.g. "w/m"); a name
  /// already taken by another slot gets a "_1", "_2", ... suffix. For checkpoints.
  std::vector<std::pair<std::string, Variable>> variables() const;
  /// The slot `name` ("m", "v", "momentum", ...) of `var`; an undefined Variable if none.
  Variable get_slot(const Variable& var, const std::string& name) const;
  /// The slots of `var` as (slot name, slot variable) in creation order; empty if it has none
  /// yet. For checkpoints, which key slots by the variable they belong to.
  std::vector<std::pair<std::string, Variable>> slots(const Variable& var) const;

 protected:
  Optimizer(const char* name, OptimizerOptions options);
  /// Creates the slots `update` needs for `var` with add_slot (called once per variable).
  virtual void build_slots(const Variable& var);
  /// Update one variable (called with a defined gradient of the variable's shape/dtype, inside
  /// a DeviceScope of the variable's device). `lr` is the learning rate of this step.
  virtual void update(const Variable& var, const Tensor& grad, double lr) = 0;
  /// Creates the slot `name` of `var`, filled with `initial_value`, on the variable's device.
  Variable add_slot(const Variable& var, const char* name, double initial_value = 0.0);
  /// The slot `name` of `var` (created as zeros if build_slots did not create it).
  Variable slot(const Variable& var, const char* name);

  const char* name_;
  int64_t iterations_ = 0;

 private:
  struct SlotGroup {
    std::vector<std::pair<std::string, Variable>> slots;  // slot name → slot variable
  };
  SlotGroup& group(const Variable& var);

  OptimizerOptions options_;
  std::unordered_map<uint64_t, size_t> group_index_;  // variable handle → groups_ index
  std::vector<SlotGroup> groups_;
  std::vector<std::pair<std::string, Variable>> ordered_;  // every slot, creation order
  std::unordered_set<std::string> slot_names_;             // the names in ordered_
};

struct SGDOptions {
  LearningRate learning_rate = 0.01f;
  float momentum = 0.f;
  bool nesterov = false;
  std::optional<double> weight_decay;
  std::optional<double> clipnorm;
  std::optional<double> clipvalue;
  std::optional<double> global_clipnorm;
};

/// Keras SGD: v = momentum*v - lr*g; w += v (nesterov: w += momentum*v - lr*g);
/// plain w -= lr*g when momentum is 0. Slot: "momentum".
class TAPEFLOW_API SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions options = {});
  float momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void build_slots(const Variable& var) override;
  void update(const Variable& var, const Tensor& grad, double lr) override;

 private:
  float momentum_;
  bool nesterov_;
};

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::optional<double> weight_decay;
  std::optional<double> clipnorm;
  std::optional<double> clipvalue;
  std::optional<double> global_clipnorm;
};

/// Keras Adam (epsilon-hat form), t = iterations + 1:
/// m += (g - m)(1 - beta_1); v += (g² - v)(1 - beta_2); (amsgrad: vhat = max(vhat, v), used for v);
/// w -= lr·sqrt(1 - beta_2^t)/(1 - beta_1^t) · m / (sqrt(v) + epsilon). Slots: "m", "v", "vhat".
class TAPEFLOW_API Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  double beta_1() const { return beta_1_; }
  double beta_2() const { return beta_2_; }
  double epsilon() const { return epsilon_; }
  bool amsgrad() const { return amsgrad_; }

 protected:
  Adam(const char* name, AdamOptions options);
  void build_slots(const Variable& var) override;
  void update(const Variable& var, const Tensor& grad, double lr) override;

 private:
  double beta_1_, beta_2_, epsilon_;
  bool amsgrad_;
};

struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::optional<double> clipnorm;
  std::optional<double> clipvalue;
  std::optional<double> global_clipnorm;
};

/// Keras AdamW: w -= w·weight_decay·lr (decoupled), then the Adam step.
class TAPEFLOW_API AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions options = {});
};

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  std::optional<double> weight_decay;
  std::optional<double> clipnorm;
  std::optional<double> clipvalue;
  std::optional<double> global_clipnorm;
};

/// Keras RMSprop: velocity = rho·velocity + (1 - rho)·g²; centered: average_gradient =
/// rho·average_gradient + (1 - rho)·g and denominator = velocity - average_gradient² + epsilon,
/// else velocity + epsilon; increment = lr·g / sqrt(denominator); momentum > 0:
/// momentum_slot = momentum·momentum_slot + increment, w -= momentum_slot; else w -= increment.
/// Slots: "velocity", "momentum", "average_gradient".
class TAPEFLOW_API RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions options = {});
  double rho() const { return rho_; }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }
  bool centered() const { return centered_; }

 protected:
  void build_slots(const Variable& var) override;
  void update(const Variable& var, const Tensor& grad, double lr) override;

 private:
  double rho_, momentum_, epsilon_;
  bool centered_;
};

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  std::optional<double> weight_decay;
  std::optional<double> clipnorm;
  std::optional<double> clipvalue;
  std::optional<double> global_clipnorm;
};

/// Keras Adagrad: accumulator += g² (starting at initial_accumulator_value);
/// w -= lr·g / sqrt(accumulator + epsilon). Slot: "accumulator".
class TAPEFLOW_API Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions options = {});
  double initial_accumulator_value() const { return initial_accumulator_value_; }
  double epsilon() const { return epsilon_; }

 protected:
  void build_slots(const Variable& var) override;
  void update(const Variable& var, const Tensor& grad, double lr) override;

 private:
  double initial_accumulator_value_, epsilon_;
};

}  // namespace tapeflow::optimizers
