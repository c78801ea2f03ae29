// RMSprop as in Keras (TF ≥ 2.11, keras/optimizers/rmsprop.py).
#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"

namespace tapeflow::optimizers {

RMSprop::RMSprop(RMSpropOptions o)
    : Optimizer(
          "RMSprop",
          {std::move(o.learning_rate), o.weight_decay, o.clipnorm, o.clipvalue, o.global_clipnorm}),
      rho_(o.rho),
      momentum_(o.momentum),
      epsilon_(o.epsilon),
      centered_(o.centered) {}

void RMSprop::build_slots(const Variable& var) {
  add_slot(var, "velocity");
  if (momentum_ > 0) add_slot(var, "momentum");
  if (centered_) add_slot(var, "average_gradient");
}

void RMSprop::update(const Variable& var, const Tensor& grad, double lr) {
  Variable velocity = slot(var, "velocity");
  Tensor new_velocity = rho_ * velocity.peek() + (1.0 - rho_) * square(grad);
  velocity.assign(new_velocity);  // velocity = rho·velocity + (1 - rho)·g²
  Tensor denominator;
  if (centered_) {
    Variable average = slot(var, "average_gradient");
    Tensor new_average = rho_ * average.peek() + (1.0 - rho_) * grad;
    average.assign(new_average);  // average = rho·average + (1 - rho)·g
    denominator = new_velocity - square(new_average) + epsilon_;
  } else {
    denominator = new_velocity + epsilon_;
  }
  Tensor increment = lr * grad / sqrt(denominator);
  if (momentum_ > 0) {
    Variable momentum = slot(var, "momentum");
    Tensor new_momentum = momentum_ * momentum.peek() + increment;
    momentum.assign(new_momentum);  // momentum = momentum·momentum + increment; w -= momentum
    var.assign_sub(new_momentum);
  } else {
    var.assign_sub(increment);
  }
}

}  // namespace tapeflow::optimizers
