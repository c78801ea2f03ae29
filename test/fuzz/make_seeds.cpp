// Writes the seed corpora of the fuzz harnesses into DIR/<name>/ (the committed ones in
// test/fuzz/corpus/ came from `fuzz_make_seeds test/fuzz/corpus`): small valid inputs that take
// each harness past its format's checks, so that mutations start deep in the parser.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "checkpoint_target.hpp"

namespace tf = tapeflow;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string gzip(const std::string& bytes) {
  uLongf n = compressBound(uLong(bytes.size())) + 32;
  std::string out(n, '\0');
  z_stream s{};
  deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // +16: gzip wrapper
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = uInt(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

void checkpoints(const fs::path& dir, const fs::path& tmp) {
  {
    fuzz::CheckpointTarget t;  // fresh: no optimizer slots yet
    t.ckpt.write((tmp / "fresh").string());
    write(dir / "fresh.safetensors", read(tmp / "fresh.safetensors"));
  }
  fuzz::CheckpointTarget t;
  tf::random::set_seed(1);
  t.w.assign(tf::random::normal({2, 3}));
  const tf::Tensor x = tf::random::normal({1, 4});
  t.adam.minimize([&] { return tf::reduce_sum(t.model(x)); }, t.model.trainable_variables());
  t.ckpt.save((tmp / "trained").string());
  write(dir / "trained.safetensors", read(tmp / "trained-1.safetensors"));
  tf::train::Checkpoint plain({{"w", t.w}});
  plain.write((tmp / "plain").string());
  write(dir / "plain.safetensors", read(tmp / "plain.safetensors"));
}

void idx(const fs::path& dir) {
  const std::string images = be32(2051) + be32(2) + be32(28) + be32(28) + std::string(1568, 'x');
  const std::string labels = be32(2049) + be32(2) + std::string("\x01\x09", 2);
  const char* names[] = {"train_images", "train_labels", "test_images", "test_labels"};
  for (int target = 0; target < 4; ++target) {
    const std::string& file = target % 2 == 0 ? images : labels;
    write(dir / (std::string(names[target]) + "_plain"), char(target) + file);
    write(dir / (std::string(names[target]) + "_gz"), char(target | 4) + gzip(file));
  }
}

void events(const fs::path& dir, const fs::path& tmp) {
  {
    auto writer = tf::summary::create_file_writer((tmp / "logs").string());
    tf::summary::scalar("loss", 0.25, 1, writer);
    tf::summary::histogram("h", tf::constant({1.0, 2.0, 2.5}), 2, writer, 3);
    tf::summary::image("im", tf::zeros({1, 2, 2, 1}), 3, writer);
    tf::summary::text("t", "hello", 4, writer);
    writer.close();
  }
  for (const auto& e : fs::directory_iterator(tmp / "logs")) {
    const std::string file = read(e.path());
    write(dir / "raw_events", '\0' + file);
    // The framed form: each record as 2-byte length + bytes (the harness adds the CRCs).
    std::string framed(1, '\1');
    size_t pos = 0;
    while (pos + 12 <= file.size()) {
      uint64_t len = 0;
      for (int i = 7; i >= 0; --i) len = len << 8 | uint8_t(file[pos + size_t(i)]);
      framed += char(len & 0xff);
      framed += char(len >> 8);
      framed += file.substr(pos + 12, len);
      pos += 12 + len + 4;
    }
    write(dir / "framed_events", framed);
  }
}

void ops(const fs::path& dir) {
  std::mt19937 rng(42);
  for (int i = 0; i < 32; ++i) {
    std::string bytes(size_t(16 + 8 * i), '\0');
    for (char& c : bytes) c = char(rng());
    write(dir / ("random_" + std::to_string(i)), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR  (writes DIR/{checkpoint,idx,event_reader,ops}/)\n";
    return 2;
  }
  const fs::path dir = argv[1];
  const fs::path tmp = fs::temp_directory_path() / "tapeflow_fuzz_seeds";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  checkpoints(dir / "checkpoint", tmp);
  idx(dir / "idx");
  events(dir / "event_reader", tmp);
  ops(dir / "ops");
  fs::remove_all(tmp);
  std::cout << "seeds written to " << dir << "\n";
  return 0;
}
