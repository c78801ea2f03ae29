// Every op and its gradient on /gpu:0 against /cpu:0: the same inputs (made on the CPU, copied),
// forward values and gradients through tf::GradientTape compared element by element, float32 and
// float64 (and the integer / bool dtypes that reach a kernel). Without a usable GPU every test
// says "skipped: no GPU" and returns.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;

namespace {

const char* const kCpu = "/cpu:0";
const char* const kGpu = "/gpu:0";

bool have_gpu() {
  if (tf::config::gpu_available()) return true;
  WARN("skipped: no GPU (" << tf::config::gpu_unavailable_reason() << ")");
  return false;
}

std::vector<double> host_values(const tf::Tensor& t) {
  tf::DeviceScope cpu(kCpu);
  return tf::cast(t.cpu(), tf::float64).to_vector<double>();
}

/// gpu and cpu agree element-wise within rtol (relative, absolute floor rtol); NaN matches NaN.
void require_close(const tf::Tensor& gpu,
                   const tf::Tensor& cpu,
                   double rtol,
                   const std::string& what) {
  INFO(what);
  REQUIRE(gpu.defined() == cpu.defined());
  if (!cpu.defined()) return;
  REQUIRE(gpu.shape() == cpu.shape());
  REQUIRE(gpu.dtype() == cpu.dtype());
  CHECK(gpu.device().find("GPU:0") != std::string::npos);
  const auto g = host_values(gpu), c = host_values(cpu);
  int64_t bad = -1;
  double worst = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (std::isnan(c[i]) || std::isnan(g[i])) {
      if (std::isnan(c[i]) != std::isnan(g[i])) bad = int64_t(i);
      continue;
    }
    if (c[i] == g[i]) continue;
    const double err = std::fabs(g[i] - c[i]) / std::max(1.0, std::fabs(c[i]));
    if (err > worst) worst = err;
    if (err > rtol && bad < 0) bad = int64_t(i);
  }
  INFO("first bad element " << bad
                            << (bad >= 0 ? " gpu " + std::to_string(g[size_t(bad)]) + " cpu " +
                                               std::to_string(c[size_t(bad)])
                                         : std::string()));
  INFO("worst relative error " << worst);
  CHECK(bad < 0);
}

double tol(tf::DType t, double f32 = 2e-5, double f64 = 1e-12) {
  return t == tf::float32 ? f32 : (t == tf::float64 ? f64 : 0.0);
}

/// Uniform values in [lo, hi) made on the CPU (deterministic: seeded per call site).
tf::Tensor input(
    const tf::Shape& s, tf::DType dt, double lo = -2, double hi = 2, uint64_t seed = 1) {
  tf::DeviceScope cpu(kCpu);
  tf::random::set_seed(seed);
  tf::Tensor u = tf::random::uniform(s, lo, hi, tf::float64);
  if (dt == tf::boolean) return tf::greater(u, tf::zeros_like(u));
  if (dt == tf::int32 || dt == tf::int64) return tf::cast(tf::floor(u), dt);
  return tf::cast(u, dt);
}

using Fn = std::function<tf::Tensor(const std::vector<tf::Tensor>&)>;

/// Runs f on the CPU and on the GPU with copies of `inputs`; compares outputs and, when `grad`,
/// the gradients of every floating input for the same random upstream gradient.
void check_op(const std::string& name,
              const Fn& f,
              const std::vector<tf::Tensor>& inputs,
              double rtol,
              bool grad = true) {
  tf::Tensor y[2], dy;
  std::vector<tf::Tensor> g[2];
  const char* devs[2] = {kCpu, kGpu};
  for (int d = 0; d < 2; ++d) {
    tf::DeviceScope scope(devs[d]);
    std::vector<tf::Tensor> xs, watched;
    for (const auto& x : inputs) xs.push_back(x.to(devs[d]));
    tf::GradientTape tape;
    for (const auto& x : xs)
      if (tf::is_floating(x.dtype())) {
        tape.watch(x);
        watched.push_back(x);
      }
    y[d] = f(xs);
    if (!grad || watched.empty() || !tf::is_floating(y[d].dtype())) continue;
    if (d == 0) dy = input(y[0].shape(), y[0].dtype(), -1, 1, 99);
    g[d] = tape.gradient(y[d], watched, dy.to(devs[d]));
  }
  require_close(y[1], y[0], rtol, name + " forward");
  for (size_t i = 0; i < g[0].size(); ++i)
    require_close(g[1][i], g[0][i], rtol, name + " gradient " + std::to_string(i));
}

const tf::DType kFloats[] = {tf::float32, tf::float64};
const tf::DType kInts[] = {tf::int32, tf::int64};

}  // namespace

TEST_CASE("gpu: binary element-wise ops and gradients, with broadcasting", "[gpu]") {
  if (!have_gpu()) return;
  const std::vector<std::pair<tf::Shape, tf::Shape>> shapes = {{{2, 3, 4}, {2, 3, 4}},
                                                               {{2, 3, 4}, {4}},
                                                               {{2, 1, 4}, {3, 1}},
                                                               {{}, {2, 3}},
                                                               {{5, 1, 1, 2}, {1, 3, 2, 1}}};
  struct Op {
    const char* name;
    Fn f;
  };
  const std::vector<Op> ops = {
      {"add", [](auto& v) { return v[0] + v[1]; }},
      {"subtract", [](auto& v) { return v[0] - v[1]; }},
      {"multiply", [](auto& v) { return v[0] * v[1]; }},
      {"divide", [](auto& v) { return v[0] / (tf::abs(v[1]) + 0.5); }},
      {"pow", [](auto& v) { return tf::pow(tf::abs(v[0]) + 0.1, v[1]); }},
      {"maximum", [](auto& v) { return tf::maximum(v[0], v[1]); }},
      {"minimum", [](auto& v) { return tf::minimum(v[0], v[1]); }},
      {"atan2", [](auto& v) { return tf::atan2(v[0], v[1]); }},
      {"floormod", [](auto& v) { return tf::floormod(v[0] * 3.0, tf::abs(v[1]) + 0.5); }},
  };
  for (tf::DType dt : kFloats)
    for (const auto& [sa, sb] : shapes)
      for (const auto& op : ops)
        check_op(std::string(op.name) + " " + std::string(tf::dtype_name(dt)) + " " +
                     sa.to_string() + sb.to_string(),
                 op.f,
                 {input(sa, dt, -2, 2, 1), input(sb, dt, -2, 2, 2)},
                 tol(dt, 1e-5));
}

TEST_CASE("gpu: integer arithmetic, comparisons, logical ops and where", "[gpu]") {
  if (!have_gpu()) return;
  for (tf::DType dt : kInts) {
    const auto a = input({3, 4}, dt, -6, 6, 3), b = input({4}, dt, 1, 4, 4);
    const std::string n = std::string(tf::dtype_name(dt));
    check_op(
        "int add " + n, [](auto& v) { return v[0] + v[1]; }, {a, b}, 0);
    check_op(
        "int sub " + n, [](auto& v) { return v[0] - v[1]; }, {a, b}, 0);
    check_op(
        "int mul " + n, [](auto& v) { return v[0] * v[1]; }, {a, b}, 0);
    check_op(
        "int div " + n, [](auto& v) { return v[0] / v[1]; }, {a, b}, 0);
    check_op(
        "int pow " + n, [](auto& v) { return tf::pow(v[0], v[1]); }, {a, b}, 0);
    check_op(
        "int floordiv " + n, [](auto& v) { return tf::floordiv(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "int floormod " + n, [](auto& v) { return tf::floormod(v[0], -v[1]); }, {a, b}, 0, false);
    check_op(
        "int max " + n, [](auto& v) { return tf::maximum(v[0], v[1]); }, {a, b}, 0);
    check_op(
        "int min " + n, [](auto& v) { return tf::minimum(v[0], v[1]); }, {a, b}, 0);
    check_op(
        "int neg/abs/sign/square " + n,
        [](auto& v) {
          return tf::negative(v[0]) + tf::abs(v[0]) * tf::sign(v[0]) + tf::square(v[0]);
        },
        {a},
        0);
    check_op(
        "int relu " + n, [](auto& v) { return tf::nn::relu(v[0]); }, {a}, 0);
  }
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64}) {
    const auto a = input({3, 4}, dt, -2, 2, 5), b = input({3, 1}, dt, -2, 2, 6);
    const std::string n = std::string(tf::dtype_name(dt));
    check_op(
        "equal " + n, [](auto& v) { return tf::equal(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "not_equal " + n, [](auto& v) { return tf::not_equal(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "less " + n, [](auto& v) { return tf::less(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "less_equal " + n, [](auto& v) { return tf::less_equal(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "greater " + n, [](auto& v) { return tf::greater(v[0], v[1]); }, {a, b}, 0, false);
    check_op(
        "greater_equal " + n,
        [](auto& v) { return tf::greater_equal(v[0], v[1]); },
        {a, b},
        0,
        false);
  }
  for (tf::DType dt : kFloats)  // not differentiable (TF defines no gradient)
    check_op(
        "floordiv " + std::string(tf::dtype_name(dt)),
        [](auto& v) { return tf::floordiv(v[0], v[1]); },
        {input({3, 4}, dt, -6, 6, 5), input({4}, dt, 0.5, 3, 6)},
        0,
        false);
  const auto p = input({2, 3}, tf::boolean, -1, 1, 7), q = input({3}, tf::boolean, -1, 1, 8);
  check_op(
      "logical_and", [](auto& v) { return tf::logical_and(v[0], v[1]); }, {p, q}, 0, false);
  check_op(
      "logical_or", [](auto& v) { return tf::logical_or(v[0], v[1]); }, {p, q}, 0, false);
  check_op(
      "logical_not", [](auto& v) { return tf::logical_not(v[0]); }, {p}, 0, false);
  check_op(
      "equal bool", [](auto& v) { return tf::equal(v[0], v[1]); }, {p, q}, 0, false);
  for (tf::DType dt : kFloats) {
    const auto c = input({3, 1}, tf::boolean, -1, 1, 9), x = input({1, 4}, dt, -2, 2, 10),
               y = input({3, 4}, dt, -2, 2, 11);
    check_op(
        "where " + std::string(tf::dtype_name(dt)),
        [](auto& v) { return tf::where(v[0], v[1], v[2]); },
        {c, x, y},
        0);
  }
  check_op(
      "where int64",
      [](auto& v) { return tf::where(v[0], v[1], v[2]); },
      {input({4}, tf::boolean, -1, 1, 12),
       input({4}, tf::int64, -9, 9, 13),
       input({}, tf::int64, -9, 9, 14)},
      0);
}

TEST_CASE("gpu: unary element-wise ops and gradients", "[gpu]") {
  if (!have_gpu()) return;
  struct Op {
    const char* name;
    Fn f;
  };
  const std::vector<Op> ops = {
      {"negative", [](auto& v) { return tf::negative(v[0]); }},
      {"abs", [](auto& v) { return tf::abs(v[0]); }},
      {"sign", [](auto& v) { return tf::sign(v[0]); }},
      {"square", [](auto& v) { return tf::square(v[0]); }},
      {"sqrt", [](auto& v) { return tf::sqrt(tf::abs(v[0]) + 0.1); }},
      {"rsqrt", [](auto& v) { return tf::rsqrt(tf::abs(v[0]) + 0.1); }},
      {"exp", [](auto& v) { return tf::exp(v[0]); }},
      {"log", [](auto& v) { return tf::log(tf::abs(v[0]) + 0.1); }},
      {"log1p", [](auto& v) { return tf::log1p(tf::abs(v[0])); }},
      {"sin", [](auto& v) { return tf::sin(v[0]); }},
      {"cos", [](auto& v) { return tf::cos(v[0]); }},
      {"tan", [](auto& v) { return tf::tan(v[0] * 0.5); }},
      {"asin", [](auto& v) { return tf::asin(v[0] * 0.4); }},
      {"acos", [](auto& v) { return tf::acos(v[0] * 0.4); }},
      {"atan", [](auto& v) { return tf::atan(v[0]); }},
      {"sinh", [](auto& v) { return tf::sinh(v[0]); }},
      {"cosh", [](auto& v) { return tf::cosh(v[0]); }},
      {"asinh", [](auto& v) { return tf::asinh(v[0]); }},
      {"acosh", [](auto& v) { return tf::acosh(tf::abs(v[0]) + 1.1); }},
      {"atanh", [](auto& v) { return tf::atanh(v[0] * 0.4); }},
      {"erfc", [](auto& v) { return tf::erfc(v[0]); }},
      {"expm1", [](auto& v) { return tf::expm1(v[0]); }},
      {"round", [](auto& v) { return tf::round(v[0] * 3.0); }},
      {"tanh", [](auto& v) { return tf::tanh(v[0]); }},
      {"sigmoid", [](auto& v) { return tf::sigmoid(v[0]); }},
      {"floor", [](auto& v) { return tf::floor(v[0]); }},
      {"relu", [](auto& v) { return tf::nn::relu(v[0]); }},
      {"gelu (erf)", [](auto& v) { return tf::nn::gelu(v[0]); }},
      {"softplus", [](auto& v) { return tf::nn::softplus(v[0]); }},
      {"clip_by_value", [](auto& v) { return tf::clip_by_value(v[0], -0.5, 0.7); }},
      {"relu6", [](auto& v) { return tf::nn::relu6(v[0] * 4.0); }},
      {"leaky_relu", [](auto& v) { return tf::nn::leaky_relu(v[0]); }},
      {"elu", [](auto& v) { return tf::nn::elu(v[0]); }},
      {"l2_normalize", [](auto& v) { return tf::nn::l2_normalize(v[0]); }},
      {"dropout (seeded)", [](auto& v) { return tf::nn::dropout(v[0], 0.3, 77); }},
  };
  for (tf::DType dt : kFloats)
    for (const auto& op : ops)
      check_op(std::string(op.name) + " " + std::string(tf::dtype_name(dt)),
               op.f,
               {input({4, 5}, dt, -2, 2, 21)},
               tol(dt, 1e-5, 1e-13));
}

TEST_CASE("gpu: cast between every pair of dtypes", "[gpu]") {
  if (!have_gpu()) return;
  const tf::DType all[] = {tf::float32, tf::float64, tf::int32, tf::int64, tf::boolean};
  for (tf::DType s : all)
    for (tf::DType d : all) {
      tf::DType dd = d;
      check_op(
          "cast " + std::string(tf::dtype_name(s)) + "->" + std::string(tf::dtype_name(d)),
          [dd](auto& v) { return tf::cast(v[0], dd); },
          {input({7}, s, -3, 3, 22)},
          0,
          tf::is_floating(s) && tf::is_floating(d));
    }
}

TEST_CASE("gpu: reductions over every axis layout, long rows, arg-reductions", "[gpu]") {
  if (!have_gpu()) return;
  const std::vector<std::vector<int>> axes = {{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {}};
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64}) {
    const std::string n = std::string(tf::dtype_name(dt));
    const auto x = input({3, 4, 5}, dt, -2, 3, 31);
    for (const auto& ax : axes) {
      std::vector<int> a = ax;
      const std::string w =
          n + " axes " + std::to_string(ax.size()) + (ax.empty() ? "" : std::to_string(ax[0]));
      check_op(
          "reduce_sum " + w, [a](auto& v) { return tf::reduce_sum(v[0], a); }, {x}, tol(dt));
      check_op(
          "reduce_max " + w, [a](auto& v) { return tf::reduce_max(v[0], a); }, {x}, 0);
      check_op(
          "reduce_min " + w, [a](auto& v) { return tf::reduce_min(v[0], a); }, {x}, 0);
      check_op(
          "reduce_prod " + w, [a](auto& v) { return tf::reduce_prod(v[0], a); }, {x}, tol(dt));
      if (tf::is_floating(dt))
        check_op(
            "reduce_mean " + w,
            [a](auto& v) { return tf::reduce_mean(v[0], a, true); },
            {x},
            tol(dt));
    }
    for (int axis = 0; axis < 3; ++axis) {
      check_op(
          "argmax " + n, [axis](auto& v) { return tf::argmax(v[0], axis); }, {x}, 0);
      check_op(
          "argmin " + n, [axis](auto& v) { return tf::argmin(v[0], axis); }, {x}, 0);
    }
    // Long contiguous rows: one block per row, and (one row) split over many blocks.
    const auto rows = input({4, 3000}, dt, -3, 3, 32), one = input({1, 100000}, dt, -3, 3, 33);
    check_op(
        "reduce_sum rows " + n,
        [](auto& v) { return tf::reduce_sum(v[0], {1}); },
        {rows},
        tol(dt, 1e-4));
    check_op(
        "reduce_max rows " + n, [](auto& v) { return tf::reduce_max(v[0], {1}); }, {rows}, 0);
    check_op(
        "reduce_sum split row " + n,
        [](auto& v) { return tf::reduce_sum(v[0]); },
        {one},
        tol(dt, 1e-4, 1e-10));
    check_op(
        "reduce_min split row " + n, [](auto& v) { return tf::reduce_min(v[0]); }, {one}, 0);
    // Long strided reductions: 32-column tiles, split over the reduced axis when few.
    const auto tall = input({3000, 40}, dt, -3, 3, 34),
               nhwc = input({8, 28, 28, 16}, dt, -3, 3, 35);
    check_op(
        "reduce_sum axis 0 " + n,
        [](auto& v) { return tf::reduce_sum(v[0], {0}); },
        {tall},
        tol(dt, 1e-4));
    check_op(
        "reduce_max axis 0 " + n, [](auto& v) { return tf::reduce_max(v[0], {0}); }, {tall}, 0);
    check_op(
        "reduce_sum bias-grad axes " + n,
        [](auto& v) {
          return tf::reduce_sum(v[0], {0, 1, 2});
        },
        {nhwc},
        tol(dt, 1e-4, 1e-10));
    check_op(
        "reduce_min middle axis " + n,
        [](auto& v) { return tf::reduce_min(v[0], {1}); },
        {nhwc},
        0);
    check_op(
        "argmax rows (ties) " + n, [](auto& v) { return tf::argmax(v[0], 1); }, {rows}, 0);
    check_op(
        "argmin rows (ties) " + n, [](auto& v) { return tf::argmin(v[0], 1); }, {rows}, 0);
  }
  // NaN: reduce_max/min propagate it; argmax skips it unless it comes first.
  tf::Tensor nan;
  {
    tf::DeviceScope cpu(kCpu);
    std::vector<float> v(2 * 600, 1.f);
    v[5] = NAN;
    v[600] = NAN;
    v[900] = 4.f;
    v[901] = 4.f;
    nan = tf::constant(v, tf::Shape{2, 600});
  }
  check_op(
      "reduce_max NaN", [](auto& v) { return tf::reduce_max(v[0], {1}); }, {nan}, 0, false);
  check_op(
      "argmax NaN", [](auto& v) { return tf::argmax(v[0], 1); }, {nan}, 0, false);
  check_op(
      "argmax NaN columns", [](auto& v) { return tf::argmax(v[0], 0); }, {nan}, 0, false);
}

TEST_CASE("gpu: matmul with transposes and broadcast batches, and its gradients", "[gpu]") {
  if (!have_gpu()) return;
  struct Case {
    tf::Shape a, b;
    bool ta, tb;
  };
  const std::vector<Case> cases = {{{3, 4}, {4, 5}, false, false},
                                   {{4, 3}, {4, 5}, true, false},
                                   {{3, 4}, {5, 4}, false, true},
                                   {{4, 3}, {5, 4}, true, true},
                                   {{2, 3, 4}, {2, 4, 5}, false, false},
                                   {{3, 4}, {2, 4, 5}, false, false},
                                   {{2, 4, 3}, {5, 4}, true, true},
                                   {{64, 33}, {33, 70}, false, false}};
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64})
    for (const auto& c : cases) {
      const bool ta = c.ta, tb = c.tb;
      check_op(
          "matmul " + std::string(tf::dtype_name(dt)) + " " + c.a.to_string() + c.b.to_string(),
          [ta, tb](auto& v) { return tf::matmul(v[0], v[1], ta, tb); },
          {input(c.a, dt, -2, 2, 41), input(c.b, dt, -2, 2, 42)},
          tol(dt, 1e-5));
    }
}

TEST_CASE("gpu: shape ops (strided copies, pad, concat, gather and its scatter-add gradient)",
          "[gpu]") {
  if (!have_gpu()) return;
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64, tf::boolean}) {
    const std::string n = std::string(tf::dtype_name(dt));
    const auto x = input({2, 3, 4}, dt, -3, 3, 51), y = input({2, 1, 4}, dt, -3, 3, 52);
    check_op(
        "transpose " + n,
        [](auto& v) {
          return tf::transpose(v[0], {2, 0, 1});
        },
        {x},
        0);
    check_op(
        "transpose reverse " + n, [](auto& v) { return tf::transpose(v[0]); }, {x}, 0);
    check_op(
        "slice " + n,
        [](auto& v) {
          return tf::slice(v[0], {0, 1, 1}, {2, 2, -1});
        },
        {x},
        0);
    check_op(
        "broadcast_to " + n,
        [](auto& v) {
          return tf::broadcast_to(v[0], tf::Shape{3, 2, 3, 4});
        },
        {y},
        0);
    check_op(
        "tile " + n,
        [](auto& v) {
          return tf::tile(v[0], {2, 1, 3});
        },
        {y},
        0);
    check_op(
        "pad " + n,
        [](auto& v) {
          return tf::pad(v[0], {{1, 0}, {0, 2}, {1, 1}}, 1.0);
        },
        {x},
        0);
    check_op(
        "concat " + n,
        [](auto& v) {
          return tf::concat({v[0], v[1], v[0]}, 1);
        },
        {x, y},
        0);
    check_op(
        "stack " + n,
        [](auto& v) {
          return tf::stack({v[0], v[0]}, 2);
        },
        {x},
        0);
    check_op(
        "split " + n, [](auto& v) { return tf::split(v[0], 2, 2)[1]; }, {x}, 0);
    for (tf::DType it : kInts) {
      tf::Tensor idx;
      {
        tf::DeviceScope cpu(kCpu);
        idx = tf::cast(tf::constant({3, 0, 3, 1, 3}), it);
      }
      check_op(
          "gather axis 2 " + n, [](auto& v) { return tf::gather(v[0], v[1], 2); }, {x, idx}, 0);
      check_op(
          "gather axis 0 " + n,
          [](auto& v) { return tf::gather(v[0], v[1], 0); },
          {input({4, 3}, dt, -3, 3, 53), idx},
          0);
    }
  }
}

TEST_CASE("gpu: creation ops and random numbers from the same seed", "[gpu]") {
  if (!have_gpu()) return;
  const char* devs[2] = {kCpu, kGpu};
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64}) {
    tf::Tensor r[2], f[2];
    for (int d = 0; d < 2; ++d) {
      tf::DeviceScope s(devs[d]);
      r[d] = tf::is_floating(dt) ? tf::range(0.5, 10.0, 0.7, dt) : tf::range(-3.0, 20.0, 3.0, dt);
      f[d] = tf::fill(tf::Shape{2, 3}, tf::constant(2.5, dt));
    }
    require_close(r[1], r[0], 0, "range " + std::string(tf::dtype_name(dt)));
    tf::Tensor l[2], e[2], z[2];
    for (int d = 0; d < 2; ++d) {
      tf::DeviceScope s(devs[d]);
      if (tf::is_floating(dt)) l[d] = tf::linspace(-1.0, 2.0, 7, dt);
      e[d] = tf::eye(3, 4, dt);
      z[d] = tf::zeros({2, 2}, dt) + tf::ones({2, 2}, dt);
    }
    if (tf::is_floating(dt))
      require_close(l[1], l[0], 0, "linspace " + std::string(tf::dtype_name(dt)));
    require_close(e[1], e[0], 0, "eye " + std::string(tf::dtype_name(dt)));
    require_close(z[1], z[0], 0, "zeros + ones " + std::string(tf::dtype_name(dt)));
    require_close(f[1], f[0], 0, "fill " + std::string(tf::dtype_name(dt)));
  }
  for (tf::DType dt : kFloats) {
    tf::Tensor u[2], nrm[2], t[2];
    for (int d = 0; d < 2; ++d) {
      tf::DeviceScope s(devs[d]);
      tf::random::set_seed(1234);
      u[d] = tf::random::uniform({10000}, -1.0, 3.0, dt);
      nrm[d] = tf::random::normal({10000}, 0.5, 2.0, dt);
      t[d] = tf::random::truncated_normal({10000}, -1.0, 0.25, dt);
    }
    const std::string n = std::string(tf::dtype_name(dt));
    require_close(u[1], u[0], 0, "uniform " + n);  // pure arithmetic: the same bits
    // log / cos / sqrt of CUDA and of the host's libm differ in the last bit at most.
    require_close(nrm[1], nrm[0], tol(dt, 1e-6, 1e-14), "normal " + n);
    require_close(t[1], t[0], tol(dt, 1e-6, 1e-14), "truncated_normal " + n);
  }
}

TEST_CASE("gpu: conv2d, pools and their gradients (second order for max_pool2d)", "[gpu]") {
  if (!have_gpu()) return;
  struct Case {
    tf::Shape x;
    int kh, kw, sh, sw;
    const char* pad;
  };
  const std::vector<Case> cases = {{{2, 5, 6, 3}, 3, 2, 2, 1, "SAME"},
                                   {{2, 5, 6, 3}, 3, 2, 2, 1, "VALID"},
                                   {{1, 7, 7, 2}, 3, 3, 1, 1, "SAME"},
                                   {{2, 6, 5, 1}, 2, 2, 2, 2, "VALID"},
                                   {{1, 4, 9, 2}, 4, 5, 3, 2, "SAME"}};
  for (tf::DType dt : kFloats)
    for (const auto& c : cases) {
      const std::string w = std::string(tf::dtype_name(dt)) + " " + c.x.to_string() + " " + c.pad;
      const std::vector<int> strides = {c.sh, c.sw}, ksize = {c.kh, c.kw};
      const std::string pad = c.pad;
      const auto x = input(c.x, dt, -2, 2, 61), f = input({c.kh, c.kw, c.x[3], 4}, dt, -1, 1, 62);
      check_op(
          "conv2d " + w,
          [=](auto& v) { return tf::nn::conv2d(v[0], v[1], strides, pad); },
          {x, f},
          tol(dt, 1e-5));
      // Steps of 0.5: many ties, so the first maximum must win on both devices.
      tf::Tensor xt;
      {
        tf::DeviceScope cpu(kCpu);
        xt = tf::floor(x * 2.0) / 2.0;
      }
      check_op(
          "max_pool2d " + w,
          [=](auto& v) { return tf::nn::max_pool2d(v[0], ksize, strides, pad); },
          {xt},
          0);
      check_op(
          "avg_pool2d " + w,
          [=](auto& v) { return tf::nn::avg_pool2d(v[0], ksize, strides, pad); },
          {xt},
          tol(dt));
      // d/dx of Σ (d/dx Σ max_pool2d(x)·u)·ddx: runs MaxPoolGrad, then MaxPoolGradGrad.
      tf::Tensor gg[2];
      const char* devs[2] = {kCpu, kGpu};
      for (int d = 0; d < 2; ++d) {
        tf::DeviceScope s(devs[d]);
        tf::Tensor xd = xt.to(devs[d]);
        tf::Tensor u = input({c.x[0], 1, 1, c.x[3]}, dt, -1, 1, 63).to(devs[d]);
        tf::GradientTape outer;
        outer.watch(u);
        tf::GradientTape inner;
        inner.watch(xd);
        tf::Tensor y = tf::reduce_sum(tf::nn::max_pool2d(xd, ksize, strides, pad) * u);
        tf::Tensor g = inner.gradient(y, xd);
        tf::Tensor z = tf::reduce_sum(g * input(c.x, dt, -1, 1, 64).to(devs[d]));
        gg[d] = outer.gradient(z, u);
      }
      require_close(gg[1], gg[0], tol(dt), "max_pool2d second order " + w);
    }
}

TEST_CASE("gpu: softmax, cross-entropy and a dense layer step", "[gpu]") {
  if (!have_gpu()) return;
  for (tf::DType dt : kFloats) {
    const std::string n = std::string(tf::dtype_name(dt));
    const auto logits = input({6, 10}, dt, -3, 3, 71);
    check_op(
        "softmax " + n, [](auto& v) { return tf::nn::softmax(v[0]); }, {logits}, tol(dt, 1e-5));
    check_op(
        "log_softmax " + n,
        [](auto& v) { return tf::nn::log_softmax(v[0]); },
        {logits},
        tol(dt, 1e-5));
    tf::Tensor labels;
    {
      tf::DeviceScope cpu(kCpu);
      labels = tf::constant({1, 0, 9, 3, 3, 7});
    }
    check_op(
        "sparse_softmax_cross_entropy " + n,
        [](auto& v) { return tf::nn::sparse_softmax_cross_entropy_with_logits(v[1], v[0]); },
        {logits, labels},
        tol(dt, 1e-5));
    const auto probs = tf::nn::softmax(input({6, 10}, dt, -1, 1, 75));
    check_op(
        "softmax_cross_entropy " + n,
        [](auto& v) { return tf::nn::softmax_cross_entropy_with_logits(v[1], v[0]); },
        {logits, probs},
        tol(dt, 1e-5));
    const auto targets = input({6, 10}, dt, 0, 1, 76);
    check_op(
        "sigmoid_cross_entropy " + n,
        [](auto& v) { return tf::nn::sigmoid_cross_entropy_with_logits(v[1], v[0]); },
        {logits, targets},
        tol(dt, 1e-5));
    check_op(
        "one_hot " + n,
        [dt](auto& v) { return tf::one_hot(v[0], 10, 1.0, 0.0, dt); },
        {labels},
        0,
        false);
    const auto x = input({8, 5}, dt, -1, 1, 72), w = input({5, 3}, dt, -1, 1, 73),
               b = input({3}, dt, -1, 1, 74);
    check_op(
        "dense relu " + n,
        [](auto& v) { return tf::nn::relu(tf::nn::bias_add(tf::matmul(v[0], v[1]), v[2])); },
        {x, w, b},
        tol(dt, 1e-5));
  }
}

TEST_CASE(
    "gpu: tf::linalg (cuSOLVER/cuBLAS; qr/eigh/svd on the host) against LAPACK, with gradients",
    "[gpu]") {
  if (!have_gpu()) return;
  for (tf::DType dt : kFloats) {
    const std::string n = std::string(tf::dtype_name(dt));
    const double rt = tol(dt, 2e-4, 1e-10);
    // Well-conditioned batches: noise plus 4 on the diagonal; SPD ones for cholesky.
    tf::Tensor a, spd;
    {
      tf::DeviceScope cpu(kCpu);
      a = input({2, 4, 4}, dt, -1, 1, 81) + tf::cast(tf::eye(4), dt) * 4.0;
      spd = tf::matmul(a, a, false, true);
    }
    const auto b1 = input({2, 4, 1}, dt, -1, 1, 82), b3 = input({2, 4, 3}, dt, -1, 1, 83);
    check_op(
        "cholesky " + n,
        [](auto& v) {
          return tf::linalg::cholesky(0.5 * (v[0] + tf::linalg::matrix_transpose(v[0])));
        },
        {spd},
        rt);
    for (bool adj : {false, true}) {
      const std::string s = n + (adj ? " adjoint" : "");
      check_op(
          "solve k=1 " + s,
          [adj](auto& v) { return tf::linalg::solve(v[0], v[1], adj); },
          {a, b1},
          rt);
      check_op(
          "solve k=3 " + s,
          [adj](auto& v) { return tf::linalg::solve(v[0], v[1], adj); },
          {a, b3},
          rt);
      check_op(
          "inv " + s, [adj](auto& v) { return tf::linalg::inv(v[0], adj); }, {a}, rt);
      for (bool lower : {true, false})
        check_op(
            "triangular_solve " + s + (lower ? " lower" : " upper"),
            [adj, lower](auto& v) { return tf::linalg::triangular_solve(v[0], v[1], lower, adj); },
            {a, b3},
            rt);
    }
    check_op(
        "det " + n, [](auto& v) { return tf::linalg::det(v[0]); }, {a}, rt);
    check_op(
        "slogdet " + n,
        [](auto& v) { return tf::linalg::slogdet(v[0]).log_abs_determinant; },
        {a},
        rt);
    check_op(
        "slogdet sign " + n, [](auto& v) { return tf::linalg::slogdet(v[0]).sign; }, {a}, 0, false);
    check_op(
        "trace/band_part/diag " + n,
        [](auto& v) {
          return tf::linalg::diag(tf::linalg::trace(tf::linalg::band_part(v[0], 1, 0)));
        },
        {a},
        rt);
  }
  // qr, eigh and svd have no CUDA kernel yet: on a GPU they factorize on the host (LAPACK) and
  // hand back GPU tensors, whose gradient rules then run on the GPU. The same LAPACK on both
  // sides gives the same signs and order, so the factors themselves compare.
  for (tf::DType dt : kFloats) {
    const std::string n = std::string(tf::dtype_name(dt));
    const double rt = tol(dt, 2e-4, 1e-10);
    tf::Tensor tall, sym;
    {
      tf::DeviceScope cpu(kCpu);
      tall = input({2, 5, 3}, dt, -1, 1, 84);
      // Symmetric with well separated eigenvalues (1, 2, 3, 4 plus a small perturbation).
      tf::Tensor d = tf::linalg::diag(tf::cast(tf::constant({1.0, 2.0, 3.0, 4.0}), dt));
      tf::Tensor e = input({4, 4}, dt, -0.05, 0.05, 85);
      sym = d + e + tf::linalg::matrix_transpose(e);
    }
    check_op(
        "qr " + n,
        [](auto& v) {
          auto [q, r] = tf::linalg::qr(v[0]);
          return tf::concat({tf::reshape(q, {2, -1}), tf::reshape(r, {2, -1})}, 1);
        },
        {tall},
        rt);
    check_op(
        "eigh " + n,
        [](auto& v) {
          auto [e, vec] = tf::linalg::eigh(v[0]);
          return tf::concat({e, tf::reshape(tf::abs(vec), {-1})}, 0);
        },
        {sym},
        rt);
    check_op(
        "svd " + n,
        [](auto& v) {
          auto r = tf::linalg::svd(v[0]);
          return tf::concat(
              {tf::reshape(r.s, {2, -1}), tf::reshape(r.u, {2, -1}), tf::reshape(r.v, {2, -1})}, 1);
        },
        {tall},
        rt);
    check_op(
        "svd values only " + n,
        [](auto& v) { return tf::linalg::svd(v[0], false, false).s; },
        {tall},
        rt);
  }
  tf::DeviceScope gpu(kGpu);
  const double nan = std::nan("");
  CHECK_THROWS_WITH(tf::linalg::eigh(tf::constant({{1.0, nan}, {nan, 1.0}})),
                    Catch::Contains("[Op:SelfAdjointEigV2]"));
  CHECK_THROWS_WITH(
      tf::linalg::solve(tf::constant({{1.0, 2.0}, {2.0, 4.0}}), tf::constant({{1.0}, {1.0}})),
      Catch::Contains("not invertible") && Catch::Contains("[Op:MatrixSolve]"));
}

// ---- indexing, ordering and scans (issue #11) ----
TEST_CASE("gpu: cumsum, cumprod, sort, argsort, top_k, nd indexing, masks, strided_slice",
          "[gpu][indexing]") {
  if (!have_gpu()) return;
  for (tf::DType dt : {tf::float32, tf::float64, tf::int32, tf::int64}) {
    const std::string n = std::string(tf::dtype_name(dt));
    const auto x = input({3, 4, 5}, dt, -3, 3, 61), p = input({3, 4, 5}, dt, 0.5, 1.5, 62);
    const double r = tol(dt, 1e-5, 1e-12);
    // Whole values (many ties) check the order of equal keys too.
    auto whole = [&](const tf::Tensor& t) {
      tf::DeviceScope cpu(kCpu);
      return tf::is_floating(dt) ? tf::floor(t) : t;
    };
    const auto xt = whole(x);
    for (int axis : {0, 1, 2})
      for (bool ex : {false, true})
        for (bool rev : {false, true}) {
          const std::string c = n + " axis " + std::to_string(axis) + (ex ? " exclusive" : "") +
                                (rev ? " reverse" : "");
          check_op(
              "cumsum " + c,
              [=](auto& v) { return tf::cumsum(v[0], axis, {.exclusive = ex, .reverse = rev}); },
              {x},
              r);
          check_op(
              "cumprod " + c,
              [=](auto& v) { return tf::cumprod(v[0], axis, {.exclusive = ex, .reverse = rev}); },
              {p},
              r);
        }
    for (int axis : {0, 2}) {
      check_op(
          "sort " + n, [=](auto& v) { return tf::sort(v[0], axis); }, {x}, 0);
      check_op(
          "sort desc " + n, [=](auto& v) { return tf::sort(v[0], axis, "DESCENDING"); }, {x}, 0);
      check_op(
          "argsort " + n, [=](auto& v) { return tf::argsort(v[0], axis); }, {xt}, 0);
    }
    check_op(
        "top_k values " + n, [](auto& v) { return tf::math::top_k(v[0], 3).values; }, {x}, 0);
    check_op(
        "top_k indices " + n, [](auto& v) { return tf::math::top_k(v[0], 3).indices; }, {xt}, 0);
    check_op(
        "sort long row " + n,
        [](auto& v) { return tf::argsort(v[0], -1, "DESCENDING"); },
        {whole(input({2, 3000}, dt, -50, 50, 63))},
        0);
    tf::Tensor idx;
    {
      tf::DeviceScope cpu(kCpu);
      idx = tf::constant({{2, 1}, {0, 3}, {2, 1}});
    }
    check_op(
        "gather_nd " + n, [](auto& v) { return tf::gather_nd(v[0], v[1]); }, {x, idx}, 0);
    check_op(
        "scatter_nd " + n,
        [](auto& v) {
          return tf::scatter_nd(v[1], v[0], {3, 4, 5});
        },
        {input({3, 5}, dt, -3, 3, 64), idx},
        r);
    check_op(
        "tensor_scatter_nd_update " + n,
        [](auto& v) { return tf::tensor_scatter_nd_update(v[0], v[2], v[1]); },
        {x, input({3, 5}, dt, -3, 3, 65), idx},
        0);
    check_op(
        "tensor_scatter_nd_add " + n,
        [](auto& v) { return tf::tensor_scatter_nd_add(v[0], v[2], v[1]); },
        {x, input({3, 5}, dt, -3, 3, 66), idx},
        r);
    check_op(
        "boolean_mask " + n,
        [](auto& v) { return tf::boolean_mask(v[0], v[1], 1); },
        {x, input({4, 5}, tf::boolean, -1, 1, 67)},
        0);
    check_op(
        "where(cond) " + n, [](auto& v) { return tf::where(v[0]); }, {xt}, 0);
    check_op(
        "unique " + n, [](auto& v) { return tf::unique(tf::reshape(v[0], {-1})).idx; }, {xt}, 0);
    check_op(
        "strided_slice " + n,
        [](auto& v) {
          return tf::strided_slice(v[0], {2, -1, 4}, {0, 0, 0}, {-1, -2, -3});
        },
        {x},
        0);
  }
}

// ---- einsum, nn, image, random (issue #11 §3) ----------------------------------------------
TEST_CASE("gpu: einsum, dilated and transposed convolutions, resize, random ops", "[gpu]") {
  if (!have_gpu()) return;
  for (tf::DType dt : kFloats) {
    const std::string n = std::string(tf::dtype_name(dt));
    const auto a = input({2, 3, 4}, dt, -1, 1, 81), b = input({2, 4, 5}, dt, -1, 1, 82);
    check_op(
        "einsum bij,bjk " + n,
        [](auto& v) {
          return tf::einsum("bij,bjk->bik", {v[0], v[1]});
        },
        {a, b},
        tol(dt, 1e-5));
    check_op(
        "einsum iij->j " + n,
        [](auto& v) { return tf::einsum("iij->j", {v[0]}); },
        {input({3, 3, 2}, dt, -1, 1, 83)},
        tol(dt, 1e-5));
    const auto x = input({2, 7, 6, 3}, dt, -1, 1, 84), f = input({3, 2, 3, 4}, dt, -1, 1, 85);
    for (const char* pad : {"SAME", "VALID"})
      check_op(
          std::string("conv2d dilated ") + pad + " " + n,
          [pad](auto& v) {
            return tf::nn::conv2d(v[0], v[1], {1, 2}, pad, {2, 2});
          },
          {x, f},
          tol(dt, 1e-5));
    const auto dy = input({2, 4, 3, 4}, dt, -1, 1, 86);
    check_op(
        "conv2d_transpose " + n,
        [](auto& v) {
          return tf::nn::conv2d_transpose(v[0], v[1], tf::Shape{2, 7, 6, 3}, {2}, "SAME");
        },
        {dy, f},
        tol(dt, 1e-5));
    check_op(
        "depthwise_conv2d " + n,
        [](auto& v) { return tf::nn::depthwise_conv2d(v[0], v[1], {1}, "SAME"); },
        {x, input({3, 3, 3, 2}, dt, -1, 1, 87)},
        tol(dt, 1e-5));
    check_op(
        "resize bilinear " + n,
        [](auto& v) {
          return tf::image::resize(v[0], {5, 9});
        },
        {x},
        tol(dt, 1e-5));
    check_op(
        "resize nearest " + n,
        [](auto& v) {
          return tf::image::resize(v[0], {3, 11}, "nearest");
        },
        {x},
        tol(dt, 1e-5));
    check_op(
        "random_flip_left_right " + n,
        [](auto& v) { return tf::image::random_flip_left_right(v[0], 5); },
        {x},
        0);
    check_op(
        "shuffle " + n, [](auto& v) { return tf::random::shuffle(v[0], 5); }, {x}, 0);
    check_op(
        "categorical " + n,
        [](auto& v) { return tf::random::categorical(v[0], 64, 9); },
        {input({3, 6}, dt, -2, 2, 88)},
        0,
        false);
  }
}
