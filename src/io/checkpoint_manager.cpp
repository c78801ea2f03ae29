// The `checkpoint` state file, latest_checkpoint() and CheckpointManager: numbered checkpoints
// in one directory, the newest max_to_keep kept.
#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/fail.hpp"
#include "io/checkpoint_state.hpp"
#include "io/safetensors.hpp"

namespace tapeflow::train {

namespace fs = std::filesystem;
using tapeflow::detail::str_cat;

namespace detail {

namespace {

constexpr const char* kSuffix = ".safetensors";
constexpr const char* kStateFile = "checkpoint";

std::string unquote_state(const std::string& line, size_t start, const std::string& file) {
  // start points at the opening quote; C escapes \" and \\ only (what we write).
  std::string out;
  size_t i = start + 1;
  for (; i < line.size() && line[i] != '"'; ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) ++i;
    out += line[i];
  }
  if (i >= line.size())
    throw DataLossError(str_cat("Checkpoint state file '", file, "' is damaged: ", line));
  return out;
}

std::string quote_state(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "a/b/", "a/./b" and "a/b" alike; "" for the current directory.
fs::path normal_dir(const fs::path& dir) {
  fs::path n = dir.lexically_normal();
  if (!n.has_filename()) n = n.parent_path();  // a trailing separator
  return n == "." ? fs::path() : n;
}

// A path as the state file stores it: relative when it lies in `dir`, as TensorFlow writes.
std::string relative_to(const std::string& path, const fs::path& dir) {
  const fs::path p(path);
  if (normal_dir(p.parent_path()) == normal_dir(dir)) return p.filename().string();
  return path;
}

std::string resolve(const std::string& stored, const fs::path& dir) {
  fs::path p(stored);
  return p.is_absolute() ? stored : (dir / p).string();
}

}  // namespace

std::optional<State> read_state(const fs::path& dir) {
  const std::string file = (dir / kStateFile).string();
  std::string text;
  try {
    text = tapeflow::detail::read_file(file);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
  State s;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos)
      throw DataLossError(str_cat("Checkpoint state file '", file, "' is damaged: ", line));
    const std::string key = line.substr(0, colon);
    const size_t q = line.find('"', colon);
    if (key == "model_checkpoint_path" || key == "all_model_checkpoint_paths") {
      if (q == std::string::npos)
        throw DataLossError(str_cat("Checkpoint state file '", file, "' is damaged: ", line));
      std::string v = resolve(unquote_state(line, q, file), dir);
      if (key == "model_checkpoint_path")
        s.latest = std::move(v);
      else
        s.all.push_back(std::move(v));
    }  // other fields (timestamps) are TensorFlow's; ignored
  }
  return s;
}

void write_state(const fs::path& dir,
                 const std::string& latest,
                 const std::vector<std::string>& all) {
  std::string text = "model_checkpoint_path: " + quote_state(relative_to(latest, dir)) + "\n";
  for (const std::string& p : all)
    text += "all_model_checkpoint_paths: " + quote_state(relative_to(p, dir)) + "\n";
  tapeflow::detail::write_file_atomically((dir / kStateFile).string(), text);
}

bool checkpoint_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(file_of(path), ec);
}

// create_directories, with failures reported as tf::Errors.
void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) return;
  const std::string msg = str_cat("Cannot create directory '", dir.string(), "': ", ec.message());
  if (ec == std::errc::permission_denied || ec == std::errc::read_only_file_system)
    throw FailedPreconditionError(msg);
  if (ec == std::errc::no_space_on_device) throw ResourceExhaustedError(msg);
  throw FailedPreconditionError(msg);  // e.g. a path component is a file
}

std::string file_of(const std::string& path) {
  const std::string suffix(kSuffix);
  if (path.size() >= suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return path;
  return path + suffix;
}

}  // namespace detail

using namespace detail;

// ---- latest_checkpoint and CheckpointManager -------------------------------------------------

std::string latest_checkpoint(const std::string& directory) {
  const std::optional<State> s = read_state(fs::path(directory));
  if (!s || s->latest.empty() || !checkpoint_exists(s->latest)) return "";
  return s->latest;
}

CheckpointManager::CheckpointManager(Checkpoint checkpoint,
                                     std::string directory,
                                     CheckpointManagerOptions options)
    : checkpoint_(std::move(checkpoint)),
      directory_(std::move(directory)),
      options_(std::move(options)) {
  if (options_.max_to_keep && *options_.max_to_keep <= 0)
    throw InvalidArgumentError(
        str_cat("CheckpointManager: max_to_keep must be positive, got ", *options_.max_to_keep));
  if (options_.checkpoint_name.empty() || options_.checkpoint_name.find('/') != std::string::npos)
    throw InvalidArgumentError(
        str_cat("CheckpointManager: invalid checkpoint_name '", options_.checkpoint_name, "'"));
  // Pick up what an earlier run left (as TensorFlow's manager does); entries whose files are
  // gone are dropped.
  if (std::optional<State> s = read_state(fs::path(directory_))) {
    for (const std::string& p : s->all)
      if (checkpoint_exists(p) &&
          std::find(checkpoints_.begin(), checkpoints_.end(), p) == checkpoints_.end())
        checkpoints_.push_back(p);
    if (!s->latest.empty() && checkpoint_exists(s->latest)) {
      checkpoints_.erase(std::remove(checkpoints_.begin(), checkpoints_.end(), s->latest),
                         checkpoints_.end());
      checkpoints_.push_back(s->latest);
    }
  }
}

std::string CheckpointManager::latest_checkpoint() const {
  return checkpoints_.empty() ? std::string() : checkpoints_.back();
}

std::string CheckpointManager::restore_or_initialize() {
  const std::string latest = latest_checkpoint();
  if (!latest.empty()) checkpoint_.restore(latest);
  return latest;
}

std::string CheckpointManager::save(std::optional<int64_t> checkpoint_number) {
  const fs::path dir(directory_);
  make_directories(dir);
  auto& counter = checkpoint_.impl()->save_counter;
  ++counter;
  const std::string path =
      (dir / str_cat(options_.checkpoint_name, "-", checkpoint_number.value_or(counter))).string();
  try {
    checkpoint_.write(path);
  } catch (...) {
    --counter;
    throw;
  }
  std::vector<std::string> kept = checkpoints_;
  kept.erase(std::remove(kept.begin(), kept.end(), path), kept.end());
  kept.push_back(path);
  std::vector<std::string> removed;
  if (options_.max_to_keep)
    while (kept.size() > size_t(*options_.max_to_keep)) {
      removed.push_back(kept.front());
      kept.erase(kept.begin());
    }
  // The state file names the new checkpoint before any old one is deleted, so a crash in
  // between leaves at worst an unlisted file, never a listed one that is gone.
  write_state(dir, path, kept);
  checkpoints_ = kept;
  for (const std::string& p : removed) {
    std::error_code ec;
    fs::remove(file_of(p), ec);
  }
  return path;
}

}  // namespace tapeflow::train
