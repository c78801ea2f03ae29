#include "tapeflow/variable.hpp"

#include <atomic>
#include <cstring>

#include "autodiff/tape_impl.hpp"
#include "autodiff/variable_internal.hpp"
#include "backend/backend.hpp"
#include "core/tensor_impl.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow {
namespace detail {
struct VariableImpl {
  Tensor value;
  std::string name;
  bool trainable;
  uint64_t handle;
};
}  // namespace detail

Variable::Variable(const Tensor& initial_value, VariableOptions options) {
  if (!initial_value.defined())
    throw InvalidArgumentError("Variable: the initial value is undefined");
  static std::atomic<uint64_t> handles{1};
  // Own a private copy: later writes must not show through other handles to the initial value.
  Tensor v = identity(stop_gradient(initial_value));
  impl_ = std::make_shared<detail::VariableImpl>(
      detail::VariableImpl{v, std::move(options.name), options.trainable, handles.fetch_add(1)});
}

static const detail::VariableImpl& checked(const std::shared_ptr<detail::VariableImpl>& p) {
  if (!p) throw FailedPreconditionError("use of an uninitialized (default-constructed) Variable");
  return *p;
}

Tensor Variable::value() const {
  checked(impl_);
  if (!detail::tape_stack().empty()) detail::notify_variable_read(*this);
  return impl_->value;
}
Tensor Variable::peek() const { return checked(impl_).value; }

static void check_assign(const char* op, const detail::VariableImpl& v, const Tensor& t) {
  if (!t.defined()) detail::fail<InvalidArgumentError>(op, "cannot assign an undefined tensor");
  if (!(t.shape() == v.value.shape()) || t.dtype() != v.value.dtype())
    detail::fail<InvalidArgumentError>(op,
                                       "Cannot assign to variable '",
                                       v.name,
                                       "': value of shape ",
                                       t.shape(),
                                       " and dtype ",
                                       dtype_name(t.dtype()),
                                       " does not match the variable's shape ",
                                       v.value.shape(),
                                       " and dtype ",
                                       dtype_name(v.value.dtype()));
}

// Write in place when nobody else holds the current value (no tape record, no user handle):
// the optimizer's steady state then allocates nothing. Otherwise swap in the new value so that
// tensors read earlier keep what they saw.
// The current value may be overwritten only when nobody else holds it (no tape record, no
// user handle, not a view) and the new data is not that same buffer.
static bool writable_in_place(const detail::VariableImpl& v, const Tensor& src) {
  const auto& cur = v.value.impl();
  return cur.use_count() == 1 && !cur->base && src.impl() != cur;
}

static void store(detail::VariableImpl& v, const Tensor& t) {
  auto& cur = v.value.impl();
  const Device device = cur->device;  // a variable stays on the device it was created on
  Tensor src = detail::on_device(t, device);
  if (writable_in_place(v, src)) {
    if (device.type == DeviceType::CPU) {
      std::memcpy(cur->data, src.impl()->data, cur->nbytes);
      return;
    }
  }
  DeviceScope scope(device);
  v.value = identity(stop_gradient(src));
}

void Variable::assign(const Tensor& t) const {
  auto& v = const_cast<detail::VariableImpl&>(checked(impl_));
  check_assign("AssignVariableOp", v, t);
  store(v, t);
}
// value op= t computed straight into the variable's buffer when nobody else holds the value
// (the optimizer's steady state): one pass, no temporary. Element-wise kernels read and write
// index i together, so the output may alias input 0.
static bool update_in_place(detail::VariableImpl& v, const Tensor& t, bool subtract_it) {
  const auto& cur = v.value.impl();
  if (cur->dtype == DType::boolean || !writable_in_place(v, t)) return false;
  Tensor src = detail::on_device(t, cur->device);
  const auto& s = src.impl();
  detail::TensorRef refs[2] = {detail::TensorRef::of(*cur), detail::TensorRef::of(*s)};
  detail::KernelArgs k{refs, 2, refs[0], nullptr};
  if (cur->size() == 0) return true;
  detail::Backend& b = detail::backend_for(cur->device);
  if (subtract_it)
    b.sub(k);
  else
    b.add(k);
  return true;
}

namespace detail {

bool apply_adam_in_place(const Variable& var,
                         const Variable& m,
                         const Variable& v,
                         const Tensor& grad,
                         const AdamAttrs& attrs) {
  auto& w_impl = const_cast<VariableImpl&>(checked(var.impl()));
  auto& m_impl = const_cast<VariableImpl&>(checked(m.impl()));
  auto& v_impl = const_cast<VariableImpl&>(checked(v.impl()));
  const auto& w = w_impl.value.impl();
  const auto& g = grad.impl();
  if (!is_floating(w->dtype) || g->dtype != w->dtype || !(g->shape == w->shape)) return false;
  for (const VariableImpl* s : {&m_impl, &v_impl}) {
    const auto& si = s->value.impl();
    if (si->dtype != w->dtype || !(si->shape == w->shape) || si->device != w->device) return false;
  }
  if (g->device != w->device || !writable_in_place(w_impl, grad) ||
      !writable_in_place(m_impl, grad) || !writable_in_place(v_impl, grad))
    return false;
  if (w->size() == 0) return true;
  TensorRef refs[4] = {TensorRef::of(*w),
                       TensorRef::of(*m_impl.value.impl()),
                       TensorRef::of(*v_impl.value.impl()),
                       TensorRef::of(*g)};
  KernelArgs k{refs, 4, refs[0], &attrs};
  backend_for(w->device).apply_adam(k);
  return true;
}

}  // namespace detail

void Variable::assign_add(const Tensor& t) const {
  auto& v = const_cast<detail::VariableImpl&>(checked(impl_));
  check_assign("AssignAddVariableOp", v, t);
  if (update_in_place(v, t, false)) return;
  DeviceScope scope(v.value.device_info());   // computed where the variable lives (as TF)
  Tensor r = add(stop_gradient(v.value), t);  // the temporary view dies here, before store()
  store(v, r);
}
void Variable::assign_sub(const Tensor& t) const {
  auto& v = const_cast<detail::VariableImpl&>(checked(impl_));
  check_assign("AssignSubVariableOp", v, t);
  if (update_in_place(v, t, true)) return;
  DeviceScope scope(v.value.device_info());
  Tensor r = subtract(stop_gradient(v.value), t);
  store(v, r);
}

const std::string& Variable::name() const { return checked(impl_).name; }
bool Variable::trainable() const { return checked(impl_).trainable; }
const Shape& Variable::shape() const { return checked(impl_).value.shape(); }
DType Variable::dtype() const { return checked(impl_).value.dtype(); }
std::string Variable::device() const { return checked(impl_).value.device(); }
uint64_t Variable::handle_id() const { return checked(impl_).handle; }

std::ostream& operator<<(std::ostream& os, const Variable& v) {
  if (!v.defined()) return os << "<tf.Variable (uninitialized)>";
  Tensor t = v.peek();
  return os << "<tf.Variable '" << v.name() << ":0' shape=" << t.shape()
            << " dtype=" << dtype_name(t.dtype()) << ", numpy=" << to_string(t) << ">";
}

}  // namespace tapeflow
