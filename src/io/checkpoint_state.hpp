#pragma once

// What Checkpoint and CheckpointManager share: the checkpoint's state, file naming, and the
// `checkpoint` state file in a checkpoint directory (TensorFlow's CheckpointState, as text).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.hpp"
#include "tapeflow/checkpoint.hpp"

namespace tapeflow::train::detail {

struct CheckpointImpl {
  std::vector<std::pair<std::string, Variable>> variables;
  std::vector<std::pair<std::string, Trackable>> objects;
  int64_t save_counter = 0;
};

/// The whole checkpoint file Checkpoint::write writes, with `extra_metadata` added to its
/// metadata (model.save adds the architecture); InvalidArgumentError if a key is taken.
std::string encode_checkpoint(const CheckpointImpl& checkpoint,
                              const std::map<std::string, std::string>& extra_metadata);
/// Checkpoint::restore from a file already read and verified; `path` is named in errors.
void restore_checkpoint(CheckpointImpl& checkpoint,
                        const tapeflow::detail::SafetensorsFile& file,
                        const std::string& path);

/// The file of a checkpoint path: `path` + ".safetensors" unless it already ends so.
std::string file_of(const std::string& path);
/// Whether the checkpoint's file exists.
bool checkpoint_exists(const std::string& path);
/// std::filesystem::create_directories, failures reported as tf::Errors.
void make_directories(const std::filesystem::path& dir);

struct State {
  std::string latest;            // model_checkpoint_path
  std::vector<std::string> all;  // all_model_checkpoint_paths, oldest first
};
/// The state file of `dir`, its paths resolved against `dir`; nullopt if there is none,
/// DataLossError if it cannot be parsed.
std::optional<State> read_state(const std::filesystem::path& dir);
/// Replaces the state file of `dir` atomically; paths inside `dir` are stored relative to it.
void write_state(const std::filesystem::path& dir,
                 const std::string& latest,
                 const std::vector<std::string>& all);

}  // namespace tapeflow::train::detail
