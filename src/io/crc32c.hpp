#pragma once

// CRC-32C (Castagnoli), the checksum of TFRecord framing, and TFRecord's masked form of it.

#include <cstddef>
#include <cstdint>

namespace tapeflow::detail {

/// CRC-32C of `n` bytes, continuing from a previous result `crc` (0 to start).
/// crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

/// TFRecord's mask, so that a CRC stored inside checksummed data does not checksum to a
/// constant: rotate right by 15 bits, add 0xa282ead8.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace tapeflow::detail
