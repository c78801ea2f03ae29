// Event files are read back by io/event_reader.hpp, a reader written from the format's
// description that shares no code with src/io (and is fuzzed: test/fuzz/fuzz_event_reader.cpp).

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "io/event_reader.hpp"
#include "test_util.hpp"

namespace tf = tapeflow;
namespace fs = std::filesystem;

namespace {

// The writer creates its own log directory, so the temp path starts out absent.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("summary", /*create=*/false) {}
};

using namespace test::events;

/// The records of a TFRecord file; fails the test on a bad length or CRC.
std::vector<std::string> read_record_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return test::events::read_records(bytes);
}

/// The scalar of a DT_FLOAT 0-d tensor, from tensor_content or float_val.
float scalar_value(const Event& e) {
  REQUIRE(e.dtype == 1);
  REQUIRE(e.dims.empty());
  if (!e.content.empty()) {
    REQUIRE(e.content.size() == 4);
    return std::bit_cast<float>(
        uint32_t(read_le(reinterpret_cast<const unsigned char*>(e.content.data()), 4)));
  }
  REQUIRE(e.float_val.size() == 1);
  return e.float_val[0];
}

std::vector<double> doubles(const std::string& content) {
  std::vector<double> out;
  for (size_t i = 0; i + 8 <= content.size(); i += 8)
    out.push_back(std::bit_cast<double>(
        read_le(reinterpret_cast<const unsigned char*>(content.data()) + i, 8)));
  return out;
}

std::vector<Event> read_events(const TempDir& dir) {
  auto files = dir.files();
  REQUIRE(files.size() == 1);
  std::vector<Event> events;
  for (const std::string& r : read_record_file(files[0])) events.push_back(decode_event(r));
  REQUIRE(!events.empty());
  CHECK(events[0].file_version == "brain.Event:2");
  return events;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Png {
  uint32_t width = 0, height = 0;
  int color_type = -1;
  std::vector<unsigned char> pixels;  // unfiltered samples, rows concatenated
};

/// Decodes a PNG whose rows all use filter 0 (what the writer emits), checking chunk CRCs.
Png decode_png(const std::string& s) {
  REQUIRE(s.size() > 8);
  REQUIRE(s.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
           uint32_t(uint8_t(s[at + 2])) << 8 | uint32_t(uint8_t(s[at + 3]));
  };
  Png png;
  std::string idat;
  bool end = false;
  for (size_t pos = 8; pos < s.size() && !end;) {
    uint32_t len = be32(pos);
    std::string type = s.substr(pos + 4, 4);
    REQUIRE(pos + 12 + len <= s.size());
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(s.data() + pos + 4), 4 + len);
    REQUIRE(be32(pos + 8 + len) == uint32_t(crc));
    if (type == "IHDR") {
      png.width = be32(pos + 8);
      png.height = be32(pos + 12);
      REQUIRE(uint8_t(s[pos + 16]) == 8);  // bit depth
      png.color_type = uint8_t(s[pos + 17]);
    } else if (type == "IDAT") {
      idat += s.substr(pos + 8, len);
    } else if (type == "IEND") {
      end = true;
    }
    pos += 12 + len;
  }
  REQUIRE(end);
  const int channels = png.color_type == 0   ? 1
                       : png.color_type == 4 ? 2
                       : png.color_type == 2 ? 3
                                             : 4;
  const size_t row = size_t(png.width) * channels;
  std::vector<unsigned char> raw((row + 1) * png.height);
  uLongf raw_len = raw.size();
  REQUIRE(
      uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) ==
      Z_OK);
  REQUIRE(raw_len == raw.size());
  for (uint32_t y = 0; y < png.height; ++y) {
    REQUIRE(raw[y * (row + 1)] == 0);
    png.pixels.insert(
        png.pixels.end(), raw.begin() + y * (row + 1) + 1, raw.begin() + (y + 1) * (row + 1));
  }
  return png;
}

}  // namespace

TEST_CASE("the test's bitwise CRC-32C matches the standard check values", "[summary]") {
  const std::string digits = "123456789";
  CHECK(crc32c_bitwise(reinterpret_cast<const unsigned char*>(digits.data()), digits.size()) ==
        0xE3069283u);
  const std::vector<unsigned char> zeros(32, 0), ones(32, 0xFF);
  CHECK(crc32c_bitwise(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720 B.4
  CHECK(crc32c_bitwise(ones.data(), ones.size()) == 0x62A8AB43u);
}

TEST_CASE("summary: scalars, histogram, image and text read back from the event file",
          "[summary]") {
  TempDir dir;
  const double before = now_seconds();
  {
    auto writer = tf::summary::create_file_writer(dir.str() + "/run1");
    CHECK(tf::summary::scalar("loss", 0.25, 1, writer));
    CHECK(tf::summary::scalar("loss", tf::constant(0.125f), 2, writer));
    CHECK(tf::summary::scalar("count", tf::constant(int64_t(7)), -3, writer));
    auto data = tf::range(0.0f, 100.0f);  // 0..99: ten per bucket
    CHECK(tf::summary::histogram("weights", data, 5, writer, 10));
    std::vector<float> px(2 * 3 * 4 * 3);
    for (size_t i = 0; i < px.size(); ++i) px[i] = float(i % 7) / 6.f;
    px[0] = 2.f;   // saturates to 255
    px[1] = -1.f;  // saturates to 0
    CHECK(tf::summary::image("img", tf::constant(px, {2, 3, 4, 3}), 6, writer, 1));
    CHECK(tf::summary::text("notes", "hello **tensorboard**", 7, writer));
    writer.flush();
  }
  const double after = now_seconds();

  // The writer created logdir and one file named as TensorFlow names them.
  auto files = std::vector<fs::path>{};
  for (const auto& e : fs::directory_iterator(dir.str() + "/run1")) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string name = files[0].filename().string();
  INFO("file name " << name);
  CHECK(std::regex_match(name,
                         std::regex(R"(events\.out\.tfevents\.\d{10}\.)" + std::string(host) +
                                    "\\." + std::to_string(::getpid()) + R"(\.\d+\.v2)")));

  std::vector<Event> ev;
  for (const std::string& r : read_record_file(files[0])) ev.push_back(decode_event(r));
  REQUIRE(ev.size() == 7);
  CHECK(ev[0].file_version == "brain.Event:2");
  for (const Event& e : ev) {
    CHECK(e.wall_time >= before - 1);
    CHECK(e.wall_time <= after + 1);
  }
  for (size_t i = 1; i < ev.size(); ++i) CHECK(ev[i].num_values == 1);

  CHECK(ev[1].tag == "loss");
  CHECK(ev[1].step == 1);
  CHECK(ev[1].plugin == "scalars");
  CHECK(ev[1].data_class == 1);
  CHECK(scalar_value(ev[1]) == 0.25f);
  CHECK(ev[2].step == 2);
  CHECK(scalar_value(ev[2]) == 0.125f);
  CHECK(ev[3].tag == "count");
  CHECK(ev[3].step == -3);
  CHECK(scalar_value(ev[3]) == 7.f);

  const Event& h = ev[4];
  CHECK(h.tag == "weights");
  CHECK(h.step == 5);
  CHECK(h.plugin == "histograms");
  CHECK(h.dtype == 2);
  CHECK(h.dims == std::vector<int64_t>{10, 3});
  std::vector<double> rows = doubles(h.content);
  REQUIRE(rows.size() == 30);
  double total = 0;
  for (int b = 0; b < 10; ++b) {
    INFO("bucket " << b);
    CHECK(rows[3 * b] == Approx(9.9 * b));
    CHECK(rows[3 * b + 1] == Approx(9.9 * (b + 1)));
    CHECK(rows[3 * b + 2] == 10);
    total += rows[3 * b + 2];
  }
  CHECK(total == 100);
  CHECK(rows[0] == 0.0);
  CHECK(rows[28] == 99.0);

  const Event& im = ev[5];
  CHECK(im.tag == "img");
  CHECK(im.plugin == "images");
  CHECK(im.dtype == 7);
  CHECK(im.dims == std::vector<int64_t>{3});  // width, height, one image (max_outputs = 1)
  REQUIRE(im.strings.size() == 3);
  CHECK(im.strings[0] == "4");
  CHECK(im.strings[1] == "3");
  Png png = decode_png(im.strings[2]);
  CHECK(png.width == 4);
  CHECK(png.height == 3);
  CHECK(png.color_type == 2);
  REQUIRE(png.pixels.size() == 36);
  CHECK(png.pixels[0] == 255);
  CHECK(png.pixels[1] == 0);
  for (size_t i = 2; i < 36; ++i)
    CHECK(png.pixels[i] == uint8_t(double(float(i % 7) / 6.f) * 255.5));

  const Event& t = ev[6];
  CHECK(t.tag == "notes");
  CHECK(t.step == 7);
  CHECK(t.plugin == "text");
  CHECK(t.dtype == 7);
  CHECK(t.dims.empty());
  REQUIRE(t.strings.size() == 1);
  CHECK(t.strings[0] == "hello **tensorboard**");
}

TEST_CASE("summary: histogram counts sum to the element count; one value and NaN cases",
          "[summary]") {
  TempDir dir;
  auto writer = tf::summary::create_file_writer(dir.str());
  tf::random::set_seed(3);
  CHECK(tf::summary::histogram("normal", tf::random::normal({7, 11}), 0, writer));
  CHECK(tf::summary::histogram("same", tf::fill({5}, 2.5), 1, writer, 4));
  CHECK(tf::summary::histogram(
      "nan", tf::constant({1.0, std::nan(""), 3.0, HUGE_VAL}), 2, writer, 2));
  writer.close();
  auto ev = read_events(dir);
  REQUIRE(ev.size() == 4);

  std::vector<double> r = doubles(ev[1].content);
  CHECK(ev[1].dims == std::vector<int64_t>{30, 3});
  REQUIRE(r.size() == 90);
  double total = 0;
  for (int b = 0; b < 30; ++b) {
    total += r[3 * b + 2];
    if (b) CHECK(r[3 * b] == r[3 * b - 2]);  // contiguous edges
  }
  CHECK(total == 77);

  r = doubles(ev[2].content);
  REQUIRE(r.size() == 12);
  CHECK(r == std::vector<double>{2.5, 2.5, 5, 2.5, 2.5, 0, 2.5, 2.5, 0, 2.5, 2.5, 0});

  r = doubles(ev[3].content);  // non-finite values are left out
  CHECK(r == std::vector<double>{1, 2, 1, 2, 3, 1});
}

TEST_CASE("summary: writes are buffered until flush, queue size or destruction", "[summary]") {
  TempDir dir;
  auto count = [&] { return read_record_file(dir.files().at(0)).size(); };
  {
    auto writer = tf::summary::create_file_writer(dir.str(), {.max_queue = 3});
    CHECK(count() == 1);  // file_version is written at once
    tf::summary::scalar("a", 1.0, 0, writer);
    tf::summary::scalar("a", 2.0, 1, writer);
    CHECK(count() == 1);
    tf::summary::scalar("a", 3.0, 2, writer);  // the queue is full
    CHECK(count() == 4);
    tf::summary::scalar("a", 4.0, 3, writer);
    CHECK(count() == 4);
    writer.flush();
    CHECK(count() == 5);
    tf::summary::scalar("a", 5.0, 4, writer);
    auto copy = writer;  // a shared handle: the file stays open while a copy lives
  }
  auto ev = read_events(dir);
  REQUIRE(ev.size() == 6);
  for (int i = 1; i < 6; ++i) {
    CHECK(ev[i].step == i - 1);
    CHECK(scalar_value(ev[i]) == float(i));
  }
}

TEST_CASE("summary: as_default scopes, no-op writer, closed writer, bad arguments", "[summary]") {
  TempDir dir;
  auto writer = tf::summary::create_file_writer(dir.str());
  CHECK(fs::path(writer.path()).parent_path() == fs::path(dir.str()));
  CHECK(writer.logdir() == dir.str());
  CHECK_FALSE(tf::summary::default_writer().defined());
  CHECK_FALSE(tf::summary::scalar("x", 1.0, 0));
  {
    auto scope = writer.as_default();
    CHECK(tf::summary::scalar("x", 2.0, 1));
    CHECK(tf::summary::text("t", "hi", 1));
    {
      auto noop = tf::summary::SummaryWriter().as_default();
      CHECK_FALSE(tf::summary::scalar("x", 3.0, 2));
    }
    CHECK(tf::summary::histogram("h", tf::constant({1.f, 2.f}), 3));
  }
  CHECK_FALSE(tf::summary::scalar("x", 4.0, 4));

  CHECK_THROWS_AS(tf::summary::scalar("x", tf::constant({1.f, 2.f}), 0, writer),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::summary::scalar("x", tf::constant({1.f, 2.f}), 0, writer),
                    Catch::Contains("'x'") && Catch::Contains("(2,)"));
  CHECK_THROWS_AS(tf::summary::image("i", tf::zeros({2, 3}), 0, writer), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::summary::image("i", tf::zeros({1, 2, 2, 5}), 0, writer),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::summary::histogram("h", tf::zeros({2}), 0, writer, 0),
                  tf::InvalidArgumentError);

  writer.close();
  CHECK_THROWS_AS(tf::summary::scalar("x", 5.0, 5, writer), tf::FailedPreconditionError);
  auto ev = read_events(dir);
  REQUIRE(ev.size() == 4);
  CHECK(ev[1].tag == "x");
  CHECK(ev[2].plugin == "text");
  CHECK(ev[3].plugin == "histograms");
}

TEST_CASE("summary: grey, RGBA and integer images; max_outputs", "[summary]") {
  TempDir dir;
  auto writer = tf::summary::create_file_writer(dir.str());
  std::vector<int32_t> grey(3 * 2 * 5);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = int32_t(i * 10) - 20;  // -20 .. 270
  CHECK(tf::summary::image("grey", tf::constant(grey, {3, 2, 5, 1}), 0, writer));
  CHECK(tf::summary::image("rgba", tf::ones({1, 1, 1, 4}, tf::float64), 1, writer, 5));
  writer.flush();
  auto ev = read_events(dir);
  REQUIRE(ev.size() == 3);
  REQUIRE(ev[1].strings.size() == 5);  // w, h, three images (default max_outputs = 3)
  CHECK(ev[1].strings[0] == "5");
  CHECK(ev[1].strings[1] == "2");
  for (int k = 0; k < 3; ++k) {
    Png png = decode_png(ev[1].strings[2 + k]);
    CHECK(png.color_type == 0);
    REQUIRE(png.pixels.size() == 10);
    for (int i = 0; i < 10; ++i)
      CHECK(png.pixels[i] == std::clamp(grey[size_t(k * 10 + i)], 0, 255));
  }
  REQUIRE(ev[2].strings.size() == 3);
  Png rgba = decode_png(ev[2].strings[2]);
  CHECK(rgba.color_type == 6);
  CHECK(rgba.pixels == std::vector<unsigned char>{255, 255, 255, 255});
}

TEST_CASE("summary: concurrent writers from several threads produce intact records", "[summary]") {
  TempDir dir;
  auto writer = tf::summary::create_file_writer(dir.str(), {.max_queue = 7});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        tf::summary::scalar("thread" + std::to_string(t), double(i), i, writer);
    });
  for (auto& th : threads) th.join();
  writer.flush();
  auto ev = read_events(dir);
  REQUIRE(ev.size() == 401);
  std::map<std::string, int> per_tag;
  for (size_t i = 1; i < ev.size(); ++i) {
    ++per_tag[ev[i].tag];
    CHECK(scalar_value(ev[i]) == float(ev[i].step));
  }
  CHECK(per_tag.size() == 4);
  for (auto& [tag, n] : per_tag) CHECK(n == 100);
}

TEST_CASE("summary: an unusable log directory is a NotFoundError", "[summary]") {
  TempDir dir;
  fs::create_directories(dir.str());
  std::ofstream(dir.str() + "/file") << "x";
  CHECK_THROWS_AS(tf::summary::create_file_writer(dir.str() + "/file/sub"), tf::NotFoundError);
  CHECK_THROWS_WITH(tf::summary::create_file_writer(dir.str() + "/file/sub"),
                    Catch::Contains("file/sub"));
}

// The reader's bounds checks once added lengths to positions, so a record or field claiming
// close to 2^64 bytes wrapped around, passed, and was read far past the buffer (seen while
// moving it out for test/fuzz/fuzz_event_reader.cpp). It must be a DataLossError instead.
TEST_CASE("event reader: lengths near 2^64 are rejected, not wrapped past the buffer",
          "[summary]") {
  auto record_header = [](uint64_t len) {
    std::string h(12, '\0');
    for (int i = 0; i < 8; ++i) h[size_t(i)] = char(len >> (8 * i));
    const uint32_t crc =
        masked(crc32c_bitwise(reinterpret_cast<const unsigned char*>(h.data()), 8));
    for (int i = 0; i < 4; ++i) h[size_t(8 + i)] = char(crc >> (8 * i));
    return h;
  };
  for (uint64_t len : {~uint64_t(0), ~uint64_t(0) - 11, ~uint64_t(0) - 15, uint64_t(1) << 63}) {
    INFO("length " << len);
    CHECK_THROWS_AS(test::events::read_records(record_header(len) + "abcd"), tf::DataLossError);
  }
  // Protobuf: field 1, wire type 2, with a length varint of 2^64 - 1; and an endless varint.
  const std::string huge_len = std::string("\x0a") + std::string(9, '\xff') + "\x01" + "xy";
  CHECK_THROWS_AS(test::events::parse(huge_len), tf::DataLossError);
  CHECK_THROWS_AS(test::events::parse(std::string("\x08") + std::string(20, '\x80') + "\x01"),
                  tf::DataLossError);
  // A well-formed record still reads back.
  std::string ok = record_header(2) + "hi";
  const uint32_t crc = masked(crc32c_bitwise(reinterpret_cast<const unsigned char*>("hi"), 2));
  for (int i = 0; i < 4; ++i) ok += char(crc >> (8 * i));
  CHECK(test::events::read_records(ok) == std::vector<std::string>{"hi"});
}
