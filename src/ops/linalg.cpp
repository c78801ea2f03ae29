#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::Backend;
using detail::fail;
using detail::GradCall;
using detail::GradList;
using detail::KernelArgs;

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  const char* op =
      a.defined() && b.defined() && (a.rank() > 2 || b.rank() > 2) ? "BatchMatMulV2" : "MatMul";
  detail::check_same_dtype(op, {a, b});
  detail::check_dtype(op, a, detail::Require::numeric);
  if (a.rank() < 2 || b.rank() < 2)
    fail<InvalidArgumentError>(op,
                               "In[0] and In[1] must be at least rank 2 (matrices), got shapes ",
                               a.shape(),
                               " and ",
                               b.shape());
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const int64_t m = transpose_a ? sa[sa.rank() - 1] : sa[sa.rank() - 2];
  const int64_t ka = transpose_a ? sa[sa.rank() - 2] : sa[sa.rank() - 1];
  const int64_t kb = transpose_b ? sb[sb.rank() - 1] : sb[sb.rank() - 2];
  const int64_t n = transpose_b ? sb[sb.rank() - 2] : sb[sb.rank() - 1];
  if (ka != kb)
    fail<InvalidArgumentError>(op,
                               "Matrix size-incompatible: In[0]: ",
                               sa,
                               ", In[1]: ",
                               sb,
                               (transpose_a ? " (transpose_a)" : ""),
                               (transpose_b ? " (transpose_b)" : ""));
  Shape batch_a(sa.data(), size_t(sa.rank() - 2)), batch_b(sb.data(), size_t(sb.rank() - 2));
  Shape batch = detail::broadcast_shapes(op, batch_a, batch_b);
  Tensor A = a, B = b;
  const int64_t nb = batch.num_elements();
  int64_t stride_a = detail::mul_dims(m, ka), stride_b = detail::mul_dims(ka, n);
  // A single matrix on one side is shared by every batch (stride 0); other mismatches are
  // materialised by broadcast_to.
  auto fit = [&](Tensor& t, const Shape& own, int64_t& stride) {
    if (own == batch) return;
    if (own.num_elements() == 1) {
      stride = 0;
      return;
    }
    std::vector<int64_t> d = batch.dims();
    d.push_back(t.shape()[t.rank() - 2]);
    d.push_back(t.shape()[t.rank() - 1]);
    t = broadcast_to(t, Shape(d));
  };
  fit(A, batch_a, stride_a);
  fit(B, batch_b, stride_b);
  detail::MatMulAttrs attrs{nb, m, n, ka, transpose_a, transpose_b, stride_a, stride_b};
  std::vector<int64_t> out = batch.dims();
  out.push_back(m);
  out.push_back(n);
  if (ka == 0) {
    Tensor z = zeros(Shape(out), a.dtype());
    return z;
  }
  detail::GradFn grad;
  if (is_floating(a.dtype()))
    grad = [transpose_a, transpose_b](const GradCall& g) -> GradList {
      // C = op(A) op(B); the four cases of TF's _MatMulGrad.
      const Tensor& x = g.input(0);
      const Tensor& y = g.input(1);
      const Tensor& dc = g.upstream();
      Tensor da, db;
      if (!transpose_a && !transpose_b) {
        if (g.needs(0)) da = matmul(dc, y, false, true);
        if (g.needs(1)) db = matmul(x, dc, true, false);
      } else if (!transpose_a && transpose_b) {
        if (g.needs(0)) da = matmul(dc, y, false, false);
        if (g.needs(1)) db = matmul(dc, x, true, false);
      } else if (transpose_a && !transpose_b) {
        if (g.needs(0)) da = matmul(y, dc, false, true);
        if (g.needs(1)) db = matmul(x, dc, false, false);
      } else {
        if (g.needs(0)) da = matmul(y, dc, true, true);
        if (g.needs(1)) db = matmul(dc, x, true, true);
      }
      return {da.defined() ? detail::unbroadcast(da, x.shape()) : da,
              db.defined() ? detail::unbroadcast(db, y.shape()) : db};
    };
  return detail::run_op({.name = op,
                         .inputs = {A, B},
                         .out = {Shape(out), a.dtype()},
                         .kernel = [](Backend& be, const KernelArgs& k) { be.matmul(k); },
                         .attrs = &attrs,
                         .grad = std::move(grad),
                         .saves = detail::saves::cross});
}

}  // namespace tapeflow
