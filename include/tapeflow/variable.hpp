#pragma once

#include <memory>
#include <string>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow {

namespace detail {
struct VariableImpl;
}

struct VariableOptions {
  std::string name = "Variable";
  bool trainable = true;
};

/// A mutable, shared tensor (copies refer to the same storage). Converts implicitly to
/// Tensor; a read while a GradientTape records makes the tape watch it (when trainable).
class TAPEFLOW_API Variable {
 public:
  Variable() = default;
  explicit Variable(const Tensor& initial_value, VariableOptions options = {});

  /// The current value; tapes recording on this thread watch this read.
  Tensor value() const;
  operator Tensor() const { return value(); }  // NOLINT(google-explicit-constructor)

  /// Replace the value in place. Shape and dtype must match (InvalidArgumentError).
  void assign(const Tensor& t) const;
  void assign_add(const Tensor& t) const;
  void assign_sub(const Tensor& t) const;

  const std::string& name() const;
  bool trainable() const;
  const Shape& shape() const;
  DType dtype() const;
  std::string device() const;
  bool defined() const { return impl_ != nullptr; }
  /// Stable identity of this variable (shared by its copies).
  uint64_t handle_id() const;
  /// The value without notifying tapes.
  Tensor peek() const;

  const std::shared_ptr<detail::VariableImpl>& impl() const { return impl_; }
  friend bool operator==(const Variable& a, const Variable& b) { return a.impl_ == b.impl_; }

 private:
  std::shared_ptr<detail::VariableImpl> impl_;
};

TAPEFLOW_API std::ostream& operator<<(std::ostream& os, const Variable& v);

}  // namespace tapeflow
