#pragma once

#include <string>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::debugging {

/// Returns `t` unchanged when it holds no NaN or ±Inf; otherwise InvalidArgumentError
/// "<message> : Tensor had NaN values [Op:CheckNumerics]" (or "Inf", or "Inf and NaN").
/// Integer and bool tensors always pass.
TAPEFLOW_API Tensor check_numerics(const Tensor& t, const std::string& message);

/// From now on, on every thread, each op's floating output (gradient ops included) is checked
/// after its kernel runs; the first NaN or ±Inf throws InvalidArgumentError naming the op and
/// its input shapes. Costs a device-to-host copy per op on a GPU; for debugging only.
TAPEFLOW_API void enable_check_numerics();
/// Turns the checks of enable_check_numerics() off again.
TAPEFLOW_API void disable_check_numerics();
/// Whether enable_check_numerics() is in effect.
TAPEFLOW_API bool check_numerics_enabled();

}  // namespace tapeflow::debugging
