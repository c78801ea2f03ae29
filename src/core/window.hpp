#pragma once

// The geometry of a 2-D sliding window (conv2d and the pools, on NHWC images), written once:
// the front ends (src/ops/conv.cpp) and the Keras layers (src/nn/layers.cpp) size outputs and
// padding with window_axis(); the CPU (src/cpu/nn.cpp) and CUDA (cuda/kernels/nn.cuh) kernels
// clip windows to the image with valid_span().

#include <cstdint>

#include "core/host_device.hpp"

namespace tapeflow::detail {

/// One axis of a window op: the output length and the implicit padding before the input.
struct WindowAxis {
  int64_t out, pad_before;
};
/// As TensorFlow computes them for input length `in`, window `k`, stride `s` and dilation `d`
/// (the window then spans k_eff = (k - 1)·d + 1 cells; callers check that this fits in int64):
/// SAME gives out = ceil(in / s), pad_total = max((out - 1)·s + k_eff - in, 0) and
/// pad_total / 2 before; VALID gives out = (in - k_eff) / s + 1 (0 when k_eff > in; the ops
/// refuse that case first) and no padding.
TAPEFLOW_HD constexpr WindowAxis window_axis(
    int64_t in, int64_t k, int64_t s, bool same, int64_t d = 1) {
  k = (k - 1) * d + 1;
  if (same) {
    // Written so that no intermediate overflows for any in, k >= 0 and s >= 1: (out - 1)·s
    // lies in (in - s, in), so in - (out - 1)·s is in [1, s].
    const int64_t out = in > 0 ? (in - 1) / s + 1 : 0;
    const int64_t pad_total = k - (in - (out - 1) * s);
    return {out, (pad_total > 0 ? pad_total : 0) / 2};
  }
  return {in >= k ? (in - k) / s + 1 : 0, 0};
}

/// The taps [k0, k1) of a window of `k` taps starting at `start` (negative in the padding)
/// that lie inside an axis of length `len`.
struct Span {
  int64_t k0, k1;
};
TAPEFLOW_HD constexpr Span valid_span(int64_t start, int64_t k, int64_t len) {
  return {start < 0 ? -start : 0, k < len - start ? k : len - start};
}

}  // namespace tapeflow::detail
