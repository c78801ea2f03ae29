#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace M = Catch::Matchers;
using Catch::Matchers::Equals;

namespace {

tf::Tensor random_input(const tf::Shape& shape, uint64_t seed) {
  tf::random::set_seed(seed);
  return tf::random::normal(shape, 0.0, 1.0, tf::float64);
}

/// Naive row-major reference: C[b] = op(A[b]) op(B[b]) with batch strides (0 = shared).
std::vector<double> reference(const std::vector<double>& a,
                              const std::vector<double>& b,
                              int64_t batch,
                              int64_t m,
                              int64_t k,
                              int64_t n,
                              bool ta,
                              bool tb,
                              int64_t sa,
                              int64_t sb) {
  std::vector<double> c(size_t(batch * m * n), 0.0);
  for (int64_t q = 0; q < batch; ++q)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          double x = a[size_t(q * sa + (ta ? p * m + i : i * k + p))];
          double y = b[size_t(q * sb + (tb ? j * k + p : p * n + j))];
          s += x * y;
        }
        c[size_t((q * m + i) * n + j)] = s;
      }
  return c;
}

}  // namespace

TEST_CASE("matmul of 2-d matrices gives the hand-computed product", "[ops][linalg]") {
  auto a = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  auto b = tf::constant({{7.f, 8.f}, {9.f, 10.f}, {11.f, 12.f}});
  auto c = tf::matmul(a, b);
  CHECK(c.shape() == tf::Shape{2, 2});
  CHECK(c.dtype() == tf::float32);
  CHECK_THAT(c.to_vector<float>(), Equals(std::vector<float>{58, 64, 139, 154}));
}

TEST_CASE("matmul honours all four transpose combinations", "[ops][linalg]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    const int64_t m = 2, k = 3, n = 4;
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("transpose_a " << ta << " transpose_b " << tb);
        auto a = random_input(ta ? tf::Shape{k, m} : tf::Shape{m, k}, 50);
        auto b = random_input(tb ? tf::Shape{n, k} : tf::Shape{k, n}, 51);
        auto c = tf::matmul(a, b, ta, tb);
        CHECK(c.shape() == tf::Shape{m, n});
        CHECK_THAT(
            c.to_vector<double>(),
            M::Approx(
                reference(a.to_vector<double>(), b.to_vector<double>(), 1, m, k, n, ta, tb, 0, 0))
                .epsilon(1e-12));
        // Each flag is the same as transposing the operand first.
        auto explicit_c = tf::matmul(ta ? tf::transpose(a) : a, tb ? tf::transpose(b) : b);
        CHECK_THAT(c.to_vector<double>(), M::Approx(explicit_c.to_vector<double>()).epsilon(1e-12));
        CHECK(tf::test::max_gradient_error(
                  [&](auto& in) { return tf::matmul(in[0], in[1], ta, tb); }, {a, b}) < 1e-6);
      }
  }
}

TEST_CASE("matmul gradient of sum(A B) is row sums of B and column sums of A", "[ops][linalg]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = tf::constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto b = tf::constant({{1.0, -1.0}, {2.0, 0.5}, {0.0, 3.0}});
    tf::GradientTape tape;
    tape.watch({a, b});
    auto gs = tape.gradient(tf::matmul(a, b), {a, b});
    // dA = 1 Bᵀ: every row is (Σ_j B[k][j])_k = (0, 2.5, 3).
    CHECK_THAT(gs[0].to_vector<double>(), Equals(std::vector<double>{0, 2.5, 3, 0, 2.5, 3}));
    // dB = Aᵀ 1: every column is (Σ_i A[i][k])_k = (5, 7, 9).
    CHECK_THAT(gs[1].to_vector<double>(), Equals(std::vector<double>{5, 5, 7, 7, 9, 9}));
  }
}

TEST_CASE("matmul batches over leading axes and broadcasts batch dims", "[ops][linalg]") {
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    auto a = random_input({2, 3, 4}, 52);
    auto b = random_input({2, 4, 5}, 53);
    auto c = tf::matmul(a, b);
    CHECK(c.shape() == tf::Shape{2, 3, 5});
    CHECK_THAT(
        c.to_vector<double>(),
        M::Approx(
            reference(
                a.to_vector<double>(), b.to_vector<double>(), 2, 3, 4, 5, false, false, 12, 20))
            .epsilon(1e-12));
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::matmul(in[0], in[1]); }, {a, b}) <
          1e-6);
    auto bt = random_input({2, 5, 4}, 54);
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::matmul(in[0], in[1], false, true); }, {a, bt}) < 1e-6);

    // (2, 3, 4) @ (4, 5): one matrix shared by the batch; its gradient sums over the batch.
    auto shared = random_input({4, 5}, 55);
    auto cs = tf::matmul(a, shared);
    CHECK(cs.shape() == tf::Shape{2, 3, 5});
    CHECK_THAT(
        cs.to_vector<double>(),
        M::Approx(
            reference(
                a.to_vector<double>(), shared.to_vector<double>(), 2, 3, 4, 5, false, false, 12, 0))
            .epsilon(1e-12));
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::matmul(in[0], in[1]); },
                                       {a, shared}) < 1e-6);
    // And the other way round, transposed: (3, 2)ᵀ @ (2, 3, 4).
    auto left = random_input({3, 2}, 56);
    auto right = random_input({2, 3, 4}, 57);
    CHECK(tf::matmul(left, right, true, false).shape() == tf::Shape{2, 2, 4});
    CHECK(tf::test::max_gradient_error(
              [](auto& in) { return tf::matmul(in[0], in[1], true, false); }, {left, right}) <
          1e-6);

    // Batch dims that broadcast against each other: (2, 1) vs (3,) → (2, 3).
    auto p = random_input({2, 1, 2, 3}, 58);
    auto q = random_input({3, 3, 2}, 59);
    auto pq = tf::matmul(p, q);
    CHECK(pq.shape() == tf::Shape{2, 3, 2, 2});
    // Entry [1][2] is p[1][0] @ q[2].
    auto p1 = tf::reshape(tf::slice(p, {1, 0, 0, 0}, {1, 1, 2, 3}), {2, 3});
    auto q2 = tf::reshape(tf::slice(q, {2, 0, 0}, {1, 3, 2}), {3, 2});
    CHECK_THAT(tf::slice(pq, {1, 2, 0, 0}, {1, 1, 2, 2}).to_vector<double>(),
               M::Approx(tf::matmul(p1, q2).to_vector<double>()).epsilon(1e-12));
    CHECK(tf::test::max_gradient_error([](auto& in) { return tf::matmul(in[0], in[1]); }, {p, q}) <
          1e-6);
  }
}

TEST_CASE("matmul works for float64 and int32 with exact results", "[ops][linalg]") {
  auto a = tf::constant({{1.0, 2.0}, {3.0, 4.0}});
  auto d = tf::matmul(a, a);
  CHECK(d.dtype() == tf::float64);
  CHECK_THAT(d.to_vector<double>(), Equals(std::vector<double>{7, 10, 15, 22}));
  auto i = tf::constant({{1, 2, 3}, {4, 5, 6}});
  auto j = tf::constant({{1, 0}, {0, 1}, {-1, 2}});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("transpose_a " << ta << " transpose_b " << tb);
      auto r = tf::matmul(ta ? tf::transpose(i) : i, tb ? tf::transpose(j) : j, ta, tb);
      CHECK(r.dtype() == tf::int32);
      CHECK_THAT(r.to_vector<int>(), Equals(std::vector<int>{-2, 8, -2, 17}));
    }
  auto bi = tf::matmul(tf::stack({i, i * 2}), j);  // batched int32, shared right matrix
  CHECK(bi.shape() == tf::Shape{2, 2, 2});
  CHECK_THAT(bi.to_vector<int>(), Equals(std::vector<int>{-2, 8, -2, 17, -4, 16, -4, 34}));
}

TEST_CASE("matmul with mismatched inner dims says Matrix size-incompatible with the shapes",
          "[ops][linalg]") {
  auto a = tf::zeros({2, 3}), b = tf::zeros({4, 5});
  CHECK_THROWS_AS(tf::matmul(a, b), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::matmul(a, b),
                    Catch::Contains("Matrix size-incompatible") && Catch::Contains("(2, 3)") &&
                        Catch::Contains("(4, 5)") && Catch::Contains("[Op:MatMul]"));
  CHECK_THROWS_WITH(
      tf::matmul(tf::zeros({2, 2, 3}), tf::zeros({2, 2, 3})),
      Catch::Contains("Matrix size-incompatible") && Catch::Contains("[Op:BatchMatMulV2]"));
  CHECK_NOTHROW(tf::matmul(tf::zeros({2, 2, 3}), tf::zeros({2, 2, 3}), false, true));
  CHECK_THROWS_WITH(
      tf::matmul(tf::zeros({2, 2, 3}), tf::zeros({3, 3, 2})),
      Catch::Contains("Incompatible shapes") && Catch::Contains("[Op:BatchMatMulV2]"));
  CHECK_THROWS_AS(tf::matmul(tf::zeros({3}), tf::zeros({3, 1})), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::matmul(a, tf::zeros({3, 2}, tf::float64)), tf::InvalidArgumentError);
}
