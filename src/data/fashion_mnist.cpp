// Fashion-MNIST from its IDX files (http://yann.lecun.com/exdb/mnist/ describes the format):
// a big-endian header (magic 2051 = images: count, rows, cols; 2049 = labels: count) followed
// by one unsigned byte per pixel or label, the whole file gzip-compressed.
//
// Each file is inflated in full and read to the end of the gzip stream, so that zlib checks
// the trailer (CRC-32 and length): a flipped byte anywhere is a DataLossError, never quietly
// wrong pixels. The two splits are read on two threads (inflating dominates the time).
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <vector>

#include "core/fail.hpp"
#include "core/tensor_impl.hpp"
#include "tapeflow/datasets.hpp"

namespace tapeflow::datasets::fashion_mnist {
namespace {

using ::tapeflow::detail::str_cat;

constexpr uint32_t kImageMagic = 2051, kLabelMagic = 2049;
constexpr int64_t kRows = 28, kCols = 28;
constexpr int kClasses = 10;

/// The path of `name` in `dir`: the .gz file, else an uncompressed one, else NotFoundError.
std::string find_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path gz = fs::path(dir) / (name + ".gz"), raw = fs::path(dir) / name;
  std::error_code ec;
  if (fs::is_regular_file(gz, ec)) return gz.string();
  if (fs::is_regular_file(raw, ec)) return raw.string();
  throw NotFoundError(str_cat("Fashion-MNIST file not found: ",
                              gz.string(),
                              (fs::is_directory(dir, ec) ? "" : " (no such directory)"),
                              ". Install it with `apt-get install dataset-fashion-mnist` or pass "
                              "load_data() the directory holding the four IDX files"));
}

/// An open gzip (or plain) file whose reads throw DataLossError naming the file.
class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (!file_)
      throw NotFoundError(str_cat("Cannot open Fashion-MNIST file ",
                                  path_,
                                  ": ",
                                  errno ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1 << 18);
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// Exactly `n` bytes; `what` names them in the error for a short read. The buffer grows as
  /// data arrives (doubling from 64 KiB, then 64 MiB at a time), so a corrupt header claiming
  /// terabytes fails as truncated, not out of memory, after allocating about what the file holds.
  std::vector<unsigned char> read(size_t n, const char* what) {
    std::vector<unsigned char> buf;
    size_t got = 0;
    while (got < n) {
      buf.resize(std::min(n, got + std::clamp(got, size_t(1) << 16, size_t(1) << 26)));
      const unsigned chunk = unsigned(buf.size() - got);
      const int r = gzread(file_, buf.data() + got, chunk);
      if (r < 0) throw corrupt();
      got += size_t(r);
      if (unsigned(r) < chunk) break;
    }
    if (got < n) {
      check_stream();
      throw DataLossError(
          str_cat(path_, ": truncated: expected ", n, " bytes of ", what, ", got ", got));
    }
    return buf;
  }
  /// Reads past the last byte: the gzip trailer is checked, and nothing may follow the data.
  void expect_end() {
    char extra[64];
    const int r = gzread(file_, extra, sizeof(extra));
    if (r < 0) throw corrupt();
    check_stream();
    if (r > 0)
      throw DataLossError(
          str_cat(path_, ": unexpected data after the last item (", r, "+ extra bytes)"));
  }
  const std::string& path() const { return path_; }

 private:
  // A truncated gzip stream reads as a short read with zlib's error set, not as r < 0.
  void check_stream() {
    int err = Z_OK;
    gzerror(file_, &err);
    if (err != Z_OK && err != Z_STREAM_END) throw corrupt();
  }
  DataLossError corrupt() {
    int err = Z_OK;
    std::string msg = gzerror(file_, &err);
    if (msg.starts_with(path_ + ": ")) msg.erase(0, path_.size() + 2);  // zlib prefixes the path
    return DataLossError(
        str_cat(path_,
                ": corrupt or truncated gzip data (zlib: ",
                msg.empty() ? "unknown error" : msg,
                err == Z_ERRNO ? str_cat(", ", std::strerror(errno)) : std::string(),
                ")"));
  }

  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t big_endian(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

/// Reads the magic and `ndims` dimensions; the magic must be `magic`.
std::vector<uint32_t> read_header(GzReader& in, uint32_t magic, int ndims, const char* kind) {
  const std::vector<unsigned char> h = in.read(size_t(4 * (ndims + 1)), "IDX header");
  const uint32_t got = big_endian(h.data());
  if (got != magic)
    throw DataLossError(str_cat(in.path(),
                                ": bad magic number ",
                                got,
                                " (0x",
                                std::hex,
                                got,
                                std::dec,
                                "); an IDX ",
                                kind,
                                " file starts with ",
                                magic));
  std::vector<uint32_t> dims;
  for (int i = 1; i <= ndims; ++i) dims.push_back(big_endian(h.data() + 4 * i));
  return dims;
}

/// The size of `path`'s content once inflated: for a gzip file its trailer's ISIZE field, the
/// size modulo 2^32; -1 when it cannot be told.
struct ContentSize {
  int64_t bytes = -1;
  bool mod_2_32 = false;
};
ContentSize content_size(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return {};
  unsigned char head[2] = {0, 0}, tail[4] = {0, 0, 0, 0};
  int64_t size = -1;
  if (std::fread(head, 1, 2, f) == 2 && std::fseek(f, 0, SEEK_END) == 0) size = std::ftell(f);
  const bool gz = head[0] == 0x1f && head[1] == 0x8b;
  if (size >= 0 && gz) {
    size = (size >= 18 && std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4)
               ? int64_t(tail[0] | tail[1] << 8 | tail[2] << 16 | uint32_t(tail[3]) << 24)
               : -1;
  }
  std::fclose(f);
  return {size, gz};
}

/// Pixels are converted to float (times `scale`) as they are inflated, 1 MiB at a time, so
/// loading never holds a second full-size copy of the split.
Tensor read_images(const std::string& path, float scale) {
  GzReader in(path);
  std::vector<uint32_t> d = read_header(in, kImageMagic, 3, "image");
  if (d[1] != kRows || d[2] != kCols)
    throw DataLossError(str_cat(
        path, ": images are ", d[1], "x", d[2], "; Fashion-MNIST's are ", kRows, "x", kCols));
  const int64_t n = d[0], total = n * kRows * kCols;
  // The header's count is checked against the file's size before the tensor is allocated, so
  // a corrupt count is a DataLossError, not an attempt to allocate terabytes.
  const int64_t expected = 16 + total;
  const ContentSize got = content_size(path);
  const int64_t want = got.mod_2_32 ? expected & 0xffffffff : expected;
  if (got.bytes >= 0 && got.bytes != want)
    throw DataLossError(str_cat(path,
                                got.bytes < want ? ": truncated or corrupt" : ": extra data",
                                ": the header claims ",
                                n,
                                " images (",
                                expected,
                                " bytes) but the file holds ",
                                got.bytes,
                                " bytes",
                                got.mod_2_32 ? " (gzip ISIZE, modulo 2^32)" : ""));
  // ISIZE holds the size modulo 2^32 only: past 4 GiB (or when the size is unknown) it cannot
  // vouch for the count, and a 30-byte file claiming 2^28 images would pass the check above.
  // Then the pixels are read first, into a buffer that grows only as data arrives.
  if (got.bytes < 0 || (got.mod_2_32 && expected > int64_t(0xffffffff))) {
    const std::vector<unsigned char> pixels = in.read(size_t(total), "pixel data");
    in.expect_end();
    Tensor x =
        ::tapeflow::detail::new_tensor(Shape{n, kRows, kCols}, float32, Device{DeviceType::CPU, 0});
    float* out = x.impl()->ptr<float>();
    for (size_t j = 0; j < pixels.size(); ++j) out[j] = float(pixels[j]) * scale;
    return x;
  }
  Tensor x =
      ::tapeflow::detail::new_tensor(Shape{n, kRows, kCols}, float32, Device{DeviceType::CPU, 0});
  float* out = x.impl()->ptr<float>();
  constexpr int64_t kChunk = int64_t(1) << 20;
  for (int64_t i = 0; i < total; i += kChunk) {
    const std::vector<unsigned char> pixels =
        in.read(size_t(std::min(kChunk, total - i)), "pixel data");
    for (size_t j = 0; j < pixels.size(); ++j) out[i + int64_t(j)] = float(pixels[j]) * scale;
  }
  in.expect_end();
  return x;
}

Tensor read_labels(const std::string& path) {
  GzReader in(path);
  const int64_t n = read_header(in, kLabelMagic, 1, "label")[0];
  const std::vector<unsigned char> labels = in.read(size_t(n), "labels");
  in.expect_end();
  Tensor y = ::tapeflow::detail::new_tensor(Shape{n}, int32, Device{DeviceType::CPU, 0});
  int32_t* out = y.impl()->ptr<int32_t>();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= kClasses)
      throw DataLossError(str_cat(path,
                                  ": label ",
                                  int(labels[i]),
                                  " at index ",
                                  i,
                                  " is not a class in [0, ",
                                  kClasses,
                                  ")"));
    out[i] = labels[i];
  }
  return y;
}

/// One split: images and labels whose counts must agree.
std::pair<Tensor, Tensor> read_split(const std::string& images,
                                     const std::string& labels,
                                     float scale) {
  Tensor x = read_images(images, scale), y = read_labels(labels);
  if (x.shape()[0] != y.shape()[0])
    throw DataLossError(str_cat("Fashion-MNIST split has ",
                                x.shape()[0],
                                " images in ",
                                images,
                                " but ",
                                y.shape()[0],
                                " labels in ",
                                labels));
  return {x, y};
}

}  // namespace

Data load_data(const std::string& dir, float scale) {
  // Look every file up first, so that a missing package is reported before any work.
  const std::string train_x = find_file(dir, "train-images-idx3-ubyte");
  const std::string train_y = find_file(dir, "train-labels-idx1-ubyte");
  const std::string test_x = find_file(dir, "t10k-images-idx3-ubyte");
  const std::string test_y = find_file(dir, "t10k-labels-idx1-ubyte");
  // If the train split throws, the future's destructor still waits for the test task (it
  // reads our locals) before the exception leaves.
  auto test = std::async(std::launch::async, [&] { return read_split(test_x, test_y, scale); });
  std::pair<Tensor, Tensor> train = read_split(train_x, train_y, scale);
  auto [x_test, y_test] = test.get();
  return Data{train.first, train.second, x_test, y_test};
}

}  // namespace tapeflow::datasets::fashion_mnist
