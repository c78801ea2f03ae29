#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace fs = std::filesystem;
namespace fm = tapeflow::datasets::fashion_mnist;

namespace {

const std::string kDebianDir = "/usr/share/datasets/fashion-mnist";

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("fmnist") {}
};

using Bytes = std::vector<unsigned char>;

void put_u32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

/// An IDX image file: magic 2051, n x 28 x 28, pixel (i, r, c) = (7i + r + 3c) mod 256.
Bytes idx_images(uint32_t n, uint32_t magic = 2051, uint32_t pixels_written = ~0u) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, n);
  put_u32(b, 28);
  put_u32(b, 28);
  const uint32_t total = std::min(pixels_written, n * 784);
  for (uint32_t k = 0; k < total; ++k) {
    uint32_t i = k / 784, r = k % 784 / 28, c = k % 28;
    b.push_back(static_cast<unsigned char>((7 * i + r + 3 * c) % 256));
  }
  return b;
}

/// An IDX label file: magic 2049, labels given.
Bytes idx_labels(const std::vector<int>& labels, uint32_t magic = 2049) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, uint32_t(labels.size()));
  for (int l : labels) b.push_back(static_cast<unsigned char>(l));
  return b;
}

void write_gz(const std::string& path, const Bytes& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, data.data(), unsigned(data.size())) == int(data.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_raw(const std::string& path, const Bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

/// A valid tiny set: 3 training images (labels 9, 0, 3) and 2 test images (labels 1, 9).
void write_tiny_set(const TempDir& d) {
  write_gz(d.file("train-images-idx3-ubyte.gz"), idx_images(3));
  write_gz(d.file("train-labels-idx1-ubyte.gz"), idx_labels({9, 0, 3}));
  write_gz(d.file("t10k-images-idx3-ubyte.gz"), idx_images(2));
  write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 9}));
}

}  // namespace

TEST_CASE("fashion_mnist: a tiny synthetic set loads exactly", "[data]") {
  TempDir d;
  write_tiny_set(d);
  auto [x_train, y_train, x_test, y_test] = fm::load_data(d.str());
  CHECK(x_train.shape() == tf::Shape{3, 28, 28});
  CHECK(x_train.dtype() == tf::float32);
  CHECK(y_train.shape() == tf::Shape{3});
  CHECK(y_train.dtype() == tf::int32);
  CHECK(x_test.shape() == tf::Shape{2, 28, 28});
  CHECK(y_test.shape() == tf::Shape{2});
  CHECK(y_train.to_vector<int>() == std::vector<int>{9, 0, 3});
  CHECK(y_test.to_vector<int>() == std::vector<int>{1, 9});
  std::vector<float> px = x_train.to_vector<float>();
  bool exact = true;
  for (size_t k = 0; k < px.size(); ++k) {
    size_t i = k / 784, r = k % 784 / 28, c = k % 28;
    exact = exact && px[k] == float((7 * i + r + 3 * c) % 256);
  }
  CHECK(exact);
  CHECK(x_test.to_vector<float>() == std::vector<float>(px.begin(), px.begin() + 2 * 784));
  auto data = fm::load_data(d.str());
  CHECK(data.train().second.to_vector<int>() == std::vector<int>{9, 0, 3});
  CHECK(data.test().first.shape() == tf::Shape{2, 28, 28});
}

TEST_CASE("fashion_mnist: uncompressed IDX files are read too", "[data]") {
  TempDir d;
  write_raw(d.file("train-images-idx3-ubyte"), idx_images(3));
  write_raw(d.file("train-labels-idx1-ubyte"), idx_labels({9, 0, 3}));
  write_raw(d.file("t10k-images-idx3-ubyte"), idx_images(2));
  write_raw(d.file("t10k-labels-idx1-ubyte"), idx_labels({1, 9}));
  auto data = fm::load_data(d.str());
  CHECK(data.y_train.to_vector<int>() == std::vector<int>{9, 0, 3});
  CHECK(data.x_test.shape() == tf::Shape{2, 28, 28});
}

TEST_CASE("fashion_mnist: a missing directory or file is NotFoundError naming the package",
          "[data]") {
  TempDir d;
  const std::string missing = d.file("no-such-dir");
  CHECK_THROWS_AS(fm::load_data(missing), tf::NotFoundError);
  CHECK_THROWS_WITH(
      fm::load_data(missing),
      Catch::Contains(missing) && Catch::Contains("apt-get install dataset-fashion-mnist"));
  write_tiny_set(d);
  fs::remove(d.file("t10k-labels-idx1-ubyte.gz"));
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::NotFoundError);
  CHECK_THROWS_WITH(fm::load_data(d.str()), Catch::Contains("t10k-labels-idx1-ubyte.gz"));
}

TEST_CASE("fashion_mnist: bad magic numbers are DataLossError", "[data]") {
  TempDir d;
  write_tiny_set(d);
  write_gz(d.file("train-images-idx3-ubyte.gz"), idx_images(3, /*magic=*/2049));
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("train-images-idx3-ubyte.gz") && Catch::Contains("magic") &&
                        Catch::Contains("2051"));
  write_tiny_set(d);
  write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 9}, /*magic=*/2051));
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("t10k-labels-idx1-ubyte.gz") && Catch::Contains("magic"));
}

TEST_CASE("fashion_mnist: truncated or extra data and wrong counts are DataLossError", "[data]") {
  TempDir d;
  write_tiny_set(d);
  // The header promises 3 images; the file holds 2.5.
  write_gz(d.file("train-images-idx3-ubyte.gz"), idx_images(3, 2051, 2 * 784 + 392));
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("train-images-idx3-ubyte.gz") && Catch::Contains("truncated"));
  // A corrupt count far beyond the data is truncation, not an attempt to allocate it.
  write_tiny_set(d);
  {
    Bytes huge = idx_images(3);
    huge[4] = 0x7f;  // count = 0x7f000003
    write_gz(d.file("t10k-images-idx3-ubyte.gz"), huge);
  }
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("t10k-images-idx3-ubyte.gz") && Catch::Contains("truncated"));
  // A header cut short.
  write_tiny_set(d);
  write_gz(d.file("train-labels-idx1-ubyte.gz"), Bytes{0, 0, 8, 1, 0});
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("train-labels-idx1-ubyte.gz") && Catch::Contains("truncated"));
  // Bytes after the last label.
  write_tiny_set(d);
  Bytes extra = idx_labels({9, 0, 3});
  extra.push_back(1);
  write_gz(d.file("train-labels-idx1-ubyte.gz"), extra);
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
  // 3 images but 2 labels.
  write_tiny_set(d);
  write_gz(d.file("train-labels-idx1-ubyte.gz"), idx_labels({9, 0}));
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
  CHECK_THROWS_WITH(fm::load_data(d.str()),
                    Catch::Contains("3 images") && Catch::Contains("2 labels"));
  // A label that is not a class.
  write_tiny_set(d);
  write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_labels({1, 10}));
  CHECK_THROWS_WITH(fm::load_data(d.str()), Catch::Contains("label 10"));
  // Images that are not 28x28.
  write_tiny_set(d);
  Bytes small = idx_images(1);
  small[11] = 27;  // rows = 27
  write_gz(d.file("t10k-images-idx3-ubyte.gz"), small);
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
}

// gzip's ISIZE trailer is the inflated size modulo 2^32, so a header-only gzip file claiming
// 2^28 images (16 + 2^28 * 784 = 16 mod 2^32 bytes) matched its "size", and the loader tried to
// allocate 840 GB for it (seen while writing test/fuzz/fuzz_idx.cpp). It is truncation, found
// before any large allocation.
TEST_CASE("fashion_mnist: a gzip header whose count only matches ISIZE modulo 2^32 is truncated",
          "[data]") {
  TempDir d;
  for (uint32_t n : {uint32_t(1) << 28, uint32_t(3) << 28, uint32_t(5478275)}) {
    INFO("count " << n);
    write_tiny_set(d);
    // 5478275 images: 16 + 5478275 * 784 = 320 mod 2^32, so 304 pixel bytes match ISIZE.
    Bytes lying = idx_images(1, 2051, n == 5478275 ? 304 : 0);
    lying[4] = uint8_t(n >> 24);
    lying[5] = uint8_t(n >> 16);
    lying[6] = uint8_t(n >> 8);
    lying[7] = uint8_t(n);
    write_gz(d.file("train-images-idx3-ubyte.gz"), lying);
    CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
    CHECK_THROWS_WITH(
        fm::load_data(d.str()),
        Catch::Contains("train-images-idx3-ubyte.gz") && Catch::Contains("truncated"));
  }
}

TEST_CASE("fashion_mnist: a corrupt gzip stream is DataLossError", "[data]") {
  TempDir d;
  const std::string path = d.file("train-images-idx3-ubyte.gz");
  write_tiny_set(d);
  const Bytes good = read_raw(path);
  REQUIRE(good.size() > 40);
  SECTION("a byte flipped in the CRC-32 trailer") {
    Bytes bad = good;
    bad[bad.size() - 6] ^= 0x5a;
    write_raw(path, bad);
  }
  SECTION("a byte flipped in the compressed data") {
    Bytes bad = good;
    bad[bad.size() / 2] ^= 0xff;
    write_raw(path, bad);
  }
  SECTION("the compressed stream cut short") {
    write_raw(path, Bytes(good.begin(), good.begin() + std::ptrdiff_t(good.size() / 2)));
  }
  CHECK_THROWS_AS(fm::load_data(d.str()), tf::DataLossError);
  CHECK_THROWS_WITH(fm::load_data(d.str()), Catch::Contains(path));
}

TEST_CASE("fashion_mnist: the Debian dataset loads with Keras' shapes and statistics", "[data]") {
  if (!fs::exists(kDebianDir + "/train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not installed in "
         << kDebianDir << " (apt-get install dataset-fashion-mnist): real-data case skipped");
    return;
  }
  auto [x_train, y_train, x_test, y_test] = fm::load_data();
  CHECK(x_train.shape() == tf::Shape{60000, 28, 28});
  CHECK(y_train.shape() == tf::Shape{60000});
  CHECK(x_test.shape() == tf::Shape{10000, 28, 28});
  CHECK(y_test.shape() == tf::Shape{10000});
  std::vector<int> yt = y_train.to_vector<int>();
  CHECK(yt[0] == 9);  // the first training image is an ankle boot
  CHECK(y_test.to_vector<int>()[0] == 9);
  std::vector<int> per_class(10, 0);
  for (int y : yt) {
    REQUIRE(y >= 0);
    REQUIRE(y <= 9);
    ++per_class[size_t(y)];
  }
  CHECK(per_class == std::vector<int>(10, 6000));
  CHECK(tf::reduce_min(x_train).item<float>() == 0.f);
  CHECK(tf::reduce_max(x_train).item<float>() == 255.f);
  CHECK(tf::reduce_max(x_test).item<float>() == 255.f);
  // Sum of the first training image's pixels (checked with Python's gzip module).
  CHECK(tf::reduce_sum(tf::cast(tf::gather(x_train, tf::constant({0})), tf::float64))
            .item<double>() == 76247.0);
}

TEST_CASE("fashion_mnist: load_data(dir, scale) scales pixels while decoding", "[data]") {
  TempDir d;
  write_tiny_set(d);
  const auto raw = fm::load_data(d.str());
  const auto scaled = fm::load_data(d.str(), 1 / 255.f);
  REQUIRE(scaled.x_train.shape() == raw.x_train.shape());
  // Pixel (i, r, c) = (7i + r + 3c) mod 256: image 2, row 5, column 9 holds 46.
  const std::vector<float> raw_train = raw.x_train.to_vector<float>();
  const std::vector<float> train = scaled.x_train.to_vector<float>();
  const std::vector<float> test = scaled.x_test.to_vector<float>();
  CHECK(raw_train[2 * 784 + 5 * 28 + 9] == 46.f);
  CHECK(train[2 * 784 + 5 * 28 + 9] == 46.f * (1 / 255.f));
  CHECK(test[783] == float(27 + 3 * 27) * (1 / 255.f));
  CHECK(scaled.y_train.to_vector<int32_t>() == raw.y_train.to_vector<int32_t>());
}
