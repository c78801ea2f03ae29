#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <variant>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow {

namespace detail {
struct TapeImpl;
}

/// What gradient() returns for a source the target does not depend on.
enum class UnconnectedGradients { None, Zero };

struct TapeOptions {
  bool persistent = false;
  bool watch_accessed_variables = true;
};

/// A source or watch target: a tensor or a variable.
class TAPEFLOW_API Source {
 public:
  Source(const Tensor& t) : tensor_(t) {}  // NOLINT(google-explicit-constructor)
  Source(const Variable& v) : var_(v) {}   // NOLINT(google-explicit-constructor)
  bool is_variable() const { return var_.defined(); }
  const Tensor& tensor() const { return tensor_; }
  const Variable& variable() const { return var_; }

 private:
  Tensor tensor_;
  Variable var_;
};

/// Records the ops run on this thread while alive and computes reverse-mode gradients.
/// See docs/gradient-tape.md. Not copyable or movable: it registers itself per thread.
class TAPEFLOW_API GradientTape {
 public:
  explicit GradientTape(TapeOptions options = {});
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  void watch(const Source& s);
  void watch(const std::vector<Source>& sources);
  /// A braced list (`watch({x})`, `gradient(y, {w})`) picks the list overloads: without these,
  /// one-element lists are ambiguous between Source and std::vector<Source>.
  void watch(std::initializer_list<Source> sources) { watch(std::vector<Source>(sources)); }
  /// `tape.watch(model.trainable_variables())` and a vector of tensors, as written in TF.
  void watch(const std::vector<Variable>& variables);
  void watch(const std::vector<Tensor>& tensors);

  /// d(sum of target)/d source.
  Tensor gradient(const Tensor& target,
                  const Source& source,
                  const Tensor& output_gradients = Tensor(),
                  UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> gradient(const Tensor& target,
                               const std::vector<Source>& sources,
                               const Tensor& output_gradients = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> gradient(const Tensor& target,
                               std::initializer_list<Source> sources,
                               const Tensor& output_gradients = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::None) {
    return gradient(target, std::vector<Source>(sources), output_gradients, unconnected);
  }
  /// `tape.gradient(loss, model.trainable_variables())`, TF's most common line, and a vector of
  /// tensors: one gradient per source, in order.
  std::vector<Tensor> gradient(const Tensor& target,
                               const std::vector<Variable>& sources,
                               const Tensor& output_gradients = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> gradient(const Tensor& target,
                               const std::vector<Tensor>& sources,
                               const Tensor& output_gradients = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// Shape target.shape + source.shape.
  Tensor jacobian(const Tensor& target,
                  const Source& source,
                  UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// One jacobian per source (TF's list form); a braced list picks this form too.
  std::vector<Tensor> jacobian(const Tensor& target,
                               const std::vector<Source>& sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> jacobian(const Tensor& target,
                               std::initializer_list<Source> sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None) {
    return jacobian(target, std::vector<Source>(sources), unconnected);
  }
  std::vector<Tensor> jacobian(const Tensor& target,
                               const std::vector<Variable>& sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  std::vector<Tensor> jacobian(const Tensor& target,
                               const std::vector<Tensor>& sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// target [b, ...] and source [b, ...]: shape [b] + target.shape[1:] + source.shape[1:].
  Tensor batch_jacobian(const Tensor& target,
                        const Source& source,
                        UnconnectedGradients unconnected = UnconnectedGradients::None);

  /// While the returned object lives, this tape records nothing.
  class TAPEFLOW_API Pause {
   public:
    explicit Pause(detail::TapeImpl* t);
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

   private:
    detail::TapeImpl* tape_;
    bool was_recording_;
  };
  [[nodiscard]] Pause stop_recording();
  /// Forget everything recorded and watched so far.
  void reset();
  std::vector<Variable> watched_variables() const;

 private:
  std::unique_ptr<detail::TapeImpl> impl_;
};

using GradFunction = std::function<std::vector<Tensor>(
    const Tensor& upstream, const std::vector<Tensor>& inputs, const Tensor& output)>;
using ForwardFunction = std::function<Tensor(const std::vector<Tensor>& inputs)>;

/// User-defined gradient (tf.custom_gradient): `forward` runs unrecorded; tapes record one op
/// whose gradient rule is `backward(upstream, inputs, output)`, returning one tensor per input
/// (an undefined tensor for none).
TAPEFLOW_API Tensor custom_gradient(const std::vector<Tensor>& inputs,
                                    const ForwardFunction& forward,
                                    const GradFunction& backward);
/// The decorator form: returns a callable over the inputs.
TAPEFLOW_API std::function<Tensor(const std::vector<Tensor>&)> custom_gradient(
    ForwardFunction forward, GradFunction backward);

}  // namespace tapeflow
