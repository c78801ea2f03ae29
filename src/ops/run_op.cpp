#include "ops/run_op.hpp"

#include <array>

#include "core/device_context.hpp"
#include "ops/debugging.hpp"

namespace tapeflow::detail {

Tensor run_op(OpSpec&& spec) {
  const Device device = current_device();
  Backend& backend = device.type == DeviceType::CPU ? cpu_backend() : backend_for(device);
  const size_t n = spec.inputs.size();

  std::array<TensorRef, 4> refs_small;
  std::vector<TensorRef> refs_big;
  TensorRef* refs = refs_small.data();
  if (n > refs_small.size()) {
    refs_big.resize(n);
    refs = refs_big.data();
  }
  // Inputs from another device are copied here (kept alive in `moved`; rare).
  std::vector<Tensor> moved;
  for (size_t i = 0; i < n; ++i) {
    const TensorImpl* impl = spec.inputs[i].impl().get();
    // A tape record's shape-only stand-in (OpSpec::saves) has no data: a gradient rule that
    // computes with one reads a tensor its op said it would not need.
    if (impl->data == nullptr && impl->size() > 0) [[unlikely]]
      throw InternalError(str_cat(spec.name,
                                  ": input #",
                                  i,
                                  " is a tape record's shape-only stand-in; the op that recorded "
                                  "it does not save that tensor (a tapeflow bug; please report)"));
    if (impl->device != device) {
      if (moved.empty()) moved.resize(n);
      moved[i] = on_device(spec.inputs[i], device);
      impl = moved[i].impl().get();
    }
    refs[i] = TensorRef::of(*impl);
  }
  auto out = make_impl(std::move(spec.out.shape), spec.out.dtype, device, spec.name);
  KernelArgs args{refs, int(n), TensorRef::of(*out), spec.attrs};
  if (out->size() > 0) spec.kernel(backend, args);
  Tensor result(std::move(out));
  // tf::debugging::enable_check_numerics(); gradient ops pass here too.
  if (check_numerics_on()) [[unlikely]]
    check_op_output(spec.name, spec.inputs, result);
  if (spec.grad && any_tape_recording()) {
    if (!moved.empty()) {
      std::vector<Tensor> ins = spec.inputs.to_vector();
      record_op(spec.name, ins, result, spec.grad, spec.saves);
    } else {
      record_op(spec.name, spec.inputs, result, spec.grad, spec.saves);
    }
  }
  return result;
}

void check_defined(const char* op, const Tensor& t, int index) {
  if (!t.defined()) fail<InvalidArgumentError>(op, "input #", index, " is an undefined tensor");
}

void check_dtype(const char* op, const Tensor& t, Require req) {
  DType d = t.dtype();
  bool ok = true;
  const char* want = "";
  switch (req) {
    case Require::any:
      return;
    case Require::numeric:
      ok = d != DType::boolean;
      want = "a numeric";
      break;
    case Require::floating:
      ok = is_floating(d);
      want = "a floating-point (float32 or float64)";
      break;
    case Require::boolean:
      ok = d == DType::boolean;
      want = "a bool";
      break;
    case Require::integer:
      ok = is_integer(d);
      want = "an integer (int32 or int64)";
      break;
  }
  if (!ok)
    fail<InvalidArgumentError>(op,
                               "Value for attr 'T' of ",
                               dtype_name(d),
                               " is not in the list of allowed values: ",
                               op,
                               " needs ",
                               want,
                               " tensor, got a ",
                               dtype_name(d),
                               " tensor of shape ",
                               t.shape());
}

void check_same_dtype(const char* op, InputList ts) {
  for (size_t i = 0; i < ts.size(); ++i) check_defined(op, ts[i], int(i));
  for (size_t i = 1; i < ts.size(); ++i)
    if (ts[i].dtype() != ts[0].dtype())
      fail<InvalidArgumentError>(op,
                                 "cannot compute ",
                                 op,
                                 " as input #",
                                 i,
                                 "(zero-based) was expected to be a ",
                                 dtype_name(ts[0].dtype()),
                                 " tensor but is a ",
                                 dtype_name(ts[i].dtype()),
                                 " tensor");
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  if (a == b) return a;
  int r = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(r);
  for (int i = 0; i < r; ++i) {
    int ia = a.rank() - r + i, ib = b.rank() - r + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else
      fail<InvalidArgumentError>(op, "Incompatible shapes: ", a, " vs. ", b);
  }
  return Shape(out);
}

int canonical_axis(const char* op, int axis, int rank) {
  if (rank == 0)
    fail<InvalidArgumentError>(
        op, "axis ", axis, " is out of range: a scalar (shape ()) has no axes");
  if (axis < -rank || axis >= rank)
    fail<InvalidArgumentError>(op,
                               "axis ",
                               axis,
                               " is out of range for a tensor of rank ",
                               rank,
                               " (expected [",
                               -rank,
                               ", ",
                               rank,
                               "))");
  return axis < 0 ? axis + rank : axis;
}

Tensor unbroadcast(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Shape& gs = g.shape();
  int lead = gs.rank() - shape.rank();
  std::vector<int> axes;
  for (int i = 0; i < gs.rank(); ++i)
    if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) axes.push_back(i);
  Tensor s = axes.empty() ? g : reduce_sum(g, axes, /*keepdims=*/true);
  return reshape(s, shape);
}

Tensor view_as(const Tensor& x, const Shape& shape) { return Tensor(make_impl(x.impl(), shape)); }

}  // namespace tapeflow::detail
