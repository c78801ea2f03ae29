#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "tapeflow/export.hpp"

namespace tapeflow::detail {
template <class N>
concept LearningRateNumber = std::is_arithmetic_v<N> && !std::is_same_v<N, bool>;
}  // namespace tapeflow::detail

namespace tapeflow::optimizers {

namespace schedules {

/// A learning rate as a function of the optimizer step (Keras LearningRateSchedule). The
/// optimizer evaluates it at its `iterations()` (0 for the first update) before each update.
class TAPEFLOW_API LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule();
  virtual double operator()(int64_t step) const = 0;
};

/// initial_learning_rate * decay_rate^(step / decay_steps); `staircase` floors the exponent.
class TAPEFLOW_API ExponentialDecay : public LearningRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate,
                   int64_t decay_steps,
                   double decay_rate,
                   bool staircase = false);
  double operator()(int64_t step) const override;

 private:
  double initial_learning_rate_;
  int64_t decay_steps_;
  double decay_rate_;
  bool staircase_;
};

/// values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
/// boundaries[i], values.back() after the last boundary. Needs one more value than boundaries.
class TAPEFLOW_API PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values);
  double operator()(int64_t step) const override;

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

/// Cosine decay from initial_learning_rate to alpha * initial_learning_rate over decay_steps,
/// then constant. With `warmup_target`, first a linear warm-up from initial_learning_rate to
/// warmup_target over warmup_steps, then the cosine decay from warmup_target (Keras ≥ 2.13).
class TAPEFLOW_API CosineDecay : public LearningRateSchedule {
 public:
  CosineDecay(double initial_learning_rate,
              int64_t decay_steps,
              double alpha = 0.0,
              std::optional<double> warmup_target = std::nullopt,
              int64_t warmup_steps = 0);
  double operator()(int64_t step) const override;

 private:
  double initial_learning_rate_;
  int64_t decay_steps_;
  double alpha_;
  std::optional<double> warmup_target_;
  int64_t warmup_steps_;
};

}  // namespace schedules

/// An optimizer's learning rate: a number or a schedule (`{.learning_rate = 0.01f}` and
/// `{.learning_rate = schedules::ExponentialDecay(0.1, 100, 0.9)}` both work).
class TAPEFLOW_API LearningRate {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a number is a learning rate
  template <tapeflow::detail::LearningRateNumber N>
  LearningRate(N value) : value_(double(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): so is any schedule
  template <std::derived_from<schedules::LearningRateSchedule> S>
  LearningRate(S schedule) : schedule_(std::make_shared<const S>(std::move(schedule))) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  LearningRate(std::shared_ptr<const schedules::LearningRateSchedule> schedule)
      : schedule_(std::move(schedule)) {}

  /// The rate at optimizer step `step` (the constant for a plain number).
  double operator()(int64_t step) const { return schedule_ ? (*schedule_)(step) : value_; }
  /// The schedule, or null for a constant rate.
  const std::shared_ptr<const schedules::LearningRateSchedule>& schedule() const {
    return schedule_;
  }

 private:
  double value_ = 0.0;
  std::shared_ptr<const schedules::LearningRateSchedule> schedule_;
};

}  // namespace tapeflow::optimizers
