#include "io/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <vector>

#include "core/fail.hpp"

namespace tapeflow::detail {

namespace {

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFFu));
}

/// One chunk: length (big-endian), type, data, CRC-32 (zlib's, PNG's) of type + data.
void put_chunk(std::string& out, const char type[4], const unsigned char* data, size_t n) {
  put_be32(out, static_cast<uint32_t>(n));
  size_t start = out.size();
  out.append(type, 4);
  if (n) out.append(reinterpret_cast<const char*>(data), n);
  uLong crc = ::crc32(0L, Z_NULL, 0);
  crc = ::crc32(crc, reinterpret_cast<const Bytef*>(out.data() + start), uInt(4 + n));
  put_be32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int channels) {
  static constexpr unsigned char kColorType[5] = {0, 0, 4, 2, 6};  // by channel count
  if (channels < 1 || channels > 4 || height <= 0 || width <= 0 || height > 0x7FFFFFFF ||
      width > 0x7FFFFFFF)
    fail<InvalidArgumentError>("EncodePng",
                               "cannot encode a ",
                               height,
                               "x",
                               width,
                               "x",
                               channels,
                               " image as PNG (need positive sizes and 1 to 4 channels)");
  // Raw scanlines, each led by its filter type (0: none); zlib does the compression.
  const size_t row = size_t(width) * size_t(channels);
  std::vector<unsigned char> raw((row + 1) * size_t(height));
  for (int64_t y = 0; y < height; ++y) {
    unsigned char* dst = raw.data() + size_t(y) * (row + 1);
    dst[0] = 0;
    std::copy(pixels + size_t(y) * row, pixels + size_t(y + 1) * row, dst + 1);
  }
  uLongf zlen = compressBound(uLong(raw.size()));
  std::vector<unsigned char> z(zlen);
  if (compress2(z.data(), &zlen, raw.data(), uLong(raw.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    fail<InternalError>(
        "EncodePng", "zlib compress2 failed for a ", height, "x", width, "x", channels, " image");

  std::string out("\x89PNG\r\n\x1a\n", 8);
  unsigned char ihdr[13];
  for (int i = 0; i < 4; ++i) {
    ihdr[i] = static_cast<unsigned char>((uint32_t(width) >> (24 - 8 * i)) & 0xFFu);
    ihdr[4 + i] = static_cast<unsigned char>((uint32_t(height) >> (24 - 8 * i)) & 0xFFu);
  }
  ihdr[8] = 8;  // bit depth
  ihdr[9] = kColorType[channels];
  ihdr[10] = ihdr[11] = ihdr[12] = 0;  // deflate, adaptive filtering, no interlace
  put_chunk(out, "IHDR", ihdr, sizeof(ihdr));
  put_chunk(out, "IDAT", z.data(), zlen);
  put_chunk(out, "IEND", nullptr, 0);
  return out;
}

}  // namespace tapeflow::detail
