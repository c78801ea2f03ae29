// Adam and AdamW as in Keras (TF ≥ 2.11, keras/optimizers/adam.py): the "epsilon-hat" form,
// with the bias correction folded into the step size alpha.
#include <cmath>

#include "autodiff/variable_internal.hpp"
#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"

namespace tapeflow::optimizers {

Adam::Adam(AdamOptions o) : Adam("Adam", std::move(o)) {}

Adam::Adam(const char* name, AdamOptions o)
    : Optimizer(
          name,
          {std::move(o.learning_rate), o.weight_decay, o.clipnorm, o.clipvalue, o.global_clipnorm}),
      beta_1_(o.beta_1),
      beta_2_(o.beta_2),
      epsilon_(o.epsilon),
      amsgrad_(o.amsgrad) {}

void Adam::build_slots(const Variable& var) {
  add_slot(var, "m");
  add_slot(var, "v");
  if (amsgrad_) add_slot(var, "vhat");
}

void Adam::update(const Variable& var, const Tensor& grad, double lr) {
  // t = iterations + 1; alpha = lr·sqrt(1 - beta_2^t) / (1 - beta_1^t).
  const double t = double(iterations_ + 1);
  const double alpha = lr * std::sqrt(1.0 - std::pow(beta_2_, t)) / (1.0 - std::pow(beta_1_, t));
  Variable m = slot(var, "m");
  Variable v = slot(var, "v");
  // One fused pass when the three buffers can be written in place (the steady state); the
  // unfused ops below compute the same bits otherwise.
  if (!amsgrad_ &&
      detail::apply_adam_in_place(
          var, m, v, grad, {alpha, double(beta_1_), double(beta_2_), double(epsilon_)}))
    return;
  // Each new term is built in its own statement: with no other reference to the slot's value
  // left, assign_add writes into the slot's buffer instead of allocating a new one.
  Tensor dm = (grad - m.peek()) * (1.0 - beta_1_);  // m += (g - m)(1 - beta_1)
  m.assign_add(dm);
  Tensor dv = (square(grad) - v.peek()) * (1.0 - beta_2_);  // v += (g² - v)(1 - beta_2)
  v.assign_add(dv);
  if (amsgrad_) {
    Variable vhat = slot(var, "vhat");
    Tensor max_v = maximum(vhat.peek(), v.peek());  // vhat = max(vhat, v), used in place of v
    vhat.assign(max_v);
    v = vhat;
  }
  var.assign_sub(m.peek() * alpha / (sqrt(v.peek()) + epsilon_));  // w -= alpha·m/(√v + ε)
}

namespace {
AdamOptions adam_options(AdamWOptions o) {
  return {.learning_rate = std::move(o.learning_rate),
          .beta_1 = o.beta_1,
          .beta_2 = o.beta_2,
          .epsilon = o.epsilon,
          .amsgrad = o.amsgrad,
          .weight_decay = o.weight_decay,
          .clipnorm = o.clipnorm,
          .clipvalue = o.clipvalue,
          .global_clipnorm = o.global_clipnorm};
}
}  // namespace

// The decoupled decay w -= w·weight_decay·lr is the base optimizer's weight_decay step.
AdamW::AdamW(AdamWOptions o) : Adam("AdamW", adam_options(std::move(o))) {}

}  // namespace tapeflow::optimizers
