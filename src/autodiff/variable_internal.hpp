#pragma once

// Variable operations for the library's own use (optimizers), not part of the public API.

#include "backend/backend.hpp"
#include "tapeflow/variable.hpp"

namespace tapeflow::detail {

/// One fused Adam step (Backend::apply_adam) on `var` and its slots `m`, `v`, written into their
/// buffers. Returns false, having done nothing, unless all three are writable in place (nobody
/// else holds their values) and share `grad`'s device, shape and floating dtype; the caller
/// then takes the unfused path, which gives the same bits.
bool apply_adam_in_place(const Variable& var,
                         const Variable& m,
                         const Variable& v,
                         const Tensor& grad,
                         const AdamAttrs& attrs);

}  // namespace tapeflow::detail
