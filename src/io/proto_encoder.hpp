#pragma once

// Just enough protocol-buffer encoding to write TensorBoard's Event protos without a protobuf
// dependency: varints, fixed64 doubles and length-delimited fields (strings, bytes, messages).
// Wire format: each field is a varint key (field_number << 3 | wire_type) then its payload.

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace tapeflow::detail {

class ProtoEncoder {
 public:
  /// Wire type 0: int32/int64/enum/bool, two's complement as 64 bits (negative = 10 bytes).
  ProtoEncoder& varint(int field, uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  /// Wire type 1: a double, little-endian.
  ProtoEncoder& fixed64(int field, double v) {
    key(field, 1);
    put_le(std::bit_cast<uint64_t>(v), 8);
    return *this;
  }
  /// Wire type 2: a string, bytes or an encoded sub-message.
  ProtoEncoder& bytes(int field, std::string_view v) {
    key(field, 2);
    put_varint(v.size());
    buf_.append(v);
    return *this;
  }
  ProtoEncoder& message(int field, const ProtoEncoder& sub) { return bytes(field, sub.buf_); }

  const std::string& str() const { return buf_; }
  std::string take() { return std::move(buf_); }

  /// Appends `v` little-endian in `n` bytes (also used for tensor_content).
  static void append_le(std::string& out, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }

 private:
  void key(int field, int wire_type) { put_varint(uint64_t(field) << 3 | uint64_t(wire_type)); }
  void put_varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7Fu) | 0x80u));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void put_le(uint64_t v, int n) { append_le(buf_, v, n); }

  std::string buf_;
};

}  // namespace tapeflow::detail
