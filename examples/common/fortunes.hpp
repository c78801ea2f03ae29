// The character corpus of the char_transformer and char_lstm examples and of their LibTorch
// peer (bench/peer/char_transformer_torch.cpp): the text of Debian's `fortunes` package as
// byte ids, its 90/10 train/validation split by position, the training windows drawn for each
// step and the fixed validation windows. Standard library only, so that the peer, which does
// not link tapeflow, reads the same data in the same order.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace example::chars {

/// Where Debian's `fortunes` package puts its fortune files.
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

/// The fortune text files under `dir` (recursively), sorted: each regular file once, however
/// many links lead to it (the package links `art.u8` to `art`), and not strfile's `.dat`
/// indexes. Empty if `dir` does not exist.
inline std::vector<std::filesystem::path> fortune_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::set<fs::path> files;  // canonical paths: a file reached twice is kept once
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path target = fs::canonical(it->path(), ec);
    if (ec) continue;  // a dangling link
    if (fs::is_regular_file(target, ec) && target.extension() != ".dat") files.insert(target);
  }
  return {files.begin(), files.end()};
}

/// A text as ids into its vocabulary (the distinct bytes it contains, ascending), split by
/// position: ids[0, train_size) for training, ids[train_size, size) for validation.
struct Corpus {
  std::vector<unsigned char> vocab;
  std::array<int32_t, 256> id_of{};  // byte -> id, -1 if absent
  std::vector<int32_t> ids;
  int64_t train_size = 0;

  int64_t vocab_size() const { return int64_t(vocab.size()); }
  int64_t size() const { return int64_t(ids.size()); }
  std::string decode(const std::vector<int32_t>& id_list) const {
    std::string s;
    for (int32_t i : id_list) s += char(vocab.at(size_t(i)));
    return s;
  }
};

/// The ids of `text` over the vocabulary of `vocab_text` (a superset), split 90/10 by position.
/// `limit` > 0 keeps only the first `limit` characters of `text` (for short runs); the
/// vocabulary stays that of the whole text, so any prompt drawn from it encodes.
inline Corpus make_corpus(const std::string& text, int64_t limit = 0) {
  Corpus c;
  std::array<bool, 256> present{};
  for (unsigned char ch : text) present[ch] = true;
  c.id_of.fill(-1);
  for (int b = 0; b < 256; ++b)
    if (present[size_t(b)]) {
      c.id_of[size_t(b)] = int32_t(c.vocab.size());
      c.vocab.push_back((unsigned char)b);
    }
  const size_t n = limit > 0 ? std::min(text.size(), size_t(limit)) : text.size();
  c.ids.reserve(n);
  for (size_t i = 0; i < n; ++i) c.ids.push_back(c.id_of[(unsigned char)text[i]]);
  c.train_size = int64_t(n) * 9 / 10;
  return c;
}

/// The fortune files under `dir`, concatenated in fortune_files() order. Throws `Error` (the
/// examples pass tf::NotFoundError) naming the package when there are none or one is unreadable.
template <class Error = std::runtime_error>
std::string read_fortunes(const std::string& dir = kFortunesDir) {
  const std::vector<std::filesystem::path> files = fortune_files(dir);
  if (files.empty())
    throw Error("no fortune files in " + dir +
                ": install Debian's `fortunes` package (apt-get install fortunes, or "
                "scripts/install-deps.sh)");
  std::string text;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path.string() + " of Debian's `fortunes` package");
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return text;
}

/// The training windows: each step draws `batch` start offsets uniformly from
/// [0, train_size - context - 1] (a window is context + 1 ids: inputs and next-id targets),
/// from a std::mt19937_64 seeded with `seed`, so that both programs see the same batches.
class WindowSampler {
 public:
  WindowSampler(const Corpus& c, int64_t context, uint64_t seed)
      : engine_(seed), pick_(0, c.train_size - context - 1) {
    if (c.train_size - context - 1 < 0)
      throw std::invalid_argument("the training text (" + std::to_string(c.train_size) +
                                  " characters) is shorter than one window of context + 1");
  }
  std::vector<int64_t> next(int64_t batch) {
    std::vector<int64_t> starts(size_t(batch), 0);
    for (auto& s : starts) s = pick_(engine_);
    return starts;
  }
  /// Draws and drops `steps` batches: a resumed run continues with the batches it would have had.
  void skip(int64_t steps, int64_t batch) {
    for (int64_t i = 0; i < steps * batch; ++i) pick_(engine_);
  }

 private:
  std::mt19937_64 engine_;
  std::uniform_int_distribution<int64_t> pick_;
};

/// `count` validation windows of context + 1 ids, spread evenly over the validation part (the
/// same ones at every evaluation); fewer when it is too short to hold `count` apart.
inline std::vector<int64_t> validation_starts(const Corpus& c, int64_t context, int64_t count) {
  const int64_t first = c.train_size, last = c.size() - context - 1;  // last valid start
  std::vector<int64_t> starts;
  if (last < first || count <= 0) return starts;
  const int64_t room = last - first;
  const int64_t n = std::min(count, room + 1);
  for (int64_t i = 0; i < n; ++i) starts.push_back(first + (n > 1 ? room * i / (n - 1) : 0));
  return starts;
}

/// Inputs and targets [starts.size(), context] (row-major) of the windows at `starts`: the
/// targets are the inputs shifted by one character.
inline void fill_windows(const Corpus& c,
                         const std::vector<int64_t>& starts,
                         int64_t context,
                         std::vector<int32_t>& inputs,
                         std::vector<int32_t>& targets) {
  inputs.resize(starts.size() * size_t(context));
  targets.resize(inputs.size());
  for (size_t b = 0; b < starts.size(); ++b)
    for (int64_t t = 0; t < context; ++t) {
      inputs[b * size_t(context) + size_t(t)] = c.ids[size_t(starts[b] + t)];
      targets[b * size_t(context) + size_t(t)] = c.ids[size_t(starts[b] + t + 1)];
    }
}

}  // namespace example::chars
