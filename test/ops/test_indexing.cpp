// Indexing, ordering and scans (issue #11): reference values from the TensorFlow documentation
// or NumPy, float64 central-difference gradients, and bad input.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;
using Vec = std::vector<double>;
using I32 = std::vector<int32_t>;
using I64 = std::vector<int64_t>;
using test::uniform64;

namespace {
constexpr double kGradTol = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

tf::Tensor v1(const Vec& v) { return tf::constant(v, tf::Shape{int64_t(v.size())}); }
Vec vals(const tf::Tensor& t) { return t.to_vector<double>(); }
double grad_err(const tf::test::TestFunction& f, std::vector<tf::Tensor> in) {
  return tf::test::max_gradient_error(f, in);
}
}  // namespace

TEST_CASE("cumsum and cumprod: TF's documented values", "[ops][indexing]") {
  const auto x = tf::constant({2.f, 4.f, 6.f, 8.f});
  CHECK(tf::cumsum(x).to_vector<float>() ==
        std::vector<float>{2, 6, 12, 20});  // tf.math.cumsum docs
  CHECK(tf::cumsum(x, 0, {.exclusive = true}).to_vector<float>() ==
        std::vector<float>{0, 2, 6, 12});
  CHECK(tf::cumsum(x, 0, {.reverse = true}).to_vector<float>() ==
        std::vector<float>{20, 18, 14, 8});
  CHECK(tf::cumsum(x, 0, {.exclusive = true, .reverse = true}).to_vector<float>() ==
        std::vector<float>{18, 14, 8, 0});
  const auto m = tf::constant({{2, 4, 6, 8}, {1, 3, 5, 7}});
  CHECK(tf::cumsum(m, 1).to_vector<int>() == std::vector<int>{2, 6, 12, 20, 1, 4, 9, 16});
  CHECK(tf::cumsum(m, 0).to_vector<int>() == std::vector<int>{2, 4, 6, 8, 3, 7, 11, 15});
  CHECK(tf::cumsum(m, -1, {.reverse = true}).to_vector<int>() ==
        std::vector<int>{20, 18, 14, 8, 16, 15, 12, 7});
  CHECK(tf::cumprod(x).to_vector<float>() == std::vector<float>{2, 8, 48, 384});  // np.cumprod
  CHECK(tf::cumprod(x, 0, {.exclusive = true}).to_vector<float>() ==
        std::vector<float>{1, 2, 8, 48});
  CHECK(tf::cumprod(x, 0, {.exclusive = true, .reverse = true}).to_vector<float>() ==
        std::vector<float>{192, 48, 8, 1});
  CHECK(tf::cumprod(tf::constant({{1.0, 2.0}, {3.0, 4.0}}), 0).to_vector<double>() ==
        Vec{1, 2, 3, 8});
  CHECK(tf::cumsum(tf::zeros({0, 3})).shape() == tf::Shape{0, 3});

  // Long lines take the blocked path: exact for integers and small whole floats.
  const int64_t n = (int64_t(1) << 17) + 5;
  auto ones = tf::ones({n});
  auto c = tf::cumsum(ones).to_vector<float>();
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok = ok && c[size_t(i)] == float(i + 1);
  CHECK(ok);
  auto ce = tf::cumsum(tf::fill({n}, int64_t(3)), 0, {.exclusive = true}).to_vector<int64_t>();
  ok = true;
  for (int64_t i = 0; i < n; ++i) ok = ok && ce[size_t(i)] == 3 * i;
  CHECK(ok);
  // Random data: the blocked sum agrees with a float64 running sum.
  auto r = tf::random::uniform({n}, -1, 1, tf::float64);
  auto rv = r.to_vector<double>();
  auto rc = tf::cumsum(r).to_vector<double>();
  double s = 0, worst = 0;
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::abs(rc[size_t(i)] - (s += rv[size_t(i)])));
  CHECK(worst < 1e-9);

  CHECK_THROWS_WITH(tf::cumsum(x, 1), Contains("[Op:Cumsum]") && Contains("axis 1"));
  CHECK_THROWS_WITH(tf::cumsum(tf::constant(1.f)), Contains("[Op:Cumsum]"));
  CHECK_THROWS_WITH(tf::cumprod(tf::constant({true, false})),
                    Contains("[Op:Cumprod]") && Contains("bool"));
}

TEST_CASE("cumsum and cumprod: gradients", "[ops][indexing]") {
  const auto x = uniform64({3, 4}, 0.5, 2.0);
  for (bool ex : {false, true})
    for (bool rev : {false, true})
      for (int axis : {0, 1}) {
        CHECK(grad_err(
                  [=](auto& in) {
                    return tf::cumsum(in[0], axis, {.exclusive = ex, .reverse = rev});
                  },
                  {x}) < kGradTol);
        CHECK(grad_err(
                  [=](auto& in) {
                    return tf::cumprod(in[0], axis, {.exclusive = ex, .reverse = rev});
                  },
                  {x}) < kGradTol);
      }
  // d/dx Σ cumsum(x) = [n, n-1, ..., 1].
  auto v = tf::constant({1.0, 2.0, 3.0});
  tf::GradientTape tape;
  tape.watch(v);
  auto y = tf::cumsum(v);
  CHECK(tape.gradient(y, v).to_vector<double>() == Vec{3, 2, 1});
}

TEST_CASE("sort, argsort: TF's documented values, stability, NaN", "[ops][indexing]") {
  const auto a = tf::constant({1.f, 10.f, 26.9f, 2.8f, 166.32f, 62.3f});  // tf.sort docs
  CHECK(tf::sort(a).to_vector<float>() ==
        std::vector<float>{1.f, 2.8f, 10.f, 26.9f, 62.3f, 166.32f});
  CHECK(tf::sort(a, -1, "DESCENDING").to_vector<float>() ==
        std::vector<float>{166.32f, 62.3f, 26.9f, 10.f, 2.8f, 1.f});
  CHECK(tf::argsort(a).to_vector<int32_t>() == I32{0, 3, 1, 2, 5, 4});  // tf.argsort docs
  CHECK(tf::argsort(a).dtype() == tf::int32);
  CHECK(tf::argsort(tf::constant({2, 1, 2, 1})).to_vector<int32_t>() == I32{1, 3, 0, 2});
  CHECK(tf::argsort(tf::constant({2, 1, 2, 1}), -1, "DESCENDING").to_vector<int32_t>() ==
        I32{0, 2, 1, 3});
  // Along axis 0 of a matrix.
  CHECK(tf::sort(tf::constant({{3, 1}, {1, 2}, {2, 0}}), 0).to_vector<int>() ==
        std::vector<int>{1, 0, 2, 1, 3, 2});
  // NaN above +inf; -0 and +0 tie (index order).
  const double nan = std::nan("");
  CHECK(tf::argsort(v1({nan, 1.0, -kInf, kInf, -0.0, 0.0})).to_vector<int32_t>() ==
        I32{2, 4, 5, 1, 3, 0});
  // Long rows take the radix path: same as std::stable_sort, for floats with many ties and int64.
  for (int64_t n : {300, 5000}) {
    std::mt19937 gen(7);
    std::vector<float> f(static_cast<size_t>(n));
    std::vector<int64_t> g(static_cast<size_t>(n));
    for (size_t i = 0; i < f.size(); ++i) {
      f[i] = float(int(gen() % 50) - 25) * 0.5f;
      g[i] = int64_t(gen()) - (int64_t(1) << 31);
    }
    std::vector<int32_t> want(static_cast<size_t>(n));
    std::iota(want.begin(), want.end(), 0);
    std::stable_sort(want.begin(), want.end(), [&](int32_t i, int32_t j) {
      return f[size_t(i)] > f[size_t(j)];
    });
    CHECK(tf::argsort(tf::constant(f, {n}), -1, "DESCENDING").to_vector<int32_t>() == want);
    std::sort(g.begin(), g.end());
    auto gs = tf::sort(tf::constant(g, {n}));
    CHECK(gs.to_vector<int64_t>() == g);
  }
  CHECK(tf::sort(tf::zeros({2, 0})).shape() == tf::Shape{2, 0});

  CHECK_THROWS_WITH(tf::sort(a, 0, "UP"), Contains("[Op:Sort]") && Contains("UP"));
  CHECK_THROWS_WITH(tf::sort(a, 1), Contains("[Op:Sort]"));
  CHECK_THROWS_WITH(tf::argsort(tf::constant(1.f)), Contains("[Op:ArgSort]"));
  CHECK_THROWS_WITH(tf::sort(tf::constant({true})), Contains("[Op:Sort]") && Contains("bool"));
}

TEST_CASE("top_k: values, indices, ties, k bounds", "[ops][indexing]") {
  auto [values, indices] = tf::math::top_k(tf::constant({1.f, 5.f, 2.f, 3.f}), 2);
  CHECK(values.to_vector<float>() == std::vector<float>{5, 3});
  CHECK(indices.to_vector<int32_t>() == I32{1, 3});
  CHECK(indices.dtype() == tf::int32);
  // Ties: lower index first (TF's documented order).
  CHECK(tf::math::top_k(tf::constant({1, 3, 3, 2, 3}), 2).indices.to_vector<int32_t>() ==
        I32{1, 2});
  auto m = tf::math::top_k(tf::constant({{1.0, 9.0, 4.0}, {8.0, 3.0, 8.0}}), 2);
  CHECK(m.values.to_vector<double>() == Vec{9, 4, 8, 8});
  CHECK(m.indices.to_vector<int32_t>() == I32{1, 2, 0, 2});
  CHECK(tf::math::top_k(tf::constant({1.f, 2.f})).values.shape() == tf::Shape{1});  // k = 1
  CHECK(tf::math::top_k(tf::constant({1.f, 2.f}), 0).values.shape() == tf::Shape{0});
  // The heap path (k small against n) and the partial-sort path agree with a full sort.
  for (auto [n, k] : std::vector<std::pair<int64_t, int64_t>>{{1000, 10}, {100, 30}, {64, 64}}) {
    auto x = tf::random::uniform({3, n}, -1, 1);
    auto want = tf::argsort(x, -1, "DESCENDING").to_vector<int32_t>();
    auto got = tf::math::top_k(x, k).indices.to_vector<int32_t>();
    bool same = true;
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t j = 0; j < k; ++j)
        same = same && got[size_t(r * k + j)] == want[size_t(r * n + j)];
    CHECK(same);
  }
  CHECK_THROWS_WITH(tf::math::top_k(tf::constant({1.f, 2.f}), 3),
                    Contains("[Op:TopKV2]") && Contains("at least k columns. Had 2, needed 3"));
  CHECK_THROWS_WITH(tf::math::top_k(tf::constant({1.f}), -1), Contains("[Op:TopKV2]"));
  CHECK_THROWS_WITH(tf::math::top_k(tf::constant(1.f)), Contains("[Op:TopKV2]"));
}

TEST_CASE("sort and top_k: gradients", "[ops][indexing]") {
  const auto x = uniform64({3, 5}, -2, 2);
  CHECK(grad_err([](auto& in) { return tf::sort(in[0]); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::sort(in[0], 0, "DESCENDING"); }, {x}) < kGradTol);
  CHECK(grad_err([](auto& in) { return tf::math::top_k(in[0], 2).values; }, {x}) < kGradTol);
  // dy goes to where each value came from.
  auto v = tf::constant({3.0, 1.0, 2.0});
  tf::GradientTape tape;
  tape.watch(v);
  auto y = tf::math::top_k(v, 2).values * tf::constant({10.0, 1.0});
  CHECK(tape.gradient(y, v).to_vector<double>() == Vec{10, 0, 1});
}

TEST_CASE("gather_nd, scatter_nd, tensor_scatter_nd_*: TF's documented values", "[ops][indexing]") {
  const auto p = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
  CHECK(tf::gather_nd(p, tf::constant({{0, 0}, {1, 1}})).to_vector<float>() ==
        std::vector<float>{1, 4});
  auto rows = tf::gather_nd(p, tf::constant({{1}, {0}}));
  CHECK(rows.shape() == tf::Shape{2, 2});
  CHECK(rows.to_vector<float>() == std::vector<float>{3, 4, 1, 2});
  CHECK(tf::gather_nd(p, tf::constant(I64{1, 0}, {2})).item<float>() ==
        3.f);  // a 1-D index: a scalar
  CHECK(tf::gather_nd(p, tf::zeros({0, 2}, tf::int32)).shape() == tf::Shape{0});

  const auto idx = tf::constant({{4}, {3}, {1}, {7}});
  const auto upd = tf::constant({9, 10, 11, 12});
  CHECK(tf::scatter_nd(idx, upd, {8}).to_vector<int>() ==
        std::vector<int>{0, 11, 0, 10, 9, 0, 0, 12});  // docs
  CHECK(
      tf::scatter_nd(tf::constant({{1}, {1}}), tf::constant({1.f, 2.f}), {3}).to_vector<float>() ==
      std::vector<float>{0, 3, 0});  // duplicates add
  CHECK(tf::tensor_scatter_nd_update(
            tf::zeros({8}, tf::int32), tf::constant({{1}, {3}, {4}, {7}}), upd)
            .to_vector<int>() == std::vector<int>{0, 9, 0, 10, 11, 0, 0, 12});  // docs
  CHECK(tf::tensor_scatter_nd_add(tf::constant({1, 2, 3, 4, 5, 6, 7, 8}), idx, upd)
            .to_vector<int>() == std::vector<int>{1, 13, 3, 14, 14, 6, 7, 20});  // docs
  // Integer sums wrap, as TF's (INT64_MIN + INT64_MIN was signed overflow; found by fuzz_ops).
  const int64_t lo = std::numeric_limits<int64_t>::min();
  CHECK(tf::scatter_nd(
            tf::constant({{0}, {0}}), tf::constant(std::vector<int64_t>{lo, lo}, tf::Shape{2}), {1})
            .to_vector<int64_t>() == std::vector<int64_t>{0});
  CHECK(tf::tensor_scatter_nd_add(tf::constant(std::vector<int64_t>{lo}, tf::Shape{1}),
                                  tf::constant({{0}}),
                                  tf::constant(std::vector<int64_t>{-1}, tf::Shape{1}))
            .to_vector<int64_t>() == std::vector<int64_t>{std::numeric_limits<int64_t>::max()});
  // Of duplicates the last update wins.
  CHECK(tf::tensor_scatter_nd_update(
            tf::zeros({3}), tf::constant({{1}, {1}}), tf::constant({5.f, 7.f}))
            .to_vector<float>() == std::vector<float>{0, 7, 0});
  // Slices: rows of a matrix.
  CHECK(tf::tensor_scatter_nd_update(
            tf::zeros({3, 2}), tf::constant({{2}}), tf::constant({{1.f, 2.f}}))
            .to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 2});

  CHECK_THROWS_WITH(
      tf::gather_nd(p, tf::constant({{0, 0}, {2, 0}})),
      Contains("[Op:GatherNd]") && Contains("indices[1] = [2, 0]") && Contains("(2, 2)"));
  CHECK_THROWS_WITH(tf::gather_nd(p, tf::constant({{0, -1}})),
                    Contains("[Op:GatherNd]") && Contains("[0, -1]"));
  CHECK_THROWS_WITH(tf::gather_nd(p, tf::constant({{0, 0, 0}})), Contains("[Op:GatherNd]"));
  CHECK_THROWS_WITH(tf::gather_nd(p, tf::constant({0.f})), Contains("[Op:GatherNd]"));
  CHECK_THROWS_WITH(tf::scatter_nd(idx, upd, {4}),
                    Contains("[Op:ScatterNd]") && Contains("indices[0] = [4]"));
  CHECK_THROWS_WITH(tf::scatter_nd(idx, tf::constant({1, 2}), {8}), Contains("[Op:ScatterNd]"));
  CHECK_THROWS_WITH(
      tf::tensor_scatter_nd_add(tf::zeros({8}), idx, tf::constant({1.0, 2.0, 3.0, 4.0})),
      Contains("[Op:TensorScatterAdd]"));
  CHECK_THROWS_WITH(
      tf::tensor_scatter_nd_update(tf::zeros({2}), idx, tf::constant({1.f, 2.f, 3.f, 4.f})),
      Contains("[Op:TensorScatterUpdate]") && Contains("[4]"));
}

TEST_CASE("gather_nd, scatter_nd, tensor_scatter_nd_*: gradients", "[ops][indexing]") {
  const auto x = uniform64({3, 4}, -1, 1);
  const auto u = uniform64({2, 4}, -1, 1);
  const auto ii = tf::constant({{2}, {0}});
  CHECK(grad_err(
            [&](auto& in) {
              return tf::gather_nd(in[0], tf::constant({{0, 1}, {2, 3}, {0, 1}}));
            },
            {x}) < kGradTol);
  CHECK(grad_err([&](auto& in) { return tf::scatter_nd(ii, in[0], {3, 4}); }, {u}) < kGradTol);
  CHECK(grad_err([&](auto& in) { return tf::tensor_scatter_nd_update(in[0], ii, in[1]); }, {x, u}) <
        kGradTol);
  CHECK(grad_err([&](auto& in) { return tf::tensor_scatter_nd_add(in[0], ii, in[1]); }, {x, u}) <
        kGradTol);
  // Repeated gathers accumulate.
  auto v = tf::constant({1.0, 2.0});
  tf::GradientTape tape;
  tape.watch(v);
  auto y = tf::gather_nd(v, tf::constant({{1}, {1}, {0}}));
  CHECK(tape.gradient(y, v).to_vector<double>() == Vec{1, 2});
}

TEST_CASE("boolean_mask and where(cond)", "[ops][indexing]") {
  CHECK(tf::boolean_mask(tf::constant({0, 1, 2, 3}), tf::constant({true, false, true, false}))
            .to_vector<int>() == std::vector<int>{0, 2});  // docs
  auto b =
      tf::boolean_mask(tf::constant({{1, 2}, {3, 4}, {5, 6}}), tf::constant({true, false, true}));
  CHECK(b.shape() == tf::Shape{2, 2});
  CHECK(b.to_vector<int>() == std::vector<int>{1, 2, 5, 6});
  auto c = tf::boolean_mask(tf::constant({{1, 2}, {3, 4}, {5, 6}}), tf::constant({false, true}), 1);
  CHECK(c.to_vector<int>() == std::vector<int>{2, 4, 6});
  auto d = tf::boolean_mask(tf::constant({{1, 2}, {3, 4}}),
                            tf::constant({{true, false}, {false, true}}));
  CHECK(d.to_vector<int>() == std::vector<int>{1, 4});

  auto w = tf::where(tf::constant({true, false, false, true}));  // docs
  CHECK(w.dtype() == tf::int64);
  CHECK(w.shape() == tf::Shape{2, 1});
  CHECK(w.to_vector<int64_t>() == I64{0, 3});
  auto w2 = tf::where(tf::constant({{true, false}, {true, true}}));
  CHECK(w2.to_vector<int64_t>() == I64{0, 0, 1, 0, 1, 1});
  CHECK(tf::where(tf::constant({0.0, 2.0, std::nan("")})).to_vector<int64_t>() == I64{1, 2});
  CHECK(tf::where(tf::constant(false)).shape() == tf::Shape{0, 0});

  CHECK(grad_err(
            [](auto& in) {
              return tf::boolean_mask(in[0], tf::constant({true, false, true}));
            },
            {uniform64({3, 2}, -1, 1)}) < kGradTol);
  CHECK_THROWS_WITH(tf::boolean_mask(tf::constant({1, 2}), tf::constant({true})),
                    Contains("[Op:BooleanMask]") && Contains("(2,)"));
  CHECK_THROWS_WITH(tf::boolean_mask(tf::constant({1, 2}), tf::constant({1, 0})),
                    Contains("[Op:BooleanMask]"));
  CHECK_THROWS_WITH(tf::boolean_mask(tf::constant({1, 2}), tf::constant(true)),
                    Contains("[Op:BooleanMask]"));
  // axis + mask rank overflowed int for axis near INT_MAX (UBSan, found by fuzz_ops).
  CHECK_THROWS_AS(tf::boolean_mask(tf::constant({1, 2}), tf::constant({true, false}), INT_MAX),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::boolean_mask(tf::constant({1, 2}), tf::constant({true, false}), INT_MIN),
                  tf::InvalidArgumentError);
}

TEST_CASE("gather_nd / scatter_nd: empty indices of depth 0 naming 2^62 slices are refused",
          "[ops][indexing]") {
  // indices [2^62, 0] hold no values, yet name 2^62 slices; the plan's offsets were allocated
  // for all of them (AddressSanitizer: out of memory, found by fuzz_ops).
  const int64_t h = int64_t(1) << 62;
  const tf::Tensor idx = tf::zeros({h, 0}, tf::int32);
  CHECK_THROWS_AS(tf::tensor_scatter_nd_add(tf::zeros({0}), idx, tf::zeros({h, 0})),
                  tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::tensor_scatter_nd_update(tf::zeros({0}), idx, tf::zeros({h, 0})),
                  tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::gather_nd(tf::zeros({0}), idx), tf::Error);
  CHECK_THROWS_AS(tf::scatter_nd(idx, tf::zeros({h, 0}), tf::Shape{0}), tf::Error);
}

TEST_CASE("unique", "[ops][indexing]") {
  auto [y, idx] = tf::unique(tf::constant({1, 1, 2, 4, 4, 4, 7, 8, 8}));  // tf.unique docs
  CHECK(y.to_vector<int>() == std::vector<int>{1, 2, 4, 7, 8});
  CHECK(idx.to_vector<int32_t>() == I32{0, 0, 1, 2, 2, 2, 3, 4, 4});
  CHECK(idx.dtype() == tf::int32);
  auto u = tf::unique(tf::constant({3.f, -0.f, 3.f, 0.f}));
  CHECK(u.y.to_vector<float>() == std::vector<float>{3, 0});
  CHECK(u.idx.to_vector<int32_t>() == I32{0, 1, 0, 1});
  CHECK(tf::unique(tf::zeros({0})).y.shape() == tf::Shape{0});
  CHECK_THROWS_WITH(tf::unique(tf::zeros({2, 2})), Contains("[Op:Unique]") && Contains("(2, 2)"));
}

TEST_CASE("strided_slice: TF's documented values, negative strides, masks", "[ops][indexing]") {
  const auto t = tf::constant(
      std::vector<int>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6}, {3, 2, 3});
  auto a = tf::strided_slice(t, {1, 0, 0}, {2, 1, 3}, {1, 1, 1});  // tf.strided_slice docs
  CHECK(a.shape() == tf::Shape{1, 1, 3});
  CHECK(a.to_vector<int>() == std::vector<int>{3, 3, 3});
  CHECK(tf::strided_slice(t, {1, 0, 0}, {2, 2, 3}, {1, 1, 1}).to_vector<int>() ==
        std::vector<int>{3, 3, 3, 4, 4, 4});
  auto c = tf::strided_slice(t, {1, -1, 0}, {2, -3, 3}, {1, -1, 1});
  CHECK(c.shape() == tf::Shape{1, 2, 3});
  CHECK(c.to_vector<int>() == std::vector<int>{4, 4, 4, 3, 3, 3});

  // NumPy: x = np.arange(24).reshape(2, 3, 4).
  std::vector<int> v(24);
  std::iota(v.begin(), v.end(), 0);
  const auto x = tf::constant(v, {2, 3, 4});
  // x[::-1, :, ::-2] → [[[15 13] [19 17] [23 21]] [[3 1] [7 5] [11 9]]]
  auto r =
      tf::strided_slice(x, {0, 0, 0}, {0, 0, 0}, {-1, 1, -2}, {.begin_mask = 7, .end_mask = 7});
  CHECK(r.shape() == tf::Shape{2, 3, 2});
  CHECK(r.to_vector<int>() == std::vector<int>{15, 13, 19, 17, 23, 21, 3, 1, 7, 5, 11, 9});
  // x[..., 1] → shape (2, 3)
  auto e =
      tf::strided_slice(x, {0, 1}, {0, 2}, {1, 1}, {.ellipsis_mask = 1, .shrink_axis_mask = 2});
  CHECK(e.shape() == tf::Shape{2, 3});
  CHECK(e.to_vector<int>() == std::vector<int>{1, 5, 9, 13, 17, 21});
  // x[np.newaxis, 1, ::-2] → [[[20 21 22 23] [12 13 14 15]]]
  auto n = tf::strided_slice(
      x,
      {0, 1, 0},
      {0, 2, 0},
      {1, 1, -2},
      {.begin_mask = 4, .end_mask = 4, .new_axis_mask = 1, .shrink_axis_mask = 2});
  CHECK(n.shape() == tf::Shape{1, 2, 4});
  CHECK(n.to_vector<int>() == std::vector<int>{20, 21, 22, 23, 12, 13, 14, 15});
  // x[1, -1:-10:-1, 5:2] (clamped; empty last axis), x[-1]
  CHECK(tf::strided_slice(x, {1, -1, 5}, {2, -10, 2}, {1, -1, 1}).shape() == tf::Shape{1, 3, 0});
  CHECK(tf::strided_slice(x, {-1}, {0}, {1}, {.shrink_axis_mask = 1}).shape() == tf::Shape{3, 4});
  CHECK(tf::strided_slice(tf::constant({1, 2, 3, 4, 5}), {4}, {0}, {-2}).to_vector<int>() ==
        std::vector<int>{5, 3});

  const auto g = uniform64({3, 4}, -1, 1);
  CHECK(grad_err(
            [](auto& in) {
              return tf::strided_slice(in[0], {2, 3}, {0, 0}, {-1, -2});
            },
            {g}) < kGradTol);
  CHECK(
      grad_err(
          [](auto& in) { return tf::strided_slice(in[0], {1}, {2}, {1}, {.shrink_axis_mask = 1}); },
          {g}) < kGradTol);

  CHECK_THROWS_WITH(tf::strided_slice(x, {0}, {1}, {0}),
                    Contains("[Op:StridedSlice]") && Contains("non-zero"));
  CHECK_THROWS_WITH(tf::strided_slice(x, {0, 0}, {1}, {1}), Contains("[Op:StridedSlice]"));
  CHECK_THROWS_WITH(tf::strided_slice(x, {5}, {6}, {1}, {.shrink_axis_mask = 1}),
                    Contains("[Op:StridedSlice]") && Contains("out of bounds"));
  CHECK_THROWS_WITH(tf::strided_slice(x, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}),
                    Contains("[Op:StridedSlice]") && Contains("Index out of range"));
  CHECK_THROWS_WITH(tf::strided_slice(x, {0, 0}, {1, 1}, {1, 1}, {.ellipsis_mask = 3}),
                    Contains("Multiple ellipses"));
}
