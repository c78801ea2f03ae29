// Shape ops. Reshape-like ops are views (no copy); the rest run strided-copy, pad, concat or
// gather kernels. Gradient rules invert each op with another shape op.
#include <algorithm>
#include <numeric>

#include "core/device_context.hpp"
#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::fail;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;
using detail::run_op;

namespace {

std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(size_t(s.rank()), 1);
  for (int d = s.rank() - 2; d >= 0; --d)
    st[size_t(d)] = detail::mul_dims(st[size_t(d + 1)], s[d + 1]);
  return st;
}

Tensor strided(const char* op,
               const Tensor& x,
               const Shape& out,
               detail::StridedCopyAttrs a,
               detail::GradFn grad) {
  return run_op({.name = op,
                 .inputs = {x},
                 .out = {out, x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.strided_copy(k); },
                 .attrs = &a,
                 .grad = is_floating(x.dtype()) ? std::move(grad) : detail::GradFn(),
                 // Every caller's rule (transpose, broadcast, slice, identity) reads shapes only.
                 .saves = detail::saves::none});
}

/// A view with a new shape; recorded with a reshape-back gradient.
Tensor reshaped_view(const char* op, const Tensor& x, const Shape& s) {
  Tensor out = detail::view_as(x, s);
  // Keep the view on the current device so that device placement stays predictable.
  if (x.device_info() != detail::current_device())
    out = detail::on_device(out, detail::current_device());
  if (is_floating(x.dtype()) && detail::any_tape_recording())
    detail::record_op(op, {x}, out, [](const GradCall& g) -> GradList {
      return {reshape(g.upstream(), g.input(0).shape())};
    });
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined("Reshape", x, 0);
  std::vector<int64_t> dims = shape.dims();
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (infer >= 0)
        fail<InvalidArgumentError>(
            "Reshape", "only one input size may be -1, not both ", infer, " and ", i);
      infer = int(i);
    } else if (dims[i] < 0) {
      fail<InvalidArgumentError>("Reshape", "Size ", i, " must be non-negative, not ", dims[i]);
    } else {
      known = detail::checked_mul("Reshape", known, dims[i], "the requested shape's element count");
    }
  }
  const int64_t n = x.num_elements();
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      fail<InvalidArgumentError>("Reshape",
                                 "Input to reshape is a tensor with ",
                                 n,
                                 " values, but the requested shape ",
                                 shape,
                                 " cannot hold them");
    dims[size_t(infer)] = n / known;
  } else if (known != n) {
    fail<InvalidArgumentError>("Reshape",
                               "Input to reshape is a tensor with ",
                               n,
                               " values, but the requested shape has ",
                               known,
                               ": ",
                               x.shape(),
                               " vs. ",
                               shape);
  }
  return reshaped_view("Reshape", x, Shape(dims));
}

Tensor expand_dims(const Tensor& x, int axis) {
  detail::check_defined("ExpandDims", x, 0);
  const int r = x.rank();
  if (axis < -r - 1 || axis > r)
    fail<InvalidArgumentError>("ExpandDims",
                               "Tried to expand dim index ",
                               axis,
                               " for tensor with ",
                               r,
                               " dimensions (shape ",
                               x.shape(),
                               ")");
  if (axis < 0) axis += r + 1;
  std::vector<int64_t> d = x.shape().dims();
  d.insert(d.begin() + axis, 1);
  return reshaped_view("ExpandDims", x, Shape(d));
}

Tensor squeeze(const Tensor& x, std::vector<int> axes) {
  detail::check_defined("Squeeze", x, 0);
  const int r = x.rank();
  std::vector<bool> drop(size_t(r), false);
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) drop[size_t(i)] = x.shape()[i] == 1;
  } else {
    for (int a : axes) {
      int c = detail::canonical_axis("Squeeze", a, r);
      if (x.shape()[c] != 1)
        fail<InvalidArgumentError>("Squeeze",
                                   "Can not squeeze dim[",
                                   c,
                                   "], expected a dimension of 1, got ",
                                   x.shape()[c],
                                   " (shape ",
                                   x.shape(),
                                   ")");
      drop[size_t(c)] = true;
    }
  }
  std::vector<int64_t> d;
  for (int i = 0; i < r; ++i)
    if (!drop[size_t(i)]) d.push_back(x.shape()[i]);
  return reshaped_view("Squeeze", x, Shape(d));
}

Tensor transpose(const Tensor& x, std::vector<int> perm) {
  detail::check_defined("Transpose", x, 0);
  const int r = x.rank();
  if (perm.empty())
    for (int i = r - 1; i >= 0; --i) perm.push_back(i);
  if (int(perm.size()) != r)
    fail<InvalidArgumentError>("Transpose",
                               "transpose expects a vector of size ",
                               r,
                               ". But input(1) is a vector of size ",
                               perm.size());
  std::vector<bool> seen(size_t(r), false);
  for (int& p : perm) {
    if (p < -r || p >= r || seen[size_t(p < 0 ? p + r : p)])
      fail<InvalidArgumentError>("Transpose",
                                 "perm ",
                                 detail::vec_str(perm),
                                 " is not a permutation of 0..",
                                 r - 1,
                                 " for shape ",
                                 x.shape());
    if (p < 0) p += r;
    seen[size_t(p)] = true;
  }
  bool identity_perm = true;
  for (int i = 0; i < r; ++i) identity_perm = identity_perm && perm[size_t(i)] == i;
  if (identity_perm) return identity(x);
  std::vector<int64_t> in_st = contiguous_strides(x.shape()), out_dims(static_cast<size_t>(r));
  detail::StridedCopyAttrs a;
  for (int i = 0; i < r; ++i) {
    out_dims[size_t(i)] = x.shape()[perm[size_t(i)]];
    a.src_strides.push_back(in_st[size_t(perm[size_t(i)])]);
  }
  std::vector<int> inv(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) inv[size_t(perm[size_t(i)])] = i;
  return strided(
      "Transpose", x, Shape(out_dims), std::move(a), [inv](const GradCall& g) -> GradList {
        return {transpose(g.upstream(), inv)};
      });
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  detail::check_defined("BroadcastTo", x, 0);
  detail::checked_num_elements("BroadcastTo", shape);
  if (x.shape() == shape) return x;
  const Shape& s = x.shape();
  if (s.rank() > shape.rank())
    fail<InvalidArgumentError>("BroadcastTo", "Incompatible shapes: ", s, " vs. ", shape);
  std::vector<int64_t> in_st = contiguous_strides(s);
  detail::StridedCopyAttrs a;
  a.src_strides.assign(size_t(shape.rank()), 0);
  for (int i = 0; i < s.rank(); ++i) {
    int o = shape.rank() - s.rank() + i;
    if (s[i] != shape[o] && s[i] != 1)
      fail<InvalidArgumentError>("BroadcastTo", "Incompatible shapes: ", s, " vs. ", shape);
    a.src_strides[size_t(o)] = s[i] == 1 ? 0 : in_st[size_t(i)];
  }
  return strided("BroadcastTo", x, shape, std::move(a), [](const GradCall& g) -> GradList {
    return {detail::unbroadcast(g.upstream(), g.input(0).shape())};
  });
}

Tensor slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& size) {
  detail::check_defined("Slice", x, 0);
  const int r = x.rank();
  if (int(begin.size()) != r || int(size.size()) != r)
    fail<InvalidArgumentError>("Slice",
                               "Expected begin and size arguments to be 1-D tensors of size ",
                               r,
                               ", but got shapes (",
                               begin.size(),
                               ",) and (",
                               size.size(),
                               ",) instead");
  std::vector<int64_t> st = contiguous_strides(x.shape()), out(static_cast<size_t>(r));
  detail::StridedCopyAttrs a;
  for (int i = 0; i < r; ++i) {
    const int64_t dim = x.shape()[i], b = begin[size_t(i)];
    const int64_t n = size[size_t(i)] == -1 && b >= 0 && b <= dim ? dim - b : size[size_t(i)];
    if (!detail::range_fits(b, n, dim))
      fail<InvalidArgumentError>("Slice",
                                 "Expected begin ",
                                 detail::vec_str(begin),
                                 " and size ",
                                 detail::vec_str(size),
                                 " to fit in shape ",
                                 x.shape());
    out[size_t(i)] = n;
    // Modulo 2^64: only an empty x (say (0, 2^62)) can overflow it, and then the result is
    // empty too; its offset is set to 0 below.
    a.src_offset = int64_t(uint64_t(a.src_offset) + uint64_t(detail::mul_dims(b, st[size_t(i)])));
  }
  if (detail::checked_num_elements("Slice", Shape(out)) == 0) a.src_offset = 0;
  a.src_strides = st;
  std::vector<std::pair<int64_t, int64_t>> pads(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i)
    pads[size_t(i)] = {begin[size_t(i)], x.shape()[i] - begin[size_t(i)] - out[size_t(i)]};
  // A block of whole rows of the leading axis is contiguous: return a view, no copy (the
  // batches of a training loop). Recorded like the copy, with the same gradient.
  bool leading_only = r >= 1;
  for (int i = 1; i < r && leading_only; ++i)
    leading_only = begin[size_t(i)] == 0 && out[size_t(i)] == x.shape()[i];
  if (leading_only && x.device_info() == detail::current_device()) {
    size_t offset = size_t(a.src_offset) * size_t(dtype_size(x.dtype()));
    Tensor view(detail::make_impl(x.impl(), Shape(out), offset));
    if (is_floating(x.dtype()) && detail::any_tape_recording())
      detail::record_op("Slice", {x}, view, [pads](const GradCall& g) -> GradList {
        return {pad(g.upstream(), pads)};
      });
    return view;
  }
  return strided("Slice", x, Shape(out), std::move(a), [pads](const GradCall& g) -> GradList {
    return {pad(g.upstream(), pads)};
  });
}

Tensor pad(const Tensor& x,
           const std::vector<std::pair<int64_t, int64_t>>& paddings,
           double constant_values) {
  detail::check_defined("PadV2", x, 0);
  const int r = x.rank();
  if (int(paddings.size()) != r)
    fail<InvalidArgumentError>("PadV2",
                               "The first dimension of paddings must be the rank of inputs ",
                               r,
                               ", got ",
                               paddings.size(),
                               " pairs for shape ",
                               x.shape());
  detail::PadAttrs a;
  a.value = constant_values;
  std::vector<int64_t> out(static_cast<size_t>(r)), begin(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) {
    auto [lo, hi] = paddings[size_t(i)];
    if (lo < 0 || hi < 0)
      fail<InvalidArgumentError>("PadV2", "Paddings must be non-negative: ", lo, " ", hi);
    out[size_t(i)] =
        detail::checked_add("PadV2",
                            detail::checked_add("PadV2", x.shape()[i], lo, "the padded dimension"),
                            hi,
                            "the padded dimension");
    a.before.push_back(lo);
    begin[size_t(i)] = lo;
  }
  Shape in_shape = x.shape();
  return run_op({.name = "PadV2",
                 .inputs = {x},
                 .out = {Shape(out), x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.pad(k); },
                 .attrs = &a,
                 .grad = is_floating(x.dtype())
                             ? detail::GradFn([begin, in_shape](const GradCall& g) -> GradList {
                                 return {slice(g.upstream(), begin, in_shape.dims())};
                               })
                             : detail::GradFn(),
                 .saves = detail::saves::none});
}

Tensor concat(const std::vector<Tensor>& values, int axis) {
  const char* op = "ConcatV2";
  if (values.empty()) fail<InvalidArgumentError>(op, "needs at least one tensor");
  detail::check_same_dtype(op, values);
  const Shape& s0 = values[0].shape();
  const int r = s0.rank();
  if (r == 0) fail<InvalidArgumentError>(op, "Can't concatenate scalars (use tf::stack instead)");
  int a = detail::canonical_axis(op, axis, r);
  detail::ConcatAttrs attrs{1, {}};
  for (int i = 0; i < a; ++i) attrs.outer = detail::mul_dims(attrs.outer, s0[i]);
  std::vector<int64_t> out = s0.dims();
  out[size_t(a)] = 0;
  std::vector<int64_t> sizes;
  for (size_t t = 0; t < values.size(); ++t) {
    const Shape& s = values[t].shape();
    bool ok = s.rank() == r;
    for (int i = 0; ok && i < r; ++i) ok = i == a || s[i] == s0[i];
    if (!ok)
      fail<InvalidArgumentError>(op,
                                 "ConcatOp : Dimension mismatch: input #",
                                 t,
                                 " has shape ",
                                 s,
                                 ", input #0 has shape ",
                                 s0,
                                 " (axis ",
                                 a,
                                 ")");
    out[size_t(a)] = detail::checked_add(op, out[size_t(a)], s[a], "the concatenated dimension");
    sizes.push_back(s[a]);
    attrs.chunks.push_back(s.num_elements() / std::max<int64_t>(attrs.outer, 1));
  }
  if (values.size() == 1) return identity(values[0]);
  return run_op({.name = op,
                 .inputs = values,
                 .out = {Shape(out), values[0].dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.concat(k); },
                 .attrs = &attrs,
                 .grad = is_floating(values[0].dtype())
                             ? detail::GradFn([sizes, a](const GradCall& g) -> GradList {
                                 return split(g.upstream(), sizes, a);
                               })
                             : detail::GradFn(),
                 .saves = detail::saves::none});
}

Tensor stack(const std::vector<Tensor>& values, int axis) {
  if (values.empty()) fail<InvalidArgumentError>("Pack", "needs at least one tensor");
  const Shape& s0 = values[0].shape();
  for (size_t i = 0; i < values.size(); ++i) {
    detail::check_defined("Pack", values[i], int(i));
    if (!(values[i].shape() == s0))
      fail<InvalidArgumentError>("Pack",
                                 "Shapes of all inputs must match: values[0].shape = ",
                                 s0,
                                 " != values[",
                                 i,
                                 "].shape = ",
                                 values[i].shape());
  }
  const int r = s0.rank() + 1;
  if (axis < -r || axis >= r)
    fail<InvalidArgumentError>(
        "Pack", "axis ", axis, " is out of range for stacking rank-", s0.rank(), " tensors");
  if (axis < 0) axis += r;
  std::vector<Tensor> ex;
  ex.reserve(values.size());
  for (const Tensor& v : values) ex.push_back(expand_dims(v, axis));
  return concat(ex, axis);
}

std::vector<Tensor> unstack(const Tensor& x, int axis) {
  detail::check_defined("Unpack", x, 0);
  int a = detail::canonical_axis("Unpack", axis, x.rank());
  std::vector<Tensor> out;
  for (Tensor& part : split(x, int(x.shape()[a]), a)) out.push_back(squeeze(part, {a}));
  return out;
}

namespace {
/// Appends to `out` the pieces [lo, hi) of `sz` that `x` holds along axis `a`, in order. Each
/// piece is a slice, whose gradient is a pad back to the sliced tensor's size, so slicing many
/// pieces straight from x makes the backward pass write and add one x-sized tensor per piece:
/// O(pieces × size) (unstacking an RNN's 128 time steps cost 128 full-size pads and adds, half
/// of an LSTM step). Under a tape, more than 4 pieces are therefore split in halves first, each
/// half sliced from its parent: O(size × log pieces). The values are the same either way.
void split_pieces(const Tensor& x,
                  const std::vector<int64_t>& sz,
                  size_t lo,
                  size_t hi,
                  int a,
                  std::vector<Tensor>& out) {
  std::vector<int64_t> begin(size_t(x.rank()), 0), size = x.shape().dims();
  if (hi - lo <= 4 || !detail::any_tape_recording()) {
    for (size_t i = lo; i < hi; ++i) {
      size[size_t(a)] = sz[i];
      out.push_back(slice(x, begin, size));
      begin[size_t(a)] += sz[i];
    }
    return;
  }
  const size_t mid = lo + (hi - lo) / 2;
  int64_t left = 0;
  for (size_t i = lo; i < mid; ++i) left += sz[i];
  size[size_t(a)] = left;
  const Tensor first = slice(x, begin, size);
  begin[size_t(a)] = left;
  size[size_t(a)] = x.shape()[a] - left;
  const Tensor second = slice(x, begin, size);
  split_pieces(first, sz, lo, mid, a, out);
  split_pieces(second, sz, mid, hi, a, out);
}
}  // namespace

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int axis) {
  detail::check_defined("SplitV", x, 0);
  int a = detail::canonical_axis("SplitV", axis, x.rank());
  const int64_t dim = x.shape()[a];
  std::vector<int64_t> sz = sizes;
  int64_t known = 0;
  int infer = -1;
  for (size_t i = 0; i < sz.size(); ++i) {
    if (sz[i] == -1 && infer < 0)
      infer = int(i);
    else if (sz[i] < 0)
      fail<InvalidArgumentError>("SplitV", "invalid split size ", sz[i]);
    else
      known = detail::checked_add("SplitV", known, sz[i], "the sum of the split sizes");
  }
  if (infer >= 0) sz[size_t(infer)] = dim - known;
  int64_t total = 0;
  for (int64_t s : sz)
    total = detail::checked_add("SplitV", total, s, "the sum of the split sizes");
  if (total != dim || (infer >= 0 && sz[size_t(infer)] < 0))
    fail<InvalidArgumentError>(
        "SplitV",
        "Determined shape must either match input shape along split_dim "
        "exactly if fully specified, or be less than the size of the input along "
        "split_dim if not fully specified. Got sizes ",
        detail::vec_str(sizes),
        " for dimension ",
        dim,
        " of shape ",
        x.shape());
  std::vector<Tensor> out;
  out.reserve(sz.size());
  split_pieces(x, sz, 0, sz.size(), a, out);
  return out;
}

std::vector<Tensor> split(const Tensor& x, int num, int axis) {
  detail::check_defined("Split", x, 0);
  int a = detail::canonical_axis("Split", axis, x.rank());
  if (num <= 0 || x.shape()[a] % num != 0)
    fail<InvalidArgumentError>("Split",
                               "Number of ways to split should evenly divide the split dimension, "
                               "but got split_dim ",
                               a,
                               " (size = ",
                               x.shape()[a],
                               ") and num_split ",
                               num);
  return split(x, std::vector<int64_t>(size_t(num), x.shape()[a] / num), a);
}

Tensor gather(const Tensor& x, const Tensor& indices, int axis) {
  const char* op = "GatherV2";
  detail::check_defined(op, x, 0);
  detail::check_defined(op, indices, 1);
  detail::check_dtype(op, indices, detail::Require::integer);
  if (x.rank() == 0)
    fail<InvalidArgumentError>(op, "params must be at least 1 dimensional, got shape ()");
  int a = detail::canonical_axis(op, axis, x.rank());
  detail::GatherAttrs attrs{1, x.shape()[a], 1, indices.num_elements()};
  for (int i = 0; i < a; ++i) attrs.outer = detail::mul_dims(attrs.outer, x.shape()[i]);
  for (int i = a + 1; i < x.rank(); ++i) attrs.inner = detail::mul_dims(attrs.inner, x.shape()[i]);
  for (int64_t v : indices.to_vector<int64_t>())
    if (v < 0 || v >= attrs.axis_dim)
      fail<InvalidArgumentError>(op,
                                 "indices = ",
                                 v,
                                 " is not in [0, ",
                                 attrs.axis_dim,
                                 ") (params shape ",
                                 x.shape(),
                                 ", axis ",
                                 a,
                                 ")");
  std::vector<int64_t> out;
  for (int i = 0; i < a; ++i) out.push_back(x.shape()[i]);
  for (int64_t d : indices.shape()) out.push_back(d);
  for (int i = a + 1; i < x.rank(); ++i) out.push_back(x.shape()[i]);
  detail::GradFn grad;
  if (is_floating(x.dtype()))
    grad = [attrs](const GradCall& g) -> GradList {
      // Scatter-add dy back into the rows that were picked (repeats accumulate).
      const Tensor& x = g.input(0);
      Tensor dy = reshape(g.upstream(), Shape{attrs.outer, attrs.num_indices, attrs.inner});
      detail::ScatterAddAttrs sa = attrs;
      Tensor flat_idx = reshape(g.input(1), Shape{attrs.num_indices});
      Tensor dx = run_op(
          {.name = "UnsortedSegmentSum",
           .inputs = {dy, flat_idx},
           .out = {Shape{attrs.outer, attrs.axis_dim, attrs.inner}, x.dtype()},
           .kernel = [](Backend& b, const KernelArgs& k) { b.scatter_add(k); },
           .attrs = &sa,
           .grad = [attrs](const GradCall& gg) -> GradList {
             // Its gradient is a gather again.
             Tensor up = reshape(gg.upstream(), Shape{attrs.outer, attrs.axis_dim, attrs.inner});
             return {reshape(gather(up, gg.input(1), 1), gg.input(0).shape()), Tensor()};
           }});
      return {reshape(dx, x.shape()), Tensor()};
    };
  return run_op({.name = op,
                 .inputs = {x, indices},
                 .out = {Shape(out), x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& k) { b.gather(k); },
                 .attrs = &attrs,
                 .grad = std::move(grad)});
}

Tensor one_hot(
    const Tensor& indices, int64_t depth, double on_value, double off_value, DType dtype) {
  detail::check_defined("OneHot", indices, 0);
  detail::check_dtype("OneHot", indices, detail::Require::integer);
  if (depth < 0) fail<InvalidArgumentError>("OneHot", "depth must be non-negative, got ", depth);
  // A composite: compare each index with 0..depth-1 (out-of-range rows stay all off).
  Tensor ids = range(0.0, double(depth), 1.0, indices.dtype());
  Tensor hit = equal(expand_dims(indices, -1), ids);
  DeviceScope scope(hit.device_info());
  return where(hit, constant(on_value, dtype), constant(off_value, dtype));
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples) {
  detail::check_defined("Tile", x, 0);
  const int r = x.rank();
  if (int(multiples.size()) != r)
    fail<InvalidArgumentError>("Tile",
                               "Expected multiples argument to be a vector of length ",
                               r,
                               " but got length ",
                               multiples.size(),
                               " for shape ",
                               x.shape());
  // A composite: [d0, d1] → [1, d0, 1, d1] → broadcast [m0, d0, m1, d1] → [m0*d0, m1*d1].
  std::vector<int64_t> ex, big, out;
  for (int i = 0; i < r; ++i) {
    if (multiples[size_t(i)] < 0)
      fail<InvalidArgumentError>("Tile", "Expected multiples to be non-negative");
    ex.insert(ex.end(), {1, x.shape()[i]});
    big.insert(big.end(), {multiples[size_t(i)], x.shape()[i]});
    out.push_back(
        detail::checked_mul("Tile", multiples[size_t(i)], x.shape()[i], "the tiled dimension"));
  }
  return reshape(broadcast_to(reshape(x, Shape(ex)), Shape(big)), Shape(out));
}

Tensor shape(const Tensor& x) {
  detail::check_defined("Shape", x, 0);
  std::vector<int32_t> d;
  for (int64_t v : x.shape()) d.push_back(int32_t(v));
  return constant(d, Shape{int64_t(d.size())});
}

Tensor stop_gradient(const Tensor& x) {
  detail::check_defined("StopGradient", x, 0);
  return detail::view_as(x, x.shape());  // a fresh id that no tape watches
}

Tensor identity(const Tensor& x) {
  detail::check_defined("Identity", x, 0);
  return strided("Identity",
                 x,
                 x.shape(),
                 {contiguous_strides(x.shape()), 0},
                 [](const GradCall& g) -> GradList { return {g.upstream()}; });
}

// ---- the long tail (issue #11): composites of gather, split and concat ------------------------

Tensor reverse(const Tensor& x, const std::vector<int>& axes) {
  detail::check_defined("ReverseV2", x, 0);
  std::vector<bool> seen(size_t(x.rank()), false);
  std::vector<int> canonical;
  for (int axis : axes) {
    const int a = detail::canonical_axis("ReverseV2", axis, x.rank());
    if (seen[size_t(a)])
      fail<InvalidArgumentError>(
          "ReverseV2", "axis ", a, " specified more than once in ", detail::vec_str(axes));
    seen[size_t(a)] = true;
    canonical.push_back(a);
  }
  // An empty x is its own reverse; its dims may be far too large for an index vector.
  if (canonical.empty() || x.num_elements() == 0) return identity(x);
  Tensor out = x;
  for (int a : canonical) {
    const int64_t n = x.shape()[a];
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = n - 1 - i;
    DeviceScope scope(out.device_info());
    out = gather(out, constant(idx, Shape{n}), a);
  }
  return out;
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int>& axes) {
  detail::check_defined("Roll", x, 0);
  if (shifts.size() != axes.size())
    fail<InvalidArgumentError>("Roll",
                               "shift and axis must have the same size; got ",
                               shifts.size(),
                               " shifts and ",
                               axes.size(),
                               " axes");
  std::vector<int64_t> total(size_t(x.rank()), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int a = detail::canonical_axis("Roll", axes[i], x.rank());
    const int64_t n = x.shape()[a];
    if (n == 0) continue;
    // Everything stays in [0, n): no sum here can overflow, whatever n and the shifts are.
    int64_t r = shifts[i] % n;
    if (r < 0) r += n;
    int64_t& t = total[size_t(a)];
    t = t >= n - r ? t - (n - r) : t + r;
  }
  Tensor out = identity(x);  // a new value even when nothing moves, as TF's
  for (int a = 0; a < x.rank(); ++a) {
    const int64_t s = total[size_t(a)];
    if (s == 0) continue;
    std::vector<Tensor> parts = split(out, std::vector<int64_t>{x.shape()[a] - s, s}, a);
    out = concat({parts[1], parts[0]}, a);
  }
  return out;
}

Tensor roll(const Tensor& x, int64_t shift, int axis) {
  return roll(x, std::vector<int64_t>{shift}, std::vector<int>{axis});
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats, std::optional<int> axis) {
  detail::check_defined("Repeat", x, 0);
  Tensor src = axis ? x : reshape(x, Shape{x.num_elements()});
  const int a = detail::canonical_axis("Repeat", axis.value_or(0), src.rank());
  const int64_t n = src.shape()[a];
  if (repeats.size() != 1 && int64_t(repeats.size()) != n)
    fail<InvalidArgumentError>("Repeat",
                               "repeats must have 1 element or one per element along axis ",
                               a,
                               " (",
                               n,
                               "); got ",
                               repeats.size(),
                               " for shape ",
                               src.shape());
  for (int64_t r : repeats)
    if (r < 0) fail<InvalidArgumentError>("Repeat", "repeats must be non-negative, got ", r);
  int64_t count = 0;
  if (repeats.size() == 1)
    count = detail::checked_mul("Repeat", n, repeats[0], "the repeated length");
  else
    for (int64_t r : repeats)
      count = detail::checked_add("Repeat", count, r, "the repeated length");
  std::vector<int64_t> out_dims = src.shape().dims();
  out_dims[size_t(a)] = count;
  const Device device = detail::current_device();
  // The index vector is built on the host first, whatever the device.
  detail::check_output("Repeat", Shape{count}, DType::int64, Device{DeviceType::CPU, 0});
  detail::check_output("Repeat", Shape(out_dims), src.dtype(), device);
  if (detail::checked_num_elements("Repeat", Shape(out_dims)) == 0) {
    // Nothing to gather (and n may be huge when another dim is 0): an empty result.
    DeviceScope scope(src.device_info());
    return zeros(Shape(out_dims), src.dtype());
  }
  std::vector<int64_t> idx;
  idx.reserve(size_t(count));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = repeats[repeats.size() == 1 ? 0 : size_t(i)]; k > 0; --k) idx.push_back(i);
  DeviceScope scope(src.device_info());
  return gather(src, constant(idx, Shape{count}), a);
}

Tensor repeat(const Tensor& x, int64_t repeats, std::optional<int> axis) {
  return repeat(x, std::vector<int64_t>{repeats}, axis);
}

}  // namespace tapeflow
