#include <cstdio>

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"
#include "tapeflow/tape.hpp"

namespace tapeflow::optimizers {

Optimizer::~Optimizer() = default;

Variable& Optimizer::slot(const Variable& var, const char* name) {
  auto& per_var = slots_[var.handle_id()];
  auto it = per_var.find(name);
  if (it == per_var.end()) {
    Tensor v = var.peek();
    DeviceScope scope(v.device_info());
    it = per_var.emplace(name, Variable(zeros(v.shape(), v.dtype()),
                                        {.name = var.name() + "/" + name, .trainable = false}))
             .first;
  }
  return it->second;
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  if (grads.size() != vars.size())
    throw InvalidArgumentError(detail::str_cat("apply_gradients: ", grads.size(), " gradients for ",
                                               vars.size(), " variables"));
  for (size_t i = 0; i < vars.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g.defined()) {
      std::fprintf(stderr, "WARNING: Gradients do not exist for variable '%s' when minimizing the loss.\n",
                   vars[i].name().c_str());
      continue;
    }
    if (!(g.shape() == vars[i].shape()) || g.dtype() != vars[i].dtype())
      throw InvalidArgumentError(detail::str_cat(
          "apply_gradients: gradient of shape ", g.shape(), " and dtype ", dtype_name(g.dtype()),
          " does not match variable '", vars[i].name(), "' of shape ", vars[i].shape(), " and dtype ",
          dtype_name(vars[i].dtype())));
  }
  for (size_t i = 0; i < vars.size(); ++i)
    if (grads[i].defined()) update(vars[i], stop_gradient(grads[i]));
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

SGD::SGD(SGDOptions o) : Optimizer(o.learning_rate), momentum_(o.momentum), nesterov_(o.nesterov) {
  if (o.momentum < 0.f || o.momentum > 1.f)
    throw InvalidArgumentError(detail::str_cat("SGD: `momentum` must be in [0, 1], got ", o.momentum));
}

void SGD::update(const Variable& var, const Tensor& grad) {
  const double lr = learning_rate_;
  if (momentum_ == 0.f) {
    var.assign_sub(grad * lr);  // w -= lr·g
    return;
  }
  // Keras: v = m·v - lr·g; w += v (nesterov: w += m·v - lr·g).
  Variable& v = slot(var, "momentum");
  Tensor nv = v.peek() * double(momentum_) - grad * lr;
  v.assign(nv);
  if (nesterov_) var.assign_add(nv * double(momentum_) - grad * lr);
  else var.assign_add(nv);
}

}  // namespace tapeflow::optimizers
