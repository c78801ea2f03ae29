// tf::linalg (issue #11): reference values from the TensorFlow and NumPy documentation (or
// NumPy 1.24 on the same inputs, as noted), float64 central-difference gradients (eigh and svd
// on matrices with well-separated eigen/singular values, through sign-invariant functions of
// the vectors), a second-order check, and bad input.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;
using Vec = std::vector<double>;

namespace {
constexpr double kGradTol = 1e-6;

Vec vals(const tf::Tensor& t) { return t.to_vector<double>(); }

tf::Tensor mat(const Vec& v, int64_t m, int64_t n) { return tf::constant(v, tf::Shape{m, n}); }

void check_close(const Vec& got, const Vec& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol).epsilon(tol));
}

double grad_err(const tf::test::TestFunction& f, std::vector<tf::Tensor> in) {
  return tf::test::max_gradient_error(f, in);
}

/// A well-conditioned random n×n float64 matrix: uniform noise plus n on the diagonal.
tf::Tensor well_conditioned(int64_t n, std::vector<int64_t> batch = {}) {
  batch.push_back(n);
  batch.push_back(n);
  tf::Shape s(batch);
  return test::uniform64(s, -1, 1) + tf::eye(n, n, tf::float64) * double(n);
}

/// Σ_k w_k v_k v_kᵀ over the columns v_k of v: smooth in v and blind to each column's sign.
tf::Tensor weighted_outer(const tf::Tensor& v) {
  const int64_t k = v.shape()[v.rank() - 1];
  tf::Tensor w = tf::range(1.0, double(k) + 1.0, 1.0, tf::float64);
  return tf::matmul(v * w, v, false, true);
}

/// The symmetric part of x.
tf::Tensor sym(const tf::Tensor& x) { return 0.5 * (x + tf::linalg::matrix_transpose(x)); }
}  // namespace

TEST_CASE("linalg structure: matrix_transpose, diag, diag_part, trace, band_part (TF docs)",
          "[ops][linalg_ext]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto x = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto xt = tf::linalg::matrix_transpose(x);
    CHECK(xt.shape() == tf::Shape{3, 2});
    check_close(vals(xt), {1, 4, 2, 5, 3, 6});
    // tf.linalg.diag's example: [[1,2,3,4],[5,6,7,8]] → two diagonal 4×4 matrices.
    auto d = tf::linalg::diag(tf::constant({{1.0, 2.0, 3.0, 4.0}, {5.0, 6.0, 7.0, 8.0}}));
    CHECK(d.shape() == tf::Shape{2, 4, 4});
    Vec dv = vals(d);
    for (int b = 0; b < 2; ++b)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          CHECK(dv[size_t(b * 16 + i * 4 + j)] == (i == j ? double(b * 4 + i + 1) : 0.0));
    // diag_part: the main diagonal, min(m, n) long.
    check_close(vals(tf::linalg::diag_part(x)), {1, 5});
    CHECK(tf::linalg::diag_part(tf::constant({{1, 2}, {3, 4}})).to_vector<int>() ==
          std::vector<int>{1, 4});
    // tf.linalg.trace's examples: 15, and [15, -15] for a batch.
    auto t3 = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}});
    CHECK(tf::linalg::trace(t3).item<double>() == 15.0);
    check_close(vals(tf::linalg::trace(tf::stack({t3, -t3}))), {15, -15});
    // tf.linalg.band_part's examples.
    auto in = tf::constant({{0.f, 1.f, 2.f, 3.f},
                            {-1.f, 0.f, 1.f, 2.f},
                            {-2.f, -1.f, 0.f, 1.f},
                            {-3.f, -2.f, -1.f, 0.f}});
    CHECK(tf::linalg::band_part(in, 1, -1).to_vector<float>() ==
          std::vector<float>{0, 1, 2, 3, -1, 0, 1, 2, 0, -1, 0, 1, 0, 0, -1, 0});
    CHECK(tf::linalg::band_part(in, 2, 1).to_vector<float>() ==
          std::vector<float>{0, 1, 0, 0, -1, 0, 1, 0, -2, -1, 0, 1, 0, -2, -1, 0});
    CHECK(tf::linalg::band_part(in, 0, 0).to_vector<float>() ==
          tf::linalg::diag(tf::linalg::diag_part(in)).to_vector<float>());
    // NaN off the band is zeroed, not multiplied.
    auto nan = tf::constant({{1.0, std::nan("")}, {2.0, 3.0}});
    check_close(vals(tf::linalg::band_part(nan, -1, 0)), {1, 0, 2, 3});
    CHECK(tf::linalg::diag(tf::zeros({0}, tf::float64)).shape() == tf::Shape{0, 0});

    auto r = test::uniform64({2, 3, 4}, -1, 1);
    CHECK(grad_err([](auto& v) { return tf::linalg::matrix_transpose(v[0]); }, {r}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::diag(v[0]); },
                   {test::uniform64({2, 3}, -1, 1)}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::diag_part(v[0]); }, {r}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::trace(v[0]); }, {r}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::band_part(v[0], 1, 0); }, {r}) < kGradTol);

    CHECK_THROWS_AS(tf::linalg::trace(tf::constant({1.0, 2.0})), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::linalg::diag_part(tf::constant({1.0, 2.0})),
                      Contains("(2,)") && Contains("[Op:MatrixDiagPartV3]"));
    CHECK_THROWS_WITH(tf::linalg::band_part(in, 5, 0),
                      Contains("num_lower") && Contains("[Op:MatrixBandPart]"));
    CHECK_THROWS_WITH(tf::linalg::matrix_transpose(tf::constant(1.0)),
                      Contains("[Op:MatrixTranspose]"));
  }
}

TEST_CASE("cholesky: the classic 3x3 example, gradients, and non-positive-definite input",
          "[ops][linalg_ext]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = tf::constant({{4.0, 12.0, -16.0}, {12.0, 37.0, -43.0}, {-16.0, -43.0, 98.0}});
    check_close(vals(tf::linalg::cholesky(a)), {2, 0, 0, 6, 1, 0, -8, 5, 3});
    CHECK(tf::linalg::cholesky(tf::cast(a, tf::float32)).to_vector<float>() ==
          std::vector<float>{2, 0, 0, 6, 1, 0, -8, 5, 3});
    // Batched: each matrix of [2, 3, 3] on its own; L·Lᵀ gives the input back.
    auto b = tf::stack({a, a * 4.0});
    auto l = tf::linalg::cholesky(b);
    check_close(vals(l), {2, 0, 0, 6, 1, 0, -8, 5, 3, 4, 0, 0, 12, 2, 0, -16, 10, 6});
    check_close(vals(tf::matmul(l, l, false, true)), vals(b), 1e-9);
    // Only the lower triangle is read.
    check_close(vals(tf::linalg::cholesky(tf::linalg::band_part(a, -1, 0))),
                {2, 0, 0, 6, 1, 0, -8, 5, 3});

    auto x = well_conditioned(3, {2});
    CHECK(grad_err([](auto& v) { return tf::linalg::cholesky(sym(v[0])); }, {x}) < kGradTol);

    CHECK_THROWS_AS(tf::linalg::cholesky(tf::constant({{1.0, 2.0}, {2.0, 1.0}})),
                    tf::InvalidArgumentError);
    CHECK_THROWS_WITH(
        tf::linalg::cholesky(tf::constant({{1.0, 2.0}, {2.0, 1.0}})),
        Contains("Cholesky decomposition was not successful") && Contains("[Op:Cholesky]"));
    CHECK_THROWS_WITH(tf::linalg::cholesky(tf::stack({a, -a})),
                      Contains("matrix 1 of the batch") && Contains("(2, 3, 3)"));
    CHECK_THROWS_WITH(tf::linalg::cholesky(tf::zeros({2, 3}, tf::float64)),
                      Contains("square") && Contains("(2, 3)") && Contains("[Op:Cholesky]"));
    CHECK_THROWS_WITH(tf::linalg::cholesky(tf::constant({{1, 0}, {0, 1}})),
                      Contains("int32") && Contains("[Op:Cholesky]"));
  }
}

TEST_CASE("triangular_solve and solve: documented examples, broadcasting, gradients",
          "[ops][linalg_ext]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    // tf.linalg.triangular_solve's example: x = [4/3, -2/3, 8/3, -4/3].
    auto a = tf::constant(
        {{3.0, 0.0, 0.0, 0.0}, {2.0, 1.0, 0.0, 0.0}, {1.0, 0.0, 1.0, 0.0}, {1.0, 1.0, 1.0, 1.0}});
    auto b = tf::constant({{4.0}, {2.0}, {4.0}, {2.0}});
    check_close(vals(tf::linalg::triangular_solve(a, b, true)), {4. / 3, -2. / 3, 8. / 3, -4. / 3});
    // Upper and adjoint: Aᵀ is upper triangular; the solution satisfies Aᵀx = b.
    auto xu = tf::linalg::triangular_solve(tf::linalg::matrix_transpose(a), b, false);
    check_close(vals(tf::matmul(tf::linalg::matrix_transpose(a), xu)), vals(b));
    check_close(vals(tf::linalg::triangular_solve(a, b, true, true)), vals(xu));
    // np.linalg.solve's example: 3x + y = 9, x + 2y = 8 → (2, 3).
    auto s = tf::constant({{3.0, 1.0}, {1.0, 2.0}});
    check_close(vals(tf::linalg::solve(s, tf::constant({{9.0}, {8.0}}))), {2, 3});
    CHECK(tf::linalg::solve(tf::cast(s, tf::float32), tf::constant({{9.f}, {8.f}}))
              .to_vector<float>() == std::vector<float>{2.f, 3.f});
    // adjoint: [[3, 1], [1, 2]] is symmetric, so the same; a nonsymmetric one checks Aᵀx = b.
    auto n = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
    auto rhs = tf::constant({{1.0, 0.0, 2.0}, {0.0, 1.0, -1.0}});
    check_close(vals(tf::matmul(n, tf::linalg::solve(n, rhs))), vals(rhs), 1e-12);
    check_close(vals(tf::matmul(n, tf::linalg::solve(n, rhs, true), true)), vals(rhs), 1e-12);
    // Batch dims broadcast: one matrix against a batch of right-hand sides.
    auto rb = test::uniform64({3, 2, 2}, -1, 1);
    auto xb = tf::linalg::solve(n, rb);
    CHECK(xb.shape() == tf::Shape{3, 2, 2});
    check_close(vals(tf::matmul(n, xb)), vals(rb), 1e-12);

    auto m = well_conditioned(3, {2});
    auto r = test::uniform64({2, 3, 2}, -1, 1);
    for (bool adj : {false, true}) {
      CHECK(grad_err([adj](auto& v) { return tf::linalg::solve(v[0], v[1], adj); }, {m, r}) <
            kGradTol);
      CHECK(grad_err([adj](auto& v) { return tf::linalg::triangular_solve(v[0], v[1], true, adj); },
                     {m, r}) < kGradTol);
      CHECK(
          grad_err([adj](auto& v) { return tf::linalg::triangular_solve(v[0], v[1], false, adj); },
                   {m, r}) < kGradTol);
    }
    CHECK(grad_err([](auto& v) { return tf::linalg::solve(v[0], v[1]); },
                   {well_conditioned(3), r}) < kGradTol);

    auto singular = tf::constant({{1.0, 2.0}, {2.0, 4.0}});
    CHECK_THROWS_AS(tf::linalg::solve(singular, tf::constant({{1.0}, {1.0}})),
                    tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::linalg::solve(singular, tf::constant({{1.0}, {1.0}})),
                      Contains("Input matrix is not invertible.") && Contains("[Op:MatrixSolve]"));
    CHECK_THROWS_WITH(tf::linalg::solve(s, tf::constant({{1.0}, {1.0}, {1.0}})),
                      Contains("(2, 2) vs. (3, 1)") && Contains("[Op:MatrixSolve]"));
    CHECK_THROWS_WITH(
        tf::linalg::solve(tf::zeros({2, 3}, tf::float64), tf::zeros({2, 1}, tf::float64)),
        Contains("(2, 3)") && Contains("[Op:MatrixSolve]"));
    CHECK_THROWS_WITH(tf::linalg::solve(s, tf::constant({{1.f}, {1.f}})),
                      Contains("[Op:MatrixSolve]"));
    CHECK_THROWS_WITH(tf::linalg::triangular_solve(a, tf::constant({1.0, 2.0, 3.0, 4.0})),
                      Contains("rank >= 2") && Contains("[Op:MatrixTriangularSolve]"));
  }
}

TEST_CASE("inv, det, slogdet: NumPy's examples, gradients, singular input", "[ops][linalg_ext]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
    check_close(vals(tf::linalg::inv(a)), {-2, 1, 1.5, -0.5}, 1e-14);  // np.linalg.inv's example
    check_close(vals(tf::linalg::inv(a, true)), {-2, 1.5, 1, -0.5}, 1e-14);
    CHECK(tf::linalg::det(a).item<double>() ==
          Approx(-2.0).epsilon(1e-15));  // np: -2.0000000000000004
    auto [sign, logdet] = tf::linalg::slogdet(a);
    CHECK(sign.item<double>() == -1.0);
    CHECK(logdet.item<double>() == Approx(0.6931471805599455).epsilon(1e-15));  // np.linalg.slogdet
    // Batched (np.linalg.det's example: [-2, -3, -8]).
    auto batch = tf::constant(Vec{1, 2, 3, 4, 1, 2, 2, 1, 1, 3, 3, 1}, tf::Shape{3, 2, 2});
    check_close(vals(tf::linalg::det(batch)), {-2, -3, -8}, 1e-14);
    auto [bs, bl] = tf::linalg::slogdet(batch);
    check_close(vals(bs), {-1, -1, -1});
    check_close(vals(bl), {std::log(2.0), std::log(3.0), std::log(8.0)}, 1e-14);
    CHECK(tf::linalg::det(tf::cast(a, tf::float32)).item<float>() == Approx(-2.f));
    // The determinant of a 0×0 matrix is 1.
    CHECK(tf::linalg::det(tf::zeros({2, 0, 0}, tf::float64)).to_vector<double>() == Vec{1, 1});
    // A singular matrix: det 0, slogdet (0, -inf); no error (as TF).
    auto singular = tf::constant({{1.0, 2.0}, {2.0, 4.0}});
    CHECK(tf::linalg::det(singular).item<double>() == 0.0);
    auto [ss, sl] = tf::linalg::slogdet(singular);
    CHECK(ss.item<double>() == 0.0);
    CHECK(sl.item<double>() == -std::numeric_limits<double>::infinity());

    auto m = well_conditioned(3, {2});
    CHECK(grad_err([](auto& v) { return tf::linalg::inv(v[0]); }, {m}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::inv(v[0], true); }, {m}) < kGradTol);
    CHECK(grad_err([](auto& v) { return tf::linalg::det(v[0]); }, {m}) < 1e-5);
    CHECK(grad_err([](auto& v) { return tf::linalg::slogdet(v[0]).log_abs_determinant; }, {m}) <
          kGradTol);
    // d det / dA = det(A)·A⁻ᵀ: for [[1, 2], [3, 4]], [[4, -3], [-2, 1]].
    {
      tf::GradientTape tape;
      tape.watch(a);
      check_close(vals(tape.gradient(tf::linalg::det(a), a)), {4, -3, -2, 1}, 1e-13);
    }
    // Second order: the gradient of det is itself differentiable (nested tapes).
    CHECK(grad_err(
              [](auto& v) {
                tf::GradientTape inner;
                inner.watch(v[0]);
                return inner.gradient(tf::linalg::det(v[0]), v[0]);
              },
              {m}) < 1e-5);

    CHECK_THROWS_AS(tf::linalg::inv(singular), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::linalg::inv(singular),
                      Contains("not invertible") && Contains("[Op:MatrixInverse]"));
    CHECK_THROWS_WITH(tf::linalg::det(tf::zeros({3, 2}, tf::float64)),
                      Contains("(3, 2)") && Contains("[Op:MatrixDeterminant]"));
    CHECK_THROWS_WITH(tf::linalg::slogdet(tf::constant({1.0})),
                      Contains("[Op:LogMatrixDeterminant]"));
  }
}

TEST_CASE("qr: NumPy's factors (LAPACK signs), reduced and complete, gradients",
          "[ops][linalg_ext]") {
  // CPU only: on a GPU qr/eigh/svd factorize on the host (there is no CUDA kernel yet), which
  // test/gpu/test_gpu_ops.cpp compares against these CPU results.
  for (const std::string& device : {std::string("/cpu:0")}) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = tf::constant({{2.0, 1.0, 0.5}, {1.0, 3.0, 0.2}, {0.3, 0.4, 1.5}, {1.0, -1.0, 2.0}});
    auto [q, r] = tf::linalg::qr(a);
    CHECK(q.shape() == tf::Shape{4, 3});
    CHECK(r.shape() == tf::Shape{3, 3});
    // np.linalg.qr(a) (NumPy 1.24).
    check_close(vals(q),
                {-0.8104408984731077,
                 0.12200771893944834,
                 0.43989035561563233,
                 -0.4052204492365539,
                 -0.802981033950323,
                 -0.19913554987381066,
                 -0.12156613477096617,
                 -0.06809733150108749,
                 -0.7473269533595063,
                 -0.4052204492365539,
                 0.5793947955217527,
                 -0.45644707534960205},
                1e-12);
    check_close(vals(r),
                {-2.467792535850613,
                 -1.669508250854602,
                 -1.4790546397134219,
                 0.0,
                 -2.8935691110337087,
                 0.9570512464715335,
                 0.0,
                 0.0,
                 -1.8537665129054104},
                1e-12);
    auto w = tf::constant({{1.0, 2.0, 3.0, 4.0}, {0.5, -1.0, 2.0, 0.0}});
    auto [qw, rw] = tf::linalg::qr(w);
    check_close(
        vals(qw),
        {-0.8944271909999157, -0.4472135954999579, -0.4472135954999579, 0.8944271909999159});
    check_close(vals(rw),
                {-1.118033988749895,
                 -1.3416407864998732,
                 -3.577708763999664,
                 -3.577708763999663,
                 0.0,
                 -1.7888543819998315,
                 0.44721359549995787,
                 -1.7888543819998317});
    auto [qf, rf] = tf::linalg::qr(a, true);
    CHECK(qf.shape() == tf::Shape{4, 4});
    CHECK(rf.shape() == tf::Shape{4, 3});
    check_close(vals(tf::matmul(qf, qf, true)), vals(tf::eye(4, 4, tf::float64)), 1e-13);
    check_close(vals(tf::matmul(qf, rf)), vals(a), 1e-13);
    auto [qb, rb] = tf::linalg::qr(tf::stack({a, 2.0 * a}));
    check_close(vals(tf::matmul(qb, rb)), vals(tf::stack({a, 2.0 * a})), 1e-13);

    for (tf::Shape s : {tf::Shape{4, 3}, tf::Shape{3, 3}, tf::Shape{2, 4}, tf::Shape{2, 3, 2}}) {
      INFO("shape " << s);
      auto x =
          test::uniform64(s, -1, 1) + 2.0 * tf::eye(s[s.rank() - 2], s[s.rank() - 1], tf::float64);
      CHECK(grad_err([](auto& v) { return tf::linalg::qr(v[0]).q; }, {x}) < kGradTol);
      CHECK(grad_err([](auto& v) { return tf::linalg::qr(v[0]).r; }, {x}) < kGradTol);
    }
    CHECK(grad_err([](auto& v) { return tf::linalg::qr(v[0], true).r; }, {well_conditioned(3)}) <
          kGradTol);
    {
      tf::GradientTape tape;
      tape.watch(a);
      auto res = tf::linalg::qr(a, true);
      CHECK_THROWS_AS(tape.gradient(res.r, a), tf::UnimplementedError);
    }
    CHECK_THROWS_WITH(tf::linalg::qr(tf::constant({1.0, 2.0})), Contains("[Op:Qr]"));
  }
}

TEST_CASE("eigh: ascending eigenvalues (NumPy's), eigenvectors, gradients for distinct values",
          "[ops][linalg_ext]") {
  // CPU only: on a GPU qr/eigh/svd factorize on the host (there is no CUDA kernel yet), which
  // test/gpu/test_gpu_ops.cpp compares against these CPU results.
  for (const std::string& device : {std::string("/cpu:0")}) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto s = tf::constant({{2.0, 1.0}, {1.0, 2.0}});
    auto [e, v] = tf::linalg::eigh(s);
    check_close(vals(e), {1, 3}, 1e-14);
    // np.linalg.eigh: columns ±[-1, 1]/√2 and ±[1, 1]/√2 (a column's sign is LAPACK's choice).
    const double h = std::sqrt(0.5);
    check_close(vals(tf::abs(v)), {h, h, h, h}, 1e-14);
    check_close(vals(tf::matmul(v * e, v, false, true)), vals(s), 1e-14);
    auto b = tf::constant({{3.0, 1.0, 0.0}, {1.0, 4.0, 2.0}, {0.0, 2.0, 5.0}});
    check_close(vals(tf::linalg::eigh(b).e),
                {1.8548973087995775, 3.4760236029181333, 6.669079088282289},
                1e-13);
    // Only the lower triangle is read (TF).
    check_close(vals(tf::linalg::eigh(tf::linalg::band_part(b, -1, 0)).e),
                vals(tf::linalg::eigh(b).e),
                1e-14);
    auto batch = tf::stack({b, 2.0 * b});
    auto eb = tf::linalg::eigh(batch);
    CHECK(eb.v.shape() == tf::Shape{2, 3, 3});
    check_close(
        vals(tf::matmul(eb.v * tf::expand_dims(eb.e, -2), eb.v, false, true)), vals(batch), 1e-12);
    CHECK(tf::linalg::eigh(tf::cast(s, tf::float32)).e.to_vector<float>()[1] == Approx(3.f));

    // Well-separated eigenvalues: diag(1, 4, 7) plus small symmetric noise.
    auto d = tf::linalg::diag(tf::constant({1.0, 4.0, 7.0}));
    auto x = tf::stack({d, 2.0 * d}) + 0.3 * test::uniform64({2, 3, 3}, -1, 1);
    CHECK(grad_err([](auto& in) { return tf::linalg::eigh(sym(in[0])).e; }, {x}) < kGradTol);
    CHECK(grad_err([](auto& in) { return weighted_outer(tf::linalg::eigh(sym(in[0])).v); }, {x}) <
          kGradTol);
    // Without sym(): the op reads the lower triangle only, and the rule says so.
    CHECK(grad_err([](auto& in) { return tf::linalg::eigh(in[0]).e; }, {x}) < kGradTol);

    CHECK_THROWS_WITH(tf::linalg::eigh(tf::zeros({2, 3}, tf::float64)),
                      Contains("[Op:SelfAdjointEigV2]"));
    CHECK_THROWS_WITH(tf::linalg::eigh(tf::constant({{1.0, 0.0}, {std::nan(""), 1.0}})),
                      Contains("NaN") && Contains("[Op:SelfAdjointEigV2]"));
  }
}

TEST_CASE("svd: NumPy's singular values and vectors, shapes, gradients for distinct values",
          "[ops][linalg_ext]") {
  // CPU only: on a GPU qr/eigh/svd factorize on the host (there is no CUDA kernel yet), which
  // test/gpu/test_gpu_ops.cpp compares against these CPU results.
  for (const std::string& device : {std::string("/cpu:0")}) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = tf::constant({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
    auto [s, u, v] = tf::linalg::svd(a);
    CHECK(u.shape() == tf::Shape{3, 2});
    CHECK(v.shape() == tf::Shape{2, 2});
    check_close(vals(s), {9.525518091565107, 0.5143005806586443}, 1e-13);  // np.linalg.svd
    check_close(vals(tf::abs(u)),
                {0.22984769640007147,
                 0.8834610176985255,
                 0.5247448187602937,
                 0.24078249213254635,
                 0.8196419411205159,
                 0.4018960334334318},
                1e-12);
    check_close(vals(tf::abs(v)),
                {0.6196294838293404, 0.7848944532670524, 0.7848944532670524, 0.6196294838293404},
                1e-12);
    check_close(vals(tf::matmul(u * s, v, false, true)), vals(a), 1e-13);
    auto at = tf::linalg::matrix_transpose(a);
    auto wide = tf::linalg::svd(at);
    check_close(vals(wide.s), vals(s), 1e-13);
    check_close(vals(tf::matmul(wide.u * wide.s, wide.v, false, true)), vals(at), 1e-13);
    auto full = tf::linalg::svd(a, true);
    CHECK(full.u.shape() == tf::Shape{3, 3});
    CHECK(full.v.shape() == tf::Shape{2, 2});
    check_close(vals(tf::matmul(full.u, full.u, true)), vals(tf::eye(3, 3, tf::float64)), 1e-13);
    auto only_s = tf::linalg::svd(a, false, false);
    CHECK_FALSE(only_s.u.defined());
    check_close(vals(only_s.s), vals(s), 1e-13);
    auto batch = tf::linalg::svd(tf::stack({a, 3.0 * a}));
    check_close(
        vals(batch.s),
        {9.525518091565107, 0.5143005806586443, 3 * 9.525518091565107, 3 * 0.5143005806586443},
        1e-12);
    CHECK(tf::linalg::svd(tf::cast(a, tf::float32)).s.to_vector<float>()[0] == Approx(9.5255181f));

    for (tf::Shape sh : {tf::Shape{3, 3}, tf::Shape{4, 2}, tf::Shape{2, 4}, tf::Shape{2, 3, 2}}) {
      INFO("shape " << sh);
      // Distinct singular values: a scaled diagonal plus noise.
      const int64_t m = sh[sh.rank() - 2], n = sh[sh.rank() - 1], p = std::min(m, n);
      auto dd = tf::range(1.0, double(p) + 1.0, 1.0, tf::float64) * 2.0;
      auto base = tf::pad(tf::linalg::diag(dd), {{0, m - p}, {0, n - p}});
      auto x = base + 0.2 * test::uniform64(sh, -1, 1);
      CHECK(grad_err([](auto& in) { return tf::linalg::svd(in[0]).s; }, {x}) < kGradTol);
      CHECK(grad_err([](auto& in) { return tf::linalg::svd(in[0], false, false).s; }, {x}) <
            kGradTol);
      CHECK(grad_err([](auto& in) { return weighted_outer(tf::linalg::svd(in[0]).u); }, {x}) <
            kGradTol);
      CHECK(grad_err([](auto& in) { return weighted_outer(tf::linalg::svd(in[0]).v); }, {x}) <
            kGradTol);
    }
    {
      tf::GradientTape tape;
      auto wide4 = tf::zeros({2, 5}, tf::float64);
      tape.watch(wide4);
      auto res = tf::linalg::svd(wide4 + tf::eye(2, 5, tf::float64), true);
      CHECK_THROWS_AS(tape.gradient(res.u, wide4), tf::UnimplementedError);
    }
    CHECK_THROWS_WITH(tf::linalg::svd(tf::constant({{1, 2}, {3, 4}})), Contains("[Op:Svd]"));
    CHECK_THROWS_WITH(tf::linalg::svd(tf::constant({{1.0, std::nan("")}})),
                      Contains("NaN") && Contains("[Op:Svd]"));
  }
}
