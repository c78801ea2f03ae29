// Issue #10: every public entry point checks sizes, axes and offsets before it allocates or runs
// a kernel. Each case here is a reproduction that once wrote out of bounds, hung, overflowed a
// signed integer or "succeeded" with a nonsense shape.
#include <cstdint>
#include <limits>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Contains;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
}  // namespace

TEST_CASE("negative dims are refused by every op that takes a shape", "[validation][errors]") {
  const auto one = tf::constant(1.f);
  CHECK_THROWS_MATCHES(
      tf::broadcast_to(one, tf::Shape{-1, -1}),
      tf::InvalidArgumentError,
      Catch::Matchers::Message("Dimension -1 must be >= 0 in shape (-1, -1) [Op:BroadcastTo]"));
  CHECK_THROWS_AS(tf::broadcast_to(one, tf::Shape{-1}), tf::InvalidArgumentError);  // hung
  CHECK_THROWS_WITH(tf::broadcast_to(one, tf::Shape{kMin}), Contains("[Op:BroadcastTo]"));
  CHECK_THROWS_WITH(tf::zeros({3, -2}), Contains("Dimension -2") && Contains("[Op:Zeros]"));
  CHECK_THROWS_WITH(tf::ones({-1}), Contains("[Op:Ones]"));
  CHECK_THROWS_WITH(tf::fill({-4}, tf::constant(2.0)), Contains("[Op:Fill]"));
  CHECK_THROWS_WITH(tf::random::normal({2, -1}), Contains("[Op:RandomStandardNormal]"));
  CHECK_THROWS_WITH(tf::random::uniform({kMin}), Contains("[Op:RandomUniform]"));
  CHECK_THROWS_WITH(tf::constant(std::vector<float>{}, tf::Shape{0, -1}), Contains("[Op:Const]"));
}

TEST_CASE("element counts past int64 are refused, not wrapped to a small tensor",
          "[validation][errors]") {
  // 2^62 * 4 = 2^64 wrapped to 0 elements: zeros "succeeded" with a giant shape and no data.
  CHECK_THROWS_MATCHES(tf::zeros({int64_t(1) << 62, 4}),
                       tf::InvalidArgumentError,
                       Catch::Matchers::Message("Shape (4611686018427387904, 4) would have more "
                                                "than 2**63 - 1 elements [Op:Zeros]"));
  CHECK_THROWS_AS(tf::fill({int64_t(1) << 62, 4}, tf::constant(1.f)), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::random::normal({int64_t(1) << 32, int64_t(1) << 32}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::reshape(tf::zeros({0}), tf::Shape{int64_t(1) << 40, int64_t(1) << 40, 0}),
                    Contains("overflows int64") && Contains("[Op:Reshape]"));
  CHECK_THROWS_WITH(tf::tile(tf::zeros({0, 3}), {2, int64_t(1) << 62}),
                    Contains("overflows int64") && Contains("[Op:Tile]"));
  CHECK_THROWS_WITH(
      tf::concat({tf::zeros({0, int64_t(1) << 62}), tf::zeros({0, int64_t(1) << 62})}, 1),
      Contains("overflows int64") && Contains("[Op:ConcatV2]"));
}

TEST_CASE("absurd sizes get ResourceExhaustedError at once, before any allocation",
          "[validation][errors]") {
  tf::DeviceScope cpu("/cpu:0");
  // zeros({INT64_MAX}) did not return (the allocator's size rounding looped forever).
  CHECK_THROWS_AS(tf::zeros({kMax}), tf::ResourceExhaustedError);
  CHECK_THROWS_WITH(
      tf::zeros({kMax}),
      Contains("OOM when allocating tensor with shape (" + std::to_string(kMax) + ",)") &&
          Contains("float32") && Contains("device:CPU:0") && Contains("[Op:Zeros]"));
  // elements * 4 bytes wrapped: linspace and one_hot wrote past their buffers.
  CHECK_THROWS_AS(tf::linspace(0, 1, int64_t(1) << 62), tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::one_hot(tf::constant({1, 2}), int64_t(1) << 62), tf::Error);
  CHECK_THROWS_AS(tf::range(0.0, 1e300, 1.0), tf::InvalidArgumentError);  // count past int64
  CHECK_THROWS_AS(tf::range(0.0, 1e18, 1.0), tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::range(0.0, std::numeric_limits<double>::infinity(), 1.0),
                  tf::InvalidArgumentError);
  // Far below physical memory, but over a limit set by the program.
  tf::config::set_allocation_limit(1 << 20);
  CHECK(tf::config::allocation_limit() == (1u << 20));
  CHECK_NOTHROW(tf::zeros({1 << 18}));  // exactly 1 MiB
  CHECK_THROWS_WITH(tf::zeros({(1 << 18) + 1}),
                    Contains("1048580 bytes is more than the allocation limit of 1048576 bytes"));
  CHECK_THROWS_AS(tf::random::normal({1 << 20}), tf::ResourceExhaustedError);
  tf::config::set_allocation_limit(0);
  CHECK(tf::config::allocation_limit() > (uint64_t(1) << 30));
  CHECK_NOTHROW(tf::zeros({1 << 20}));
}

TEST_CASE("slice bounds are checked without signed overflow", "[validation][errors]") {
  const auto x = tf::constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  // INT64_MAX + 2 wrapped negative and passed the check, returning memory from outside x.
  CHECK_THROWS_WITH(tf::slice(x, {kMax, 0}, {2, 1}),
                    Contains("to fit in shape (2, 3)") && Contains("[Op:Slice]"));
  CHECK_THROWS_AS(tf::slice(x, {1, 1}, {1, kMax}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::slice(x, {3, 0}, {-1, 1}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::slice(x, {kMin, 0}, {-1, 1}), tf::InvalidArgumentError);
  CHECK(tf::slice(x, {1, 1}, {-1, -1}).to_vector<float>() == std::vector<float>{5.f, 6.f});
  CHECK(tf::slice(x, {2, 3}, {0, 0}).shape() == tf::Shape{0, 0});  // empty at the very end
}

TEST_CASE("pad and split check their arithmetic on sizes", "[validation][errors]") {
  const auto x = tf::zeros({2});
  CHECK_THROWS_WITH(tf::pad(x, {{kMax, kMax}}),
                    Contains("overflows int64") && Contains("[Op:PadV2]"));
  CHECK_THROWS_AS(tf::pad(x, {{kMax - 1, 0}}), tf::Error);
  CHECK_THROWS_WITH(tf::split(tf::zeros({4}), std::vector<int64_t>{kMax, kMax, -1}, 0),
                    Contains("[Op:SplitV]"));
}

TEST_CASE("a scalar has no axes: axis arguments on scalars are refused", "[validation][errors]") {
  const auto s = tf::constant(3.f);
  // split indexed shape[0] of a rank-0 tensor.
  CHECK_THROWS_MATCHES(tf::split(s, 1, 0),
                       tf::InvalidArgumentError,
                       Catch::Matchers::Message(
                           "axis 0 is out of range: a scalar (shape ()) has no axes [Op:Split]"));
  CHECK_THROWS_AS(tf::split(s, std::vector<int64_t>{1}, -1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::unstack(s, 0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::squeeze(s, {0}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::nn::softmax(s), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::argmax(s, 0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::concat({s, s}, 0), tf::InvalidArgumentError);
  CHECK(tf::squeeze(s).shape() == tf::Shape{});  // no axes given: fine
}

TEST_CASE("empty tensors from empty vectors copy nothing", "[validation]") {
  // memcpy(dst, nullptr, 0) was undefined behaviour (UBSan).
  auto e = tf::constant(std::vector<float>{}, tf::Shape{0, 3});
  CHECK(e.shape() == tf::Shape{0, 3});
  CHECK(e.to_vector<float>().empty());
  auto i = tf::constant(std::vector<int64_t>{}, tf::Shape{0}, tf::float32);
  CHECK(i.dtype() == tf::float32);
  CHECK(i.num_elements() == 0);
}

TEMPLATE_TEST_CASE("integer arithmetic wraps around, as in TensorFlow",
                   "[validation][elementwise]",
                   int32_t,
                   int64_t) {
  using T = TestType;
  constexpr T hi = std::numeric_limits<T>::max(), lo = std::numeric_limits<T>::min();
  const auto a = tf::constant(std::vector<T>{hi, lo, hi, T(7)}, tf::Shape{4});
  const auto one = tf::constant(std::vector<T>{1, 1, 2, -1}, tf::Shape{4});
  CHECK((a + one).template to_vector<T>() == std::vector<T>{lo, T(lo + 1), T(lo + 1), T(6)});
  CHECK((a - one).template to_vector<T>() == std::vector<T>{T(hi - 1), hi, T(hi - 2), T(8)});
  CHECK((a * one).template to_vector<T>() == std::vector<T>{hi, lo, T(-2), T(-7)});
  CHECK((-a).template to_vector<T>() == std::vector<T>{T(-hi), lo, T(-hi), T(-7)});
  CHECK(tf::abs(a).template to_vector<T>() == std::vector<T>{hi, lo, hi, T(7)});
  CHECK(tf::square(a).template to_vector<T>() == std::vector<T>{T(1), T(0), T(1), T(49)});
  // MIN / -1 overflows (SIGFPE on x86); it wraps to MIN.
  CHECK((a / one).template to_vector<T>() == std::vector<T>{hi, lo, T(hi / 2), T(-7)});
  using U = std::make_unsigned_t<T>;
  U p41 = 1;
  for (int i = 0; i < 41; ++i) p41 = U(p41 * 3u);  // 3^41 mod 2^bits
  CHECK(tf::pow(tf::constant(std::vector<T>{3}, tf::Shape{1}),
                tf::constant(std::vector<T>{41}, tf::Shape{1}))
            .template item<T>() == T(p41));
  // Reductions wrap too: hi + hi + lo + 7 = hi + 6 (mod 2^bits) = lo + 5.
  CHECK(tf::reduce_sum(a).template item<T>() == T(lo + 5));
  CHECK(tf::reduce_prod(tf::constant(std::vector<T>{hi, 2}, tf::Shape{2})).template item<T>() ==
        T(-2));
  // A long reduction takes the multi-threaded path.
  const auto big = tf::fill({100000}, tf::constant(std::vector<T>{hi}, tf::Shape{}));
  const uint64_t bits = sizeof(T) * 8;
  const uint64_t want =
      (uint64_t(hi) * 100000u) & (bits == 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1);
  CHECK(tf::reduce_sum(big).template item<T>() == T(std::make_unsigned_t<T>(want)));
}

TEST_CASE("ops on empty tensors with huge dims compute their sizes without overflow",
          "[validation]") {
  // (0, 2^40, 2^40) has no elements, but a product of its other dims is past int64.
  const int64_t h = int64_t(1) << 40;
  const auto e = tf::zeros({0, h, h});
  CHECK(tf::reduce_sum(e, {1, 2}).shape() == tf::Shape{0});
  CHECK_THROWS_AS(tf::reduce_sum(e, {0}), tf::InvalidArgumentError);  // output (2^40, 2^40)
  const auto f = tf::zeros({3, 0, h});
  CHECK(tf::reduce_sum(f, {1, 2}).to_vector<float>() == std::vector<float>{0.f, 0.f, 0.f});
  CHECK(tf::concat({f, f}, 0).shape() == tf::Shape{6, 0, h});
  CHECK(tf::gather(f, tf::constant({0, 2}), 0).shape() == tf::Shape{2, 0, h});
  CHECK_THROWS_WITH(tf::layers::Flatten()(tf::zeros({0, h, h})), Contains("overflows int64"));
}

TEST_CASE("shape ops on empty tensors with huge dims", "[validation]") {
  const int64_t h = int64_t(1) << 40;
  const auto e = tf::zeros({0, h, h});
  CHECK(tf::slice(e, {0, 1, 2}, {0, 3, 4}).shape() == tf::Shape{0, 3, 4});
  CHECK(tf::transpose(e).shape() == tf::Shape{h, h, 0});
  CHECK(tf::reshape(e, tf::Shape{h, 0, h}).shape() == tf::Shape{h, 0, h});
  CHECK(tf::broadcast_to(tf::zeros({0, 1, h}), tf::Shape{0, h, h}).shape() == tf::Shape{0, h, h});
}

TEST_CASE("casts of NaN and out-of-range floats to integers saturate, on every path",
          "[validation]") {
  const double inf = std::numeric_limits<double>::infinity();
  const auto x = tf::constant(std::vector<double>{-inf,
                                                  inf,
                                                  std::nan(""),
                                                  1e300,
                                                  -1e300,
                                                  -2.9,
                                                  2.9,
                                                  2147483647.0,
                                                  -2147483648.0,
                                                  2147483648.0},
                              tf::Shape{10});
  CHECK(tf::cast(x, tf::int32).to_vector<int32_t>() ==
        std::vector<int32_t>{
            INT32_MIN, INT32_MAX, 0, INT32_MAX, INT32_MIN, -2, 2, INT32_MAX, INT32_MIN, INT32_MAX});
  CHECK(tf::cast(x, tf::int64).to_vector<int64_t>() ==
        std::vector<int64_t>{
            kMin, kMax, 0, kMax, kMin, -2, 2, 2147483647, -2147483648LL, 2147483648LL});
  CHECK(tf::cast(tf::constant(9.3e18f), tf::int64).item<int64_t>() == kMax);
  CHECK(tf::cast(tf::constant(-9.223372e18f), tf::int64).item<int64_t>() == kMin);  // exactly -2^63
  CHECK(tf::cast(tf::constant(std::nanf("")), tf::boolean).item<bool>());           // NaN != 0
  // constant(values, dtype) and the fill kernels convert the same way.
  CHECK(tf::constant(std::vector<double>{1e20, std::nan("")}, tf::Shape{2}, tf::int32)
            .to_vector<int32_t>() == std::vector<int32_t>{INT32_MAX, 0});
  CHECK(tf::linspace(0, 1e30, 3, tf::int32).to_vector<int32_t>() ==
        std::vector<int32_t>{0, INT32_MAX, INT32_MAX});
  CHECK(tf::fill({2}, tf::constant(inf)).to_vector<double>()[0] == inf);
}

TEST_CASE("eye refuses a result too large before building its index vectors", "[validation]") {
  tf::DeviceScope cpu("/cpu:0");
  tf::config::set_allocation_limit(1 << 20);
  CHECK_THROWS_WITH(tf::eye(1 << 12), Contains("[Op:Eye]"));  // 64 MiB of float32 > 1 MiB
  CHECK(tf::eye(16).shape() == tf::Shape{16, 16});
  tf::config::set_allocation_limit(0);
  CHECK_THROWS_AS(tf::eye(int64_t(1) << 31), tf::ResourceExhaustedError);
}

TEST_CASE("integer matmul wraps; matmul and slice of empty tensors with huge dims",
          "[validation]") {
  const auto a = tf::constant(std::vector<int32_t>{INT32_MAX, 2}, tf::Shape{1, 2});
  const auto b = tf::constant(std::vector<int32_t>{2, INT32_MAX}, tf::Shape{2, 1});
  // 2·MAX + 2·MAX = 4·MAX ≡ -4 (mod 2^32)
  CHECK(tf::matmul(a, b).item<int32_t>() == -4);
  const int64_t h = int64_t(1) << 42;
  CHECK(tf::matmul(tf::zeros({0, h}), tf::zeros({h, 0})).shape() == tf::Shape{0, 0});
  CHECK(tf::slice(tf::zeros({0, kMax}), {0, kMax}, {0, 0}).shape() == tf::Shape{0, 0});
  CHECK(tf::pad(tf::constant({1, 2}), {{1, 1}}, 1e30).to_vector<int32_t>() ==
        std::vector<int32_t>{INT32_MAX, 1, 2, INT32_MAX});
}

TEST_CASE("pooling windows whose work overflows int64 are refused", "[validation]") {
  // Found by the ops fuzzer: the kernels' work estimate overflowed (UBSan).
  const auto x = tf::zeros({1, 3, 3, 2});
  const int big = std::numeric_limits<int>::max();
  CHECK_THROWS_WITH(tf::nn::max_pool2d(x, {big, big}, {1, 1}, "SAME"),
                    Contains("window reads") && Contains("[Op:MaxPool]"));
  CHECK_THROWS_AS(tf::nn::avg_pool2d(x, {big, big}, {1, 1}, "SAME"), tf::InvalidArgumentError);
  CHECK(tf::nn::max_pool2d(x, {4, 4}, {1, 1}, "SAME").shape() == tf::Shape{1, 3, 3, 2});
}

TEST_CASE("reverse of an empty tensor with a huge dim builds no index vector", "[validation]") {
  // Found by the ops fuzzer: reverse allocated an index vector of 2^50 entries.
  const auto e = tf::zeros({0, int64_t(1) << 50});
  CHECK(tf::reverse(e, {1}).shape() == tf::Shape{0, int64_t(1) << 50});
  CHECK(tf::reverse(e, {0, 1}).shape() == tf::Shape{0, int64_t(1) << 50});
  CHECK_THROWS_AS(tf::reverse(e, {1, 1}), tf::InvalidArgumentError);
}

TEST_CASE("conv2d and random_crop on empty tensors with huge dims: no overflow", "[validation]") {
  // Found by the ops fuzzer (UBSan): im2col's patch rows n·oh·ow overflowed int64, and
  // random_crop's offset range dim − size + 1 overflowed for a dim of INT64_MAX.
  const int64_t h = int64_t(1) << 62;
  CHECK_THROWS_AS(tf::nn::conv2d(tf::zeros({h, 4, 4, 0}), tf::zeros({3, 3, 0, 1}), {1, 1}, "SAME"),
                  tf::InvalidArgumentError);
  const int64_t m = std::numeric_limits<int64_t>::max();
  CHECK(tf::image::random_crop(tf::zeros({m, 0}), {0, 0}, 7).shape() == tf::Shape{0, 0});
}
