#pragma once

// What Model::compile sets and fit / evaluate track; shared by model.cpp and model_summary.cpp.

#include <memory>
#include <optional>
#include <vector>

#include "tapeflow/model.hpp"

namespace tapeflow {

struct Model::State {
  bool compiled = false;
  std::shared_ptr<optimizers::Optimizer> optimizer;
  std::shared_ptr<const losses::Loss> loss;
  std::vector<MetricSpec::Ops> metrics;
  // Per metric, the name it was given by, or "" if given as an object or function (model.save
  // can only name the former).
  std::vector<std::string> metric_names;
  bool warned_compile_config = false;  // model.save said once that it cannot name it
  bool stop_training = false;
  std::optional<Shape> input_shape;  // the last input seen, for summary()
  double loss_total = 0.0, loss_count = 0.0;
  // CompileOptions::distribute (null: one process), and whether the replicas' variables and
  // optimizer state have been made the chief's since compile.
  StrategySpec strategy{};
  bool replicas_synced = false;

  void reset_metrics() {
    loss_total = loss_count = 0.0;
    for (auto& m : metrics) m.reset();
  }
  Logs results() const {
    Logs logs;
    logs["loss"] = loss_count == 0.0 ? 0.0 : loss_total / loss_count;
    for (const auto& m : metrics) logs[m.name] = m.result();
    return logs;
  }
};

}  // namespace tapeflow
