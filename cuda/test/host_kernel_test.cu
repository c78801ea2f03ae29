// Host test of the CUDA kernels' index math; needs no GPU. Every kernel's plan
// (cuda/kernels/*.cuh) is run with HostExec, which calls the same __host__ __device__ functors the
// device launches, once per output index on this thread, over host buffers. Results are compared
// with tapeflow's CPU ops (public API, on /cpu:0) for the same inputs. What the device code does
// beyond the functors (the block reductions of reduce.cu, cuBLAS in linalg.cu) is checked by
// simulating its combine order (reductions) or its column-major arguments (GEMM) here.
//
// Prints one line per case and exits non-zero when any check fails.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "../kernels/creation.cuh"
#include "../kernels/data.cuh"
#include "../kernels/elementwise.cuh"
#include "../kernels/indexing.cuh"
#include "../kernels/linalg.cuh"
#include "../kernels/nn.cuh"
#include "../kernels/reduce.cuh"

namespace tf = tapeflow;
namespace kern = tapeflow::cuda::kern;
using tapeflow::detail::KernelArgs;
using tapeflow::detail::TensorRef;
using tf::DType;
using tf::Shape;

namespace {

int g_failures = 0;
int g_checks = 0;
std::string g_case;

void fail_msg(const std::string& what) {
  ++g_failures;
  std::printf("  FAIL [%s] %s\n", g_case.c_str(), what.c_str());
}

/// A host tensor: dtype, shape and 8-byte-aligned storage.
struct Buf {
  DType dtype = DType::float32;
  Shape shape;
  std::vector<uint64_t> store;
  Buf() = default;
  Buf(DType t, const Shape& s)
      : dtype(t), shape(s), store(size_t(s.num_elements()) + 1, 0x5a5a5a5a5a5a5a5aULL) {}
  void* data() { return store.data(); }
  int64_t size() const { return shape.num_elements(); }
  TensorRef ref() { return TensorRef{data(), &shape, dtype}; }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(store.data());
  }
};

Buf from(const tf::Tensor& t) {
  Buf b(t.dtype(), t.shape());
  tapeflow::detail::dispatch_all(t.dtype(), [&]<class T>() {
    auto v = t.to_vector<T>();
    for (size_t i = 0; i < v.size(); ++i) b.as<T>()[i] = v[i];
  });
  return b;
}

/// Runs `plan` with inputs `ins` into a fresh (poisoned) output of dtype/shape.
Buf run(const std::function<void(const KernelArgs&)>& plan,
        std::vector<Buf*> ins,
        DType dt,
        const Shape& shape,
        const void* attrs = nullptr) {
  std::vector<TensorRef> refs;
  for (Buf* b : ins) refs.push_back(b->ref());
  Buf out(dt, shape);
  KernelArgs k;
  k.inputs = refs.data();
  k.num_inputs = int(refs.size());
  k.output = out.ref();
  k.attrs = attrs;
  plan(k);
  return out;
}

/// Element-wise comparison; floats within rtol (relative, with an absolute floor of rtol), NaN
/// equal to NaN; rtol 0 asks for equal values.
bool same(Buf& got, const tf::Tensor& want_t, double rtol, const std::string& what) {
  ++g_checks;
  if (!(got.shape == want_t.shape()) || got.dtype != want_t.dtype()) {
    fail_msg(what + ": shape/dtype " + got.shape.to_string() + " vs " + want_t.shape().to_string());
    return false;
  }
  bool ok = true;
  tapeflow::detail::dispatch_all(got.dtype, [&]<class T>() {
    auto want = want_t.to_vector<T>();
    for (int64_t i = 0; i < got.size() && ok; ++i) {
      const T g = got.as<T>()[i], w = want[size_t(i)];
      bool eq;
      if constexpr (std::is_floating_point_v<T>) {
        if (g == w)
          eq = true;
        else if (std::isnan(g) || std::isnan(w))
          eq = std::isnan(g) && std::isnan(w);
        else
          eq = rtol == 0
                   ? g == w
                   : std::fabs(double(g) - double(w)) <= rtol * std::max(1.0, std::fabs(double(w)));
      } else {
        eq = g == w;
      }
      if (!eq) {
        fail_msg(what + ": element " + std::to_string(i) + " got " + std::to_string(double(g)) +
                 " want " + std::to_string(double(w)));
        ok = false;
      }
    }
  });
  return ok;
}

std::mt19937_64 g_rng(20261129);

/// Random values: floats in [-2, 2) (some exactly 0 or ±1 for ties), ints in [-5, 5], bools.
tf::Tensor rand_tensor(DType dt, const Shape& s, bool nonzero = false, bool with_nan = false) {
  const int64_t n = s.num_elements();
  std::uniform_real_distribution<double> u(-2, 2);
  std::uniform_int_distribution<int> ui(-5, 5);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) {
    if (tf::is_floating(dt)) {
      x = u(g_rng);
      if (g_rng() % 8 == 0) x = double(int(g_rng() % 3) - 1);
    } else {
      x = ui(g_rng);
    }
    if (nonzero && x == 0) x = 3;
    if (with_nan && tf::is_floating(dt) && g_rng() % 7 == 0) x = NAN;
  }
  if (dt == DType::boolean) {
    std::vector<bool> b(static_cast<size_t>(n));
    for (size_t i = 0; i < b.size(); ++i) b[i] = g_rng() % 2;
    return tf::constant(b, s);
  }
  return tf::constant(v, s, dt);
}

void begin(const std::string& name) { g_case = name; }

const DType kNumeric[] = {DType::float32, DType::float64, DType::int32, DType::int64};
const DType kFloat[] = {DType::float32, DType::float64};
const DType kAll[] = {DType::float32, DType::float64, DType::int32, DType::int64, DType::boolean};

std::string dn(DType t) { return std::string(tf::dtype_name(t)); }

// ---- element-wise ----------------------------------------------------------------------------

const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{2, 3, 4}, {2, 3, 4}},
    {{2, 3, 4}, {4}},
    {{2, 1, 4}, {3, 1}},
    {{}, {2, 3}},
    {{5, 1, 1, 2}, {1, 3, 2, 1}},
    {{1}, {4, 1}},
    {{3, 1, 2, 1, 2, 1, 2}, {2, 1, 2, 1, 2, 1}},
    {{0, 3}, {3}}};

void test_binary() {
  using Plan = std::function<void(const KernelArgs&)>;
  struct Op {
    const char* name;
    std::function<tf::Tensor(const tf::Tensor&, const tf::Tensor&)> cpu;
    Plan plan;
    bool compare;
  };
  const kern::HostExec ex;
  const std::vector<Op> ops = {
      {"add",
       [](auto& a, auto& b) { return tf::add(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Add{}, ex); },
       false},
      {"sub",
       [](auto& a, auto& b) { return tf::subtract(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Sub{}, ex); },
       false},
      {"mul",
       [](auto& a, auto& b) { return tf::multiply(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Mul{}, ex); },
       false},
      {"div",
       [](auto& a, auto& b) { return tf::divide(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Div{}, ex); },
       false},
      {"pow",
       [](auto& a, auto& b) { return tf::pow(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Pow{}, ex); },
       false},
      {"maximum",
       [](auto& a, auto& b) { return tf::maximum(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Maximum{}, ex); },
       false},
      {"minimum",
       [](auto& a, auto& b) { return tf::minimum(a, b); },
       [&](auto& k) { kern::arith(k, kern::ops::Minimum{}, ex); },
       false},
      {"equal",
       [](auto& a, auto& b) { return tf::equal(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::Equal{}, ex); },
       true},
      {"not_equal",
       [](auto& a, auto& b) { return tf::not_equal(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::NotEqual{}, ex); },
       true},
      {"less",
       [](auto& a, auto& b) { return tf::less(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::Less{}, ex); },
       true},
      {"less_equal",
       [](auto& a, auto& b) { return tf::less_equal(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::LessEqual{}, ex); },
       true},
      {"greater",
       [](auto& a, auto& b) { return tf::greater(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::Greater{}, ex); },
       true},
      {"greater_equal",
       [](auto& a, auto& b) { return tf::greater_equal(a, b); },
       [&](auto& k) { kern::compare(k, kern::ops::GreaterEqual{}, ex); },
       true},
      {"floordiv",
       [](auto& a, auto& b) { return tf::floordiv(a, b); },
       [&](auto& k) { kern::binary_numeric(k, kern::ops::FloorDiv{}, ex); },
       false},
      {"floormod",
       [](auto& a, auto& b) { return tf::floormod(a, b); },
       [&](auto& k) { kern::binary_numeric(k, kern::ops::FloorMod{}, ex); },
       false},
      {"atan2",
       [](auto& a, auto& b) { return tf::atan2(a, b); },
       [&](auto& k) { kern::binary_float(k, kern::ops::Atan2{}, ex); },
       false},
  };
  for (const auto& op : ops) {
    begin(std::string("binary ") + op.name);
    for (DType dt : kNumeric) {
      for (const auto& [sa, sb] : kBroadcastCases) {
        const std::string name = op.name;
        if (name == "atan2" && !tf::is_floating(dt)) continue;
        const bool is_pow = name == "pow",
                   is_div = name == "div" || name == "floordiv" || name == "floormod";
        const bool nan = tf::is_floating(dt) && !is_pow;
        tf::Tensor a = rand_tensor(dt, sa, false, nan), b = rand_tensor(dt, sb, is_div, nan);
        if (is_pow && !tf::is_floating(dt)) b = tf::abs(b);  // integer pow: small exponents
        if (is_pow && tf::is_floating(dt)) a = tf::abs(a);   // real powers of non-negative bases
        tf::Tensor want = op.cpu(a, b);
        Buf ba = from(a), bb = from(b);
        Buf got = run(op.plan, {&ba, &bb}, op.compare ? DType::boolean : dt, want.shape());
        // atan2 runs vectorised on the CPU (src/cpu/vector_math.hpp): 2 ulp from libm's.
        const double rtol = name != "atan2" ? 0 : dt == DType::float64 ? 1e-14 : 1e-6;
        same(got, want, rtol, dn(dt) + " " + sa.to_string() + " " + sb.to_string());
      }
    }
    std::printf("checked %s\n", g_case.c_str());
  }
  begin("binary compare/logical on bool");
  for (const auto& [sa, sb] : kBroadcastCases) {
    tf::Tensor a = rand_tensor(DType::boolean, sa), b = rand_tensor(DType::boolean, sb);
    Buf ba = from(a), bb = from(b);
    tf::Tensor w1 = tf::logical_and(a, b), w2 = tf::logical_or(a, b), w3 = tf::equal(a, b);
    Buf g1 = run([&](auto& k) { kern::logical(k, kern::ops::LogicalAnd{}, ex); },
                 {&ba, &bb},
                 DType::boolean,
                 w1.shape());
    Buf g2 = run([&](auto& k) { kern::logical(k, kern::ops::LogicalOr{}, ex); },
                 {&ba, &bb},
                 DType::boolean,
                 w2.shape());
    Buf g3 = run([&](auto& k) { kern::compare(k, kern::ops::Equal{}, ex); },
                 {&ba, &bb},
                 DType::boolean,
                 w3.shape());
    same(g1, w1, 0, "and " + sa.to_string());
    same(g2, w2, 0, "or " + sa.to_string());
    same(g3, w3, 0, "equal " + sa.to_string());
  }
  begin("select");
  const std::vector<std::array<Shape, 3>> sel = {{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}},
                                                 {Shape{3, 1}, Shape{1, 4}, Shape{}},
                                                 {Shape{4}, Shape{2, 3, 1}, Shape{3, 4}}};
  for (DType dt : kAll)
    for (const auto& s : sel) {
      tf::Tensor c = rand_tensor(DType::boolean, s[0]), x = rand_tensor(dt, s[1]),
                 y = rand_tensor(dt, s[2]);
      tf::Tensor want = tf::where(c, x, y);
      Buf bc = from(c), bx = from(x), by = from(y);
      Buf got = run([&](auto& k) { kern::select(k, ex); }, {&bc, &bx, &by}, dt, want.shape());
      same(got, want, 0, dn(dt) + " " + s[0].to_string() + s[1].to_string() + s[2].to_string());
    }
}

void test_unary() {
  const kern::HostExec ex;
  using F = std::function<tf::Tensor(const tf::Tensor&)>;
  using Plan = std::function<void(const KernelArgs&)>;
  struct Op {
    const char* name;
    F cpu;
    Plan plan;
    bool numeric;  // also int32/int64
    double rtol;   // CPU float math is xsimd's; ours is libm's on the host, CUDA's on the device
  };
  const std::vector<Op> ops = {
      {"neg",
       [](auto& x) { return tf::negative(x); },
       [&](auto& k) { kern::unary_numeric(k, kern::ops::Neg{}, ex); },
       true,
       0},
      {"abs",
       [](auto& x) { return tf::abs(x); },
       [&](auto& k) { kern::unary_numeric(k, kern::ops::Abs{}, ex); },
       true,
       0},
      {"sign",
       [](auto& x) { return tf::sign(x); },
       [&](auto& k) { kern::unary_numeric(k, kern::ops::Sign{}, ex); },
       true,
       0},
      {"square",
       [](auto& x) { return tf::square(x); },
       [&](auto& k) { kern::unary_numeric(k, kern::ops::Square{}, ex); },
       true,
       0},
      {"relu",
       [](auto& x) { return tf::nn::relu(x); },
       [&](auto& k) { kern::unary_numeric(k, kern::ops::Relu{}, ex); },
       true,
       0},
      {"exp",
       [](auto& x) { return tf::exp(x); },
       [&](auto& k) { kern::unary_float(k, kern::ExpOp{}, ex); },
       false,
       1e-6},
      {"log",
       [](auto& x) { return tf::log(tf::abs(x)); },
       [&](auto& k) { kern::unary_float(k, kern::LogOp{}, ex); },
       false,
       1e-6},
      {"log1p",
       [](auto& x) { return tf::log1p(tf::abs(x)); },
       [&](auto& k) { kern::unary_float(k, kern::Log1pOp{}, ex); },
       false,
       1e-6},
      {"sqrt",
       [](auto& x) { return tf::sqrt(tf::abs(x)); },
       [&](auto& k) { kern::unary_float(k, kern::SqrtOp{}, ex); },
       false,
       0},
      {"rsqrt",
       [](auto& x) { return tf::rsqrt(tf::abs(x)); },
       [&](auto& k) { kern::unary_float(k, kern::RsqrtOp{}, ex); },
       false,
       1e-6},
      {"sin",
       [](auto& x) { return tf::sin(x); },
       [&](auto& k) { kern::unary_float(k, kern::SinOp{}, ex); },
       false,
       1e-6},
      {"cos",
       [](auto& x) { return tf::cos(x); },
       [&](auto& k) { kern::unary_float(k, kern::CosOp{}, ex); },
       false,
       1e-6},
      // One per-element function for both backends (the host's libm here). The CPU runs the
      // ones xsimd has through xsimd (src/cpu/elementwise.cpp, XsimdForm): a few ulp apart, as
      // exp; so does float erfc (src/cpu/vector_math.hpp); round stays bit for bit.
      {"tan",
       [](auto& x) { return tf::tan(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Tan{}, ex); },
       false,
       1e-6},
      {"tanh",
       [](auto& x) { return tf::tanh(x); },
       [&](auto& k) { kern::unary_float(k, kern::TanhOp{}, ex); },
       false,
       1e-6},
      {"sigmoid",
       [](auto& x) { return tf::sigmoid(x); },
       [&](auto& k) { kern::unary_float(k, kern::SigmoidOp{}, ex); },
       false,
       1e-6},
      {"floor",
       [](auto& x) { return tf::floor(x); },
       [&](auto& k) { kern::unary_float(k, kern::FloorOp{}, ex); },
       false,
       0},
      {"asin",
       [](auto& x) { return tf::asin(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Asin{}, ex); },
       false,
       1e-6},
      {"acos",
       [](auto& x) { return tf::acos(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Acos{}, ex); },
       false,
       1e-6},
      {"atan",
       [](auto& x) { return tf::atan(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Atan{}, ex); },
       false,
       1e-6},
      {"sinh",
       [](auto& x) { return tf::sinh(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Sinh{}, ex); },
       false,
       1e-6},
      {"cosh",
       [](auto& x) { return tf::cosh(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Cosh{}, ex); },
       false,
       1e-6},
      {"asinh",
       [](auto& x) { return tf::asinh(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Asinh{}, ex); },
       false,
       1e-6},
      {"acosh",
       [](auto& x) { return tf::acosh(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Acosh{}, ex); },
       false,
       1e-6},
      {"atanh",
       [](auto& x) { return tf::atanh(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Atanh{}, ex); },
       false,
       1e-6},
      {"erfc",
       [](auto& x) { return tf::erfc(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Erfc{}, ex); },
       false,
       1e-6},
      {"expm1",
       [](auto& x) { return tf::expm1(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Expm1{}, ex); },
       false,
       1e-6},
      {"round",
       [](auto& x) { return tf::round(x); },
       [&](auto& k) { kern::unary_float(k, kern::ops::Round{}, ex); },
       false,
       0},
  };
  for (const auto& op : ops) {
    begin(std::string("unary ") + op.name);
    for (DType dt : kNumeric) {
      if (!op.numeric && !tf::is_floating(dt)) continue;
      tf::Tensor x = rand_tensor(dt, {3, 7}, false, true);
      // The ops that take |x| (log, sqrt, ...): feed our kernel the same |x|.
      const std::string n = op.name;
      tf::Tensor xin = (n == "log" || n == "log1p" || n == "sqrt" || n == "rsqrt") ? tf::abs(x) : x;
      tf::Tensor want = op.cpu(x);
      Buf bx = from(xin);
      Buf got = run(op.plan, {&bx}, dt, want.shape());
      same(got, want, dt == DType::float64 ? op.rtol * 1e-8 : op.rtol, dn(dt));
    }
    std::printf("checked %s\n", g_case.c_str());
  }
  begin("relu_grad");
  for (DType dt : kNumeric) {
    tf::Tensor x = rand_tensor(dt, {4, 5}), dy = rand_tensor(dt, {4, 5});
    tf::Tensor want = tf::where(tf::greater(x, tf::zeros_like(x)), dy, tf::zeros_like(dy));
    Buf bx = from(x), bd = from(dy);
    Buf got = run([&](auto& k) { kern::relu_grad(k, ex); }, {&bx, &bd}, dt, want.shape());
    same(got, want, 0, dn(dt));
  }
  begin("logical_not");
  {
    tf::Tensor x = rand_tensor(DType::boolean, {9});
    Buf bx = from(x);
    Buf got = run([&](auto& k) { kern::logical_not(k, ex); }, {&bx}, DType::boolean, x.shape());
    same(got, tf::logical_not(x), 0, "bool");
  }
  begin("cast");
  for (DType s : kAll)
    for (DType d : kAll) {
      tf::Tensor x = rand_tensor(s, {11});
      tf::Tensor want = tf::cast(x, d);
      Buf bx = from(x);
      Buf got = run([&](auto& k) { kern::cast(k, ex); }, {&bx}, d, want.shape());
      same(got, want, 0, dn(s) + "->" + dn(d));
    }
  std::printf("checked cast\n");
}

// ---- reductions --------------------------------------------------------------------------------

/// What reduce.cu's row kernels compute: `parts` blocks per row, each thread a strided fold
/// over its block's chunk, the 256 partials then combined (here in a random order of adjacent
/// pairs, as a tree would), then a second pass over the parts.
template <class T, class Op>
T simulate_row(const T* p, int64_t n, int parts, T init, Op op, std::mt19937_64& rng) {
  auto tree = [&](std::vector<T> v) {
    while (v.size() > 1) {
      const size_t i = rng() % (v.size() - 1);
      v[i] = op(v[i], v[i + 1]);
      v.erase(v.begin() + long(i) + 1);
    }
    return v[0];
  };
  const int64_t chunk = (n + parts - 1) / parts;
  std::vector<T> part_results;
  for (int part = 0; part < parts; ++part) {
    const int64_t lo = part * chunk, hi = std::min(n, lo + chunk);
    std::vector<T> acc(256, init);
    for (int t = 0; t < 256; ++t)
      for (int64_t r = lo + t; r < hi; r += 256) acc[size_t(t)] = op(acc[size_t(t)], p[r]);
    part_results.push_back(tree(acc));
  }
  if (parts == 1) return part_results[0];
  std::vector<T> acc(256, init);
  for (int t = 0; t < 256; ++t)
    for (int64_t r = t; r < parts; r += 256)
      acc[size_t(t)] = op(acc[size_t(t)], part_results[size_t(r)]);
  return tree(acc);
}

/// What reduce.cu's column kernel computes for column j of row o: `parts` blocks each fold
/// every 8th element of their chunk in 8 lanes, lanes folded in order; then a second pass over
/// the parts (same kernel, one part).
template <class T, class Op>
T simulate_col(
    const T* x, int64_t o, int64_t j, int64_t reduce, int64_t inner, int parts, T init, Op op) {
  auto pass = [&](auto load, int64_t len, int np, int part) {
    const int64_t chunk = (len + np - 1) / np, lo = part * chunk, hi = std::min(len, lo + chunk);
    T lanes[8];
    for (int t = 0; t < 8; ++t) {
      lanes[t] = init;
      for (int64_t r = lo + t; r < hi; r += 8) lanes[t] = op(lanes[t], load(r));
    }
    T acc = lanes[0];
    for (int t = 1; t < 8; ++t) acc = op(acc, lanes[t]);
    return acc;
  };
  auto load_x = [&](int64_t r) { return x[(o * reduce + r) * inner + j]; };
  if (parts == 1) return pass(load_x, reduce, 1, 0);
  std::vector<T> partial(static_cast<size_t>(parts));
  for (int p = 0; p < parts; ++p) partial[size_t(p)] = pass(load_x, reduce, parts, p);
  return pass([&](int64_t r) { return partial[size_t(r)]; }, parts, 1, 0);
}

template <class T, class Better>
int64_t simulate_arg_row(const T* p, int64_t n, Better better, std::mt19937_64& rng) {
  const kern::ArgCombine<T, Better> combine{better};
  std::vector<kern::ArgCandidate<T>> acc(256, kern::ArgCandidate<T>{T(0), -1});
  for (int t = 0; t < 256; ++t)
    for (int64_t r = t; r < n; r += 256)
      acc[size_t(t)] = combine(acc[size_t(t)], kern::ArgCandidate<T>{p[r], r});
  while (acc.size() > 1) {
    const size_t i = rng() % (acc.size() - 1);
    acc[i] = combine(acc[i], acc[i + 1]);
    acc.erase(acc.begin() + long(i) + 1);
  }
  return kern::arg_finish(acc[0], p[0]);
}

void test_reduce() {
  const kern::HostExec ex;
  begin("reductions");
  struct Case {
    Shape shape;
    std::vector<int> axes;
    kern::ReduceAttrs attrs;
  };
  const std::vector<Case> cases = {{{3, 4, 5}, {0}, {1, 3, 20}},
                                   {{3, 4, 5}, {1}, {3, 4, 5}},
                                   {{3, 4, 5}, {2}, {12, 5, 1}},
                                   {{3, 4, 5}, {0, 1}, {1, 12, 5}},
                                   {{3, 4, 5}, {1, 2}, {3, 20, 1}},
                                   {{3, 4, 5}, {}, {1, 60, 1}},
                                   {{2, 700}, {1}, {2, 700, 1}},
                                   {{0, 4}, {1}, {0, 4, 1}},
                                   {{3, 0}, {1}, {3, 0, 1}}};
  for (DType dt : kNumeric) {
    for (const auto& c : cases) {
      const bool nan = tf::is_floating(dt);
      tf::Tensor x = rand_tensor(dt, c.shape, false, nan);
      Buf bx = from(x);
      const std::string what =
          dn(dt) + " " + c.shape.to_string() + " axes " + std::to_string(c.axes.size());
      tapeflow::detail::dispatch_numeric(dt, [&]<class T>() {
        // Sums: the CPU adds in 16 lanes, we add in order; products of up to 60 values in [-2, 2).
        const double rtol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
        tf::Tensor xs = tf::where(
            tf::is_floating(dt) ? tf::equal(x, x) : tf::equal(x, x), x, tf::zeros_like(x));
        Buf bxs = from(xs);  // sums and products without NaN, so tolerances mean something
        tf::Tensor ws = tf::reduce_sum(xs, c.axes), wp = tf::reduce_prod(xs, c.axes);
        Buf gs = run(
            [&](auto& k) { kern::reduce_columns<T>(k, kern::sum_init<T>(), kern::SumOp{}, ex); },
            {&bxs},
            dt,
            ws.shape(),
            &c.attrs);
        Buf gp = run(
            [&](auto& k) { kern::reduce_columns<T>(k, kern::prod_init<T>(), kern::ProdOp{}, ex); },
            {&bxs},
            dt,
            wp.shape(),
            &c.attrs);
        same(gs, ws, rtol, "sum " + what);
        same(gp, wp, rtol, "prod " + what);
        if (x.num_elements() == 0) return;  // max/min of nothing is an error on the CPU
        tf::Tensor wmax = tf::reduce_max(x, c.axes), wmin = tf::reduce_min(x, c.axes);
        Buf gmax = run(
            [&](auto& k) { kern::reduce_columns<T>(k, kern::max_init<T>(), kern::MaxOp{}, ex); },
            {&bx},
            dt,
            wmax.shape(),
            &c.attrs);
        Buf gmin = run(
            [&](auto& k) { kern::reduce_columns<T>(k, kern::min_init<T>(), kern::MinOp{}, ex); },
            {&bx},
            dt,
            wmin.shape(),
            &c.attrs);
        same(gmax, wmax, 0, "max " + what);
        same(gmin, wmin, 0, "min " + what);
        if (c.axes.size() == 1 && c.attrs.reduce > 0) {
          tf::Tensor wa = tf::argmax(x, c.axes[0]), wi = tf::argmin(x, c.axes[0]);
          Buf ga = run([&](auto& k) { kern::arg_columns<T>(k, kern::ArgMaxBetter{}, ex); },
                       {&bx},
                       DType::int64,
                       wa.shape(),
                       &c.attrs);
          Buf gi = run([&](auto& k) { kern::arg_columns<T>(k, kern::ArgMinBetter{}, ex); },
                       {&bx},
                       DType::int64,
                       wi.shape(),
                       &c.attrs);
          same(ga, wa, 0, "argmax " + what);
          same(gi, wi, 0, "argmin " + what);
        }
      });
    }
  }
  std::printf("checked reductions (column form)\n");

  begin("reduce rows (block/split simulation)");
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 256 + int64_t(rng() % 30000);
    const int parts = trial % 3 == 0 ? 1 : 1 + int(rng() % 9);
    std::vector<double> x(static_cast<size_t>(n));
    for (auto& v : x) v = double(int64_t(rng() % 41) - 20) / 4;  // many ties
    if (trial % 2) x[rng() % size_t(n)] = NAN;  // NaN wins max/min, never argmax...
    if (trial % 5 == 1) x[0] = NAN;             // ...unless it is first
    if (trial % 4 == 3) x.assign(size_t(n), -INFINITY);
    kern::ReduceAttrs ra{1, n, 1};
    Buf bx(DType::float64, Shape{n});
    std::memcpy(bx.data(), x.data(), size_t(n) * 8);
    auto col = [&](auto init, auto op) {
      Buf o = run([&](auto& k) { kern::reduce_columns<double>(k, init, op, ex); },
                  {&bx},
                  DType::float64,
                  Shape{1},
                  &ra);
      return o.as<double>()[0];
    };
    auto arg = [&](auto better) {
      Buf o = run([&](auto& k) { kern::arg_columns<double>(k, better, ex); },
                  {&bx},
                  DType::int64,
                  Shape{1},
                  &ra);
      return o.as<int64_t>()[0];
    };
    auto eq = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
    ++g_checks;
    const double smax =
        simulate_row(x.data(), n, parts, kern::max_init<double>(), kern::MaxOp{}, rng);
    const double smin =
        simulate_row(x.data(), n, parts, kern::min_init<double>(), kern::MinOp{}, rng);
    const double ssum = simulate_row(x.data(), n, parts, 0.0, kern::SumOp{}, rng);
    if (!eq(smax, col(kern::max_init<double>(), kern::MaxOp{})))
      fail_msg("max trial " + std::to_string(trial));
    if (!eq(smin, col(kern::min_init<double>(), kern::MinOp{})))
      fail_msg("min trial " + std::to_string(trial));
    const double csum = col(0.0, kern::SumOp{});
    if (!eq(ssum, csum) && !(std::fabs(ssum - csum) <= 1e-9 * std::max(1.0, std::fabs(csum))))
      fail_msg("sum trial " + std::to_string(trial));
    const int64_t am = simulate_arg_row(x.data(), n, kern::ArgMaxBetter{}, rng);
    const int64_t an = simulate_arg_row(x.data(), n, kern::ArgMinBetter{}, rng);
    if (am != arg(kern::ArgMaxBetter{})) fail_msg("argmax trial " + std::to_string(trial));
    if (an != arg(kern::ArgMinBetter{})) fail_msg("argmin trial " + std::to_string(trial));
    // And against the CPU's argmax on the same row.
    Buf ba = run([&](auto& k) { kern::arg_columns<double>(k, kern::ArgMaxBetter{}, ex); },
                 {&bx},
                 DType::int64,
                 Shape{},
                 &ra);
    same(ba,
         tf::argmax(tf::constant(x, Shape{n}), 0),
         0,
         "argmax vs cpu trial " + std::to_string(trial));
  }
  std::printf("checked %s\n", g_case.c_str());

  begin("reduce columns (tiled/split simulation)");
  for (int trial = 0; trial < 24; ++trial) {
    const int64_t outer = 1 + int64_t(rng() % 3), reduce = 64 + int64_t(rng() % 3000);
    const int64_t inner = std::vector<int64_t>{2, 33, 70}[size_t(trial % 3)];
    const int parts = std::vector<int>{1, 2, 5, 13}[size_t(trial % 4)];
    std::vector<double> x(static_cast<size_t>(outer * reduce * inner));
    for (auto& v : x) v = double(int64_t(rng() % 41) - 20) / 4;
    if (trial % 2) x[rng() % x.size()] = NAN;
    Buf bx(DType::float64, Shape{outer, reduce, inner});
    std::memcpy(bx.data(), x.data(), x.size() * 8);
    kern::ReduceAttrs ra{outer, reduce, inner};
    Buf cmax = run(
        [&](auto& k) {
          kern::reduce_columns<double>(k, kern::max_init<double>(), kern::MaxOp{}, ex);
        },
        {&bx},
        DType::float64,
        Shape{outer, inner},
        &ra);
    Buf cmin = run(
        [&](auto& k) {
          kern::reduce_columns<double>(k, kern::min_init<double>(), kern::MinOp{}, ex);
        },
        {&bx},
        DType::float64,
        Shape{outer, inner},
        &ra);
    Buf csum = run([&](auto& k) { kern::reduce_columns<double>(k, 0.0, kern::SumOp{}, ex); },
                   {&bx},
                   DType::float64,
                   Shape{outer, inner},
                   &ra);
    ++g_checks;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t i = o * inner + j;
        auto eq = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
        const double smax = simulate_col(
            x.data(), o, j, reduce, inner, parts, kern::max_init<double>(), kern::MaxOp{});
        const double smin = simulate_col(
            x.data(), o, j, reduce, inner, parts, kern::min_init<double>(), kern::MinOp{});
        const double ssum = simulate_col(x.data(), o, j, reduce, inner, parts, 0.0, kern::SumOp{});
        if (!eq(smax, cmax.as<double>()[i]) || !eq(smin, cmin.as<double>()[i]))
          fail_msg("max/min trial " + std::to_string(trial) + " column " + std::to_string(i));
        const double c = csum.as<double>()[i];
        if (!eq(ssum, c) && !(std::fabs(ssum - c) <= 1e-9 * std::max(1.0, std::fabs(c))))
          fail_msg("sum trial " + std::to_string(trial) + " column " + std::to_string(i));
      }
  }
  std::printf("checked %s\n", g_case.c_str());
}

// ---- matmul
// --------------------------------------------------------------------------------------

void test_matmul() {
  const kern::HostExec ex;
  begin("matmul");
  struct Case {
    Shape a, b;
    bool ta, tb;
  };
  const std::vector<Case> cases = {{{3, 4}, {4, 5}, false, false},
                                   {{4, 3}, {4, 5}, true, false},
                                   {{3, 4}, {5, 4}, false, true},
                                   {{4, 3}, {5, 4}, true, true},
                                   {{2, 3, 4}, {2, 4, 5}, false, false},
                                   {{3, 4}, {2, 4, 5}, false, false},
                                   {{2, 4, 3}, {5, 4}, true, true},
                                   {{2, 3, 0}, {2, 0, 2}, false, false}};
  for (DType dt : {DType::float64, DType::float32, DType::int32, DType::int64})
    for (const auto& c : cases) {
      tf::Tensor a = rand_tensor(dt, c.a), b = rand_tensor(dt, c.b);
      tf::Tensor want = tf::matmul(a, b, c.ta, c.tb);
      const int ra = c.a.rank(), rb = c.b.rank();
      const int64_t m = c.ta ? c.a[ra - 1] : c.a[ra - 2], k = c.ta ? c.a[ra - 2] : c.a[ra - 1];
      const int64_t n = c.tb ? c.b[rb - 2] : c.b[rb - 1];
      const int64_t batch = std::max(ra == 3 ? c.a[0] : 1, rb == 3 ? c.b[0] : 1);
      const kern::MatMulAttrs at{
          batch, m, n, k, c.ta, c.tb, ra == 3 ? m * k : 0, rb == 3 ? k * n : 0};
      Buf ba = from(a), bb = from(b);
      const std::string what = dn(dt) + " " + c.a.to_string() + (c.ta ? "T" : "") + " @ " +
                               c.b.to_string() + (c.tb ? "T" : "");
      if (tf::is_floating(dt)) {
        // The cuBLAS call's column-major arguments, evaluated by a reference GEMM.
        Buf out(dt, want.shape());
        tapeflow::detail::dispatch_float(dt, [&]<class T>() {
          kern::gemm_reference<T>(
              kern::gemm_args(at), int(batch), bb.as<T>(), ba.as<T>(), out.as<T>());
        });
        same(out, want, dt == DType::float32 ? 1e-5 : 1e-12, "gemm args " + what);
      } else {
        Buf out = tapeflow::detail::dispatch_numeric(dt, [&]<class T>() {
          return run(
              [&](auto& kk) { kern::matmul_plain<T>(kk, ex); }, {&ba, &bb}, dt, want.shape(), &at);
        });
        same(out, want, 0, "plain " + what);
      }
    }
  std::printf("checked matmul\n");
}

// ---- data movement
// --------------------------------------------------------------------------------

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(size_t(s.rank()), 1);
  for (int d = s.rank() - 2; d >= 0; --d) st[size_t(d)] = st[size_t(d + 1)] * s[d + 1];
  return st;
}

void test_data() {
  const kern::HostExec ex;
  begin("strided_copy");
  for (DType dt : kAll) {
    auto check = [&](const tf::Tensor& x,
                     const tf::Tensor& want,
                     const tapeflow::detail::StridedCopyAttrs& at,
                     const std::string& what) {
      Buf bx = from(x);
      Buf got = run([&](auto& k) { kern::strided_copy(k, ex); }, {&bx}, dt, want.shape(), &at);
      same(got, want, 0, dn(dt) + " " + what);
    };
    {  // transpose
      tf::Tensor x = rand_tensor(dt, {2, 3, 4});
      auto st = strides_of(x.shape());
      check(x, tf::transpose(x, {2, 0, 1}), {{st[2], st[0], st[1]}, 0}, "transpose 201");
    }
    {  // rank 7 transpose (collapses to fewer axes)
      tf::Tensor x = rand_tensor(dt, {2, 1, 3, 2, 2, 1, 3});
      auto st = strides_of(x.shape());
      std::vector<int> perm = {6, 5, 4, 3, 0, 1, 2};
      std::vector<int64_t> ps;
      for (int p : perm) ps.push_back(st[size_t(p)]);
      check(x, tf::transpose(x, perm), {ps, 0}, "transpose rank 7");
    }
    {  // slice
      tf::Tensor x = rand_tensor(dt, {4, 5, 6});
      auto st = strides_of(x.shape());
      check(x, tf::slice(x, {1, 0, 2}, {2, 5, 3}), {st, 1 * st[0] + 2}, "slice");
    }
    {  // broadcast_to
      tf::Tensor x = rand_tensor(dt, {3, 1});
      check(x, tf::broadcast_to(x, Shape{2, 3, 4}), {{0, 1, 0}, 0}, "broadcast_to");
    }
    {  // scalar
      tf::Tensor x = rand_tensor(dt, {5});
      check(x, tf::reshape(tf::slice(x, {3}, {1}), Shape{}), {{}, 3}, "scalar");
    }
  }
  begin("pad");
  for (DType dt : kAll) {
    tf::Tensor x = rand_tensor(dt, {2, 3, 2});
    const std::vector<std::pair<int64_t, int64_t>> p = {{1, 2}, {0, 1}, {2, 0}};
    const double value = dt == DType::boolean ? 1.0 : 7.0;
    tf::Tensor want = tf::pad(x, p, value);
    tapeflow::detail::PadAttrs at{{1, 0, 2}, value};
    Buf bx = from(x);
    Buf got = run([&](auto& k) { kern::pad(k, ex); }, {&bx}, dt, want.shape(), &at);
    same(got, want, 0, dn(dt));
    tf::Tensor s = rand_tensor(dt, {});
    tapeflow::detail::PadAttrs at0{{}, value};
    Buf bs = from(s);
    Buf got0 = run([&](auto& k) { kern::pad(k, ex); }, {&bs}, dt, Shape{}, &at0);
    same(got0, s, 0, dn(dt) + " scalar");
  }
  begin("concat");
  for (DType dt : kAll) {
    tf::Tensor a = rand_tensor(dt, {2, 3, 4}), b = rand_tensor(dt, {2, 1, 4}),
               c = rand_tensor(dt, {2, 0, 4}), d = rand_tensor(dt, {2, 2, 4});
    tf::Tensor want = tf::concat({a, b, c, d}, 1);
    tapeflow::detail::ConcatAttrs at{2, {12, 4, 0, 8}};
    Buf ba = from(a), bb = from(b), bc = from(c), bd = from(d);
    Buf got =
        run([&](auto& k) { kern::concat(k, ex); }, {&ba, &bb, &bc, &bd}, dt, want.shape(), &at);
    same(got, want, 0, dn(dt) + " axis 1");
    tf::Tensor want0 = tf::concat({a, a}, 0);
    tapeflow::detail::ConcatAttrs at0{1, {24, 24}};
    Buf got0 = run([&](auto& k) { kern::concat(k, ex); }, {&ba, &ba}, dt, want0.shape(), &at0);
    same(got0, want0, 0, dn(dt) + " axis 0");
  }
  begin("gather / scatter_add");
  for (DType dt : kAll)
    for (DType it : {DType::int32, DType::int64}) {
      tf::Tensor params = rand_tensor(dt, {3, 5, 2});
      tf::Tensor idx = tf::constant(std::vector<int64_t>{4, 0, 4, 2}, Shape{4}, it);
      tf::Tensor want = tf::gather(params, idx, 1);
      tapeflow::detail::GatherAttrs at{3, 5, 2, 4};
      Buf bp = from(params), bi = from(idx);
      Buf got = run([&](auto& k) { kern::gather(k, ex); }, {&bp, &bi}, dt, want.shape(), &at);
      same(got, want, 0, dn(dt) + " idx " + dn(it) + " axis 1");
      if (!tf::is_floating(dt)) continue;
      // scatter_add is gather's gradient: d/dparams Σ gather(params)·w = scatter_add(w).
      tf::Tensor w = rand_tensor(dt, want.shape());
      tf::GradientTape tape;
      tape.watch(params);
      tf::Tensor y = tf::reduce_sum(tf::gather(params, idx, 1) * w);
      tf::Tensor g = tape.gradient(y, params);
      Buf bw = from(w);
      Buf gs = run([&](auto& k) { kern::scatter_add(k, ex); }, {&bw, &bi}, dt, g.shape(), &at);
      same(gs, g, 0, dn(dt) + " scatter idx " + dn(it));
    }
  std::printf("checked data movement\n");
}

// ---- creation
// ----------------------------------------------------------------------------------------

void test_creation() {
  const kern::HostExec ex;
  begin("fill / range");
  for (DType dt : kAll) {
    tapeflow::detail::FillAttrs fa{dt == DType::boolean ? 1.0 : 2.5, 0};
    Buf got = run([&](auto& k) { kern::fill(k, ex); }, {}, dt, Shape{3, 2}, &fa);
    same(got, tf::fill(Shape{3, 2}, tf::constant(2.5, dt)), 0, "fill " + dn(dt));
  }
  for (DType dt : kNumeric) {
    const bool fl = tf::is_floating(dt);
    const double start = fl ? 0.5 : 2, limit = fl ? 10.0 : 20, delta = fl ? 0.7 : 3;
    tf::Tensor want = tf::range(start, limit, delta, dt);
    tapeflow::detail::FillAttrs fa{start, delta};
    Buf got = run([&](auto& k) { kern::fill(k, ex); }, {}, dt, want.shape(), &fa);
    same(got, want, 0, "range " + dn(dt));
  }
  begin("random (philox)");
  const uint64_t seed = 0xfeedbeefcafe1234ULL;
  tf::random::set_seed(seed);
  uint64_t counter = 0;
  for (DType dt : kFloat) {
    for (auto kind : {tapeflow::detail::RandomKind::Uniform,
                      tapeflow::detail::RandomKind::Normal,
                      tapeflow::detail::RandomKind::TruncatedNormal}) {
      const Shape s{1000};
      tf::Tensor want;
      double a = 0, b = 0;
      if (kind == tapeflow::detail::RandomKind::Uniform) {
        a = -1, b = 3;
        want = tf::random::uniform(s, a, b, dt);
      } else if (kind == tapeflow::detail::RandomKind::Normal) {
        a = 0.5, b = 2;
        want = tf::random::normal(s, a, b, dt);
      } else {
        a = -1, b = 0.25;
        want = tf::random::truncated_normal(s, a, b, dt);
      }
      tapeflow::detail::RandomAttrs ra{kind, a, b, seed, counter++};
      Buf got = run([&](auto& k) { kern::random(k, ex); }, {}, dt, s, &ra);
      // Same libm on this host: every value must have the CPU's exact bits.
      same(got, want, 0, "random " + dn(dt) + " kind " + std::to_string(int(kind)));
    }
  }
  std::printf("checked creation\n");
}

// ---- sliding windows
// ---------------------------------------------------------------------------------

kern::Conv2DAttrs geometry(const Shape& x,
                           int64_t kh,
                           int64_t kw,
                           int64_t sh,
                           int64_t sw,
                           bool same_pad,
                           int64_t dh = 1,
                           int64_t dw = 1) {
  kern::Conv2DAttrs a{x[0], x[1], x[2], x[3], kh, kw, 0, 0, sh, sw, 0, 0, dh, dw};
  const auto rows = tapeflow::detail::window_axis(a.h, a.kh, a.sh, same_pad, dh);
  const auto cols = tapeflow::detail::window_axis(a.w, a.kw, a.sw, same_pad, dw);
  a.oh = rows.out;
  a.pad_top = rows.pad_before;
  a.ow = cols.out;
  a.pad_left = cols.pad_before;
  return a;
}

void test_windows() {
  const kern::HostExec ex;
  struct Case {
    Shape x;
    int64_t kh, kw, sh, sw;
    bool same;
    int64_t dh = 1, dw = 1;  // dilations (conv2d only: the pools below skip dilated cases)
  };
  const std::vector<Case> cases = {{{2, 5, 6, 3}, 3, 2, 2, 1, true},
                                   {{2, 5, 6, 3}, 3, 2, 2, 1, false},
                                   {{1, 7, 7, 2}, 3, 3, 1, 1, true},
                                   {{2, 6, 5, 1}, 2, 2, 2, 2, false},
                                   {{1, 4, 9, 2}, 4, 5, 3, 2, true},
                                   {{1, 3, 3, 2}, 1, 1, 2, 2, true},
                                   {{2, 7, 8, 2}, 3, 2, 1, 2, true, 2, 3},
                                   {{1, 9, 7, 3}, 2, 3, 2, 1, false, 3, 2}};
  for (const auto& c : cases) {
    const kern::Conv2DAttrs a = geometry(c.x, c.kh, c.kw, c.sh, c.sw, c.same, c.dh, c.dw);
    const std::string pad = c.same ? "SAME" : "VALID";
    const std::string what = c.x.to_string() + " k" + std::to_string(c.kh) + "x" +
                             std::to_string(c.kw) + " s" + std::to_string(c.sh) + "x" +
                             std::to_string(c.sw) + " " + pad;
    const std::vector<int> strides = {1, int(c.sh), int(c.sw), 1};
    const std::vector<int> ksize = {1, int(c.kh), int(c.kw), 1};
    const std::vector<int> dilations = {int(c.dh), int(c.dw)};
    const Shape pooled{a.n, a.oh, a.ow, a.c};
    const int64_t row = a.kh * a.kw * a.c, rows = a.n * a.oh * a.ow;
    // ---- im2col / col2im against conv2d and its input gradient (float64)
    begin("im2col/col2im");
    {
      const int64_t O = 4;
      tf::Tensor x = rand_tensor(DType::float64, c.x),
                 f = rand_tensor(DType::float64, {a.kh, a.kw, a.c, O});
      Buf bx = from(x), bf = from(f);
      Buf cols =
          run([&](auto& k) { kern::im2col(k, ex); }, {&bx}, DType::float64, Shape{rows, row}, &a);
      tf::Tensor conv = tf::nn::conv2d(x, f, strides, pad, dilations);
      Buf out(DType::float64, conv.shape());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < O; ++o) {
          double s = 0;
          for (int64_t q = 0; q < row; ++q)
            s += cols.as<double>()[r * row + q] * bf.as<double>()[q * O + o];
          out.as<double>()[r * O + o] = s;
        }
      same(out, conv, 1e-12, "conv2d via im2col " + what);
      // Adjoint: <im2col(x), y> == <x, col2im(y)>.
      tf::Tensor y = rand_tensor(DType::float64, {rows, row});
      Buf by = from(y);
      Buf back = run([&](auto& k) { kern::col2im(k, ex); }, {&by}, DType::float64, c.x, &a);
      double l = 0, r = 0;
      for (int64_t i = 0; i < rows * row; ++i) l += cols.as<double>()[i] * by.as<double>()[i];
      for (int64_t i = 0; i < bx.size(); ++i) r += bx.as<double>()[i] * back.as<double>()[i];
      ++g_checks;
      if (std::fabs(l - r) > 1e-10 * std::max(1.0, std::fabs(l))) fail_msg("adjoint " + what);
      // col2im as conv2d's input gradient: dx = col2im(dy · fᵀ).
      tf::Tensor dy = rand_tensor(DType::float64, conv.shape());
      tf::GradientTape tape;
      tape.watch(x);
      tf::Tensor g = tape.gradient(tf::nn::conv2d(x, f, strides, pad, dilations), x, dy);
      Buf bdy = from(dy);
      Buf dcols(DType::float64, Shape{rows, row});
      for (int64_t rr = 0; rr < rows; ++rr)
        for (int64_t q = 0; q < row; ++q) {
          double s = 0;
          for (int64_t o = 0; o < O; ++o)
            s += bdy.as<double>()[rr * O + o] * bf.as<double>()[q * O + o];
          dcols.as<double>()[rr * row + q] = s;
        }
      Buf dx = run([&](auto& k) { kern::col2im(k, ex); }, {&dcols}, DType::float64, c.x, &a);
      same(dx, g, 1e-12, "conv2d input gradient via col2im " + what);
    }
    // ---- pools (values with many ties: the first maximum must win)
    if (c.dh != 1 || c.dw != 1) continue;  // the pools have no dilations
    begin("pools");
    for (DType dt : kFloat) {
      tf::Tensor x = tf::floor(rand_tensor(dt, c.x) * 2.0) / 2.0;  // steps of 0.5: many ties
      tf::Tensor dy = rand_tensor(dt, pooled), ddx = rand_tensor(dt, c.x);
      Buf bx = from(x), bdy = from(dy), bddx = from(ddx);
      const std::string w = dn(dt) + " " + what;
      tf::Tensor mp = tf::nn::max_pool2d(x, ksize, strides, pad);
      Buf gmp = run([&](auto& k) { kern::max_pool2d(k, ex); }, {&bx}, dt, pooled, &a);
      same(gmp, mp, 0, "max_pool2d " + w);
      tf::Tensor ap = tf::nn::avg_pool2d(x, ksize, strides, pad);
      Buf gap = run([&](auto& k) { kern::avg_pool2d(k, ex); }, {&bx}, dt, pooled, &a);
      same(gap, ap, 0, "avg_pool2d " + w);
      {
        tf::GradientTape outer;
        outer.watch(dy);
        tf::GradientTape inner;
        inner.watch(x);
        tf::Tensor g = inner.gradient(tf::nn::max_pool2d(x, ksize, strides, pad), x, dy);
        Buf gg = run([&](auto& k) { kern::max_pool2d_grad(k, ex); }, {&bx, &bdy}, dt, c.x, &a);
        same(gg, g, 0, "max_pool2d_grad " + w);
        tf::Tensor g2 = outer.gradient(g, dy, ddx);
        Buf ggg =
            run([&](auto& k) { kern::max_pool2d_grad_grad(k, ex); }, {&bx, &bddx}, dt, pooled, &a);
        same(ggg, g2, 0, "max_pool2d_grad_grad " + w);
      }
      {
        tf::GradientTape tape;
        tape.watch(x);
        tf::Tensor g = tape.gradient(tf::nn::avg_pool2d(x, ksize, strides, pad), x, dy);
        Buf gg = run([&](auto& k) { kern::avg_pool2d_grad(k, ex); }, {&bdy}, dt, c.x, &a);
        same(gg, g, 0, "avg_pool2d_grad " + w);
      }
    }
  }
  std::printf("checked sliding windows\n");
}

}  // namespace

// ---- indexing, ordering and scans (issue #11)
// ----------------------------------------------------

void test_indexing() {
  const kern::HostExec ex;
  begin("cumsum / cumprod");
  for (DType dt : {DType::float32, DType::float64, DType::int32, DType::int64}) {
    tf::Tensor x = rand_tensor(dt, {3, 4, 5}, true);
    Buf bx = from(x);
    for (int axis : {0, 1, 2})
      for (bool ex_ : {false, true})
        for (bool rev : {false, true}) {
          const Shape& s = x.shape();
          int64_t outer = 1, inner = 1;
          for (int i = 0; i < axis; ++i) outer *= s[i];
          for (int i = axis + 1; i < 3; ++i) inner *= s[i];
          tapeflow::detail::ScanAttrs at{outer, s[axis], inner, ex_, rev};
          const std::string c = dn(dt) + " axis " + std::to_string(axis) +
                                (ex_ ? " exclusive" : "") + (rev ? " reverse" : "");
          Buf gs = run([&](auto& k) { kern::scan<kern::ScanSum>(k, ex); }, {&bx}, dt, s, &at);
          same(gs, tf::cumsum(x, axis, {.exclusive = ex_, .reverse = rev}), 0, "cumsum " + c);
          Buf gp = run([&](auto& k) { kern::scan<kern::ScanProd>(k, ex); }, {&bx}, dt, s, &at);
          same(gp, tf::cumprod(x, axis, {.exclusive = ex_, .reverse = rev}), 0, "cumprod " + c);
        }
  }
  begin("take_rows");
  for (DType dt : {DType::float32, DType::float64, DType::int32, DType::int64}) {
    tf::Tensor x = rand_tensor(dt, {3, 6});
    tf::Tensor idx = tf::math::top_k(x, 4).indices;
    tapeflow::detail::TakeRowsAttrs at{3, 6, 4};
    Buf bx = from(x), bi = from(idx);
    Buf got = run([&](auto& k) { kern::take_rows(k, ex); }, {&bx, &bi}, dt, idx.shape(), &at);
    same(got, tf::math::top_k(x, 4).values, 0, dn(dt));
  }
  std::printf("checked indexing\n");
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  tf::DeviceScope cpu("/cpu:0");
  for (auto* t : {test_binary,
                  test_unary,
                  test_reduce,
                  test_matmul,
                  test_data,
                  test_creation,
                  test_windows,
                  test_indexing}) {
    try {
      t();
    } catch (const std::exception& e) {
      fail_msg(std::string("exception: ") + e.what());
    }
  }
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
