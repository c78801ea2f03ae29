// Learning-rate schedules as in Keras (keras/optimizers/schedules/learning_rate_schedule.py),
// evaluated in double precision on the host: a schedule is one number per step.
#include "tapeflow/schedules.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/fail.hpp"

namespace tapeflow::optimizers::schedules {

LearningRateSchedule::~LearningRateSchedule() = default;

namespace {
void check_decay_steps(const char* name, int64_t decay_steps) {
  if (decay_steps <= 0)
    throw InvalidArgumentError(detail::str_cat(
        name, ": Argument `decay_steps` must be > 0. Received: decay_steps=", decay_steps));
}
}  // namespace

ExponentialDecay::ExponentialDecay(double initial_learning_rate,
                                   int64_t decay_steps,
                                   double decay_rate,
                                   bool staircase)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  check_decay_steps("ExponentialDecay", decay_steps);
}

double ExponentialDecay::operator()(int64_t step) const {
  double p = double(step) / double(decay_steps_);
  if (staircase_) p = std::floor(p);
  return initial_learning_rate_ * std::pow(decay_rate_, p);
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<int64_t> boundaries,
                                               std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  if (values_.size() != boundaries_.size() + 1)
    throw InvalidArgumentError(detail::str_cat(
        "PiecewiseConstantDecay: The length of boundaries should be 1 less than the length of "
        "values. Received: boundaries of length ",
        boundaries_.size(),
        " and values of length ",
        values_.size()));
  if (!std::is_sorted(boundaries_.begin(), boundaries_.end()))
    throw InvalidArgumentError(
        detail::str_cat("PiecewiseConstantDecay: boundaries must be in increasing order, got ",
                        detail::vec_str(boundaries_)));
}

double PiecewiseConstantDecay::operator()(int64_t step) const {
  // The first boundary not below step: step <= boundaries[i] selects values[i].
  auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), step);
  return values_[size_t(it - boundaries_.begin())];
}

CosineDecay::CosineDecay(double initial_learning_rate,
                         int64_t decay_steps,
                         double alpha,
                         std::optional<double> warmup_target,
                         int64_t warmup_steps)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      alpha_(alpha),
      warmup_target_(warmup_target),
      warmup_steps_(warmup_steps) {
  check_decay_steps("CosineDecay", decay_steps);
  if (warmup_steps < 0)
    throw InvalidArgumentError(detail::str_cat(
        "CosineDecay: Argument `warmup_steps` must be >= 0. Received: warmup_steps=",
        warmup_steps));
}

double CosineDecay::operator()(int64_t step) const {
  const double decay_steps = double(decay_steps_);
  // from·((1 - alpha)·½(1 + cos(π·s/decay_steps)) + alpha)
  auto decay = [&](double s, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * (s / decay_steps)));
    return from * ((1.0 - alpha_) * cosine + alpha_);
  };
  if (!warmup_target_) return decay(std::min(double(step), decay_steps), initial_learning_rate_);
  const double warmup_steps = double(warmup_steps_);
  const double s = std::min(double(step), decay_steps + warmup_steps);
  if (s < warmup_steps)  // linear warm-up from initial_learning_rate to warmup_target
    return (*warmup_target_ - initial_learning_rate_) * (s / warmup_steps) + initial_learning_rate_;
  return decay(s - warmup_steps, *warmup_target_);
}

}  // namespace tapeflow::optimizers::schedules
