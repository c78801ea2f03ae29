#pragma once

// The hook run_op calls after each kernel while tf::debugging::enable_check_numerics() is on.
// Disabled, it costs run_op one relaxed atomic load.

#include <atomic>

#include "ops/run_op.hpp"

namespace tapeflow::detail {

extern std::atomic<bool> g_check_numerics;

inline bool check_numerics_on() { return g_check_numerics.load(std::memory_order_relaxed); }

/// InvalidArgumentError "Op <op> produced Inf/NaN in its output ..." when the floating tensor
/// `out` holds a NaN or ±Inf; `inputs` only supply the shapes for the message.
void check_op_output(const char* op, InputList inputs, const Tensor& out);

}  // namespace tapeflow::detail
