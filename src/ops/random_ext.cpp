// tf::random::categorical and tf::random::shuffle, and the seeded draws they share with the
// random image ops. categorical samples by the Gumbel-max trick — argmax(logits − log(−log u))
// is distributed as softmax(logits) — on whatever device the logits are; shuffle sorts
// uniform keys on the host (Philox, so every device gets the same permutation) and gathers.
#include "ops/random_ext.hpp"

#include <algorithm>
#include <numeric>

#include "core/philox.hpp"
#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::fail;
using detail::KernelArgs;

namespace detail {

Tensor seeded_uniform(const char* op,
                      const Shape& shape,
                      std::optional<uint64_t> seed,
                      uint64_t stream) {
  checked_num_elements(op, shape);
  if (!seed) return random::uniform(shape, 0.0, 1.0, DType::float64);
  RandomAttrs attrs{RandomKind::Uniform, 0.0, 1.0, *seed, stream};
  return run_op({.name = "RandomUniform",
                 .inputs = {},
                 .out = {shape, DType::float64},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.random(k); },
                 .attrs = &attrs});
}

std::vector<double> seeded_uniform_host(const char* op,
                                        int64_t n,
                                        std::optional<uint64_t> seed,
                                        uint64_t stream) {
  if (!seed) return seeded_uniform(op, Shape{n}, seed, stream).to_vector<double>();
  std::vector<double> u(static_cast<size_t>(n));
  // The random kernel's own element function: the same numbers as seeded_uniform's tensor.
  for (int64_t i = 0; i < n; ++i)
    u[size_t(i)] = random_value<double>(RandomKind::Uniform, 0.0, 1.0, *seed, stream, uint64_t(i));
  return u;
}

}  // namespace detail

namespace random {

namespace {
constexpr uint64_t kCategoricalStream = 0x43415445474f5259ULL;  // "CATEGORY"
constexpr uint64_t kShuffleStream = 0x53485546464c4500ULL;      // "SHUFFLE"
}  // namespace

Tensor categorical(const Tensor& logits,
                   int64_t num_samples,
                   std::optional<uint64_t> seed,
                   DType dtype) {
  const char* op = "Multinomial";
  detail::check_defined(op, logits, 0);
  detail::check_dtype(op, logits, detail::Require::floating);
  if (logits.rank() != 2)
    fail<InvalidArgumentError>(
        op, "logits should be a matrix [batch_size, num_classes], got shape ", logits.shape());
  if (num_samples < 0)
    fail<InvalidArgumentError>(op, "num_samples should be nonnegative, got ", num_samples);
  if (dtype != DType::int64 && dtype != DType::int32)
    fail<InvalidArgumentError>(op, "output_dtype must be int32 or int64, got ", dtype_name(dtype));
  const int64_t batch = logits.shape()[0], classes = logits.shape()[1];
  if (classes == 0 && batch > 0 && num_samples > 0)
    fail<InvalidArgumentError>(op, "num_classes should be positive, got shape ", logits.shape());
  const Shape draws{batch, num_samples, classes};
  detail::checked_num_elements(op, draws);
  if (batch == 0 || num_samples == 0) return zeros(Shape{batch, num_samples}, dtype);
  Tensor u = detail::seeded_uniform(op, draws, seed, kCategoricalStream);
  // Gumbel noise −log(−log u); u = 0 gives −inf (never picked), u < 1 always.
  Tensor gumbel = -log(-log(u));
  Tensor scores = expand_dims(stop_gradient(cast(logits, DType::float64)), 1) + gumbel;
  Tensor idx = argmax(scores, 2);
  return dtype == DType::int64 ? idx : cast(idx, dtype);
}

Tensor shuffle(const Tensor& value, std::optional<uint64_t> seed) {
  const char* op = "RandomShuffle";
  detail::check_defined(op, value, 0);
  if (value.rank() == 0 || value.num_elements() == 0) return identity(value);
  const int64_t n = value.shape()[0];
  std::vector<double> keys = detail::seeded_uniform_host(op, n, seed, kShuffleStream);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
    return keys[size_t(a)] < keys[size_t(b)];
  });
  return gather(value, constant(perm, Shape{n}), 0);
}

}  // namespace random
}  // namespace tapeflow
