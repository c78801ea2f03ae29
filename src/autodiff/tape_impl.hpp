#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "autodiff/id_map.hpp"
#include "ops/run_op.hpp"
#include "tapeflow/tape.hpp"

namespace tapeflow::detail {

/// One recorded op: its inputs, output and gradient rule. `needs[i]` says whether input i
/// depended on something this tape watches when the op ran.
struct TapeRecord {
  const char* name;
  TensorList inputs;
  Tensor output;
  GradFn grad;
  uint64_t needs;  // bit i: input i (inputs past 64 always count as needed)
};

struct TapeImpl {
  TapeOptions options;
  bool recording = false;  // change only through set_recording (it keeps the thread's count)
  bool used = false;
  bool stopped_by_gradient = false;  // a non-persistent gradient() ended its recording
  IdSet watched;                     // ids of watched tensors and of recorded outputs
  std::vector<TapeRecord> records;
  std::vector<Variable> variables;  // watched variables, in first-watch order
  /// Per watched variable (by handle): the ids of the values it held when read under this tape,
  /// in read order. The gradient with respect to the variable sums theirs, as TF's gradient
  /// flows to the resource handle: an assign between a read and gradient() loses nothing.
  std::unordered_map<uint64_t, std::vector<uint64_t>> variable_values;

  void set_recording(bool on);
  void watch_tensor(const Tensor& t);
  void watch_variable(const Variable& v);
};

/// Called by gradient() on this thread as soon as the gradient of source `index` is final, i.e.
/// once the walk has passed the oldest record that reads it, with the tensor gradient() will
/// return for it (undefined if none). Sources nothing reads are final before the walk starts.
/// tf::distribute uses it to start all-reducing gradients while the walk goes on.
using GradientReadyHook = std::function<void(size_t index, const Tensor& grad)>;
/// Installs `hook` (nullptr: none) for this thread's gradient() calls; returns the previous one.
const GradientReadyHook* set_gradient_ready_hook(const GradientReadyHook* hook);

/// Tapes alive on this thread, innermost last.
std::vector<TapeImpl*>& tape_stack();
/// Called when a variable is read: recording tapes that watch accessed variables watch it.
void notify_variable_read(const Variable& v);

}  // namespace tapeflow::detail
