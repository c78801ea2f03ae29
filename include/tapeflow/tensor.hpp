#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "tapeflow/device.hpp"
#include "tapeflow/dtype.hpp"
#include "tapeflow/errors.hpp"
#include "tapeflow/export.hpp"
#include "tapeflow/shape.hpp"

namespace tapeflow {

namespace detail {
struct TensorImpl;
}

/// A cheap, copyable handle to an immutable value on one device.
class TAPEFLOW_API Tensor {
 public:
  /// The undefined tensor (`defined() == false`), as returned for unconnected gradients.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  DType dtype() const;
  int rank() const { return shape().rank(); }
  int64_t num_elements() const { return shape().num_elements(); }
  /// Full device name, e.g. `/job:localhost/replica:0/task:0/device:CPU:0`.
  std::string device() const;
  Device device_info() const;

  /// The single element converted to T; InvalidArgumentError unless num_elements() == 1.
  template <Element T>
  T item() const;
  /// All elements in row-major order, converted to T, copied to the host.
  template <Element T>
  std::vector<T> to_vector() const;
  /// A copy on the CPU (the same tensor when it is already there).
  Tensor cpu() const;
  /// A copy on `device` ("/cpu:0", "/gpu:0", ...).
  Tensor to(const std::string& device) const;

  /// The values as an `xt::xarray<T>` (a host copy). Defined in the opt-in header
  /// <tapeflow/xtensor.hpp>; include it to call this.
  template <Element T>
  auto to_xarray() const;

  /// Unique id of this value (what a GradientTape tracks).
  uint64_t id() const;
  /// Host pointer to the first element; FailedPreconditionError for non-CPU tensors.
  const void* data() const;

  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

/// Prints as TensorFlow: `tf.Tensor([1. 2. 3.], shape=(3,), dtype=float32)`.
TAPEFLOW_API std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// The NumPy-style text of the values alone (`[1. 2. 3.]`).
TAPEFLOW_API std::string to_string(const Tensor& t);

namespace detail {
TAPEFLOW_API Tensor
make_tensor(const void* data, DType src, int64_t count, const Shape& shape, DType dst);
TAPEFLOW_API void copy_out(const Tensor& t, void* dst, DType dst_dtype);
}  // namespace detail

template <Element T>
T Tensor::item() const {
  if (!defined() || num_elements() != 1)
    throw InvalidArgumentError("item() needs a tensor of exactly one element; got shape " +
                               (defined() ? shape().to_string() : std::string("<undefined>")));
  T v;
  detail::copy_out(*this, &v, dtype_of_v<T>);
  return v;
}

template <Element T>
std::vector<T> Tensor::to_vector() const {
  if (!defined()) throw InvalidArgumentError("to_vector() on an undefined tensor");
  std::vector<T> out(static_cast<size_t>(num_elements()));
  if constexpr (std::is_same_v<T, bool>) {
    std::unique_ptr<bool[]> tmp(new bool[out.size()]);
    detail::copy_out(*this, tmp.get(), DType::boolean);
    for (size_t i = 0; i < out.size(); ++i) out[i] = tmp[i];
  } else {
    detail::copy_out(*this, out.data(), dtype_of_v<T>);
  }
  return out;
}

// ---- creation ---------------------------------------------------------------------------------

TAPEFLOW_API Tensor cast_constant_helper(const Tensor& t, DType dtype);

/// A 0-d tensor holding `value`; its dtype follows the C++ type.
template <Element T>
Tensor constant(T value) {
  return detail::make_tensor(&value, dtype_of_v<T>, 1, Shape{}, dtype_of_v<T>);
}
/// A 0-d tensor holding `value` converted to `dtype`.
template <Element T>
Tensor constant(T value, DType dtype) {
  return detail::make_tensor(&value, dtype_of_v<T>, 1, Shape{}, dtype);
}
/// A tensor of `shape` from row-major `values`; sizes must agree.
template <Element T>
Tensor constant(const std::vector<T>& values, const Shape& shape) {
  if constexpr (std::is_same_v<T, bool>) {
    // std::vector<bool> packs bits and has no data(): copy into plain bools.
    std::unique_ptr<bool[]> tmp(new bool[values.size()]);
    for (size_t i = 0; i < values.size(); ++i) tmp[i] = values[i];
    return detail::make_tensor(
        tmp.get(), DType::boolean, int64_t(values.size()), shape, DType::boolean);
  } else {
    return detail::make_tensor(
        values.data(), dtype_of_v<T>, int64_t(values.size()), shape, dtype_of_v<T>);
  }
}
/// A 1-d tensor.
template <Element T>
Tensor constant(std::initializer_list<T> values) {
  return constant(std::vector<T>(values), Shape{int64_t(values.size())});
}
/// A 2-d tensor from nested braces; rows must have equal length.
template <Element T>
Tensor constant(std::initializer_list<std::initializer_list<T>> rows) {
  std::vector<T> v;
  int64_t cols = rows.size() ? int64_t(rows.begin()->size()) : 0;
  for (auto& r : rows) {
    if (int64_t(r.size()) != cols)
      throw InvalidArgumentError("constant(): rows of a nested initializer have different lengths");
    v.insert(v.end(), r.begin(), r.end());
  }
  return constant(v, Shape{int64_t(rows.size()), cols});
}
template <Element T>
Tensor constant(const std::vector<T>& values, const Shape& shape, DType dtype) {
  return cast_constant_helper(constant(values, shape), dtype);
}

TAPEFLOW_API Tensor zeros(const Shape& shape, DType dtype = float32);
TAPEFLOW_API Tensor ones(const Shape& shape, DType dtype = float32);
/// A tensor of `shape` filled with `value` (dtype from the C++ type).
TAPEFLOW_API Tensor fill(const Shape& shape, const Tensor& value);
template <Element T>
Tensor fill(const Shape& shape, T value) {
  return fill(shape, constant(value));
}
TAPEFLOW_API Tensor zeros_like(const Tensor& x);
TAPEFLOW_API Tensor ones_like(const Tensor& x);
/// [start, limit) by delta, as tf.range; dtype from the C++ type.
TAPEFLOW_API Tensor range(double start, double limit, double delta, DType dtype);
template <Element T>
Tensor range(T start, T limit, T delta = T(1)) {
  return range(double(start), double(limit), double(delta), dtype_of_v<T>);
}
template <Element T>
Tensor range(T limit) {
  return range(0.0, double(limit), 1.0, dtype_of_v<T>);
}
/// `num` evenly spaced values from start to stop inclusive (float32 unless float64 given).
TAPEFLOW_API Tensor linspace(double start, double stop, int64_t num, DType dtype = float32);
/// The n×n identity (or n×m).
TAPEFLOW_API Tensor eye(int64_t n, int64_t m = -1, DType dtype = float32);

namespace random {
/// Seeds the global generator: the same seed gives the same numbers on the same device.
TAPEFLOW_API void set_seed(uint64_t seed);
TAPEFLOW_API Tensor normal(const Shape& shape,
                           double mean = 0.0,
                           double stddev = 1.0,
                           DType dtype = float32);
TAPEFLOW_API Tensor uniform(const Shape& shape,
                            double minval = 0.0,
                            double maxval = 1.0,
                            DType dtype = float32);
/// Normal samples more than 2 stddev from the mean are drawn again.
TAPEFLOW_API Tensor truncated_normal(const Shape& shape,
                                     double mean = 0.0,
                                     double stddev = 1.0,
                                     DType dtype = float32);

/// A random stream of its own, as tf.random.Generator: a seed and a counter that each draw
/// advances. Copies share the stream. Draws from one generator on several threads are safe
/// (each takes the next counter value), but their order is then the threads' order.
class TAPEFLOW_API Generator {
 public:
  static Generator from_seed(uint64_t seed);
  Tensor normal(const Shape& shape, double mean = 0.0, double stddev = 1.0, DType dtype = float32);
  Tensor uniform(const Shape& shape,
                 double minval = 0.0,
                 double maxval = 1.0,
                 DType dtype = float32);
  Tensor truncated_normal(const Shape& shape,
                          double mean = 0.0,
                          double stddev = 1.0,
                          DType dtype = float32);
  uint64_t seed() const;
  /// Restarts the stream: the next draws repeat those after from_seed(seed).
  void reset_from_seed(uint64_t seed);

  struct State;

 private:
  explicit Generator(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
  friend class GeneratorScope;
};

/// While alive, the random ops of this thread that have no generator or seed of their own
/// (random::normal/uniform/truncated_normal, the layers' weight initialisers, dropout without
/// a seed) draw from `g` instead of the global generator. Threads that each build and train a
/// model under their own scope get the same weights as a serial run. Scopes nest.
class TAPEFLOW_API GeneratorScope {
 public:
  explicit GeneratorScope(const Generator& g);
  ~GeneratorScope();
  GeneratorScope(const GeneratorScope&) = delete;
  GeneratorScope& operator=(const GeneratorScope&) = delete;

 private:
  std::shared_ptr<Generator::State> previous_;
};
}  // namespace random

}  // namespace tapeflow
