#pragma once

// A minimal PNG encoder (8-bit, no interlacing, filter 0 on every row) over zlib, for image
// summaries; TensorBoard's image dashboard shows the PNG bytes as they are.

#include <cstdint>
#include <string>

namespace tapeflow::detail {

/// PNG file bytes of a `height` x `width` image with `channels` interleaved 8-bit samples per
/// pixel, rows top to bottom: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int channels);

}  // namespace tapeflow::detail
