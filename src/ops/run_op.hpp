#pragma once

// run_op: the one path every primitive op takes. It picks the device (innermost DeviceScope),
// copies inputs that live elsewhere, allocates the output, calls the backend kernel, and
// records a tape entry when a live tape watches an input. Front ends validate before calling.

#include <array>
#include <functional>
#include <initializer_list>
#include <vector>

#include "backend/backend.hpp"
#include "core/fail.hpp"
#include "core/tensor_impl.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::detail {

/// A non-owning list of op inputs: from a braced list of named tensors (held by reference,
/// so building it touches no reference count) or from a vector owned by the caller.
class InputList {
 public:
  InputList() = default;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"  // by design: used within one full-expression
  InputList(std::initializer_list<std::reference_wrapper<const Tensor>> l)
      : refs_(l.begin()), n_(l.size()) {}
#pragma GCC diagnostic pop
  InputList(const std::vector<Tensor>& v) : vec_(v.data()), n_(v.size()) {}  // NOLINT
  size_t size() const { return n_; }
  const Tensor& operator[](size_t i) const { return vec_ ? vec_[i] : refs_[i].get(); }
  std::vector<Tensor> to_vector() const {
    std::vector<Tensor> v;
    v.reserve(n_);
    for (size_t i = 0; i < n_; ++i) v.push_back((*this)[i]);
    return v;
  }

 private:
  const std::reference_wrapper<const Tensor>* refs_ = nullptr;
  const Tensor* vec_ = nullptr;
  size_t n_ = 0;
};

/// A short list of tensors with room for three inline (most ops have one to three inputs).
class TensorList {
 public:
  TensorList() = default;
  TensorList(std::initializer_list<Tensor> l) {
    for (const Tensor& t : l) push_back(t);
  }
  TensorList(const std::vector<Tensor>& v) {  // NOLINT(google-explicit-constructor)
    for (const Tensor& t : v) push_back(t);
  }
  void push_back(Tensor t) {
    if (n_ < kInline) {
      small_[n_] = std::move(t);
    } else {
      if (n_ == kInline) big_.assign(small_.begin(), small_.end());
      big_.push_back(std::move(t));
    }
    ++n_;
  }
  size_t size() const { return n_; }
  const Tensor& operator[](size_t i) const { return n_ <= kInline ? small_[i] : big_[i]; }
  Tensor& operator[](size_t i) { return n_ <= kInline ? small_[i] : big_[i]; }

 private:
  static constexpr size_t kInline = 3;
  std::array<Tensor, kInline> small_;
  std::vector<Tensor> big_;
  size_t n_ = 0;
};

/// What a gradient rule sees: the forward op's inputs and output, and dL/d(output).
class GradCall {
 public:
  GradCall(const TensorList& inputs, const Tensor& output, const Tensor& upstream, uint64_t needs)
      : inputs_(inputs), output_(output), upstream_(upstream), needs_(needs) {}
  const Tensor& input(int i) const { return inputs_[size_t(i)]; }
  int num_inputs() const { return int(inputs_.size()); }
  const Tensor& output() const { return output_; }
  const Tensor& upstream() const { return upstream_; }
  /// Whether input i leads to a watched tensor (else its gradient is not computed).
  bool needs(int i) const { return i >= 64 || (needs_ >> i) & 1u; }

 private:
  const TensorList& inputs_;
  const Tensor& output_;
  const Tensor& upstream_;
  uint64_t needs_;
};

using GradList = TensorList;
using GradFn = std::function<GradList(const GradCall&)>;
using KernelFn = void (*)(Backend&, const KernelArgs&);

/// Which tensors an op's gradient rule reads the values of, given which inputs lead to watched
/// tensors (`needs`, bit i for input i): bit i of the result keeps input i, kSaveOutput the
/// output. A tape record holds the others only as shape-only stand-ins (same id, shape, dtype
/// and device, no data), so the tape does not keep alive memory its walk never reads (PyTorch's
/// saved tensors). A rule may still read every stand-in's shape, dtype and device. nullptr
/// keeps everything; inputs past the 63rd are always kept.
using SavesFn = uint64_t (*)(uint64_t needs);
inline constexpr uint64_t kSaveOutput = uint64_t(1) << 63;
namespace saves {
/// Linear rules that read shapes only (add, sub, neg, reduce_sum, cast, im2col).
inline uint64_t none(uint64_t) { return 0; }
/// Rules written in the output (exp: dy·y).
inline uint64_t output(uint64_t) { return kSaveOutput; }
/// Rules written in the first input (relu, erf).
inline uint64_t input0(uint64_t) { return 1; }
/// Bilinear z = f(x, y) (mul, matmul): dx reads y, dy reads x.
inline uint64_t cross(uint64_t needs) { return ((needs & 1) << 1) | ((needs >> 1) & 1); }
}  // namespace saves

struct OutSpec {
  Shape shape;
  DType dtype;
};

struct OpSpec {
  const char* name;
  InputList inputs;
  OutSpec out;
  KernelFn kernel;
  const void* attrs = nullptr;
  /// The gradient rule; empty for ops whose output has no gradient (bool/int results).
  GradFn grad = nullptr;
  /// What the rule reads (see SavesFn); nullptr: everything.
  SavesFn saves = nullptr;
};

Tensor run_op(OpSpec&& spec);

/// Records an already computed op on the tapes that watch one of its inputs (used by
/// run_op, custom_gradient and ops implemented as views).
void record_op(const char* name,
               InputList inputs,
               const Tensor& output,
               const GradFn& grad,
               SavesFn saves = nullptr);
/// Number of recording tapes on this thread (kept by the tapes; read on every op).
extern thread_local int t_recording_tapes;
/// True when some tape on this thread is recording.
inline bool any_tape_recording() { return t_recording_tapes > 0; }

// ---- validation helpers shared by front ends --------------------------------------------------

enum class Require { any, numeric, floating, boolean, integer };
inline bool dtype_allowed(DType d, Require req) {
  switch (req) {
    case Require::any:
      return true;
    case Require::numeric:
      return d != DType::boolean;
    case Require::floating:
      return is_floating(d);
    case Require::boolean:
      return d == DType::boolean;
    case Require::integer:
      return is_integer(d);
  }
  return false;
}
void check_defined(const char* op, const Tensor& t, int index);
void check_dtype(const char* op, const Tensor& t, Require req);
/// Same dtype for all inputs (TF's strict rule; no implicit promotion).
void check_same_dtype(const char* op, InputList ts);
/// NumPy broadcast of two shapes; InvalidArgumentError "Incompatible shapes: a vs. b".
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
/// Normalises a possibly negative axis; InvalidArgumentError when out of [-rank, rank).
int canonical_axis(const char* op, int axis, int rank);

/// Sums `g` over the axes that broadcasting added to reach `shape` (binary gradient rules).
Tensor unbroadcast(const Tensor& g, const Shape& shape);
/// x reinterpreted with another shape of the same size (no copy, fresh id, not recorded).
Tensor view_as(const Tensor& x, const Shape& shape);

}  // namespace tapeflow::detail
