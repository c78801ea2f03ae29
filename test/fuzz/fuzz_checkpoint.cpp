// libFuzzer harness: the input is a checkpoint file (safetensors: 8-byte header length, JSON
// header with dtypes, shapes, data_offsets and the object graph in __metadata__, then data),
// restored into a fixed set of variables, a small model and an Adam optimizer.
//
// The library rejects any file whose crc32c metadata does not match, which would stop the fuzzer
// at the checksum; so when the header holds a "crc32c":"xxxxxxxx" field, the harness writes the
// correct checksum there first (as a writer would), and the structure behind it gets fuzzed.
// Property: restore() returns or throws a tf::Error, allocates no more than the file justifies.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <tapeflow/tapeflow.hpp>

#include "checkpoint_target.hpp"

namespace tf = tapeflow;

namespace {

uint32_t crc32c(const char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<unsigned char>(p[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// Writes the checksum the library expects into the file's crc32c field, when it has one.
void fix_checksum(std::string& file) {
  if (file.size() < 8) return;
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > file.size() - 8) return;
  const std::string_view header(file.data() + 8, size_t(n));
  const size_t at = header.find("\"crc32c\":\"");
  if (at == std::string_view::npos || at + 18 > header.size()) return;
  const size_t digits = 8 + at + 10;
  std::memset(file.data() + digits, '0', 8);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc32c(file.data(), file.size()));
  std::memcpy(file.data() + digits, hex, 8);
}

std::string path() {
  static const std::string p =
      (std::string(P_tmpdir) + "/fuzz_checkpoint-" + std::to_string(::getpid()) + ".safetensors");
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  fix_checksum(file);
  if (std::FILE* f = std::fopen(path().c_str(), "wb")) {
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  } else {
    return 0;
  }
  fuzz::CheckpointTarget t;  // fresh each time: a restore may have filled the previous one
  try {
    t.ckpt.restore(path());
  } catch (const tf::Error&) {
  }
  return 0;
}
