// Indexing, ordering and scans (issue #11): cumsum, cumprod, sort, argsort, top_k, gather_nd,
// scatter_nd, tensor_scatter_nd_update / _add, boolean_mask, where(cond), unique,
// strided_slice. Front ends and gradient rules side by side.
//
// Kernels: the scans and top_k (which also sorts) have their own; the values that top_k's
// indices pick come from take_rows. The nd-indexing ops read their indices on the host (to
// report a bad one by name, as TF on CPU, and to turn each index tuple into one flat row
// offset), then run the gather and scatter-add kernels over [rows, slab] views. where(cond) and
// unique size their output from the data, so they run on the host and copy the result to the
// op's device.
#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "core/device_context.hpp"
#include "core/dispatch.hpp"
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

int64_t product(const Shape& s, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; ++i) p = detail::mul_dims(p, s[i]);
  return p;
}

std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(size_t(s.rank()), 1);
  for (int d = s.rank() - 2; d >= 0; --d)
    st[size_t(d)] = detail::mul_dims(st[size_t(d + 1)], s[d + 1]);
  return st;
}

/// x with axes a and b swapped (its own inverse; identity when a == b).
Tensor swap_axes(const Tensor& x, int a, int b) {
  if (a == b) return x;
  std::vector<int> perm(size_t(x.rank()));
  for (int i = 0; i < x.rank(); ++i) perm[size_t(i)] = i;
  std::swap(perm[size_t(a)], perm[size_t(b)]);
  return transpose(x, perm);
}

// ---- scans -----------------------------------------------------------------------------------

Tensor scan(const char* op, const Tensor& x, int axis, CumulativeOptions o, bool prod) {
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, detail::Require::numeric);
  const int a = detail::canonical_axis(op, axis, x.rank());
  const Shape& s = x.shape();
  detail::ScanAttrs attrs{
      product(s, 0, a), s[a], product(s, a + 1, s.rank()), o.exclusive, o.reverse};
  detail::GradFn grad;
  if (is_floating(x.dtype())) {
    if (!prod)
      // y_j = Σ_{i ≤ j} x_i  ⇒  dx_i = Σ_{j ≥ i} dy_j: the same scan in the other direction.
      grad = [a, o](const GradCall& g) -> GradList {
        return {cumsum(g.upstream(), a, {.exclusive = o.exclusive, .reverse = !o.reverse})};
      };
    else
      // TF's rule: dx = cumsum(y · dy, reverse = !reverse) / x (inf/NaN where x == 0, as TF).
      grad = [a, o](const GradCall& g) -> GradList {
        Tensor t =
            cumsum(g.output() * g.upstream(), a, {.exclusive = o.exclusive, .reverse = !o.reverse});
        return {t / g.input(0)};
      };
  }
  return run_op(
      {.name = op,
       .inputs = {x},
       .out = {s, x.dtype()},
       .kernel = prod ? detail::KernelFn([](Backend& b, const KernelArgs& k) { b.cumprod(k); })
                      : detail::KernelFn([](Backend& b, const KernelArgs& k) { b.cumsum(k); }),
       .attrs = &attrs,
       .grad = std::move(grad)});
}

// ---- ordering --------------------------------------------------------------------------------

/// Scatter-adds rows of `updates` [n, slab] into zeros [rows, slab] at `offsets` (int64 [n],
/// valid by construction). Its gradient is the gather of the same rows.
Tensor scatter_rows(
    const char* op, const Tensor& updates, const Tensor& offsets, int64_t rows, int64_t slab) {
  detail::ScatterAddAttrs a{1, rows, slab, offsets.num_elements()};
  return run_op(
      {.name = op,
       .inputs = {updates, offsets},
       .out = {Shape{rows, slab}, updates.dtype()},
       .kernel = [](Backend& b, const KernelArgs& k) { b.scatter_add(k); },
       .attrs = &a,
       .grad = is_floating(updates.dtype()) ? detail::GradFn([](const GradCall& g) -> GradList {
         return {reshape(gather(g.upstream(), g.input(1), 0), g.input(0).shape()), Tensor()};
       })
                                            : detail::GradFn()});
}

/// The int32 indices of each row's k first values (last axis), as the top_k kernel orders them.
Tensor top_k_indices(const char* op, const Tensor& x, int64_t k, bool ascending) {
  const int64_t n = x.shape()[x.rank() - 1];
  if (n > int64_t(std::numeric_limits<int32_t>::max()))
    fail<InvalidArgumentError>(
        op, "the last dimension of input ", x.shape(), " does not fit int32 indices");
  detail::TopKAttrs a{x.num_elements() / std::max<int64_t>(n, 1), n, k, ascending};
  if (n == 0) a.rows = product(x.shape(), 0, x.rank() - 1);
  std::vector<int64_t> out = x.shape().dims();
  out.back() = k;
  return run_op({.name = op,
                 .inputs = {x},
                 .out = {Shape(out), int32},
                 .kernel = [](Backend& b, const KernelArgs& kk) { b.top_k(kk); },
                 .attrs = &a});
}

/// x[..., idx[..., j]] along the last axis (idx int32, valid by construction). Differentiable
/// in x: dy is scatter-added back to the picked places.
Tensor take_rows(const Tensor& x, const Tensor& idx) {
  const int64_t n = x.shape()[x.rank() - 1], k = idx.shape()[idx.rank() - 1];
  const int64_t rows = product(x.shape(), 0, x.rank() - 1);
  detail::TakeRowsAttrs a{rows, n, k};
  detail::GradFn grad;
  if (is_floating(x.dtype()))
    grad = [rows, n, k](const GradCall& g) -> GradList {
      const Tensor& x = g.input(0);
      if (x.num_elements() == 0) return {zeros_like(x), Tensor()};
      Tensor row_start = reshape(range(int64_t(0), rows * n, n), Shape{rows, 1});
      Tensor flat =
          reshape(cast(reshape(g.input(1), Shape{rows, k}), int64) + row_start, Shape{rows * k});
      Tensor dx =
          scatter_rows("TopKV2Grad", reshape(g.upstream(), Shape{rows * k, 1}), flat, rows * n, 1);
      return {reshape(dx, x.shape()), Tensor()};
    };
  return run_op({.name = "TakeAlongAxis",
                 .inputs = {x, idx},
                 .out = {idx.shape(), x.dtype()},
                 .kernel = [](Backend& b, const KernelArgs& kk) { b.take_rows(kk); },
                 .attrs = &a,
                 .grad = std::move(grad)});
}

bool parse_direction(const char* op, const std::string& direction) {
  if (direction == "ASCENDING") return true;
  if (direction == "DESCENDING") return false;
  fail<InvalidArgumentError>(
      op, "direction should be one of ASCENDING, DESCENDING; got \"", direction, "\"");
}

/// {sorted values, int32 indices} of x along `axis`.
std::pair<Tensor, Tensor> sort_impl(
    const char* op, const Tensor& x, int axis, const std::string& direction, bool want_values) {
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, detail::Require::numeric);
  const bool ascending = parse_direction(op, direction);
  const int a = detail::canonical_axis(op, axis, x.rank());
  const int last = x.rank() - 1;
  Tensor xt = swap_axes(x, a, last);
  Tensor idx = top_k_indices(op, xt, xt.shape()[last], ascending);
  Tensor values = want_values ? swap_axes(take_rows(xt, idx), a, last) : Tensor();
  return {values, swap_axes(idx, a, last)};
}

// ---- nd indexing -----------------------------------------------------------------------------

/// Index tuples (the last axis of `indices`) into the leading `depth` axes of `shape`, as flat
/// row offsets (row-major over those axes); a tuple out of range is an InvalidArgumentError
/// naming it, as TF on CPU.
struct NdPlan {
  int depth = 0;
  int64_t num = 0;   // index tuples
  int64_t rows = 1;  // product of shape[:depth]
  int64_t slab = 1;  // product of shape[depth:]
  std::vector<int64_t> offsets;
};

NdPlan nd_plan(const char* op, const Tensor& indices, const Shape& shape, const char* shape_name) {
  detail::check_dtype(op, indices, detail::Require::integer);
  if (indices.rank() < 1)
    fail<InvalidArgumentError>(
        op, "indices must be at least a vector, got shape ", indices.shape());
  NdPlan p;
  const int64_t depth = indices.shape()[indices.rank() - 1];
  if (depth > shape.rank())
    fail<InvalidArgumentError>(op,
                               "index innermost dimension length must be <= ",
                               shape_name,
                               " rank; saw: ",
                               depth,
                               " vs. ",
                               shape.rank(),
                               " (indices ",
                               indices.shape(),
                               ", ",
                               shape_name,
                               " ",
                               shape,
                               ")");
  p.depth = int(depth);
  p.num = product(indices.shape(), 0, indices.rank() - 1);
  // Checked: an empty shape may have leading dims whose product overflows.
  for (int d = 0; d < p.depth; ++d)
    p.rows = detail::checked_mul(op, p.rows, shape[d], "the indexed dims' product");
  for (int d = p.depth; d < shape.rank(); ++d)
    p.slab = detail::checked_mul(op, p.slab, shape[d], "the slice dims' product");
  const std::vector<int64_t> v = indices.to_vector<int64_t>();
  std::vector<int64_t> lead = shape.dims();
  lead.resize(size_t(p.depth));
  const std::vector<int64_t> st = contiguous_strides(Shape(lead));
  // With depth 0 the indices hold no values, so an empty [H, 0] indices tensor can name H
  // slices: the offsets vector is refused like any tensor too large (found by fuzz_ops).
  detail::check_output(op, Shape{p.num}, DType::int64, Device{DeviceType::CPU, 0});
  p.offsets.resize(size_t(p.num));
  for (int64_t j = 0; j < p.num; ++j) {
    int64_t off = 0;
    for (int d = 0; d < p.depth; ++d) {
      const int64_t i = v[size_t(j * depth + d)];
      if (i < 0 || i >= shape[d]) {
        std::vector<int64_t> tuple(v.begin() + j * depth, v.begin() + (j + 1) * depth);
        fail<InvalidArgumentError>(op,
                                   "indices[",
                                   j,
                                   "] = ",
                                   detail::vec_str(tuple),
                                   " does not index into ",
                                   shape_name,
                                   " shape ",
                                   shape);
      }
      off += i * st[size_t(d)];
    }
    p.offsets[size_t(j)] = off;
  }
  return p;
}

Tensor offsets_tensor(const std::vector<int64_t>& offsets) {
  return constant(offsets, Shape{int64_t(offsets.size())});
}

/// Checks updates.shape == indices.shape[:-1] + shape[depth:].
void check_updates(const char* op,
                   const Tensor& indices,
                   const Tensor& updates,
                   const Shape& shape,
                   const NdPlan& p) {
  std::vector<int64_t> want = indices.shape().dims();
  want.pop_back();
  for (int d = p.depth; d < shape.rank(); ++d) want.push_back(shape[d]);
  if (updates.shape() != Shape(want))
    fail<InvalidArgumentError>(
        op,
        "updates must have shape indices.shape[:-1] + shape[indices.shape[-1]:] = ",
        Shape(want),
        ", got ",
        updates.shape(),
        " (indices ",
        indices.shape(),
        ", shape ",
        shape,
        ")");
}

// ---- strided_slice ---------------------------------------------------------------------------

struct SliceDim {
  int64_t start = 0, size = 1, step = 1;
};

}  // namespace

// ---- scans -----------------------------------------------------------------------------------

Tensor cumsum(const Tensor& x, int axis, CumulativeOptions options) {
  return scan("Cumsum", x, axis, options, false);
}
Tensor cumprod(const Tensor& x, int axis, CumulativeOptions options) {
  return scan("Cumprod", x, axis, options, true);
}

// ---- ordering --------------------------------------------------------------------------------

Tensor sort(const Tensor& x, int axis, const std::string& direction) {
  return sort_impl("Sort", x, axis, direction, true).first;
}

Tensor argsort(const Tensor& x, int axis, const std::string& direction, bool /*stable: always*/) {
  return sort_impl("ArgSort", x, axis, direction, false).second;
}

namespace math {
TopKResult top_k(const Tensor& x, int64_t k, bool /*sorted: always*/) {
  const char* op = "TopKV2";
  detail::check_defined(op, x, 0);
  detail::check_dtype(op, x, detail::Require::numeric);
  if (x.rank() < 1)
    fail<InvalidArgumentError>(op, "input must be at least 1-D, got shape ", x.shape());
  if (k < 0) fail<InvalidArgumentError>(op, "Need k >= 0, got ", k);
  const int64_t n = x.shape()[x.rank() - 1];
  if (k > n)
    fail<InvalidArgumentError>(op,
                               "input must have at least k columns. Had ",
                               n,
                               ", needed ",
                               k,
                               " (input ",
                               x.shape(),
                               ")");
  Tensor idx = top_k_indices(op, x, k, false);
  return {take_rows(x, idx), idx};
}
}  // namespace math

// ---- nd indexing -----------------------------------------------------------------------------

Tensor gather_nd(const Tensor& params, const Tensor& indices) {
  const char* op = "GatherNd";
  detail::check_defined(op, params, 0);
  detail::check_defined(op, indices, 1);
  NdPlan p = nd_plan(op, indices, params.shape(), "param");
  std::vector<int64_t> out = indices.shape().dims();
  out.pop_back();
  for (int d = p.depth; d < params.rank(); ++d) out.push_back(params.shape()[d]);
  detail::checked_num_elements(op, Shape(out));
  // [rows, slab] rows picked by flat offset: GatherV2's kernel, and its scatter-add gradient.
  Tensor picked = gather(reshape(params, Shape{p.rows, p.slab}), offsets_tensor(p.offsets), 0);
  return reshape(picked, Shape(out));
}

Tensor scatter_nd(const Tensor& indices, const Tensor& updates, const Shape& shape) {
  const char* op = "ScatterNd";
  detail::check_defined(op, indices, 0);
  detail::check_defined(op, updates, 1);
  detail::check_dtype(op, updates, detail::Require::numeric);
  for (int64_t d : shape)
    if (d < 0) fail<InvalidArgumentError>(op, "shape must have non-negative dims, got ", shape);
  detail::checked_num_elements(op, shape);
  NdPlan p = nd_plan(op, indices, shape, "output");
  check_updates(op, indices, updates, shape, p);
  Tensor out = scatter_rows(
      op, reshape(updates, Shape{p.num, p.slab}), offsets_tensor(p.offsets), p.rows, p.slab);
  return reshape(out, shape);
}

Tensor tensor_scatter_nd_add(const Tensor& tensor, const Tensor& indices, const Tensor& updates) {
  const char* op = "TensorScatterAdd";
  detail::check_defined(op, tensor, 0);
  detail::check_defined(op, indices, 1);
  detail::check_defined(op, updates, 2);
  detail::check_dtype(op, tensor, detail::Require::numeric);
  detail::check_same_dtype(op, {tensor, updates});
  NdPlan p = nd_plan(op, indices, tensor.shape(), "tensor");
  check_updates(op, indices, updates, tensor.shape(), p);
  Tensor added = scatter_rows(
      op, reshape(updates, Shape{p.num, p.slab}), offsets_tensor(p.offsets), p.rows, p.slab);
  return tensor + reshape(added, tensor.shape());
}

Tensor tensor_scatter_nd_update(const Tensor& tensor,
                                const Tensor& indices,
                                const Tensor& updates) {
  const char* op = "TensorScatterUpdate";
  detail::check_defined(op, tensor, 0);
  detail::check_defined(op, indices, 1);
  detail::check_defined(op, updates, 2);
  detail::check_dtype(op, tensor, detail::Require::numeric);
  detail::check_same_dtype(op, {tensor, updates});
  NdPlan p = nd_plan(op, indices, tensor.shape(), "tensor");
  check_updates(op, indices, updates, tensor.shape(), p);
  if (p.rows == 0 || p.slab == 0) return identity(tensor);  // nothing to write
  // Of duplicate offsets the last update wins: keep only those, then select them over tensor.
  std::vector<char> hit(size_t(p.rows), 0);
  std::vector<int64_t> keep, kept_offsets;
  for (int64_t j = p.num - 1; j >= 0; --j) {
    const int64_t off = p.offsets[size_t(j)];
    if (hit[size_t(off)]) continue;
    hit[size_t(off)] = 1;
    keep.push_back(j);
  }
  std::reverse(keep.begin(), keep.end());
  for (int64_t j : keep) kept_offsets.push_back(p.offsets[size_t(j)]);
  Tensor rows = reshape(updates, Shape{p.num, p.slab});
  if (int64_t(keep.size()) != p.num) rows = gather(rows, offsets_tensor(keep), 0);
  Tensor placed = scatter_rows(op, rows, offsets_tensor(kept_offsets), p.rows, p.slab);
  std::vector<bool> mask(hit.begin(), hit.end());
  Tensor m = constant(mask, Shape{p.rows, 1});
  return reshape(where(m, placed, reshape(tensor, Shape{p.rows, p.slab})), tensor.shape());
}

// ---- masks -----------------------------------------------------------------------------------

Tensor where(const Tensor& cond) {
  const char* op = "Where";
  detail::check_defined(op, cond, 0);
  const std::vector<double> v = cond.to_vector<double>();
  const int r = cond.rank();
  std::vector<int64_t> coords;
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0)  // NaN is non-zero: true, as TF
      coords.insert(coords.end(), idx.begin(), idx.end());
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < cond.shape()[d]) break;
      idx[size_t(d)] = 0;
    }
  }
  const int64_t num_true =
      r == 0 ? int64_t(v.size() == 1 && v[0] != 0.0) : int64_t(coords.size()) / r;
  return constant(coords, Shape{num_true, int64_t(r)});
}

Tensor boolean_mask(const Tensor& tensor, const Tensor& mask, int axis) {
  const char* op = "BooleanMask";
  detail::check_defined(op, tensor, 0);
  detail::check_defined(op, mask, 1);
  detail::check_dtype(op, mask, detail::Require::boolean);
  const int mr = mask.rank();
  if (mr == 0) fail<InvalidArgumentError>(op, "mask cannot be scalar");
  if (axis < 0) axis += tensor.rank();
  if (axis < 0 || int64_t(axis) + mr > tensor.rank())  // int64: axis may be INT_MAX
    fail<InvalidArgumentError>(
        op, "axis ", axis, " and mask ", mask.shape(), " do not fit tensor ", tensor.shape());
  for (int d = 0; d < mr; ++d)
    if (tensor.shape()[axis + d] != mask.shape()[d])
      fail<InvalidArgumentError>(op,
                                 "Shapes ",
                                 tensor.shape(),
                                 " and ",
                                 mask.shape(),
                                 " are incompatible: mask must match tensor.shape[",
                                 axis,
                                 ":",
                                 axis + mr,
                                 "]");
  std::vector<int64_t> dims;
  for (int d = 0; d < axis; ++d) dims.push_back(tensor.shape()[d]);
  dims.push_back(mask.num_elements());
  for (int d = axis + mr; d < tensor.rank(); ++d) dims.push_back(tensor.shape()[d]);
  const std::vector<bool> m = mask.to_vector<bool>();
  std::vector<int64_t> picked;
  for (size_t i = 0; i < m.size(); ++i)
    if (m[i]) picked.push_back(int64_t(i));
  return gather(reshape(tensor, Shape(dims)), offsets_tensor(picked), axis);
}

// ---- unique ----------------------------------------------------------------------------------

UniqueResult unique(const Tensor& x) {
  const char* op = "Unique";
  detail::check_defined(op, x, 0);
  if (x.rank() != 1)
    fail<InvalidArgumentError>(op, "unique expects a 1D vector, got shape ", x.shape());
  if (x.num_elements() > int64_t(std::numeric_limits<int32_t>::max()))
    fail<InvalidArgumentError>(
        op, "input of ", x.num_elements(), " elements does not fit int32 indices");
  UniqueResult r;
  detail::dispatch_all(x.dtype(), [&]<class T>() {
    const std::vector<T> v = x.to_vector<T>();
    std::vector<T> y;
    std::vector<int32_t> idx(v.size());
    std::unordered_map<T, int32_t>
        seen;  // NaN never equals itself: each NaN is its own value, as TF
    seen.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      T key = v[i];
      if constexpr (std::is_floating_point_v<T>)
        if (key == T(0)) key = T(0);  // -0 and +0 hash alike
      auto [it, fresh] = seen.try_emplace(key, int32_t(y.size()));
      if (fresh) y.push_back(v[i]);
      idx[i] = it->second;
    }
    r.y = constant(y, Shape{int64_t(y.size())});
    r.idx = constant(idx, Shape{int64_t(idx.size())});
  });
  return r;
}

// ---- strided_slice ---------------------------------------------------------------------------

Tensor strided_slice(const Tensor& x,
                     const std::vector<int64_t>& begin,
                     const std::vector<int64_t>& end,
                     const std::vector<int64_t>& strides_in,
                     StridedSliceOptions o) {
  const char* op = "StridedSlice";
  detail::check_defined(op, x, 0);
  std::vector<int64_t> strides =
      strides_in.empty() ? std::vector<int64_t>(begin.size(), 1) : strides_in;
  if (end.size() != begin.size() || strides.size() != begin.size())
    fail<InvalidArgumentError>(
        op,
        "Expected begin, end, and strides to be 1D equal size tensors, but got shapes (",
        begin.size(),
        ",), (",
        end.size(),
        ",), and (",
        strides.size(),
        ",) instead");
  const int n = int(begin.size());
  if (n > 62) fail<InvalidArgumentError>(op, "at most 62 slice entries are supported, got ", n);
  auto bit = [](int64_t mask, int i) { return ((uint64_t(mask) >> i) & 1u) != 0; };
  int ellipses = 0, consuming = 0;
  for (int i = 0; i < n; ++i) {
    if (bit(o.ellipsis_mask, i))
      ++ellipses;
    else if (!bit(o.new_axis_mask, i))
      ++consuming;
  }
  if (ellipses > 1) fail<InvalidArgumentError>(op, "Multiple ellipses in slice spec not allowed");
  const int r = x.rank();
  if (consuming > r)
    fail<InvalidArgumentError>(op,
                               "Index out of range using input dim ",
                               r,
                               "; input has only ",
                               r,
                               " dims (shape ",
                               x.shape(),
                               ", ",
                               consuming,
                               " slice entries)");
  // Walk the spec (an implicit ellipsis at its end) into one SliceDim per input axis and the
  // final shape: new axes add a 1, shrunk axes drop out.
  std::vector<SliceDim> dims(static_cast<size_t>(r));
  std::vector<int64_t> final_shape;
  int d = 0;
  auto full_axis = [&](int axis) {
    dims[size_t(axis)] = {0, x.shape()[axis], 1};
    final_shape.push_back(x.shape()[axis]);
  };
  for (int i = 0; i < n; ++i) {
    if (bit(o.ellipsis_mask, i)) {
      for (int k = 0; k < r - consuming; ++k) full_axis(d++);
      continue;
    }
    if (bit(o.new_axis_mask, i)) {
      final_shape.push_back(1);
      continue;
    }
    const int64_t dim = x.shape()[d];
    const int64_t b = begin[size_t(i)], e = end[size_t(i)], s = strides[size_t(i)];
    if (s == 0) fail<InvalidArgumentError>(op, "strides[", i, "] must be non-zero");
    SliceDim& sd = dims[size_t(d)];
    if (bit(o.shrink_axis_mask, i)) {
      const int64_t at = b < 0 ? b + dim : b;
      if (at < 0 || at >= dim)
        fail<InvalidArgumentError>(
            op, "slice index ", b, " of dimension ", d, " out of bounds (shape ", x.shape(), ")");
      sd = {at, 1, 1};
    } else {
      // Python's slice rules: clamp into the axis; a backwards walk may stop before index 0.
      auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
        if (v < 0) v += dim;
        return std::clamp(v, lo, hi);
      };
      int64_t start, stop;
      if (s > 0) {
        start = bit(o.begin_mask, i) ? 0 : clamp(b, 0, dim);
        stop = bit(o.end_mask, i) ? dim : clamp(e, 0, dim);
      } else {
        start = bit(o.begin_mask, i) ? dim - 1 : clamp(b, -1, dim - 1);
        stop = bit(o.end_mask, i) ? -1 : clamp(e, -1, dim - 1);
      }
      const uint64_t diff = s > 0 ? uint64_t(stop - start) : uint64_t(start - stop);
      const uint64_t step = s > 0 ? uint64_t(s) : uint64_t(0) - uint64_t(s);
      const bool empty = s > 0 ? stop <= start : start <= stop;
      sd = {start, empty ? 0 : int64_t(1 + (diff - 1) / step), s};
      final_shape.push_back(sd.size);
    }
    ++d;
  }
  while (d < r) full_axis(d++);
  // One strided copy over the input's axes (shrunk ones of size 1), then the final shape.
  const std::vector<int64_t> st = contiguous_strides(x.shape());
  detail::StridedCopyAttrs a;
  std::vector<int64_t> copy_shape(static_cast<size_t>(r));
  bool any_empty = false;
  for (int i = 0; i < r; ++i) {
    const SliceDim& sd = dims[size_t(i)];
    copy_shape[size_t(i)] = sd.size;
    any_empty = any_empty || sd.size == 0;
    // Wrapping products: on an empty result (reset below) strides of huge empty axes may
    // overflow (fuzz_ops); on a non-empty one every product is below the element count.
    a.src_strides.push_back(sd.size > 1 ? detail::mul_dims(st[size_t(i)], sd.step) : 0);
    a.src_offset = int64_t(uint64_t(a.src_offset) +
                           uint64_t(sd.size > 0 ? detail::mul_dims(sd.start, st[size_t(i)]) : 0));
  }
  if (any_empty) a.src_offset = 0;
  detail::GradFn grad;
  if (is_floating(x.dtype()))
    grad = [dims, st](const GradCall& g) -> GradList {
      // dy goes back to the elements it was copied from: a scatter of its rows by offset.
      const Tensor& x = g.input(0);
      std::vector<int64_t> offsets;
      const int r = x.rank();
      const int64_t total = g.upstream().num_elements();
      offsets.reserve(size_t(total));
      std::vector<int64_t> idx(static_cast<size_t>(r), 0);
      for (int64_t t = 0; t < total; ++t) {
        int64_t off = 0;
        for (int i = 0; i < r; ++i)
          off += (dims[size_t(i)].start + idx[size_t(i)] * dims[size_t(i)].step) * st[size_t(i)];
        offsets.push_back(off);
        for (int i = r - 1; i >= 0; --i) {
          if (++idx[size_t(i)] < dims[size_t(i)].size) break;
          idx[size_t(i)] = 0;
        }
      }
      Tensor dx = scatter_rows("StridedSliceGrad",
                               reshape(g.upstream(), Shape{total, 1}),
                               offsets_tensor(offsets),
                               x.num_elements(),
                               1);
      return {reshape(dx, x.shape())};
    };
  Tensor y = run_op({.name = op,
                     .inputs = {x},
                     .out = {Shape(copy_shape), x.dtype()},
                     .kernel = [](Backend& b, const KernelArgs& k) { b.strided_copy(k); },
                     .attrs = &a,
                     .grad = std::move(grad)});
  return reshape(y, Shape(final_shape));
}

}  // namespace tapeflow
