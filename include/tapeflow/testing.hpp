#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::test {

using TestFunction = std::function<Tensor(std::vector<Tensor>&)>;

/// As tf.test.compute_gradient: for each input x_i, the theoretical Jacobian (from a tape) and
/// the numerical one (float64 central differences), each of shape [x_i.size, y.size].
TAPEFLOW_API std::pair<std::vector<Tensor>, std::vector<Tensor>> compute_gradient(
    const TestFunction& f, const std::vector<Tensor>& inputs, double delta = -1.0);
/// The largest absolute difference between the theoretical and numerical Jacobians.
TAPEFLOW_API double max_gradient_error(const TestFunction& f,
                                       const std::vector<Tensor>& inputs,
                                       double delta = -1.0);

}  // namespace tapeflow::test
