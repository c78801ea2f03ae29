#pragma once

// Uniform draws for the ops that take an optional seed (src/ops/random_ext.cpp, image.cpp).
// Internal; not installed.

#include <optional>
#include <vector>

#include "tapeflow/tensor.hpp"

namespace tapeflow::detail {

/// Uniform [0, 1) float64 values of `shape` on the current device: with a seed, the fixed
/// Philox stream (seed, stream) (same numbers on every device and call); without, the
/// global (or scoped) generator's next draw.
Tensor seeded_uniform(const char* op,
                      const Shape& shape,
                      std::optional<uint64_t> seed,
                      uint64_t stream);
/// The same n values on the host.
std::vector<double> seeded_uniform_host(const char* op,
                                        int64_t n,
                                        std::optional<uint64_t> seed,
                                        uint64_t stream);

}  // namespace tapeflow::detail
