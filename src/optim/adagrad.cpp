// Adagrad as in Keras (TF ≥ 2.11, keras/optimizers/adagrad.py).
#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"

namespace tapeflow::optimizers {

Adagrad::Adagrad(AdagradOptions o)
    : Optimizer(
          "Adagrad",
          {std::move(o.learning_rate), o.weight_decay, o.clipnorm, o.clipvalue, o.global_clipnorm}),
      initial_accumulator_value_(o.initial_accumulator_value),
      epsilon_(o.epsilon) {
  if (o.initial_accumulator_value < 0)
    throw InvalidArgumentError(detail::str_cat(
        "Adagrad: `initial_accumulator_value` must be >= 0, got ", o.initial_accumulator_value));
}

void Adagrad::build_slots(const Variable& var) {
  add_slot(var, "accumulator", initial_accumulator_value_);
}

void Adagrad::update(const Variable& var, const Tensor& grad, double lr) {
  Variable accumulator = slot(var, "accumulator");
  Tensor g2 = grad * grad;
  accumulator.assign_add(g2);                                       // accumulator += g²
  var.assign_sub(lr * grad / sqrt(accumulator.peek() + epsilon_));  // w -= lr·g/√(acc + ε)
}

}  // namespace tapeflow::optimizers
