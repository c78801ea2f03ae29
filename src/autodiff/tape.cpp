// GradientTape: reverse-mode automatic differentiation over eagerly executed ops.
//
// Terms. Every tensor has a unique id. A tape *watches* ids: those passed to watch(), the
// values of trainable variables read while it records, and the output of every op it records.
// An op is *recorded* by each recording tape on the thread that watches one of its inputs;
// the record keeps the inputs, the output and the op's gradient rule (src/ops), and which
// inputs were watched (`needs`), so rules skip work for constants.
//
// The walk. gradient(target, sources) seeds dL/d(target) with ones (a non-scalar target is
// summed, as in TensorFlow) or with output_gradients, then visits the records newest first:
// recording order is a topological order, so when a record is reached every use of its output
// has already contributed. Each rule returns one gradient per input; gradients of a tensor used
// twice accumulate with add(). Rules are written with tapeflow's own ops, so while a tape runs
// its walk (it is paused then) the other tapes on the thread record those ops: nesting tapes
// gives higher-order derivatives. Each rule runs on the device of its forward op.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "autodiff/tape_impl.hpp"
#include "core/device_context.hpp"
#include "core/tensor_impl.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::detail {

std::vector<TapeImpl*>& tape_stack() {
  thread_local std::vector<TapeImpl*> stack;
  return stack;
}

thread_local int t_recording_tapes = 0;
thread_local const GradientReadyHook* t_ready_hook = nullptr;

const GradientReadyHook* set_gradient_ready_hook(const GradientReadyHook* hook) {
  const GradientReadyHook* previous = t_ready_hook;
  t_ready_hook = hook;
  return previous;
}

void TapeImpl::set_recording(bool on) {
  if (on == recording) return;
  recording = on;
  t_recording_tapes += on ? 1 : -1;
}

void TapeImpl::watch_tensor(const Tensor& t) {
  if (!t.defined()) throw InvalidArgumentError("GradientTape.watch: the tensor is undefined");
  if (!is_floating(t.dtype())) {
    static bool warned = false;
    if (!warned) {
      warned = true;
      std::fprintf(stderr,
                   "WARNING: The dtype of the watched tensor must be floating (e.g. float32), "
                   "got %s; its gradient will be undefined\n",
                   std::string(dtype_name(t.dtype())).c_str());
    }
    return;
  }
  watched.insert(t.id());
}

void TapeImpl::watch_variable(const Variable& v) {
  const Tensor value = v.peek();
  watch_tensor(value);
  if (!is_floating(v.dtype())) return;
  auto [it, fresh] = variable_values.try_emplace(v.handle_id());
  if (fresh) variables.push_back(v);
  std::vector<uint64_t>& ids = it->second;
  if (std::find(ids.begin(), ids.end(), value.id()) == ids.end()) ids.push_back(value.id());
}

void notify_variable_read(const Variable& v) {
  // Integer variables (step counters) are never differentiable: skip them silently, as TF does;
  // only an explicit watch() warns.
  if (!v.trainable() || !is_floating(v.dtype())) return;
  for (TapeImpl* t : tape_stack())
    if (t->recording && t->options.watch_accessed_variables) t->watch_variable(v);
}

namespace {
/// What a record keeps of a tensor whose values its rule does not read: a shape-only stand-in,
/// unless the data is inline in the handle (small tensors: nothing to free).
Tensor shape_only(const Tensor& t) {
  if (!t.defined()) return t;
  const TensorImpl& impl = *t.impl();
  if (!impl.owns && !impl.base) return t;
  return Tensor(make_impl(TensorImpl::ShapeOnly{}, impl));
}
}  // namespace

void record_op(
    const char* name, InputList inputs, const Tensor& output, const GradFn& grad, SavesFn saves) {
  for (TapeImpl* t : tape_stack()) {
    if (!t->recording) continue;
    uint64_t needs = 0;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].defined() && t->watched.contains(inputs[i].id()))
        needs |= i < 64 ? uint64_t(1) << i : 0;
    if (!needs) continue;
    if (is_floating(output.dtype())) t->watched.insert(output.id());
    const uint64_t keep = saves ? saves(needs) : ~uint64_t(0);
    TensorList ins;
    for (size_t i = 0; i < inputs.size(); ++i)
      ins.push_back(i >= 63 || (keep >> i) & 1 ? inputs[i] : shape_only(inputs[i]));
    t->records.push_back(TapeRecord{
        name, std::move(ins), keep & kSaveOutput ? output : shape_only(output), grad, needs});
  }
}

namespace {

/// A source of gradient(): its current value, and the ids whose gradients make its gradient
/// (a tensor's own; for a variable, every value it held when read under the tape).
struct SourceIds {
  Tensor value;
  std::vector<uint64_t> ids;
};

SourceIds resolve_source(const TapeImpl& t, const Source& s) {
  if (!s.is_variable()) return {s.tensor(), {s.tensor().defined() ? s.tensor().id() : 0}};
  SourceIds r{s.variable().peek(), {}};
  if (auto it = t.variable_values.find(s.variable().handle_id()); it != t.variable_values.end())
    r.ids = it->second;
  if (r.value.defined() && std::find(r.ids.begin(), r.ids.end(), r.value.id()) == r.ids.end())
    r.ids.push_back(r.value.id());
  return r;
}

/// The backward walk; `self` is paused while it runs so that only other tapes record it. With
/// `release` (a non-persistent tape's one gradient() call) each record is dropped as soon as its
/// rule has run, as TensorFlow does: activations die during the walk instead of with the tape,
/// and variable values are no longer shared, so optimizers can update them in place.
std::vector<Tensor> backward(TapeImpl& self,
                             const Tensor& target,
                             const std::vector<SourceIds>& sources,
                             const Tensor& output_gradients,
                             UnconnectedGradients unconnected,
                             bool release = false) {
  if (!target.defined()) throw InvalidArgumentError("GradientTape.gradient: target is undefined");
  bool was = self.recording;
  self.set_recording(false);
  struct Restore {
    TapeImpl& t;
    bool was;
    ~Restore() { t.set_recording(was); }
  } restore{self, was};

  // Pending gradients by tensor id; an entry is cleared (undefined) once consumed, unless it
  // is a source's.
  IdMap<Tensor> grads;
  IdSet source_ids;
  for (const SourceIds& s : sources)
    for (uint64_t id : s.ids) source_ids.insert(id);
  size_t pending = 0;
  if (is_floating(target.dtype())) {
    Tensor seed;
    if (output_gradients.defined()) {
      if (!(output_gradients.shape() == target.shape()) ||
          output_gradients.dtype() != target.dtype())
        throw InvalidArgumentError(
            str_cat("GradientTape.gradient: output_gradients must match the target: got ",
                    output_gradients.shape(),
                    " ",
                    dtype_name(output_gradients.dtype()),
                    " vs. ",
                    target.shape(),
                    " ",
                    dtype_name(target.dtype())));
      seed = output_gradients;
    } else {
      seed = ones_like(target);
    }
    grads.get(target.id()) = seed;
    pending = 1;
  }
  // A source's gradient is the sum of the gradients of its ids (a variable's several values).
  std::vector<Tensor> out(sources.size());
  std::vector<bool> finished(sources.size(), false);
  auto finish = [&](size_t s_index) {
    const SourceIds& s = sources[s_index];
    Tensor sum;
    if (is_floating(s.value.dtype()))
      for (uint64_t id : s.ids)
        if (Tensor* g = grads.find(id); g && g->defined()) sum = sum.defined() ? add(sum, *g) : *g;
    if (!sum.defined() && unconnected == UnconnectedGradients::Zero && is_floating(s.value.dtype()))
      sum = zeros_like(s.value);
    out[s_index] = std::move(sum);
    finished[s_index] = true;
    if (t_ready_hook) (*t_ready_hook)(s_index, out[s_index]);
  };
  // With a ready hook: (oldest record index reading the source, source), newest first; a source
  // is final once the walk has run that record. Sources no record reads are final now.
  std::vector<std::pair<size_t, size_t>> final_after;
  if (t_ready_hook) {
    IdMap<size_t> oldest_reader;
    for (size_t r = self.records.size(); r > 0; --r) {
      const TensorList& ins = self.records[r - 1].inputs;
      for (size_t k = 0; k < ins.size(); ++k)
        if (ins[k].defined()) oldest_reader.get(ins[k].id()) = r;  // 1-based; 0 = never read
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      size_t oldest = 0;
      for (uint64_t id : sources[i].ids)
        if (size_t* r = oldest_reader.find(id); r && *r && (!oldest || *r < oldest)) oldest = *r;
      if (oldest)
        final_after.emplace_back(oldest, i);
      else
        finish(i);
    }
    std::sort(final_after.begin(), final_after.end(), std::greater<>());
  }
  size_t next_final = 0;
  // Newest first. With `release` the record visited last is always the vector's last one, so
  // popping it destroys it once, as soon as the walk has moved past it.
  for (size_t idx = self.records.size(); idx > 0 && pending > 0; --idx) {
    for (; next_final < final_after.size() && final_after[next_final].first > idx; ++next_final)
      finish(final_after[next_final].second);
    if (release && self.records.size() > idx) self.records.pop_back();
    TapeRecord& rec = self.records[idx - 1];
    Tensor* g = grads.find(rec.output.id());
    if (!g || !g->defined()) continue;
    Tensor upstream = *g;
    if (!source_ids.contains(rec.output.id())) {
      *g = Tensor();
      --pending;
    }
    // As TensorFlow: a gradient runs on the device its forward op ran on (the output's), and
    // so does the accumulation below, whatever scope gradient() was called in.
    std::optional<DeviceScope> on_forward_device;
    if (rec.output.device_info() != current_device())
      on_forward_device.emplace(rec.output.device_info());
    GradCall call(rec.inputs, rec.output, upstream, rec.needs);
    GradList in_grads = rec.grad(call);
    if (in_grads.size() != rec.inputs.size())
      throw InternalError(str_cat("Tape invariant broken: the gradient of ",
                                  rec.name,
                                  " returned ",
                                  in_grads.size(),
                                  " tensors for ",
                                  rec.inputs.size(),
                                  " inputs (a tapeflow bug; please report)"));
    for (size_t i = 0; i < rec.inputs.size(); ++i) {
      if (!call.needs(int(i)) || !in_grads[i].defined()) continue;
      Tensor& acc = grads.get(rec.inputs[i].id());
      if (acc.defined()) {
        acc = add(acc, in_grads[i]);  // a tensor used twice: gradients accumulate
      } else {
        acc = in_grads[i];
        ++pending;
      }
    }
  }
  if (release) self.records.clear();
  for (; next_final < final_after.size(); ++next_final) finish(final_after[next_final].second);
  for (size_t i = 0; i < sources.size(); ++i)
    if (!finished[i]) finish(i);
  return out;
}

}  // namespace
}  // namespace tapeflow::detail

namespace tapeflow {

using detail::TapeImpl;

GradientTape::GradientTape(TapeOptions options) : impl_(std::make_unique<TapeImpl>()) {
  impl_->options = options;
  detail::tape_stack().push_back(impl_.get());
  impl_->set_recording(true);
}

GradientTape::~GradientTape() {
  impl_->set_recording(false);
  auto& s = detail::tape_stack();
  for (auto it = s.begin(); it != s.end(); ++it)
    if (*it == impl_.get()) {
      s.erase(it);
      break;
    }
}

void GradientTape::watch(const Source& s) {
  if (s.is_variable())
    impl_->watch_variable(s.variable());
  else
    impl_->watch_tensor(s.tensor());
}

void GradientTape::watch(const std::vector<Source>& sources) {
  for (const Source& s : sources) watch(s);
}
void GradientTape::watch(const std::vector<Variable>& variables) {
  for (const Variable& v : variables) impl_->watch_variable(v);
}
void GradientTape::watch(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) impl_->watch_tensor(t);
}

static void mark_used(TapeImpl& t) {
  if (t.used && !t.options.persistent)
    throw RuntimeError(
        "A non-persistent GradientTape can only be used to compute one set of gradients (or "
        "jacobians)");
  t.used = true;
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target,
                                           const std::vector<Source>& sources,
                                           const Tensor& output_gradients,
                                           UnconnectedGradients unconnected) {
  mark_used(*impl_);
  std::vector<detail::SourceIds> src;
  src.reserve(sources.size());
  for (const Source& s : sources) {
    src.push_back(detail::resolve_source(*impl_, s));
    if (!src.back().value.defined())
      throw InvalidArgumentError("GradientTape.gradient: a source is undefined");
  }
  if (impl_->options.persistent)
    return detail::backward(*impl_, target, src, output_gradients, unconnected);
  // As TF, a non-persistent tape is done after its one gradient: it frees its records during
  // the walk and records nothing more (reset() starts it again).
  std::vector<Tensor> out =
      detail::backward(*impl_, target, src, output_gradients, unconnected, /*release=*/true);
  impl_->stopped_by_gradient = impl_->recording;
  impl_->set_recording(false);
  return out;
}

Tensor GradientTape::gradient(const Tensor& target,
                              const Source& source,
                              const Tensor& output_gradients,
                              UnconnectedGradients unconnected) {
  return gradient(target, std::vector<Source>{source}, output_gradients, unconnected)[0];
}
std::vector<Tensor> GradientTape::gradient(const Tensor& target,
                                           const std::vector<Variable>& sources,
                                           const Tensor& output_gradients,
                                           UnconnectedGradients unconnected) {
  return gradient(
      target, std::vector<Source>(sources.begin(), sources.end()), output_gradients, unconnected);
}
std::vector<Tensor> GradientTape::gradient(const Tensor& target,
                                           const std::vector<Tensor>& sources,
                                           const Tensor& output_gradients,
                                           UnconnectedGradients unconnected) {
  return gradient(
      target, std::vector<Source>(sources.begin(), sources.end()), output_gradients, unconnected);
}

namespace {
/// d target / d source, one backward pass per element of target (the tape is kept).
Tensor jacobian_of(TapeImpl& tape,
                   const Tensor& target,
                   const Source& source,
                   UnconnectedGradients unconnected) {
  const detail::SourceIds src = detail::resolve_source(tape, source);
  const Tensor& x = src.value;
  const int64_t n = target.num_elements();
  std::vector<Tensor> rows;
  rows.reserve(size_t(n));
  Tensor flat_eye = eye(n, n, target.dtype());
  for (int64_t i = 0; i < n; ++i) {
    Tensor seed = reshape(slice(flat_eye, {i, 0}, {1, n}), target.shape());
    Tensor g = detail::backward(tape, target, {src}, seed, unconnected)[0];
    if (!g.defined()) return Tensor();
    rows.push_back(g);
  }
  std::vector<int64_t> dims = target.shape().dims();
  for (int64_t d : x.shape()) dims.push_back(d);
  if (n == 0) return zeros(Shape(dims), x.dtype());
  return reshape(stack(rows, 0), Shape(dims));
}
}  // namespace

Tensor GradientTape::jacobian(const Tensor& target,
                              const Source& source,
                              UnconnectedGradients unconnected) {
  mark_used(*impl_);
  return jacobian_of(*impl_, target, source, unconnected);
}
std::vector<Tensor> GradientTape::jacobian(const Tensor& target,
                                           const std::vector<Source>& sources,
                                           UnconnectedGradients unconnected) {
  mark_used(*impl_);
  std::vector<Tensor> out;
  out.reserve(sources.size());
  for (const Source& s : sources) out.push_back(jacobian_of(*impl_, target, s, unconnected));
  return out;
}
std::vector<Tensor> GradientTape::jacobian(const Tensor& target,
                                           const std::vector<Variable>& sources,
                                           UnconnectedGradients unconnected) {
  return jacobian(target, std::vector<Source>(sources.begin(), sources.end()), unconnected);
}
std::vector<Tensor> GradientTape::jacobian(const Tensor& target,
                                           const std::vector<Tensor>& sources,
                                           UnconnectedGradients unconnected) {
  return jacobian(target, std::vector<Source>(sources.begin(), sources.end()), unconnected);
}

Tensor GradientTape::batch_jacobian(const Tensor& target,
                                    const Source& source,
                                    UnconnectedGradients unconnected) {
  mark_used(*impl_);
  const detail::SourceIds src = detail::resolve_source(*impl_, source);
  const Tensor& x = src.value;
  if (target.rank() < 1 || x.rank() < 1 || target.shape()[0] != x.shape()[0])
    throw InvalidArgumentError(detail::str_cat(
        "batch_jacobian needs target and source with the same first (batch) dimension; got ",
        target.shape(),
        " and ",
        x.shape()));
  const int64_t b = target.shape()[0];
  const int64_t m = target.num_elements() / std::max<int64_t>(b, 1);
  std::vector<Tensor> cols;
  Tensor eye_m = eye(m, m, target.dtype());
  for (int64_t j = 0; j < m; ++j) {
    // Seed element j of every batch row at once: rows are independent by assumption.
    Tensor row = reshape(slice(eye_m, {j, 0}, {1, m}), Shape{1, m});
    Tensor seed = reshape(broadcast_to(row, Shape{b, m}), target.shape());
    Tensor g = detail::backward(*impl_, target, {src}, seed, unconnected)[0];
    if (!g.defined()) return Tensor();
    cols.push_back(reshape(g, Shape{b, x.num_elements() / std::max<int64_t>(b, 1)}));
  }
  std::vector<int64_t> dims = target.shape().dims();
  for (int i = 1; i < x.rank(); ++i) dims.push_back(x.shape()[i]);
  if (m == 0) return zeros(Shape(dims), x.dtype());
  return reshape(stack(cols, 1), Shape(dims));
}

GradientTape::Pause::Pause(detail::TapeImpl* t) : tape_(t), was_recording_(t->recording) {
  t->set_recording(false);
}
GradientTape::Pause::~Pause() { tape_->set_recording(was_recording_); }

GradientTape::Pause GradientTape::stop_recording() { return Pause(impl_.get()); }

void GradientTape::reset() {
  impl_->records.clear();
  impl_->watched.clear();
  impl_->variables.clear();
  impl_->variable_values.clear();
  impl_->used = false;
  if (impl_->stopped_by_gradient) impl_->set_recording(true);
  impl_->stopped_by_gradient = false;
}

std::vector<Variable> GradientTape::watched_variables() const { return impl_->variables; }

// ---- custom_gradient ------------------------------------------------------------------------

Tensor custom_gradient(const std::vector<Tensor>& inputs,
                       const ForwardFunction& forward,
                       const GradFunction& backward) {
  Tensor y;
  {
    // The forward pass is opaque to every tape: only the single custom op is recorded.
    std::vector<std::pair<TapeImpl*, bool>> saved;
    for (TapeImpl* t : detail::tape_stack()) {
      saved.emplace_back(t, t->recording);
      t->set_recording(false);
    }
    struct Restore {
      std::vector<std::pair<TapeImpl*, bool>>& s;
      ~Restore() {
        for (auto& [t, r] : s) t->set_recording(r);
      }
    } restore{saved};
    y = forward(inputs);
  }
  if (!y.defined())
    throw InvalidArgumentError("custom_gradient: forward returned an undefined tensor");
  // A fresh id, so the record's output is never one of its inputs.
  Tensor out = detail::view_as(y, y.shape());
  auto rule = [backward](const detail::GradCall& g) -> detail::GradList {
    std::vector<Tensor> ins;
    for (int i = 0; i < g.num_inputs(); ++i) ins.push_back(g.input(i));
    std::vector<Tensor> r = backward(g.upstream(), ins, g.output());
    if (r.size() != ins.size())
      throw InvalidArgumentError(detail::str_cat("custom_gradient: backward returned ",
                                                 r.size(),
                                                 " gradients for ",
                                                 ins.size(),
                                                 " inputs"));
    return r;
  };
  detail::record_op("CustomGradient", inputs, out, rule);
  return out;
}

std::function<Tensor(const std::vector<Tensor>&)> custom_gradient(ForwardFunction forward,
                                                                  GradFunction backward) {
  return [forward = std::move(forward), backward = std::move(backward)](
             const std::vector<Tensor>& in) { return custom_gradient(in, forward, backward); };
}

}  // namespace tapeflow
