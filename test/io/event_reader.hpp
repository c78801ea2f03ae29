#pragma once

// An event-file reader for the tests, written from the formats' descriptions and sharing no code
// with src/io: TFRecord framing (uint64 length, masked CRC-32C of the length, the bytes, masked
// CRC-32C of the bytes; little-endian) with both CRCs checked by a bitwise CRC-32C, then the
// protobuf wire format and the fields of Event, Summary, SummaryMetadata and TensorProto.
// Malformed input of any kind is a tf::DataLossError (test/fuzz/fuzz_event_reader.cpp checks
// that nothing else can happen), so it needs no test framework.

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tapeflow/errors.hpp>
#include <vector>

namespace test::events {

/// CRC-32C, bit by bit (deliberately not the library's table-driven form).
inline uint32_t crc32c_bitwise(const unsigned char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
inline uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

inline uint64_t read_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

[[noreturn]] inline void malformed(const std::string& what) {
  throw tapeflow::DataLossError("malformed event file: " + what);
}

/// The records of a TFRecord file's bytes. Lengths are compared with what remains, never added
/// to a position first, so a huge length cannot wrap around and pass.
inline std::vector<std::string> read_records(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::vector<std::string> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 12) malformed("truncated record header");
    const uint64_t len = read_le(p + pos, 8);
    if (read_le(p + pos + 8, 4) != masked(crc32c_bitwise(p + pos, 8)))
      malformed("bad length checksum");
    if (len > bytes.size() - pos - 12 || bytes.size() - pos - 12 - len < 4)
      malformed("record length " + std::to_string(len) + " runs past the end");
    if (read_le(p + pos + 12 + len, 4) != masked(crc32c_bitwise(p + pos + 12, size_t(len))))
      malformed("bad data checksum");
    records.emplace_back(bytes.data() + pos + 12, size_t(len));
    pos += 12 + size_t(len) + 4;
  }
  return records;
}

// ---- protobuf wire format ---------------------------------------------------------------------

struct Field {
  int wire_type = 0;
  uint64_t number = 0;  // varint or fixed64 payload
  std::string bytes;    // length-delimited payload
};
using Message = std::multimap<int, Field>;

inline uint64_t varint(const std::string& s, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= s.size()) malformed("truncated varint");
    auto b = static_cast<unsigned char>(s[pos++]);
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  malformed("varint longer than 10 bytes");
}

inline Message parse(const std::string& s) {
  Message m;
  size_t pos = 0;
  while (pos < s.size()) {
    const uint64_t key = varint(s, pos);
    Field f;
    f.wire_type = int(key & 7);
    switch (f.wire_type) {
      case 0:
        f.number = varint(s, pos);
        break;
      case 1:
        if (s.size() - pos < 8) malformed("truncated fixed64");
        f.number = read_le(reinterpret_cast<const unsigned char*>(s.data()) + pos, 8);
        pos += 8;
        break;
      case 2: {
        const uint64_t len = varint(s, pos);
        if (len > s.size() - pos) malformed("length-delimited field runs past the end");
        f.bytes = s.substr(pos, size_t(len));
        pos += size_t(len);
        break;
      }
      case 5:
        if (s.size() - pos < 4) malformed("truncated fixed32");
        f.number = read_le(reinterpret_cast<const unsigned char*>(s.data()) + pos, 4);
        pos += 4;
        break;
      default:
        malformed("unexpected wire type " + std::to_string(f.wire_type));
    }
    m.emplace(int(key >> 3), f);
  }
  return m;
}

inline const Field* get(const Message& m, int field) {
  auto it = m.find(field);
  return it == m.end() ? nullptr : &it->second;
}
inline std::vector<const Field*> get_all(const Message& m, int field) {
  std::vector<const Field*> out;
  for (auto [it, end] = m.equal_range(field); it != end; ++it) out.push_back(&it->second);
  return out;
}
/// The field, which must be present.
inline const Field& require(const Message& m, int field, const char* what) {
  const Field* f = get(m, field);
  if (!f) malformed(std::string("no ") + what);
  return *f;
}

/// One Event as a test sees it (event.proto, summary.proto, tensor.proto).
struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::string tag, plugin;
  uint64_t data_class = 0;
  int dtype = 0;
  std::vector<int64_t> dims;
  std::string content;               // tensor_content
  std::vector<float> float_val;      // field 5, packed
  std::vector<std::string> strings;  // string_val
  int num_values = 0;
};

/// One record's Event; an Event with a summary must hold exactly one value with metadata,
/// plugin name and tensor (what tf::summary writes).
inline Event decode_event(const std::string& record) {
  Event e;
  Message ev = parse(record);
  const Field& time = require(ev, 1, "wall_time");
  if (time.wire_type != 1) malformed("wall_time is not a double");
  e.wall_time = std::bit_cast<double>(time.number);
  const Field* f = nullptr;
  if ((f = get(ev, 2))) e.step = int64_t(f->number);
  if ((f = get(ev, 3))) e.file_version = f->bytes;
  const Field* summary = get(ev, 5);
  if (!summary) return e;
  Message sm = parse(summary->bytes);
  auto values = get_all(sm, 1);
  e.num_values = int(values.size());
  if (values.size() != 1) malformed(std::to_string(values.size()) + " values in a summary");
  Message value = parse(values[0]->bytes);
  e.tag = require(value, 1, "tag").bytes;
  Message metadata = parse(require(value, 9, "metadata").bytes);
  if ((f = get(metadata, 4))) e.data_class = f->number;
  Message plugin_data = parse(require(metadata, 1, "plugin_data").bytes);
  e.plugin = require(plugin_data, 1, "plugin_name").bytes;
  Message tensor = parse(require(value, 8, "tensor").bytes);
  e.dtype = int(require(tensor, 1, "dtype").number);
  if ((f = get(tensor, 2))) {
    // Named: a temporary in the range-for's initializer would die before the loop body runs
    // (before C++23), leaving the fields dangling.
    const Message shape = parse(f->bytes);
    for (const Field* d : get_all(shape, 2)) {
      Message dim = parse(d->bytes);
      e.dims.push_back(get(dim, 1) ? int64_t(get(dim, 1)->number) : 0);
    }
  }
  if ((f = get(tensor, 4))) e.content = f->bytes;
  for (const Field* fv : get_all(tensor, 5)) {
    for (size_t i = 0; i + 4 <= fv->bytes.size(); i += 4) {
      const auto bits =
          uint32_t(read_le(reinterpret_cast<const unsigned char*>(fv->bytes.data()) + i, 4));
      e.float_val.push_back(std::bit_cast<float>(bits));
    }
  }
  for (const Field* s : get_all(tensor, 8)) e.strings.push_back(s->bytes);
  return e;
}

}  // namespace test::events
