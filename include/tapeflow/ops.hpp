#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow {

/// A C++ number used as an operand: it takes the dtype of the tensor it meets.
template <class S>
concept Scalar = std::is_arithmetic_v<S>;

/// A 0-d tensor holding `value` in `like`'s dtype, on `like`'s device.
TAPEFLOW_API Tensor scalar_like(const Tensor& like, double value);

// ---- element-wise math (NumPy broadcasting; both inputs of one dtype) -------------------------

/// x + y (TF: AddV2). Numeric dtypes; differentiable.
TAPEFLOW_API Tensor add(const Tensor& x, const Tensor& y);
/// x - y (TF: Sub).
TAPEFLOW_API Tensor subtract(const Tensor& x, const Tensor& y);
/// x * y (TF: Mul).
TAPEFLOW_API Tensor multiply(const Tensor& x, const Tensor& y);
/// x / y (TF: RealDiv; integer division truncates as C++).
TAPEFLOW_API Tensor divide(const Tensor& x, const Tensor& y);
/// x ** y (TF: Pow).
TAPEFLOW_API Tensor pow(const Tensor& x, const Tensor& y);
/// Element-wise max / min (TF: Maximum, Minimum); the gradient goes to x on ties.
TAPEFLOW_API Tensor maximum(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor minimum(const Tensor& x, const Tensor& y);
/// -x (TF: Neg).
TAPEFLOW_API Tensor negative(const Tensor& x);
TAPEFLOW_API Tensor square(const Tensor& x);
TAPEFLOW_API Tensor sqrt(const Tensor& x);
TAPEFLOW_API Tensor rsqrt(const Tensor& x);
TAPEFLOW_API Tensor exp(const Tensor& x);
TAPEFLOW_API Tensor log(const Tensor& x);
TAPEFLOW_API Tensor log1p(const Tensor& x);
TAPEFLOW_API Tensor abs(const Tensor& x);
/// -1, 0 or 1; gradient zero.
TAPEFLOW_API Tensor sign(const Tensor& x);
TAPEFLOW_API Tensor sin(const Tensor& x);
TAPEFLOW_API Tensor cos(const Tensor& x);
/// tan x element-wise. Floating dtypes only; differentiable.
TAPEFLOW_API Tensor tan(const Tensor& x);
/// Inverse and hyperbolic trigonometry, element-wise (floating dtypes; differentiable, with
/// TF's rules: asin/acos/atanh/acosh have infinite slopes at the ends of their domains, and
/// NaN outside them, as TF's).
TAPEFLOW_API Tensor asin(const Tensor& x);
TAPEFLOW_API Tensor acos(const Tensor& x);
TAPEFLOW_API Tensor atan(const Tensor& x);
TAPEFLOW_API Tensor sinh(const Tensor& x);
TAPEFLOW_API Tensor cosh(const Tensor& x);
TAPEFLOW_API Tensor asinh(const Tensor& x);
TAPEFLOW_API Tensor acosh(const Tensor& x);
TAPEFLOW_API Tensor atanh(const Tensor& x);
/// atan2(y, x): the angle of the point (x, y), in [-π, π]; broadcasts. Floating; differentiable.
TAPEFLOW_API Tensor atan2(const Tensor& y, const Tensor& x);
/// 1 - erf(x), accurate where erf(x) is near 1 (floating; differentiable).
TAPEFLOW_API Tensor erfc(const Tensor& x);
/// eˣ - 1, accurate near 0 (floating; differentiable).
TAPEFLOW_API Tensor expm1(const Tensor& x);
/// Rounds half to even (TF's tf.math.round: 0.5 → 0, 1.5 → 2, -2.5 → -2); integers are
/// returned unchanged. Its gradient is zero, as TF's.
TAPEFLOW_API Tensor round(const Tensor& x);
/// floor(x / y) (TF's FloorDiv, `//`): integers round toward -inf, and integer division by zero
/// is an InvalidArgumentError; broadcasts. Not differentiable (TF defines no gradient):
/// differentiating through it raises UnimplementedError.
TAPEFLOW_API Tensor floordiv(const Tensor& x, const Tensor& y);
/// x - floordiv(x, y)·y, with the divisor's sign (TF's FloorMod, Python's %); broadcasts.
/// Differentiable on floats as TF's: d/dx = 1, d/dy = -floordiv(x, y).
TAPEFLOW_API Tensor floormod(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor tanh(const Tensor& x);
TAPEFLOW_API Tensor sigmoid(const Tensor& x);
/// Round down; gradient zero.
TAPEFLOW_API Tensor floor(const Tensor& x);
/// min(max(x, lo), hi); the gradient passes where lo <= x <= hi.
TAPEFLOW_API Tensor clip_by_value(const Tensor& x, const Tensor& lo, const Tensor& hi);
TAPEFLOW_API Tensor clip_by_value(const Tensor& x, double lo, double hi);

template <Scalar S>
Tensor pow(const Tensor& x, S y) {
  return pow(x, scalar_like(x, double(y)));
}
template <Scalar S>
Tensor maximum(const Tensor& x, S y) {
  return maximum(x, scalar_like(x, double(y)));
}
template <Scalar S>
Tensor minimum(const Tensor& x, S y) {
  return minimum(x, scalar_like(x, double(y)));
}

// ---- comparisons and selection (not differentiable; return bool) ------------------------------

TAPEFLOW_API Tensor equal(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor not_equal(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor less(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor less_equal(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor greater(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor greater_equal(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor logical_and(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor logical_or(const Tensor& x, const Tensor& y);
TAPEFLOW_API Tensor logical_not(const Tensor& x);
/// Picks x where cond is true, else y (TF: SelectV2; broadcasting). Differentiable in x and y.
TAPEFLOW_API Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
/// Converts to `dtype` (differentiable between floating dtypes).
TAPEFLOW_API Tensor cast(const Tensor& x, DType dtype);

// ---- reductions (axes may be negative; empty = all axes) -------------------------------------

TAPEFLOW_API Tensor reduce_sum(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
TAPEFLOW_API Tensor reduce_mean(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
TAPEFLOW_API Tensor reduce_max(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
TAPEFLOW_API Tensor reduce_min(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
TAPEFLOW_API Tensor reduce_prod(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
/// Index of the largest / smallest element along `axis` (int64; first on ties).
TAPEFLOW_API Tensor argmax(const Tensor& x, int axis = 0);
TAPEFLOW_API Tensor argmin(const Tensor& x, int axis = 0);

// ---- linear algebra --------------------------------------------------------------------------

/// Matrix product of the last two axes; leading axes are batch axes and broadcast.
/// float32/float64 use BLAS; integer dtypes a plain loop. Differentiable.
TAPEFLOW_API Tensor matmul(const Tensor& a,
                           const Tensor& b,
                           bool transpose_a = false,
                           bool transpose_b = false);

// ---- shape -----------------------------------------------------------------------------------

/// New shape with the same elements; one dim may be -1 (inferred).
TAPEFLOW_API Tensor reshape(const Tensor& x, const Shape& shape);
/// Permutes axes; an empty perm reverses them.
TAPEFLOW_API Tensor transpose(const Tensor& x, std::vector<int> perm = {});
TAPEFLOW_API Tensor expand_dims(const Tensor& x, int axis);
/// Removes the given size-1 axes (all size-1 axes when empty).
TAPEFLOW_API Tensor squeeze(const Tensor& x, std::vector<int> axes = {});
TAPEFLOW_API Tensor concat(const std::vector<Tensor>& values, int axis);
TAPEFLOW_API Tensor stack(const std::vector<Tensor>& values, int axis = 0);
TAPEFLOW_API std::vector<Tensor> unstack(const Tensor& x, int axis = 0);
/// Splits into `num` equal parts along axis.
TAPEFLOW_API std::vector<Tensor> split(const Tensor& x, int num, int axis = 0);
/// Splits into parts of the given sizes along axis (one size may be -1).
TAPEFLOW_API std::vector<Tensor> split(const Tensor& x,
                                       const std::vector<int64_t>& sizes,
                                       int axis);
/// The block starting at `begin` of extent `size` (-1 = to the end).
TAPEFLOW_API Tensor slice(const Tensor& x,
                          const std::vector<int64_t>& begin,
                          const std::vector<int64_t>& size);
/// Rows of x picked by integer `indices` along `axis` (TF: GatherV2).
TAPEFLOW_API Tensor gather(const Tensor& x, const Tensor& indices, int axis = 0);
/// One-hot vectors of `depth` for integer indices (out-of-range → all off).
TAPEFLOW_API Tensor one_hot(const Tensor& indices,
                            int64_t depth,
                            double on_value = 1.0,
                            double off_value = 0.0,
                            DType dtype = float32);
TAPEFLOW_API Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples);
/// Pads with `constant_values`; paddings is one {before, after} pair per axis.
TAPEFLOW_API Tensor pad(const Tensor& x,
                        const std::vector<std::pair<int64_t, int64_t>>& paddings,
                        double constant_values = 0.0);
TAPEFLOW_API Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// The shape of x as an int32 1-d tensor.
TAPEFLOW_API Tensor shape(const Tensor& x);
/// The same value without a gradient path.
TAPEFLOW_API Tensor stop_gradient(const Tensor& x);
/// The same value with its own identity (differentiable).
TAPEFLOW_API Tensor identity(const Tensor& x);

// ---- operators -------------------------------------------------------------------------------

inline Tensor operator+(const Tensor& x, const Tensor& y) { return add(x, y); }
inline Tensor operator-(const Tensor& x, const Tensor& y) { return subtract(x, y); }
inline Tensor operator*(const Tensor& x, const Tensor& y) { return multiply(x, y); }
inline Tensor operator/(const Tensor& x, const Tensor& y) { return divide(x, y); }
inline Tensor operator-(const Tensor& x) { return negative(x); }
template <Scalar S>
Tensor operator+(const Tensor& x, S s) {
  return add(x, scalar_like(x, double(s)));
}
template <Scalar S>
Tensor operator+(S s, const Tensor& x) {
  return add(scalar_like(x, double(s)), x);
}
template <Scalar S>
Tensor operator-(const Tensor& x, S s) {
  return subtract(x, scalar_like(x, double(s)));
}
template <Scalar S>
Tensor operator-(S s, const Tensor& x) {
  return subtract(scalar_like(x, double(s)), x);
}
template <Scalar S>
Tensor operator*(const Tensor& x, S s) {
  return multiply(x, scalar_like(x, double(s)));
}
template <Scalar S>
Tensor operator*(S s, const Tensor& x) {
  return multiply(scalar_like(x, double(s)), x);
}
template <Scalar S>
Tensor operator/(const Tensor& x, S s) {
  return divide(x, scalar_like(x, double(s)));
}
template <Scalar S>
Tensor operator/(S s, const Tensor& x) {
  return divide(scalar_like(x, double(s)), x);
}

namespace nn {
TAPEFLOW_API Tensor relu(const Tensor& x);
TAPEFLOW_API Tensor relu6(const Tensor& x);
TAPEFLOW_API Tensor leaky_relu(const Tensor& x, double alpha = 0.2);
TAPEFLOW_API Tensor elu(const Tensor& x);
/// Gaussian error linear unit, exact (erf) form unless approximate.
TAPEFLOW_API Tensor gelu(const Tensor& x, bool approximate = false);
TAPEFLOW_API Tensor softplus(const Tensor& x);
TAPEFLOW_API Tensor softmax(const Tensor& logits, int axis = -1);
TAPEFLOW_API Tensor log_softmax(const Tensor& logits, int axis = -1);
/// x + bias along the last axis; bias is 1-d.
TAPEFLOW_API Tensor bias_add(const Tensor& x, const Tensor& bias);
TAPEFLOW_API Tensor l2_normalize(const Tensor& x,
                                 std::vector<int> axes = {-1},
                                 double epsilon = 1e-12);
/// Per-example loss from integer class labels [batch] and logits [batch, classes].
TAPEFLOW_API Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels,
                                                             const Tensor& logits);
/// Per-example loss from label distributions and logits of the same shape (last axis classes).
TAPEFLOW_API Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
/// Element-wise, numerically stable: max(x,0) - x*z + log(1 + exp(-|x|)).
TAPEFLOW_API Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
/// 2-D convolution of NHWC input [N, H, W, C] with HWIO filters [KH, KW, C, O]; strides 1, 2 or
/// 4 ints ([1, sh, sw, 1]); padding "SAME" or "VALID" (TF's sizes); dilations as strides (k-1
/// skipped cells between filter taps). float32/64; differentiable.
TAPEFLOW_API Tensor conv2d(const Tensor& input,
                           const Tensor& filters,
                           std::vector<int> strides,
                           const std::string& padding,
                           std::vector<int> dilations = {1, 1});
/// Max over ksize windows of NHWC input (TF: MaxPool); the gradient goes to the first maximum.
TAPEFLOW_API Tensor max_pool2d(const Tensor& input,
                               std::vector<int> ksize,
                               std::vector<int> strides,
                               const std::string& padding);
/// Mean over ksize windows of NHWC input (TF: AvgPool); SAME divides by the cells inside the image.
TAPEFLOW_API Tensor avg_pool2d(const Tensor& input,
                               std::vector<int> ksize,
                               std::vector<int> strides,
                               const std::string& padding);
/// Zeroes each element with probability rate (in [0, 1)) and scales the rest by 1/(1 - rate);
/// a seed fixes the mask, else the global seed is used. Floating dtypes; differentiable in x.
TAPEFLOW_API Tensor dropout(const Tensor& x,
                            double rate,
                            std::optional<uint64_t> seed = std::nullopt);
}  // namespace nn

// ---- the long tail (issue #11), composites of the ops above -----------------------------------
// Each is TensorFlow's op of the same name, computed as TF's own Python composite is where TF
// has one, and differentiable through the ops it is made of (so higher orders work).

/// The Gauss error function (floating dtypes).
TAPEFLOW_API Tensor erf(const Tensor& x);
/// 1 / x.
TAPEFLOW_API Tensor reciprocal(const Tensor& x);
/// (x - y)²; broadcasts.
TAPEFLOW_API Tensor squared_difference(const Tensor& x, const Tensor& y);
/// The smallest integer value >= x (floating dtypes); its gradient is zero, as floor's.
TAPEFLOW_API Tensor ceil(const Tensor& x);
/// Element-wise NaN / ±inf / finite tests of a floating tensor (bool results).
TAPEFLOW_API Tensor is_nan(const Tensor& x);
TAPEFLOW_API Tensor is_inf(const Tensor& x);
TAPEFLOW_API Tensor is_finite(const Tensor& x);

/// log(Σ exp(x)) over `axes`, computed stably (the max is taken out first; an infinite max is
/// not, so -inf rows give -inf).
TAPEFLOW_API Tensor reduce_logsumexp(const Tensor& x,
                                     std::vector<int> axes = {},
                                     bool keepdims = false);
/// Population variance and standard deviation (divided by N) over `axes`.
TAPEFLOW_API Tensor reduce_variance(const Tensor& x,
                                    std::vector<int> axes = {},
                                    bool keepdims = false);
TAPEFLOW_API Tensor reduce_std(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
/// Logical or / and of a bool tensor over `axes` (false / true over no elements).
TAPEFLOW_API Tensor reduce_any(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
TAPEFLOW_API Tensor reduce_all(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
/// tf.norm. `ord`: "euclidean" (the default: over a vector or, with two axes, the whole
/// matrix, as TF), "fro" (two axes or all), "1", "inf"; or the numbers 1, 2, inf as double.
/// `axes`: empty = the whole tensor as one vector; one axis = vector norms; two axes = matrix
/// norms (1: largest column sum, inf: largest row sum; the spectral norm, 2 over two axes,
/// needs an SVD and throws UnimplementedError for now).
TAPEFLOW_API Tensor norm(const Tensor& x,
                         const std::string& ord = "euclidean",
                         std::vector<int> axes = {},
                         bool keepdims = false);
TAPEFLOW_API Tensor norm(const Tensor& x,
                         double ord,
                         std::vector<int> axes = {},
                         bool keepdims = false);

/// Reverses the order of the elements along each of `axes`.
TAPEFLOW_API Tensor reverse(const Tensor& x, const std::vector<int>& axes);
/// Shifts the elements along `axis` by `shift` (positive: towards higher indices), wrapping
/// around; the list form rolls along several axes (shifts for a repeated axis add up).
TAPEFLOW_API Tensor roll(const Tensor& x, int64_t shift, int axis);
TAPEFLOW_API Tensor roll(const Tensor& x,
                         const std::vector<int64_t>& shifts,
                         const std::vector<int>& axes);
/// Repeats each element `repeats` times (or repeats[i] times for element i) along `axis`;
/// without an axis, along the flattened input.
TAPEFLOW_API Tensor repeat(const Tensor& x,
                           int64_t repeats,
                           std::optional<int> axis = std::nullopt);
TAPEFLOW_API Tensor repeat(const Tensor& x,
                           const std::vector<int64_t>& repeats,
                           std::optional<int> axis = std::nullopt);

namespace nn {
/// x · sigmoid(x) (swish).
TAPEFLOW_API Tensor silu(const Tensor& x);
/// scale · (x if x > 0 else alpha · (eˣ - 1)), with Klambauer et al.'s alpha and scale.
TAPEFLOW_API Tensor selu(const Tensor& x);
/// x / (1 + |x|).
TAPEFLOW_API Tensor softsign(const Tensor& x);
/// log(sigmoid(x)) = -softplus(-x), stable for large |x|.
TAPEFLOW_API Tensor log_sigmoid(const Tensor& x);
/// Keras' piecewise-linear sigmoid: clip(0.2 · x + 0.5, 0, 1).
TAPEFLOW_API Tensor hard_sigmoid(const Tensor& x);
/// {mean, variance} over `axes`, as tf.nn.moments (the variance is taken around the mean with
/// the mean's gradient path stopped, as TF does): `auto [mean, var] = tf::nn::moments(x, {0});`
TAPEFLOW_API std::pair<Tensor, Tensor> moments(const Tensor& x,
                                               std::vector<int> axes,
                                               bool keepdims = false);
}  // namespace nn

// ---- indexing, ordering and scans (issue #11) -------------------------------------------------

/// Options of cumsum / cumprod (TF's keyword arguments).
struct CumulativeOptions {
  /// out[i] leaves x[i] out (starts from 0 for cumsum, 1 for cumprod).
  bool exclusive = false;
  /// Scans from the end of the axis towards its start.
  bool reverse = false;
};
/// Running sum along `axis` (TF: Cumsum). Numeric dtypes; differentiable (dy summed in the
/// opposite direction). Float sums of long axes are added in fixed blocks (bits do not depend
/// on the thread count).
TAPEFLOW_API Tensor cumsum(const Tensor& x, int axis = 0, CumulativeOptions options = {});
/// Running product along `axis` (TF: Cumprod). Numeric dtypes; differentiable with TF's rule
/// (cumsum(y·dy, reverse = !reverse) / x), which, as TF's, gives inf/NaN where x is 0.
TAPEFLOW_API Tensor cumprod(const Tensor& x, int axis = 0, CumulativeOptions options = {});

/// The values of x sorted along `axis`, "ASCENDING" or "DESCENDING" (stable: equal values keep
/// their order; NaN sorts above +inf). Numeric dtypes; differentiable (dy goes back to where
/// each value came from).
TAPEFLOW_API Tensor sort(const Tensor& x,
                         int axis = -1,
                         const std::string& direction = "ASCENDING");
/// The int32 indices that sort x along `axis` (always stable, whatever `stable` says).
TAPEFLOW_API Tensor argsort(const Tensor& x,
                            int axis = -1,
                            const std::string& direction = "ASCENDING",
                            bool stable = false);

/// Values and int32 indices of top_k: `auto [values, indices] = tf::math::top_k(x, 5);`.
struct TopKResult {
  Tensor values;
  Tensor indices;
};
namespace math {
/// The k largest entries of each row (last axis) of x, largest first, ties lower index first
/// (TF: TopKV2; `sorted = false` still returns them sorted). k > last dim or k < 0:
/// InvalidArgumentError. values are differentiable.
TAPEFLOW_API TopKResult top_k(const Tensor& x, int64_t k = 1, bool sorted = true);
}  // namespace math

/// Slices of params picked by the last axis of integer `indices` (TF: GatherNd, batch_dims 0):
/// out shape indices.shape[:-1] + params.shape[indices.shape[-1]:]. An index out of range is
/// an InvalidArgumentError naming it (as TF on CPU). Differentiable in params.
TAPEFLOW_API Tensor gather_nd(const Tensor& params, const Tensor& indices);
/// Zeros of `shape` with `updates` added at `indices` (TF: ScatterNd; duplicates add up).
/// Differentiable in updates.
TAPEFLOW_API Tensor scatter_nd(const Tensor& indices, const Tensor& updates, const Shape& shape);
/// tensor with the slices at `indices` replaced by `updates` (TF: TensorScatterUpdate; of
/// duplicate indices the last one wins). Differentiable in tensor and updates (an update that
/// a later duplicate overwrote gets a zero gradient).
TAPEFLOW_API Tensor tensor_scatter_nd_update(const Tensor& tensor,
                                             const Tensor& indices,
                                             const Tensor& updates);
/// tensor with `updates` added at `indices` (TF: TensorScatterAdd; duplicates add up).
TAPEFLOW_API Tensor tensor_scatter_nd_add(const Tensor& tensor,
                                          const Tensor& indices,
                                          const Tensor& updates);

/// The entries of tensor where the bool `mask` (shape tensor.shape[axis : axis + mask.rank]) is
/// true, flattened over the mask's axes (TF's composite: a gather of where(mask)).
/// Differentiable in tensor.
TAPEFLOW_API Tensor boolean_mask(const Tensor& tensor, const Tensor& mask, int axis = 0);
/// Coordinates of the true (non-zero) entries of cond, int64 [num_true, rank], row-major order
/// (TF: Where). Not differentiable.
TAPEFLOW_API Tensor where(const Tensor& cond);

/// The distinct values of a 1-D x in order of first occurrence, and for each x[i] the int32
/// position of its value in y: `auto [y, idx] = tf::unique(x);` (TF: Unique). Not
/// differentiable.
struct UniqueResult {
  Tensor y;
  Tensor idx;
};
TAPEFLOW_API UniqueResult unique(const Tensor& x);

/// TF's strided_slice masks: bit i of a mask applies to the i-th entry of begin/end/strides.
struct StridedSliceOptions {
  int64_t begin_mask = 0;
  int64_t end_mask = 0;
  int64_t ellipsis_mask = 0;
  int64_t new_axis_mask = 0;
  int64_t shrink_axis_mask = 0;
};
/// x[begin:end:strides] with Python's rules per axis (negative indices count from the end,
/// negative strides walk backwards; empty strides = all 1) and TF's masks. Differentiable.
TAPEFLOW_API Tensor strided_slice(const Tensor& x,
                                  const std::vector<int64_t>& begin,
                                  const std::vector<int64_t>& end,
                                  const std::vector<int64_t>& strides = {},
                                  StridedSliceOptions options = {});

// ---- einsum, nn, image, random (issue #11 §3) -------------------------------------------------

/// tf.einsum: "ij,jk->ik", implicit output ("ij,jk" = the indices seen once, alphabetically),
/// "..." batch dims (broadcast), repeated indices in one operand (traces, diagonals: "ii->i",
/// "ii->"). Two-operand contractions run as one batched matmul; more operands contract left to
/// right. Numeric dtypes (all operands one dtype); differentiable.
TAPEFLOW_API Tensor einsum(const std::string& equation, const std::vector<Tensor>& inputs);

namespace nn {
/// 1-D convolution of NWC input [N, W, C] with filters [K, C, O] (via conv2d); stride and
/// dilations: 1 int or 3 ([1, s, 1]).
TAPEFLOW_API Tensor conv1d(const Tensor& input,
                           const Tensor& filters,
                           int stride,
                           const std::string& padding,
                           int dilations = 1);
TAPEFLOW_API Tensor conv1d(const Tensor& input,
                           const Tensor& filters,
                           std::vector<int> stride,
                           const std::string& padding,
                           std::vector<int> dilations = {1});
/// The transpose (gradient wrt its input) of conv2d: input [N, H, W, C], filters [KH, KW, O, C],
/// output_shape [N, OH, OW, O] (TF's conv2d_backprop_input: conv2d of the output's shape with
/// these filters, strides, padding and dilations must give the input's H, W).
TAPEFLOW_API Tensor conv2d_transpose(const Tensor& input,
                                     const Tensor& filters,
                                     const Shape& output_shape,
                                     std::vector<int> strides,
                                     const std::string& padding = "SAME",
                                     std::vector<int> dilations = {1, 1});
/// Per-channel convolution: input [N, H, W, C], filter [KH, KW, C, M] → [N, OH, OW, C·M]
/// (output channel c·M + m).
TAPEFLOW_API Tensor depthwise_conv2d(const Tensor& input,
                                     const Tensor& filter,
                                     std::vector<int> strides,
                                     const std::string& padding,
                                     std::vector<int> dilations = {1, 1});
/// Rows of params picked by integer ids (gather on axis 0); an id outside [0, rows) is an
/// InvalidArgumentError.
TAPEFLOW_API Tensor embedding_lookup(const Tensor& params, const Tensor& ids);
/// (x - mean) · scale / sqrt(variance + variance_epsilon) + offset; offset and scale may be
/// absent (std::nullopt or an undefined Tensor). Broadcasting; differentiable in every input.
TAPEFLOW_API Tensor batch_normalization(const Tensor& x,
                                        const Tensor& mean,
                                        const Tensor& variance,
                                        const std::optional<Tensor>& offset,
                                        const std::optional<Tensor>& scale,
                                        double variance_epsilon);
}  // namespace nn

namespace image {
/// Resizes [H, W, C] or [N, H, W, C] images to size {h, w}; method "bilinear" (TF2's
/// half-pixel centers) or "nearest". Differentiable in images. Bilinear gives float32 for
/// integer images and keeps float64 (TF gives float32); nearest keeps the dtype.
TAPEFLOW_API Tensor resize(const Tensor& images,
                           const std::vector<int64_t>& size,
                           const std::string& method = "bilinear");
/// Reverses the width (left_right) or height (up_down) axis of [H, W, C] or [N, H, W, C].
TAPEFLOW_API Tensor flip_left_right(const Tensor& image);
TAPEFLOW_API Tensor flip_up_down(const Tensor& image);
/// Flips each image (each of the batch, independently) with probability 1/2.
TAPEFLOW_API Tensor random_flip_left_right(const Tensor& image,
                                           std::optional<uint64_t> seed = std::nullopt);
TAPEFLOW_API Tensor random_flip_up_down(const Tensor& image,
                                        std::optional<uint64_t> seed = std::nullopt);
/// A block of `size` (one entry per axis) at a uniformly random offset.
TAPEFLOW_API Tensor random_crop(const Tensor& value,
                                const std::vector<int64_t>& size,
                                std::optional<uint64_t> seed = std::nullopt);
/// (x - mean) / max(stddev, 1/sqrt(N)) over each image's H·W·C values (float32 for integers).
TAPEFLOW_API Tensor per_image_standardization(const Tensor& image);
}  // namespace image

namespace random {
/// num_samples class indices per row of logits [batch, classes] (unnormalised log-probs):
/// [batch, num_samples] of `dtype` (int64 or int32). A seed fixes the draw.
TAPEFLOW_API Tensor categorical(const Tensor& logits,
                                int64_t num_samples,
                                std::optional<uint64_t> seed = std::nullopt,
                                DType dtype = int64);
/// x with its first axis randomly permuted. A seed fixes the permutation.
TAPEFLOW_API Tensor shuffle(const Tensor& value, std::optional<uint64_t> seed = std::nullopt);
}  // namespace random

}  // namespace tapeflow

// ---- tf::linalg (issue #11) ------------------------------------------------------------------
#include "tapeflow/linalg.hpp"  // NOLINT(misc-header-include-cycle): after the ops it builds on
