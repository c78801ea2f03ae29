// libFuzzer harness: the IDX loader behind tf::datasets::fashion_mnist::load_data(), on gzipped
// and plain files. The first input byte picks which of the four files the rest of the input
// becomes (bits 0-1) and whether it is named `.gz` (bit 2; zlib reads plain data through gzopen
// either way, so both names see both encodings); the other three files are small valid gzipped
// IDX files written once. Property: load_data() returns or throws a tf::Error, and a header that
// lies about its counts never makes it allocate more than the file can hold.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;
namespace fs = std::filesystem;

namespace {

const char* const kNames[] = {"train-images-idx3-ubyte",
                              "train-labels-idx1-ubyte",
                              "t10k-images-idx3-ubyte",
                              "t10k-labels-idx1-ubyte"};

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

/// A valid IDX file of 2 items (images of 28x28 or labels), uncompressed.
std::string valid_idx(bool images) {
  if (images) return be32(2051) + be32(2) + be32(28) + be32(28) + std::string(2 * 28 * 28, '\x7f');
  return be32(2049) + be32(2) + std::string("\x03\x09", 2);
}

void write_file(const fs::path& path, const uint8_t* data, size_t size) {
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
}

void write_gz(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

/// The directory, holding the valid gzipped file for every slot but the one last fuzzed.
struct Dir {
  fs::path path = fs::temp_directory_path() / ("fuzz_idx-" + std::to_string(::getpid()));
  int fuzzed = -1;  // the slot whose file is fuzz input now

  Dir() {
    fs::create_directories(path);
    for (int i = 0; i < 4; ++i) restore(i);
  }
  fs::path file(int slot, bool gz) const {
    return path / (std::string(kNames[slot]) + (gz ? ".gz" : ""));
  }
  void remove(int slot) {
    std::error_code ec;
    fs::remove(file(slot, false), ec);
    fs::remove(file(slot, true), ec);
  }
  void restore(int slot) {
    remove(slot);
    write_gz(file(slot, true), valid_idx(slot % 2 == 0));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Dir dir;
  if (size == 0) return 0;
  const int target = data[0] & 3;
  const bool gz_name = data[0] & 4;
  if (dir.fuzzed >= 0 && dir.fuzzed != target) dir.restore(dir.fuzzed);
  dir.remove(target);
  write_file(dir.file(target, gz_name), data + 1, size - 1);
  dir.fuzzed = target;
  try {
    tf::datasets::fashion_mnist::load_data(dir.path.string(), 1.0f / 255);
  } catch (const tf::Error&) {
  }
  return 0;
}
