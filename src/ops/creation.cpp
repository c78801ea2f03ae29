#include <atomic>
#include <cmath>
#include <memory>
#include <utility>

#include "core/device_context.hpp"
#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::fail;
using detail::KernelArgs;

namespace {

void check_shape(const char* op, const Shape& s) { detail::checked_num_elements(op, s); }

Tensor fill_kernel(const char* op, const Shape& s, DType dtype, double start, double delta) {
  check_shape(op, s);
  detail::FillAttrs a{start, delta};
  return detail::run_op({.name = op,
                         .inputs = {},
                         .out = {s, dtype},
                         .kernel = [](Backend& b, const KernelArgs& k) { b.fill(k); },
                         .attrs = &a});
}

}  // namespace

Tensor zeros(const Shape& shape, DType dtype) { return fill_kernel("Zeros", shape, dtype, 0, 0); }
Tensor ones(const Shape& shape, DType dtype) { return fill_kernel("Ones", shape, dtype, 1, 0); }

Tensor fill(const Shape& shape, const Tensor& value) {
  detail::check_defined("Fill", value, 0);
  if (value.num_elements() != 1)
    fail<InvalidArgumentError>("Fill", "value must be a scalar, got shape ", value.shape());
  check_shape("Fill", shape);
  return broadcast_to(reshape(value, Shape{}), shape);
}

Tensor zeros_like(const Tensor& x) {
  detail::check_defined("ZerosLike", x, 0);
  DeviceScope scope(x.device_info());
  return zeros(x.shape(), x.dtype());
}
Tensor ones_like(const Tensor& x) {
  detail::check_defined("OnesLike", x, 0);
  DeviceScope scope(x.device_info());
  return ones(x.shape(), x.dtype());
}

Tensor range(double start, double limit, double delta, DType dtype) {
  if (delta == 0) fail<InvalidArgumentError>("Range", "Requires delta != 0");
  if ((delta > 0 && start > limit) || (delta < 0 && start < limit))
    fail<InvalidArgumentError>("Range",
                               "Requires start <= limit when delta > 0 (or >= when delta < 0): ",
                               start,
                               "/",
                               limit);
  const double count = std::ceil(std::fabs((limit - start) / delta));
  if (!(count < 9.2e18))  // also NaN (an infinite start or limit); the cast would be undefined
    fail<InvalidArgumentError>("Range",
                               "Requires the number of elements to fit in int64: start ",
                               start,
                               ", limit ",
                               limit,
                               ", delta ",
                               delta);
  const int64_t n = int64_t(count);
  return fill_kernel("Range", Shape{n}, dtype, start, delta);
}

Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  if (num <= 0) fail<InvalidArgumentError>("LinSpace", "Requires num > 0: ", num);
  double delta = num == 1 ? 0.0 : (stop - start) / double(num - 1);
  Tensor t = fill_kernel("LinSpace", Shape{num}, dtype, start, delta);
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  if (n < 0) fail<InvalidArgumentError>("Eye", "n must be >= 0, got ", n);
  // The result's size first: the index vectors below would otherwise be allocated (and could
  // be large) before an n x m result too large to allocate is refused.
  detail::check_output("Eye", Shape{n, m}, dtype, detail::current_device());
  Tensor r = reshape(range(0.0, double(n), 1.0, DType::int64), Shape{n, 1});
  Tensor c = reshape(range(0.0, double(m), 1.0, DType::int64), Shape{1, m});
  return cast(equal(r, c), dtype);
}

Tensor cast_constant_helper(const Tensor& t, DType dtype) { return cast(t, dtype); }

namespace random {

struct Generator::State {
  std::atomic<uint64_t> seed;
  std::atomic<uint64_t> counter{0};
  explicit State(uint64_t s) : seed(s) {}
};

namespace {
Generator::State& global_state() {
  static auto* s = new Generator::State(0x853c49e6748fea9bULL);  // leaked: used until exit
  return *s;
}
thread_local std::shared_ptr<Generator::State> t_scoped;  // GeneratorScope's, else null

Tensor draw(Generator::State& g,
            const char* op,
            const Shape& shape,
            detail::RandomKind kind,
            double a,
            double b,
            DType dtype) {
  check_shape(op, shape);
  if (!is_floating(dtype))
    fail<InvalidArgumentError>(op, "dtype must be float32 or float64, got ", dtype_name(dtype));
  detail::RandomAttrs attrs{kind, a, b, g.seed.load(), g.counter.fetch_add(1)};
  return detail::run_op({.name = op,
                         .inputs = {},
                         .out = {shape, dtype},
                         .kernel = [](Backend& be, const KernelArgs& k) { be.random(k); },
                         .attrs = &attrs});
}
Generator::State& current() { return t_scoped ? *t_scoped : global_state(); }

void check_uniform_range(double minval, double maxval) {
  if (!(minval < maxval))
    fail<InvalidArgumentError>("RandomUniform", "Need minval < maxval: ", minval, " >= ", maxval);
}
}  // namespace

void set_seed(uint64_t seed) {
  global_state().seed = seed;
  global_state().counter = 0;
}

Tensor normal(const Shape& shape, double mean, double stddev, DType dtype) {
  return draw(
      current(), "RandomStandardNormal", shape, detail::RandomKind::Normal, mean, stddev, dtype);
}
Tensor uniform(const Shape& shape, double minval, double maxval, DType dtype) {
  check_uniform_range(minval, maxval);
  return draw(
      current(), "RandomUniform", shape, detail::RandomKind::Uniform, minval, maxval, dtype);
}
Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype) {
  return draw(current(),
              "TruncatedNormal",
              shape,
              detail::RandomKind::TruncatedNormal,
              mean,
              stddev,
              dtype);
}

Generator Generator::from_seed(uint64_t seed) { return Generator(std::make_shared<State>(seed)); }
Tensor Generator::normal(const Shape& shape, double mean, double stddev, DType dtype) {
  return draw(
      *state_, "RandomStandardNormal", shape, detail::RandomKind::Normal, mean, stddev, dtype);
}
Tensor Generator::uniform(const Shape& shape, double minval, double maxval, DType dtype) {
  check_uniform_range(minval, maxval);
  return draw(*state_, "RandomUniform", shape, detail::RandomKind::Uniform, minval, maxval, dtype);
}
Tensor Generator::truncated_normal(const Shape& shape, double mean, double stddev, DType dtype) {
  return draw(
      *state_, "TruncatedNormal", shape, detail::RandomKind::TruncatedNormal, mean, stddev, dtype);
}
uint64_t Generator::seed() const { return state_->seed.load(); }
void Generator::reset_from_seed(uint64_t seed) {
  state_->seed = seed;
  state_->counter = 0;
}

GeneratorScope::GeneratorScope(const Generator& g) : previous_(std::exchange(t_scoped, g.state_)) {}
GeneratorScope::~GeneratorScope() { t_scoped = std::move(previous_); }

}  // namespace random

}  // namespace tapeflow
