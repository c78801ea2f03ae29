#pragma once

// The safetensors file format (https://github.com/huggingface/safetensors), as checkpoints use
// it: an 8-byte little-endian header length N, N bytes of JSON padded with spaces to a multiple
// of 8, then the tensors' bytes back to back (row-major, little-endian, no gaps).
//
// Our files add a checksum: metadata "crc32c" holds the CRC-32C (8 lowercase hex digits) of the
// whole file as it reads with those 8 digits replaced by '0', so that a change to any byte -
// length, header, padding or data - is detected.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tapeflow/dtype.hpp"
#include "tapeflow/shape.hpp"

namespace tapeflow::detail {

/// One tensor to write; `data` points at num_elements * dtype_size bytes.
struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
};

/// The whole file: header, checksum in the metadata, data; tensors ordered by element size,
/// largest first, then by name, so each is aligned to its element size.
std::string encode_safetensors(const std::vector<SafetensorsEntry>& entries,
                               const std::map<std::string, std::string>& metadata);

struct SafetensorsTensor {
  DType dtype;
  Shape shape;
  size_t offset;  // into SafetensorsFile::bytes
  size_t nbytes;
};

struct SafetensorsFile {
  std::string bytes;
  std::map<std::string, SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  const void* data(const SafetensorsTensor& t) const { return bytes.data() + t.offset; }
};

/// Parses and verifies a file read from `path` (named in errors): DataLossError if it is
/// truncated, malformed, has no checksum or fails it.
SafetensorsFile decode_safetensors(std::string bytes, const std::string& path);

/// The safetensors dtype code ("F32", "I64", "BOOL", ...).
std::string_view safetensors_dtype(DType dtype);

/// The file's bytes; NotFoundError if it does not exist, another tf::Error if it can't be read.
std::string read_file(const std::string& path);

/// Replaces `path` with `bytes` atomically: writes a temporary file in the same directory,
/// fsyncs it, renames it over `path` and fsyncs the directory. A crash at any point leaves
/// either the old file or the new one (and perhaps a stray temporary), never a mix.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace tapeflow::detail
