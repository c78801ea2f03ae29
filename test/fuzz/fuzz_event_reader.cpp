// libFuzzer harness: the tests' event-file reader (test/io/event_reader.hpp): TFRecord framing
// with CRCs, then every record decoded as a TensorBoard Event. The record CRCs would stop the
// fuzzer at the framing, so when the first input byte is odd the rest of the input is taken as
// a list of records (2-byte length, then the bytes) and framed with correct CRCs first; when it
// is even the rest is read as a raw file. Property: only tf::DataLossError escapes.
#include <algorithm>
#include <cstdint>
#include <string>

#include "io/event_reader.hpp"

namespace ev = test::events;

namespace {

void put_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out += char(v >> (8 * i));
}

/// Frames chunks of `in` as TFRecords with correct checksums.
std::string frame(const uint8_t* p, size_t n) {
  std::string out;
  size_t pos = 0;
  while (n - pos >= 2) {
    size_t len = size_t(p[pos]) | size_t(p[pos + 1]) << 8;
    pos += 2;
    len = std::min(len, n - pos);
    std::string header;
    put_le(header, len, 8);
    out += header;
    put_le(out,
           ev::masked(ev::crc32c_bitwise(reinterpret_cast<const unsigned char*>(header.data()), 8)),
           4);
    out.append(reinterpret_cast<const char*>(p + pos), len);
    put_le(out, ev::masked(ev::crc32c_bitwise(p + pos, len)), 4);
    pos += len;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string file = (data[0] & 1)
                               ? frame(data + 1, size - 1)
                               : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    for (const std::string& record : ev::read_records(file)) ev::decode_event(record);
  } catch (const tapeflow::DataLossError&) {
  }
  return 0;
}
