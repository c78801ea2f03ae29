// tf::einsum: reference values from NumPy's einsum (np.arange inputs), agreement with matmul,
// float64 central-difference gradients, and malformed equations.
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;
using Vec = std::vector<double>;
using test::uniform64;

namespace {
constexpr double kGradTol = 1e-6;

tf::Tensor arange(int64_t n, const tf::Shape& s) {
  return tf::reshape(tf::range(0.0, double(n), 1.0, tf::float64), s);
}

void check_close(const Vec& got, const Vec& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol).epsilon(tol));
}

void check_same(const tf::Tensor& got, const tf::Tensor& want, double tol = 1e-12) {
  REQUIRE(got.shape() == want.shape());
  check_close(tf::cast(got, tf::float64).to_vector<double>(),
              tf::cast(want, tf::float64).to_vector<double>(),
              tol);
}
}  // namespace

TEST_CASE("einsum: NumPy's values for matmul, traces, diagonals, sums, outer products",
          "[einsum]") {
  const auto a = arange(6, {2, 3}), b = arange(12, {3, 4}), m = arange(9, {3, 3});
  // np.einsum('ij,jk->ik', arange(6).reshape(2,3), arange(12).reshape(3,4))
  const Vec ab = {20, 23, 26, 29, 56, 68, 80, 92};
  check_close(tf::einsum("ij,jk->ik", {a, b}).to_vector<double>(), ab);
  check_close(tf::einsum("ij,jk", {a, b}).to_vector<double>(), ab);  // implicit output "ik"
  check_close(tf::einsum(" i j , j k -> i k ", {a, b}).to_vector<double>(), ab);
  CHECK(tf::einsum("ii", {m}).shape() == tf::Shape{});
  CHECK(tf::einsum("ii", {m}).item<double>() == 12.0);  // trace
  CHECK(tf::einsum("ii->", {m}).item<double>() == 12.0);
  check_close(tf::einsum("ii->i", {m}).to_vector<double>(), {0, 4, 8});
  check_close(tf::einsum("ji", {a}).to_vector<double>(),
              {0, 3, 1, 4, 2, 5});  // implicit: "ij" order
  CHECK(tf::einsum("ji", {a}).shape() == tf::Shape{3, 2});
  check_close(tf::einsum("ij->ji", {a}).to_vector<double>(), {0, 3, 1, 4, 2, 5});
  check_close(tf::einsum("iji->j", {arange(18, {3, 2, 3})}).to_vector<double>(), {21, 30});
  check_close(tf::einsum("i,j->ij", {tf::constant({1.0, 2.0}), tf::constant({3.0, 4.0, 5.0})})
                  .to_vector<double>(),
              {3, 4, 5, 6, 8, 10});
  check_close(tf::einsum("ij->j", {a}).to_vector<double>(), {3, 5, 7});
  CHECK(tf::einsum("ij->", {a}).item<double>() == 15.0);
  CHECK(tf::einsum("i,i->", {tf::constant({1.0, 2.0, 3.0}), tf::constant({4.0, 5.0, 6.0})})
            .item<double>() == 32.0);
  check_close(tf::einsum("ij,jk,kl->il", {a, b, arange(8, {4, 2})}).to_vector<double>(),
              {324, 422, 1008, 1304});
  // Integer and float32 operands.
  CHECK(
      tf::einsum("ij,jk->ik", {tf::cast(a, tf::int32), tf::cast(b, tf::int32)}).to_vector<int>() ==
      std::vector<int>{20, 23, 26, 29, 56, 68, 80, 92});
  CHECK(tf::einsum("ij,jk->ik", {tf::cast(a, tf::float32), tf::cast(b, tf::float32)}).dtype() ==
        tf::float32);
  // A scalar operand.
  check_close(tf::einsum(",ij->ij", {tf::constant(2.0), a}).to_vector<double>(),
              {0, 2, 4, 6, 8, 10});
}

TEST_CASE("einsum: batch dims, ellipsis broadcasting and attention shapes agree with matmul",
          "[einsum]") {
  const auto x = uniform64({3, 2, 4}, -1, 1), y = uniform64({3, 4, 5}, -1, 1);
  check_same(tf::einsum("bij,bjk->bik", {x, y}), tf::matmul(x, y));
  check_same(tf::einsum("bij,bkj->bik", {x, tf::transpose(y, {0, 2, 1})}), tf::matmul(x, y));
  check_same(tf::einsum("bji,bjk->bik", {tf::transpose(x, {0, 2, 1}), y}), tf::matmul(x, y));
  check_same(tf::einsum("bij,bjk->bki", {x, y}), tf::transpose(tf::matmul(x, y), {0, 2, 1}));
  const auto q = uniform64({2, 3, 5, 4}, -1, 1), k = uniform64({2, 3, 6, 4}, -1, 1);
  check_same(tf::einsum("bhqd,bhkd->bhqk", {q, k}), tf::matmul(q, k, false, true));
  // "..." broadcasts: [2, 1, 2, 3] with [4, 3, 2] → [2, 4, 2, 2].
  const auto e1 = uniform64({2, 1, 2, 3}, -1, 1), e2 = uniform64({4, 3, 2}, -1, 1);
  auto z = tf::einsum("...ij,...jk->...ik", {e1, e2});
  check_same(z, tf::matmul(e1, e2));
  check_same(tf::einsum("...ij,...jk", {e1, e2}), z);  // implicit: "..." first
  // Ellipsis in the middle; output without "..." sums over it.
  const auto w = uniform64({2, 3, 4}, -1, 1);
  check_same(tf::einsum("i...j->ij", {w}), tf::reduce_sum(w, {1}));
  check_same(tf::einsum("i...->i", {w}), tf::reduce_sum(w, {1, 2}));
  check_same(tf::einsum("...->...", {w}), w);
  // A contraction whose left operand's labels need a real transpose.
  const auto p = uniform64({4, 2, 3}, -1, 1), r = uniform64({3, 4, 5}, -1, 1);
  check_same(tf::einsum("jik,kjl->il", {p, r}),
             tf::matmul(tf::reshape(tf::transpose(p, {1, 0, 2}), {2, 12}),
                        tf::reshape(tf::transpose(r, {1, 0, 2}), {12, 5})));
  // Empty operands give zeros of the right shape.
  auto empty =
      tf::einsum("ij,jk->ik", {tf::zeros({2, 0}, tf::float64), tf::zeros({0, 3}, tf::float64)});
  CHECK(empty.shape() == tf::Shape{2, 3});
  check_close(empty.to_vector<double>(), Vec(6, 0.0));
  CHECK(tf::einsum("ii->i", {tf::zeros({0, 0})}).shape() == tf::Shape{0});
}

TEST_CASE("einsum: float64 finite-difference gradients", "[einsum]") {
  auto err = [](const std::string& eq, std::vector<tf::Tensor> in) {
    return tf::test::max_gradient_error([eq](auto& v) { return tf::einsum(eq, v); }, in);
  };
  CHECK(err("bij,bjk->bik", {uniform64({2, 3, 4}, -1, 1), uniform64({2, 4, 2}, -1, 1)}) < kGradTol);
  CHECK(err("bhqd,bhkd->bhqk", {uniform64({1, 2, 3, 4}, -1, 1), uniform64({1, 2, 2, 4}, -1, 1)}) <
        kGradTol);
  CHECK(err("ii->i", {uniform64({3, 3}, -1, 1)}) < kGradTol);
  CHECK(err("ii", {uniform64({3, 3}, -1, 1)}) < kGradTol);
  CHECK(err("iij->j", {uniform64({2, 2, 3}, -1, 1)}) < kGradTol);
  CHECK(err("ij,jk,kl->il",
            {uniform64({2, 3}, -1, 1), uniform64({3, 2}, -1, 1), uniform64({2, 2}, -1, 1)}) <
        kGradTol);
  CHECK(err("...ij,...jk->...ik", {uniform64({2, 1, 2, 3}, -1, 1), uniform64({2, 3, 2}, -1, 1)}) <
        kGradTol);
  CHECK(err("i,j->ij", {uniform64({3}, -1, 1), uniform64({2}, -1, 1)}) < kGradTol);
  CHECK(err("jik,kjl->li", {uniform64({2, 2, 3}, -1, 1), uniform64({3, 2, 2}, -1, 1)}) < kGradTol);
}

TEST_CASE("einsum: malformed equations and mismatched shapes", "[einsum]") {
  const auto a = tf::zeros({2, 3}), b = tf::zeros({4, 5});
  CHECK_THROWS_AS(tf::einsum("ij,jk->ik", {a, b}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::einsum("ij,jk->ik", {a, b}),
                    Contains("[Op:Einsum]") && Contains("ij,jk->ik") &&
                        Contains("(2, 3), (4, 5)") && Contains("label 'j'"));
  CHECK_THROWS_WITH(tf::einsum("ij,jk->ik", {a}), Contains("Expected 2 input tensors but got 1"));
  CHECK_THROWS_WITH(tf::einsum("ijk->i", {a}), Contains("rank 2") && Contains("[Op:Einsum]"));
  CHECK_THROWS_WITH(tf::einsum("ij->k", {a}), Contains("'k' does not appear"));
  CHECK_THROWS_WITH(tf::einsum("ij->ii", {a}), Contains("more than once"));
  CHECK_THROWS_WITH(tf::einsum("i1->i", {a}), Contains("Invalid character '1'"));
  CHECK_THROWS_WITH(tf::einsum("i..j->ij", {a}), Contains("ellipsis"));
  CHECK_THROWS_WITH(tf::einsum("ij->i->j", {a}), Contains("at most one \"->\""));
  CHECK_THROWS_WITH(tf::einsum("ii->i", {a}), Contains("label 'i'"));
  CHECK_THROWS_WITH(tf::einsum("...i,...i->...", {tf::zeros({2, 3}), tf::zeros({4, 3})}),
                    Contains("could not be broadcast"));
  CHECK_THROWS_AS(tf::einsum("ij", {}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::einsum("ij,jk", {a, tf::zeros({3, 2}, tf::float64)}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::einsum("ij", {tf::cast(a, tf::boolean)}), tf::InvalidArgumentError);
}
