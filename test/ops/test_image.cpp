// tf::image: resize (TF2's half-pixel bilinear and nearest values), flips, random flips and
// crops (determinism and frequencies), per_image_standardization; float64 central differences;
// bad input.
#include <cmath>
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
}  // namespace

TEST_CASE("image::resize: TF2 bilinear and nearest values, dtypes, gradients", "[image]") {
  auto img = tf::constant(std::vector<double>{1, 2, 3, 4}, tf::Shape{1, 2, 2, 1});
  // tf.image.resize([[1, 2], [3, 4]], [4, 4]) (bilinear, half-pixel centers).
  const Vec up = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
  auto b = tf::image::resize(img, {4, 4});
  CHECK(b.shape() == tf::Shape{1, 4, 4, 1});
  check_close(b.to_vector<double>(), up);
  auto b3 = tf::image::resize(tf::reshape(img, {2, 2, 1}), {4, 4}, "bilinear");  // 3-D in, 3-D out
  CHECK(b3.shape() == tf::Shape{4, 4, 1});
  check_close(b3.to_vector<double>(), up);
  check_close(tf::image::resize(img, {4, 4}, "nearest").to_vector<double>(),
              {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Downsampling 4x4 arange by 2: bilinear averages 2x2 blocks, nearest picks rows/cols 1 and 3.
  auto a = arange(16, {1, 4, 4, 1});
  check_close(tf::image::resize(a, {2, 2}).to_vector<double>(), {2.5, 4.5, 10.5, 12.5});
  check_close(tf::image::resize(a, {2, 2}, "nearest").to_vector<double>(), {5, 7, 13, 15});
  // Non-square, several channels: channels stay apart.
  auto two = tf::concat({a, a * 2.0}, 3);
  auto r = tf::image::resize(two, {3, 5});
  CHECK(r.shape() == tf::Shape{1, 3, 5, 2});
  auto rv = r.to_vector<double>();
  for (size_t i = 0; i < rv.size(); i += 2) CHECK(rv[i + 1] == Approx(2 * rv[i]));
  // Same size: the identity.
  check_close(tf::image::resize(a, {4, 4}).to_vector<double>(), a.to_vector<double>());
  // Integer images: bilinear gives float32, nearest keeps the dtype.
  auto ints = tf::constant(std::vector<int>{1, 2, 3, 4}, tf::Shape{2, 2, 1});
  CHECK(tf::image::resize(ints, {4, 4}).dtype() == tf::float32);
  CHECK(tf::image::resize(ints, {3, 3}, "nearest").dtype() == tf::int32);
  CHECK(tf::image::resize(ints, {4, 4}, "nearest").to_vector<int>() ==
        std::vector<int>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Gradients in the images.
  auto x = uniform64({2, 3, 4, 2}, -1, 1);
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::image::resize(in[0], {5, 3});
            },
            {x}) < kGradTol);
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::image::resize(in[0], {2, 7}, "nearest");
            },
            {x}) < kGradTol);
  // Bad input.
  CHECK_THROWS_WITH(
      tf::image::resize(tf::zeros({4, 4}), {2, 2}),
      Contains("3 or 4 dimensions") && Contains("(4, 4)") && Contains("[Op:ResizeBilinear]"));
  CHECK_THROWS_WITH(tf::image::resize(img, {2, 2}, "bicubic"), Contains("bicubic"));
  CHECK_THROWS_WITH(tf::image::resize(img, {2, 2, 2}), Contains("2 elements"));
  CHECK_THROWS_WITH(tf::image::resize(img, {0, 2}, "nearest"),
                    Contains("positive") && Contains("[Op:ResizeNearestNeighbor]"));
  CHECK_THROWS_AS(tf::image::resize(img, {int64_t(1) << 40, int64_t(1) << 40}),
                  tf::InvalidArgumentError);
  // Outputs with few elements but interpolation tables too large for memory (fuzz_ops): a
  // clear error, not std::length_error or an allocation failure.
  CHECK_THROWS_AS(tf::image::resize(img, {int64_t(1) << 61, 1}, "nearest"),
                  tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::image::resize(img, {1, int64_t(1) << 61}), tf::Error);
  CHECK_THROWS_AS(tf::image::resize(tf::zeros({1, 1 << 20, 1, 1}), {int64_t(1) << 40, 1}),
                  tf::ResourceExhaustedError);
  CHECK_THROWS_AS(tf::image::resize(tf::zeros({2, 2, 1}, tf::boolean), {4, 4}),
                  tf::InvalidArgumentError);
}

TEST_CASE("image flips: fixed and random", "[image]") {
  auto img = tf::constant(std::vector<double>{1, 2, 3, 4}, tf::Shape{2, 2, 1});
  check_close(tf::image::flip_left_right(img).to_vector<double>(), {2, 1, 4, 3});
  check_close(tf::image::flip_up_down(img).to_vector<double>(), {3, 4, 1, 2});
  auto batch = tf::reshape(img, {1, 2, 2, 1});
  check_close(tf::image::flip_left_right(batch).to_vector<double>(), {2, 1, 4, 3});
  check_close(tf::image::flip_up_down(batch).to_vector<double>(), {3, 4, 1, 2});
  CHECK_THROWS_WITH(tf::image::flip_left_right(tf::zeros({2, 2})), Contains("3 or 4 dimensions"));
  CHECK(tf::test::max_gradient_error([](auto& in) { return tf::image::flip_left_right(in[0]); },
                                     {uniform64({2, 3, 2}, -1, 1)}) < kGradTol);

  // Each image of a batch flips on its own, with probability 1/2; a seed fixes which.
  const int64_t n = 4000;
  auto many = tf::tile(tf::reshape(tf::constant({1.0, 2.0}), {1, 1, 2, 1}), {n, 1, 1, 1});
  auto f = tf::image::random_flip_left_right(many, 11);
  CHECK(f.shape() == many.shape());
  auto fv = f.to_vector<double>();
  CHECK(fv == tf::image::random_flip_left_right(many, 11).to_vector<double>());
  int64_t flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double l = fv[size_t(2 * i)], r = fv[size_t(2 * i + 1)];
    CHECK(((l == 1 && r == 2) || (l == 2 && r == 1)));
    flipped += l == 2;
  }
  CHECK(double(flipped) / double(n) == Approx(0.5).margin(0.03));
  auto ud = tf::image::random_flip_up_down(tf::reshape(many, {n, 2, 1, 1}), 3).to_vector<double>();
  int64_t flipped_ud = 0;
  for (int64_t i = 0; i < n; ++i) flipped_ud += ud[size_t(2 * i)] == 2;
  CHECK(double(flipped_ud) / double(n) == Approx(0.5).margin(0.03));
  // One 3-D image: flipped or not, as a whole.
  int ones = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto v = tf::image::random_flip_left_right(img, seed).to_vector<double>();
    CHECK(((v == Vec{1, 2, 3, 4}) || (v == Vec{2, 1, 4, 3})));
    ones += v[0] == 2;
  }
  CHECK(ones > 60);
  CHECK(ones < 140);
  CHECK(tf::image::random_flip_left_right(img).shape() == img.shape());
}

TEST_CASE("image::random_crop: blocks of the image, determinism, every offset reached", "[image]") {
  auto img = arange(16, {4, 4, 1});
  auto c = tf::image::random_crop(img, {2, 3, 1}, 5);
  CHECK(c.shape() == tf::Shape{2, 3, 1});
  CHECK(c.to_vector<double>() == tf::image::random_crop(img, {2, 3, 1}, 5).to_vector<double>());
  std::vector<int> seen(6, 0);  // offsets (row 0..2, col 0..1)
  for (uint64_t seed = 0; seed < 600; ++seed) {
    auto v = tf::image::random_crop(img, {2, 3, 1}, seed).to_vector<double>();
    const int r = int(v[0]) / 4, col = int(v[0]) % 4;
    REQUIRE(r <= 2);
    REQUIRE(col <= 1);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(v[size_t(i * 3 + j)] == double((r + i) * 4 + col + j));
    ++seen[size_t(r * 2 + col)];
  }
  for (int s : seen) CHECK(s > 60);  // each of 6 offsets: 100 expected
  check_close(tf::image::random_crop(img, {4, 4, 1}, 1).to_vector<double>(),
              img.to_vector<double>());
  CHECK(tf::test::max_gradient_error(
            [](auto& in) {
              return tf::image::random_crop(in[0], {2, 2, 1}, 9);
            },
            {uniform64({3, 4, 1}, -1, 1)}) < kGradTol);
  CHECK_THROWS_WITH(tf::image::random_crop(img, {5, 2, 1}, 1),
                    Contains("Need value.shape >= size") && Contains("[Op:RandomCrop]"));
  CHECK_THROWS_AS(tf::image::random_crop(img, {2, 2}, 1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::image::random_crop(img, {-1, 2, 1}, 1), tf::InvalidArgumentError);
}

TEST_CASE("image::per_image_standardization", "[image]") {
  auto img = tf::constant(std::vector<double>{1, 2, 3, 4}, tf::Shape{2, 2, 1});
  const double sd = std::sqrt(1.25);  // np.std([1, 2, 3, 4])
  check_close(tf::image::per_image_standardization(img).to_vector<double>(),
              {-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd});
  // A constant image divides by 1/sqrt(N) = 0.5 (TF's adjusted stddev): zeros.
  check_close(tf::image::per_image_standardization(tf::fill({2, 2, 1}, tf::constant(5.0)))
                  .to_vector<double>(),
              {0, 0, 0, 0});
  // Per image of a batch; integers give float32.
  auto batch = tf::stack({img, img * 10.0});
  auto s = tf::image::per_image_standardization(batch).to_vector<double>();
  for (size_t i = 0; i < 4; ++i) CHECK(s[i] == Approx(s[i + 4]));
  auto ints = tf::image::per_image_standardization(
      tf::constant(std::vector<int>{1, 2, 3, 4}, tf::Shape{2, 2, 1}));
  CHECK(ints.dtype() == tf::float32);
  CHECK(ints.to_vector<float>()[0] == Approx(-1.5 / sd));
  CHECK(tf::test::max_gradient_error(
            [](auto& in) { return tf::image::per_image_standardization(in[0]); },
            {uniform64({2, 2, 3, 2}, -1, 1)}) < kGradTol);
  CHECK_THROWS_WITH(tf::image::per_image_standardization(tf::zeros({2, 2})),
                    Contains("three-dimensional") && Contains("[Op:PerImageStandardization]"));
}
