// The optimizer base (Keras' apply_gradients pipeline: skip undefined gradients, clip, decay
// weights, update, count the step) and SGD. The update rules run as tapeflow ops on each
// variable's device, so they need no kernels of their own and run wherever the variable lives.
#include <cstdio>

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"
#include "tapeflow/tape.hpp"

namespace tapeflow::optimizers {

namespace {

void check_clip_options(const char* name, const OptimizerOptions& o) {
  // As Keras: clipvalue may accompany either, but is then unused (clipnorm and global_clipnorm
  // take precedence in apply_gradients).
  if (o.clipnorm && o.global_clipnorm)
    throw InvalidArgumentError(detail::str_cat(
        name,
        ": Only one of `clipnorm` and `global_clipnorm` can be set. Received: clipnorm=",
        *o.clipnorm,
        ", global_clipnorm=",
        *o.global_clipnorm));
}

// Keras clips only with a positive bound; None, 0 or a negative bound leave gradients alone.
bool active(const std::optional<double>& bound) { return bound && *bound > 0; }

}  // namespace

Optimizer::Optimizer(const char* name, OptimizerOptions options)
    : name_(name), options_(std::move(options)) {
  check_clip_options(name, options_);
  if (options_.weight_decay && *options_.weight_decay < 0)
    throw InvalidArgumentError(
        detail::str_cat(name, ": `weight_decay` must be >= 0, got ", *options_.weight_decay));
}

Optimizer::~Optimizer() = default;

void Optimizer::build_slots(const Variable&) {}

Optimizer::SlotGroup& Optimizer::group(const Variable& var) {
  auto [it, inserted] = group_index_.try_emplace(var.handle_id(), groups_.size());
  const size_t index = it->second;
  if (inserted) {
    groups_.emplace_back();
    build_slots(var);  // add_slot() finds the group just made
  }
  return groups_[index];
}

Variable Optimizer::add_slot(const Variable& var, const char* name, double initial_value) {
  SlotGroup& g = group(var);
  for (const auto& [slot_name, slot_var] : g.slots)
    if (slot_name == name) return slot_var;
  // Slot names are unique across the optimizer, so a checkpoint can key its state by them.
  std::string full = var.name() + "/" + name;
  for (int n = 1; slot_names_.count(full); ++n)
    full = detail::str_cat(var.name(), "/", name, "_", n);
  Tensor v = var.peek();
  DeviceScope scope(v.device_info());
  Tensor init = initial_value == 0.0 ? zeros(v.shape(), v.dtype())
                                     : fill(v.shape(), scalar_like(v, initial_value));
  Variable slot_var(init, {.name = full, .trainable = false});
  g.slots.emplace_back(name, slot_var);
  ordered_.emplace_back(full, slot_var);
  slot_names_.insert(std::move(full));
  return slot_var;
}

Variable Optimizer::slot(const Variable& var, const char* name) {
  for (const auto& [slot_name, slot_var] : group(var).slots)
    if (slot_name == name) return slot_var;
  return add_slot(var, name);
}

Variable Optimizer::get_slot(const Variable& var, const std::string& name) const {
  auto it = group_index_.find(var.handle_id());
  if (it == group_index_.end()) return Variable();
  for (const auto& [slot_name, slot_var] : groups_[it->second].slots)
    if (slot_name == name) return slot_var;
  return Variable();
}

std::vector<std::pair<std::string, Variable>> Optimizer::slots(const Variable& var) const {
  auto it = group_index_.find(var.handle_id());
  if (it == group_index_.end()) return {};
  return groups_[it->second].slots;
}

void Optimizer::build(const std::vector<Variable>& vars) {
  for (const Variable& v : vars) group(v);
}

std::vector<std::pair<std::string, Variable>> Optimizer::variables() const { return ordered_; }

void Optimizer::set_iterations(int64_t iterations) {
  if (iterations < 0)
    throw InvalidArgumentError(
        detail::str_cat(name_, ": `iterations` must be >= 0, got ", iterations));
  iterations_ = iterations;
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads,
                                const std::vector<Variable>& vars) {
  if (grads.size() != vars.size())
    throw InvalidArgumentError(detail::str_cat(
        "apply_gradients: ", grads.size(), " gradients for ", vars.size(), " variables"));
  for (size_t i = 0; i < vars.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g.defined()) {
      std::fprintf(stderr,
                   "WARNING: Gradients do not exist for variable '%s' when minimizing the loss.\n",
                   vars[i].name().c_str());
      continue;
    }
    if (!(g.shape() == vars[i].shape()) || g.dtype() != vars[i].dtype())
      throw InvalidArgumentError(detail::str_cat("apply_gradients: gradient of shape ",
                                                 g.shape(),
                                                 " and dtype ",
                                                 dtype_name(g.dtype()),
                                                 " does not match variable '",
                                                 vars[i].name(),
                                                 "' of shape ",
                                                 vars[i].shape(),
                                                 " and dtype ",
                                                 dtype_name(vars[i].dtype())));
  }

  // tf.clip_by_global_norm: scale = clip·min(1/norm, 1/clip), NaN when the norm is not finite.
  Tensor global_scale;
  if (active(options_.global_clipnorm)) {
    Tensor sum_sq;
    for (size_t i = 0; i < vars.size(); ++i) {
      if (!grads[i].defined()) continue;
      DeviceScope scope(vars[i].peek().device_info());
      Tensor s = cast(reduce_sum(square(stop_gradient(grads[i]))), float64);
      sum_sq = sum_sq.defined() ? sum_sq + s : s;
    }
    if (sum_sq.defined()) {
      const double clip = *options_.global_clipnorm;
      Tensor norm = sqrt(sum_sq);
      global_scale = minimum(1.0 / norm, scalar_like(norm, 1.0 / clip)) * clip + (norm - norm);
    }
  }

  const double lr = learning_rate();
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!grads[i].defined()) continue;
    const Variable& var = vars[i];
    DeviceScope scope(var.peek().device_info());
    Tensor g = stop_gradient(grads[i]);
    if (active(options_.clipnorm)) {
      // tf.clip_by_norm: g·clip / max(‖g‖₂, clip).
      const double clip = *options_.clipnorm;
      Tensor norm = sqrt(reduce_sum(square(g)));
      g = g * clip / maximum(norm, scalar_like(norm, clip));
    } else if (global_scale.defined()) {
      g = g * cast(global_scale, g.dtype());
    } else if (active(options_.clipvalue)) {
      g = clip_by_value(g, -*options_.clipvalue, *options_.clipvalue);
    }
    group(var);  // slots exist before the first update
    if (options_.weight_decay && *options_.weight_decay != 0.0) {
      Tensor decay = var.peek() * (*options_.weight_decay * lr);  // w -= w·wd·lr
      var.assign_sub(decay);
    }
    update(var, g, lr);
  }
  ++iterations_;
}

Tensor Optimizer::minimize(const std::function<Tensor()>& loss, const std::vector<Variable>& vars) {
  GradientTape tape;
  std::vector<Source> sources(vars.begin(), vars.end());
  tape.watch(sources);
  Tensor l = loss();
  std::vector<Tensor> grads = tape.gradient(l, sources);
  apply_gradients(grads, vars);
  return l;
}

SGD::SGD(SGDOptions o)
    : Optimizer("SGD",
                {o.learning_rate, o.weight_decay, o.clipnorm, o.clipvalue, o.global_clipnorm}),
      momentum_(o.momentum),
      nesterov_(o.nesterov) {
  if (o.momentum < 0.f || o.momentum > 1.f)
    throw InvalidArgumentError(
        detail::str_cat("SGD: `momentum` must be in [0, 1], got ", o.momentum));
}

void SGD::build_slots(const Variable& var) {
  if (momentum_ != 0.f) add_slot(var, "momentum");
}

void SGD::update(const Variable& var, const Tensor& grad, double lr) {
  if (momentum_ == 0.f) {
    var.assign_sub(grad * lr);  // w -= lr·g
    return;
  }
  // Keras: v = m·v - lr·g; w += v (nesterov: w += m·v - lr·g).
  Variable v = slot(var, "momentum");
  Tensor nv = v.peek() * double(momentum_) - grad * lr;
  v.assign(nv);
  if (nesterov_)
    var.assign_add(nv * double(momentum_) - grad * lr);
  else
    var.assign_add(nv);
}

}  // namespace tapeflow::optimizers
