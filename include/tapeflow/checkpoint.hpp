#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/optimizers.hpp"
#include "tapeflow/variable.hpp"

// Object-based checkpoints (tf.train.Checkpoint) stored as safetensors files; see
// docs/checkpoints.md for the file format and the atomicity guarantees.

namespace tapeflow::train {

class Checkpoint;

namespace detail {
struct CheckpointImpl;
}

/// Anything a Checkpoint can save besides plain variables: a layer (by its variables; a shared
/// handle, kept alive by the checkpoint), an optimizer (its slots and iterations; held by
/// reference, so it must outlive the checkpoint), a nested Checkpoint, or a single Variable.
class TAPEFLOW_API Trackable {
 public:
  Trackable(const Variable& variable);          // NOLINT(google-explicit-constructor)
  Trackable(const layers::Layer& layer);        // NOLINT(google-explicit-constructor)
  Trackable(optimizers::Optimizer& optimizer);  // NOLINT(google-explicit-constructor)
  Trackable(const Checkpoint& checkpoint);      // NOLINT(google-explicit-constructor)

  enum class Kind { variable, layer, optimizer, checkpoint };
  Kind kind() const { return kind_; }
  const Variable& variable() const { return variable_; }
  const layers::Layer& layer() const { return layer_; }
  optimizers::Optimizer* optimizer() const { return optimizer_; }
  const std::shared_ptr<detail::CheckpointImpl>& checkpoint() const { return checkpoint_; }

 private:
  Kind kind_;
  Variable variable_;
  layers::Layer layer_;
  optimizers::Optimizer* optimizer_ = nullptr;
  std::shared_ptr<detail::CheckpointImpl> checkpoint_;
};

/// Saves and restores named variables and objects (tf.train.Checkpoint). A shared handle:
/// copies (e.g. the one a CheckpointManager keeps) refer to the same objects and save counter.
///
///   tf::train::Checkpoint ckpt({{"w", w}, {"b", b}}, {{"model", model}, {"optimizer", opt}});
///   std::string path = ckpt.save("ckpt/model");   // "ckpt/model-1", file ckpt/model-1.safetensors
///   ckpt.restore(tf::train::latest_checkpoint("ckpt"));
///
/// Names must be unique and may not contain "/" or be "save_counter". A layer's variables are
/// keyed by their place in it ("model/layer-0/kernel"), not by their global names, so a freshly
/// built copy of the same architecture restores them. Optimizer slots are saved for the
/// variables this checkpoint tracks; restore creates them in a fresh optimizer (Optimizer::build).
class TAPEFLOW_API Checkpoint {
 public:
  explicit Checkpoint(std::vector<std::pair<std::string, Variable>> variables = {},
                      std::vector<std::pair<std::string, Trackable>> objects = {});

  /// Increments save_counter, writes `<prefix>-<save_counter>.safetensors` atomically (creating
  /// the directory if needed), records it in the directory's `checkpoint` state file and returns
  /// the checkpoint path `<prefix>-<save_counter>`.
  std::string save(const std::string& prefix);
  /// Writes `<path>.safetensors` atomically; no counter increment, no state file. Returns path.
  std::string write(const std::string& path) const;
  /// Restores every tracked value from a checkpoint path (with or without ".safetensors").
  /// Everything is validated before anything is assigned: a missing file or variable is a
  /// NotFoundError, a shape/dtype mismatch an InvalidArgumentError, a damaged or truncated file
  /// a DataLossError. Tensors of objects this checkpoint does not track are ignored.
  void restore(const std::string& path) const;

  /// The number of save() calls (restored from the checkpoint by restore()).
  int64_t save_counter() const;
  /// Every tracked variable, optimizer slot and counter under its checkpoint key, sorted by key.
  std::vector<std::pair<std::string, Tensor>> tensors() const;

  const std::shared_ptr<detail::CheckpointImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<detail::CheckpointImpl> impl_;
};

/// The latest checkpoint path recorded in `directory`'s `checkpoint` state file; "" when there
/// is no state file or the checkpoint it names is gone (as tf.train.latest_checkpoint's None).
TAPEFLOW_API std::string latest_checkpoint(const std::string& directory);

struct CheckpointManagerOptions {
  /// How many checkpoints to keep (the oldest are deleted); nullopt keeps all.
  std::optional<int> max_to_keep = 5;
  /// Files are `<directory>/<checkpoint_name>-<number>.safetensors`.
  std::string checkpoint_name = "ckpt";
};

/// Numbered checkpoints in one directory, keeping the last max_to_keep
/// (tf.train.CheckpointManager). Construction picks up the directory's existing state file.
class TAPEFLOW_API CheckpointManager {
 public:
  CheckpointManager(Checkpoint checkpoint,
                    std::string directory,
                    CheckpointManagerOptions options = {});

  /// Saves `<directory>/<name>-<n>` with n = checkpoint_number or else the incremented
  /// save_counter; updates the state file, then deletes checkpoints beyond max_to_keep.
  /// Returns the checkpoint path.
  std::string save(std::optional<int64_t> checkpoint_number = std::nullopt);
  /// Restores the latest checkpoint if there is one; returns its path, or "" (nothing restored).
  std::string restore_or_initialize();
  /// The newest checkpoint path, "" if none.
  std::string latest_checkpoint() const;
  /// The kept checkpoint paths, oldest first.
  const std::vector<std::string>& checkpoints() const { return checkpoints_; }
  const std::string& directory() const { return directory_; }
  Checkpoint& checkpoint() { return checkpoint_; }

 private:
  Checkpoint checkpoint_;
  std::string directory_;
  CheckpointManagerOptions options_;
  std::vector<std::string> checkpoints_;
};

}  // namespace tapeflow::train
