// libFuzzer harness: the input bytes decode to a short program of public-API ops on tensors of
// every dtype, ranks 0-5, with zero-size dims and hostile values (negative, 1<<40, 1<<62,
// INT64_MAX/MIN, out-of-range and negative axes, mismatched shapes), run under a GradientTape
// and followed by gradient(). Property: the library either returns or throws a tf::Error;
// anything else (a crash, a sanitizer report, another exception) is a finding.
//
// The program keeps at most kPool tensors of at most kMaxPooled elements each, so that valid
// programs cannot chain tile/pad/broadcast into a legitimate multi-gigabyte request (which is
// not a bug); every op still receives the hostile arguments unfiltered.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <utility>
#include <vector>

namespace tf = tapeflow;

namespace {

constexpr size_t kPool = 8;
constexpr int64_t kMaxPooled = 4096;
constexpr int kMaxSteps = 24;

class Bytes {
 public:
  Bytes(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return pos_ >= n_; }
  uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
  bool flag() { return u8() & 1; }
  /// A dimension, size or count: mostly small, sometimes hostile. The hostile values are ones
  /// no valid request uses (negative, or so large that any element count or byte size built on
  /// them overflows): a library must refuse them. Large but honest sizes (2^31 floats is a valid
  /// 8 GB request) are left out, as satisfying them is not a bug; they appear in zero-size
  /// shapes instead (huge_empty_dims).
  int64_t dim() {
    static constexpr int64_t kHostile[] = {-1,
                                           -5,
                                           int64_t(1) << 62,
                                           std::numeric_limits<int64_t>::max(),
                                           std::numeric_limits<int64_t>::min(),
                                           int64_t(1) << 62,
                                           -(int64_t(1) << 62),
                                           6};
    const uint8_t b = u8();
    return b < 224 ? int64_t(b % 5) : kHostile[b % 8];
  }
  /// A valid shape with no elements whose other dims may be huge (2^42 and up): nothing to
  /// allocate, but every size computed from it must not overflow. Reducing away the zero axis
  /// leaves an output of 2^42+ elements, which no allocator grants (so a library throws
  /// ResourceExhaustedError); dims of 2^31 would leave an honest 8-16 GB request instead.
  std::vector<int64_t> huge_empty_dims() {
    static constexpr int64_t kHuge[] = {int64_t(1) << 42,
                                        int64_t(1) << 50,
                                        std::numeric_limits<int64_t>::max(),
                                        1,
                                        3,
                                        0,
                                        int64_t(1) << 62,
                                        int64_t(1) << 42};
    std::vector<int64_t> out(1 + u8() % 5);
    for (int64_t& d : out) d = kHuge[u8() % 8];
    out[u8() % out.size()] = 0;
    return out;
  }
  /// An axis: mostly in range for small ranks, sometimes far out of it.
  int axis() {
    static constexpr int kAxes[] = {0,
                                    1,
                                    2,
                                    -1,
                                    -2,
                                    3,
                                    4,
                                    -3,
                                    5,
                                    6,
                                    -6,
                                    -7,
                                    std::numeric_limits<int>::max(),
                                    std::numeric_limits<int>::min(),
                                    0,
                                    1};
    return kAxes[u8() % 16];
  }
  std::vector<int> axes() {
    std::vector<int> out(u8() % 4);
    for (int& a : out) a = axis();
    return out;
  }
  std::vector<int64_t> dims() {
    std::vector<int64_t> out(u8() % 6);  // ranks 0-5
    for (int64_t& d : out) d = dim();
    return out;
  }
  double value() {
    static constexpr double kValues[] = {0.0,
                                         1.0,
                                         -1.0,
                                         0.5,
                                         2.0,
                                         -3.0,
                                         1e30,
                                         -1e30,
                                         INFINITY,
                                         -INFINITY,
                                         NAN,
                                         1e-40,
                                         7.0,
                                         100.0,
                                         -0.0,
                                         3.0};
    return kValues[u8() % 16];
  }
  int64_t integer() {
    static constexpr int64_t kInts[] = {0,
                                        1,
                                        -1,
                                        2,
                                        3,
                                        -7,
                                        9,
                                        100,
                                        std::numeric_limits<int32_t>::max(),
                                        std::numeric_limits<int32_t>::min(),
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min(),
                                        int64_t(1) << 31,
                                        -(int64_t(1) << 31),
                                        5,
                                        4};
    return kInts[u8() % 16];
  }
  tf::DType dtype() {
    static constexpr tf::DType kTypes[] = {
        tf::float32, tf::float64, tf::int32, tf::int64, tf::boolean};
    return kTypes[u8() % 5];
  }
  std::string padding() { return flag() ? "SAME" : (flag() ? "VALID" : "same"); }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

bool small_valid(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxPooled) return false;
    n *= d;
    if (n > kMaxPooled) return false;
  }
  return true;
}

/// A new tensor from the bytes: literal values for small valid shapes, else the creation ops
/// with the shape as decoded (the library must reject or allocate it, never misbehave).
tf::Tensor make(Bytes& in) {
  const tf::DType dtype = in.dtype();
  const std::vector<int64_t> dims = in.u8() % 4 ? in.dims() : in.huge_empty_dims();
  const tf::Shape shape(dims);
  switch (in.u8() % 8) {
    case 0:
    case 1:
    case 2:
      if (small_valid(dims)) {
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        switch (dtype) {
          case tf::DType::float32:
          case tf::DType::float64: {
            std::vector<double> v(static_cast<size_t>(n));
            for (double& x : v) x = in.value();
            return tf::cast(tf::constant(v, shape), dtype);
          }
          case tf::DType::int32: {
            std::vector<int32_t> v(static_cast<size_t>(n));
            for (int32_t& x : v) x = int32_t(in.integer());
            return tf::constant(v, shape);
          }
          case tf::DType::int64: {
            std::vector<int64_t> v(static_cast<size_t>(n));
            for (int64_t& x : v) x = in.integer();
            return tf::constant(v, shape);
          }
          case tf::DType::boolean: {
            std::vector<bool> v(static_cast<size_t>(n));
            for (size_t i = 0; i < v.size(); ++i) v[i] = in.flag();
            return tf::constant(v, shape);
          }
        }
      }
      return tf::zeros(shape, dtype);
    case 3:
      return tf::ones(shape, dtype);
    case 4:
      return tf::fill(shape, tf::cast(tf::constant(in.value()), dtype));
    case 5:
      return tf::range(in.value(), in.value(), in.value(), dtype);
    case 6:
      return tf::linspace(in.value(), in.value(), in.dim(), dtype);
    default:
      return tf::eye(in.dim(), in.flag() ? -1 : in.dim(), dtype);
  }
}

using Pool = std::vector<tf::Tensor>;

const tf::Tensor& pick(const Pool& pool, Bytes& in) { return pool[in.u8() % pool.size()]; }

tf::Tensor unary(const tf::Tensor& x, Bytes& in) {
  switch (in.u8() % 59) {
    case 48:
      return tf::asin(x);
    case 49:
      return tf::acos(x);
    case 50:
      return tf::atan(x);
    case 51:
      return tf::sinh(x);
    case 52:
      return tf::cosh(x);
    case 53:
      return tf::asinh(x);
    case 54:
      return tf::acosh(x);
    case 55:
      return tf::atanh(x);
    case 56:
      return tf::erfc(x);
    case 57:
      return tf::expm1(x);
    case 58:
      return tf::round(x);
    case 32:
      return tf::tan(x);
    case 33:
      return tf::erf(x);
    case 34:
      return tf::reciprocal(x);
    case 35:
      return tf::ceil(x);
    case 36:
      return tf::is_nan(x);
    case 37:
      return tf::is_inf(x);
    case 38:
      return tf::is_finite(x);
    case 39:
      return tf::nn::silu(x);
    case 40:
      return tf::nn::selu(x);
    case 41:
      return tf::nn::softsign(x);
    case 42:
      return tf::nn::log_sigmoid(x);
    case 43:
      return tf::nn::hard_sigmoid(x);
    case 44:
      return tf::reverse(x, in.axes());
    case 45:
      return tf::roll(x, in.dim(), in.axis());
    case 46:
      return tf::repeat(x, in.dim(), in.flag() ? std::optional<int>(in.axis()) : std::nullopt);
    case 47:
      return tf::repeat(x, in.dims(), in.axis());
    case 0:
      return tf::negative(x);
    case 1:
      return tf::square(x);
    case 2:
      return tf::sqrt(x);
    case 3:
      return tf::rsqrt(x);
    case 4:
      return tf::exp(x);
    case 5:
      return tf::log(x);
    case 6:
      return tf::log1p(x);
    case 7:
      return tf::abs(x);
    case 8:
      return tf::sign(x);
    case 9:
      return tf::sin(x);
    case 10:
      return tf::cos(x);
    case 11:
      return tf::tanh(x);
    case 12:
      return tf::sigmoid(x);
    case 13:
      return tf::floor(x);
    case 14:
      return tf::clip_by_value(x, in.value(), in.value());
    case 15:
      return tf::logical_not(x);
    case 16:
      return tf::cast(x, in.dtype());
    case 17:
      return tf::stop_gradient(x);
    case 18:
      return tf::identity(x);
    case 19:
      return tf::shape(x);
    case 20:
      return tf::nn::relu(x);
    case 21:
      return tf::nn::relu6(x);
    case 22:
      return tf::nn::leaky_relu(x, in.value());
    case 23:
      return tf::nn::elu(x);
    case 24:
      return tf::nn::gelu(x, in.flag());
    case 25:
      return tf::nn::softplus(x);
    case 26:
      return tf::nn::softmax(x, in.axis());
    case 27:
      return tf::nn::log_softmax(x, in.axis());
    case 28:
      return tf::nn::l2_normalize(x, in.axes(), 1e-12);
    case 29:
      return tf::nn::dropout(x, in.value(), in.u8());
    case 30:
      return x * in.value();
    default:
      return in.value() - x;
  }
}

tf::Tensor binary(const tf::Tensor& x, const tf::Tensor& y, Bytes& in) {
  switch (in.u8() % 28) {
    case 25:
      return tf::atan2(x, y);
    case 26:
      return tf::floordiv(x, y);
    case 27:
      return tf::floormod(x, y);
    case 24:
      return tf::squared_difference(x, y);
    case 0:
      return tf::add(x, y);
    case 1:
      return tf::subtract(x, y);
    case 2:
      return tf::multiply(x, y);
    case 3:
      return tf::divide(x, y);
    case 4:
      return tf::pow(x, y);
    case 5:
      return tf::maximum(x, y);
    case 6:
      return tf::minimum(x, y);
    case 7:
      return tf::equal(x, y);
    case 8:
      return tf::not_equal(x, y);
    case 9:
      return tf::less(x, y);
    case 10:
      return tf::less_equal(x, y);
    case 11:
      return tf::greater(x, y);
    case 12:
      return tf::greater_equal(x, y);
    case 13:
      return tf::logical_and(x, y);
    case 14:
      return tf::logical_or(x, y);
    case 15:
      return tf::matmul(x, y, in.flag(), in.flag());
    case 16:
      return tf::nn::bias_add(x, y);
    case 17:
      return tf::nn::sigmoid_cross_entropy_with_logits(x, y);
    case 18:
      return tf::nn::softmax_cross_entropy_with_logits(x, y);
    case 19:
      return tf::nn::sparse_softmax_cross_entropy_with_logits(x, y);
    case 20:
      return tf::clip_by_value(x, y, y);
    case 21:
      return tf::gather(x, y, in.axis());
    case 22:
      return tf::one_hot(x, in.dim(), in.value(), in.value(), in.dtype());
    default:
      return tf::nn::conv2d(x, y, {1, int(in.dim()), int(in.dim()), 1}, in.padding());
  }
}

tf::Tensor reduce(const tf::Tensor& x, Bytes& in) {
  const std::vector<int> axes = in.axes();
  const bool keepdims = in.flag();
  switch (in.u8() % 15) {
    case 7:
      return tf::reduce_logsumexp(x, axes, keepdims);
    case 8:
      return tf::reduce_variance(x, axes, keepdims);
    case 9:
      return tf::reduce_std(x, axes, keepdims);
    case 10:
      return tf::reduce_any(x, axes, keepdims);
    case 11:
      return tf::reduce_all(x, axes, keepdims);
    case 12:
      return tf::norm(x, in.flag() ? "fro" : "inf", axes, keepdims);
    case 13:
      return tf::norm(x, in.value(), axes, keepdims);
    case 14:
      return tf::nn::moments(x, axes, keepdims).second;
    case 0:
      return tf::reduce_sum(x, axes, keepdims);
    case 1:
      return tf::reduce_mean(x, axes, keepdims);
    case 2:
      return tf::reduce_max(x, axes, keepdims);
    case 3:
      return tf::reduce_min(x, axes, keepdims);
    case 4:
      return tf::reduce_prod(x, axes, keepdims);
    case 5:
      return tf::argmax(x, in.axis());
    default:
      return tf::argmin(x, in.axis());
  }
}

std::vector<int> ints(Bytes& in) {
  std::vector<int> out(in.u8() % 6);
  for (int& v : out) v = int(in.flag() ? in.axis() : in.dim());
  return out;
}

std::vector<tf::Tensor> shape_op(const tf::Tensor& x, const tf::Tensor& y, Bytes& in) {
  switch (in.u8() % 20) {
    case 0:
      return {tf::reshape(x, tf::Shape(in.dims()))};
    case 1: {
      std::vector<int> perm = ints(in);
      return {tf::transpose(x, perm)};
    }
    case 2:
      return {tf::expand_dims(x, in.axis())};
    case 3:
      return {tf::squeeze(x, in.axes())};
    case 4:
      return {tf::concat({x, y}, in.axis())};
    case 5:
      return {tf::stack({x, y}, in.axis())};
    case 6:
      return tf::unstack(x, in.axis());
    case 7:
      return tf::split(x, int(in.dim()), in.axis());
    case 8:
      return tf::split(x, in.dims(), in.axis());
    case 9: {
      std::vector<int64_t> begin = in.dims(), size = in.dims();
      return {tf::slice(x, begin, size)};
    }
    case 10:
      return {tf::tile(x, in.dims())};
    case 11: {
      std::vector<std::pair<int64_t, int64_t>> paddings(in.u8() % 6);
      for (auto& p : paddings) p = {in.dim(), in.dim()};
      return {tf::pad(x, paddings, in.value())};
    }
    case 12:
      return {tf::broadcast_to(x, tf::Shape(in.dims()))};
    case 13:
      return {tf::where(x, y, in.flag() ? x : y)};
    case 14:
      return {tf::concat({x}, in.axis())};
    case 15:
      return {tf::stack({x}, in.axis())};
    case 16:
      return {tf::concat({}, in.axis())};
    case 17: {
      std::vector<int> k = ints(in), s = ints(in);
      return {tf::nn::max_pool2d(x, k, s, in.padding())};
    }
    case 18: {
      std::vector<int> k = ints(in), s = ints(in);
      return {tf::nn::avg_pool2d(x, k, s, in.padding())};
    }
    default:
      return {tf::nn::conv2d(x, y, ints(in), in.padding())};
  }
}

// tf::linalg (issue #11): every op on the picked tensors, hostile band widths included.
std::vector<tf::Tensor> linalg_op(const tf::Tensor& x, const tf::Tensor& y, Bytes& in) {
  namespace la = tf::linalg;
  switch (in.u8() % 15) {
    case 0:
      return {la::matrix_transpose(x)};
    case 1:
      return {la::diag(x)};
    case 2:
      return {la::diag_part(x)};
    case 3:
      return {la::trace(x)};
    case 4:
      return {la::band_part(x, in.dim(), in.dim())};
    case 5:
      return {la::cholesky(x)};
    case 6:
      return {la::triangular_solve(x, y, in.flag(), in.flag())};
    case 7:
      return {la::solve(x, y, in.flag())};
    case 8:
      return {la::inv(x, in.flag())};
    case 9:
      return {la::det(x)};
    case 10: {
      auto [sign, log_abs] = la::slogdet(x);
      return {sign, log_abs};
    }
    case 11: {
      auto [q, r] = la::qr(x, in.flag());
      return {q, r};
    }
    case 12: {
      auto [e, v] = la::eigh(x);
      return {e, v};
    }
    default: {
      auto [s, u, v] = la::svd(x, in.flag(), in.flag());
      return {s, u, v};
    }
  }
}

// ---- indexing, ordering and scans (issue #11) ----
std::vector<tf::Tensor> indexing_op(const tf::Tensor& x, const tf::Tensor& y, Bytes& in) {
  switch (in.u8() % 14) {
    case 0:
      return {tf::cumsum(x, in.axis(), {.exclusive = in.flag(), .reverse = in.flag()})};
    case 1:
      return {tf::cumprod(x, in.axis(), {.exclusive = in.flag(), .reverse = in.flag()})};
    case 2:
      return {tf::sort(x, in.axis(), in.flag() ? "ASCENDING" : "DESCENDING")};
    case 3:
      return {tf::argsort(x, in.axis(), in.flag() ? "ASCENDING" : "UP")};
    case 4: {
      auto r = tf::math::top_k(x, in.dim(), in.flag());
      return {r.values, r.indices};
    }
    case 5:
      return {tf::gather_nd(x, y)};
    case 6:
      return {tf::scatter_nd(x, y, tf::Shape(in.dims()))};
    case 7:
      return {tf::tensor_scatter_nd_update(x, y, in.flag() ? x : y)};
    case 8:
      return {tf::tensor_scatter_nd_add(x, y, in.flag() ? x : y)};
    case 9:
      return {tf::boolean_mask(x, y, in.axis())};
    case 10:
      return {tf::where(x)};
    case 11: {
      auto u = tf::unique(x);
      return {u.y, u.idx};
    }
    default: {
      std::vector<int64_t> b = in.dims(), e = in.dims(), s = in.dims();
      tf::StridedSliceOptions o{.begin_mask = in.u8(),
                                .end_mask = in.u8(),
                                .ellipsis_mask = in.u8() & 3,
                                .new_axis_mask = in.u8() & 3,
                                .shrink_axis_mask = in.u8()};
      return {tf::strided_slice(x, b, e, in.flag() ? std::vector<int64_t>{} : s, o)};
    }
  }
}

// ---- einsum, nn, image, random (issue #11 §3) ----------------------------------------------
std::vector<tf::Tensor> nn_ext_op(const tf::Tensor& x, const tf::Tensor& y, Bytes& in) {
  static const char* kEquations[] = {"ij,jk->ik",
                                     "bij,bjk->bik",
                                     "ii->i",
                                     "ii",
                                     "...ij,...jk",
                                     "i...->i",
                                     "ij->ji",
                                     "i,i->",
                                     "ij,jk,kl->il",
                                     "iij->",
                                     "ij->k",
                                     "i..j",
                                     "a,b",
                                     "->",
                                     "...,...->...",
                                     "ij->i->j"};
  const char* eq = kEquations[in.u8() % 16];
  switch (in.u8() % 16) {
    case 0:
      return {tf::einsum(eq, {x})};
    case 1:
      return {tf::einsum(eq, {x, y})};
    case 2:
      return {tf::einsum(eq, {x, y, x})};
    case 3:
      return {tf::nn::conv2d(x, y, ints(in), in.padding(), ints(in))};
    case 4:
      return {tf::nn::conv1d(x, y, ints(in), in.padding(), ints(in))};
    case 5: {
      const tf::Shape out(in.dims());
      std::vector<int> s = ints(in);
      return {tf::nn::conv2d_transpose(x, y, out, s, in.padding(), ints(in))};
    }
    case 6:
      return {tf::nn::depthwise_conv2d(x, y, ints(in), in.padding(), ints(in))};
    case 7:
      return {tf::nn::embedding_lookup(x, y)};
    case 8:
      return {tf::nn::batch_normalization(x,
                                          y,
                                          y,
                                          in.flag() ? std::optional<tf::Tensor>(x) : std::nullopt,
                                          in.flag() ? std::optional<tf::Tensor>(y) : std::nullopt,
                                          in.value())};
    case 9:
      return {tf::image::resize(x, in.dims(), in.flag() ? "bilinear" : "nearest")};
    case 10:
      return {in.flag() ? tf::image::flip_left_right(x) : tf::image::flip_up_down(x)};
    case 11:
      return {in.flag() ? tf::image::random_flip_left_right(x, in.u8())
                        : tf::image::random_flip_up_down(x)};
    case 12:
      return {tf::image::random_crop(x, in.dims(), in.u8())};
    case 13:
      return {tf::image::per_image_standardization(x)};
    case 14:
      return {tf::random::categorical(x, in.dim(), in.u8(), in.flag() ? tf::int64 : in.dtype())};
    default:
      return {tf::random::shuffle(x, in.u8())};
  }
}

void keep(Pool& pool, const tf::Tensor& t, Bytes& in) {
  if (!t.defined() || t.num_elements() > kMaxPooled) return;
  if (pool.size() < kPool)
    pool.push_back(t);
  else
    pool[in.u8() % kPool] = t;
}

void run(Bytes& in) {
  const bool persistent = in.flag();
  tf::GradientTape tape(tf::TapeOptions{.persistent = persistent});
  Pool pool;
  pool.push_back(make(in));
  tape.watch(pool.back());
  for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
    try {
      switch (in.u8() % 9) {
        case 0: {
          tf::Tensor t = make(in);
          if (in.flag()) tape.watch(t);
          keep(pool, t, in);
          break;
        }
        case 1:
          keep(pool, unary(pick(pool, in), in), in);
          break;
        case 2: {
          const tf::Tensor& x = pick(pool, in);
          keep(pool, binary(x, pick(pool, in), in), in);
          break;
        }
        case 3:
          keep(pool, reduce(pick(pool, in), in), in);
          break;
        case 5: {
          const tf::Tensor& x = pick(pool, in);
          for (const tf::Tensor& t : nn_ext_op(x, pick(pool, in), in)) keep(pool, t, in);
          break;
        }
        case 4: {
          const tf::Tensor& x = pick(pool, in);
          for (const tf::Tensor& t : shape_op(x, pick(pool, in), in)) keep(pool, t, in);
          break;
        }
        case 6: {
          const tf::Tensor& x = pick(pool, in);
          for (const tf::Tensor& t : linalg_op(x, pick(pool, in), in)) keep(pool, t, in);
          break;
        }
        case 7: {
          const tf::Tensor& x = pick(pool, in);
          for (const tf::Tensor& t : indexing_op(x, pick(pool, in), in)) keep(pool, t, in);
          break;
        }
        default: {
          // Gradients mid-program (a persistent tape may be asked again at the end).
          std::vector<tf::Source> sources(pool.begin(), pool.end());
          const tf::Tensor upstream = in.flag() ? pick(pool, in) : tf::Tensor();
          tape.gradient(
              pick(pool, in),
              sources,
              upstream,
              in.flag() ? tf::UnconnectedGradients::Zero : tf::UnconnectedGradients::None);
          if (!persistent) return;
        }
      }
    } catch (const tf::Error&) {
      // Rejected input: the program goes on with the next op, as a user's would.
    }
  }
  std::vector<tf::Source> sources(pool.begin(), pool.end());
  tape.gradient(pool.back(), sources);
}

}  // namespace

// Tensors over 256 MiB are refused (ResourceExhaustedError, a tf::Error the runs expect), so
// that an op asked for a large but plausible output (a 16k x 16k resize, say) is an error here
// rather than a libFuzzer malloc-limit "crash"; what the harness hunts are allocations that
// escape this check (host-side vectors sized from user input).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tf::config::set_allocation_limit(uint64_t(256) << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  try {
    run(in);
  } catch (const tf::Error&) {
  }
  return 0;
}
