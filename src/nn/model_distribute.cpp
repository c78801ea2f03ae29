// Model under tf::distribute: the collectives fit and evaluate make besides the gradient
// all-reduce (model_distribute.hpp). Only the public strategy API is used, as everywhere in nn/.
#include "nn/model_distribute.hpp"

#include <algorithm>
#include <string>

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"

namespace tapeflow::detail {

int Replicas::size() const { return strategy_ ? strategy_->num_replicas_in_sync() : 1; }
int Replicas::rank() const { return strategy_ ? strategy_->worker_index() : 0; }
bool Replicas::chief() const { return !strategy_ || strategy_->is_chief(); }

std::vector<double> Replicas::sum(const std::vector<double>& local) const {
  if (!strategy_ || size() == 1 || local.empty()) return local;
  // Gathered, then added here in replica order: an all-reduce may add in a different order on
  // different replicas, and the logs must be equal everywhere (callbacks decide on them).
  const auto k = int64_t(local.size());
  std::vector<double> all = strategy_->all_gather(constant(local, Shape{1, k})).to_vector<double>();
  std::vector<double> out(local.size(), 0.0);
  for (size_t r = 0; r < all.size() / local.size(); ++r)
    for (size_t i = 0; i < local.size(); ++i) out[i] += all[r * local.size() + i];
  return out;
}

bool Replicas::any(bool local) const {
  if (!strategy_ || size() == 1) return local;
  return sum({local ? 1.0 : 0.0})[0] > 0.0;
}

std::pair<int64_t, int64_t> Replicas::share(int64_t rows) const {
  const int64_t n = size(), r = rank();
  // rows / n each, and one more for the first rows % n replicas.
  const int64_t q = rows / n, rem = rows % n;
  auto start = [&](int64_t i) { return i * q + std::min(i, rem); };
  return {start(r), start(r + 1)};
}

void Replicas::check_same_rows(const char* where, int64_t rows) const {
  if (!strategy_ || size() == 1) return;
  const std::vector<int64_t> all =
      strategy_->all_gather(constant(std::vector<int64_t>{rows}, Shape{1})).to_vector<int64_t>();
  if (std::all_of(all.begin(), all.end(), [&](int64_t r) { return r == rows; })) return;
  std::string list;
  for (size_t r = 0; r < all.size(); ++r) list += str_cat(r ? ", " : "", all[r]);
  throw InvalidArgumentError(
      str_cat(where,
              " under a strategy takes the same x and y on every replica (the whole data set; "
              "each replica trains on its share of every global batch; pass a Dataset for data "
              "that differs per replica); rows per replica: ",
              list));
}

Logs Replicas::results(const Model::State& s) const {
  if (!strategy_ || size() == 1) return s.results();
  std::vector<double> local{s.loss_total, s.loss_count};
  for (const auto& m : s.metrics) {
    if (m.totals) {
      auto [total, count] = m.totals();
      local.push_back(total);
      local.push_back(count);
    } else {
      // A mean over the examples seen: its total is the mean times their number.
      const double count = s.loss_count;
      local.push_back(count > 0.0 ? m.result() * count : 0.0);
      local.push_back(count);
    }
  }
  std::vector<double> g = sum(local);
  auto ratio = [](double total, double count) { return count == 0.0 ? 0.0 : total / count; };
  Logs logs;
  logs["loss"] = ratio(g[0], g[1]);
  for (size_t i = 0; i < s.metrics.size(); ++i)
    logs[s.metrics[i].name] = ratio(g[2 + 2 * i], g[3 + 2 * i]);
  return logs;
}

uint64_t Replicas::chief_seed(uint64_t local) const {
  if (!strategy_ || size() == 1) return local;
  return uint64_t(strategy_->broadcast(constant(int64_t(local)), 0).item<int64_t>());
}

void Replicas::broadcast_state(const Model& model, Model::State& s) const {
  if (!strategy_) return;
  strategy_->broadcast_variables(model.non_trainable_variables());
  strategy_->broadcast_variables(model.trainable_variables(), *s.optimizer);
  s.replicas_synced = true;
}

}  // namespace tapeflow::detail
