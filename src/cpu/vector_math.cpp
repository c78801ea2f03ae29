#include "cpu/vector_math.hpp"

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "backend/elementwise_ops.hpp"

namespace tapeflow::cpu::vec {
namespace {

using FloatBatch = xsimd::batch<float>;
using DoubleBatch = xsimd::batch<double>;
constexpr int64_t kChunk = int64_t(FloatBatch::size);  // elements per step, all three functions
static_assert(kChunk % int64_t(DoubleBatch::size) == 0);

/// Copies chunk [i, i + m) of the operand at p with stride s (0 or 1) to buf, padding the rest
/// of the chunk with `pad` so that the vector code always runs on whole batches.
template <class T, class B>
void load_chunk(const T* p, int64_t s, int64_t i, int64_t m, B pad, B* buf) {
  for (int64_t j = 0; j < kChunk; ++j) buf[j] = j < m ? B(p[(i + j) * s]) : pad;
}

template <class T>
void atan2_span(const T* y, int64_t sy, const T* x, int64_t sx, T* o, int64_t n) {
  using Batch = xsimd::batch<T>;
  constexpr int64_t w = int64_t(Batch::size);
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    alignas(64) T a[kChunk], b[kChunk], r[kChunk];
    load_chunk(y, sy, i, m, T(1), a);
    load_chunk(x, sx, i, m, T(1), b);
    bool special = false;
    for (int64_t j = 0; j < kChunk; j += w) {
      const Batch va = Batch::load_aligned(a + j), vb = Batch::load_aligned(b + j);
      xsimd::atan2(va, vb).store_aligned(r + j);
      special |= xsimd::any(~(xsimd::isfinite(va) & xsimd::isfinite(vb)) |
                            ((va == Batch(T(0))) & (vb == Batch(T(0)))));
    }
    if (special)  // IEEE's cases for ±0, ±inf and NaN operands, as glibc gives them
      for (int64_t j = 0; j < m; ++j)
        if (!(std::isfinite(a[j]) && std::isfinite(b[j])) || (a[j] == 0 && b[j] == 0))
          r[j] = std::atan2(a[j], b[j]);
    std::copy_n(r, m, o + i);
  }
}

}  // namespace

void erfc(const float* x, float* y, int64_t n) {
  constexpr int64_t w = int64_t(DoubleBatch::size);
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    alignas(64) double d[kChunk];
    load_chunk(x, 1, i, m, 0.0, d);
    for (int64_t j = 0; j < kChunk; j += w)
      xsimd::erfc(DoubleBatch::load_aligned(d + j)).store_aligned(d + j);
    for (int64_t j = 0; j < m; ++j) y[i + j] = float(d[j]);
  }
}

void atan2(const float* y, int64_t sy, const float* x, int64_t sx, float* o, int64_t n) {
  atan2_span(y, sy, x, sx, o, n);
}
void atan2(const double* y, int64_t sy, const double* x, int64_t sx, double* o, int64_t n) {
  atan2_span(y, sy, x, sx, o, n);
}

void floormod(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  constexpr int64_t w = int64_t(DoubleBatch::size);
  const DoubleBatch limit(268435456.0);  // 2^28: below it the double quotient truncates exactly
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    alignas(64) double da[kChunk], db[kChunk], r[kChunk], ok[kChunk];
    load_chunk(a, sa, i, m, 0.0, da);
    load_chunk(b, sb, i, m, 1.0, db);
    for (int64_t j = 0; j < kChunk; j += w) {
      const DoubleBatch va = DoubleBatch::load_aligned(da + j);
      const DoubleBatch vb = DoubleBatch::load_aligned(db + j);
      const DoubleBatch q = xsimd::trunc(va / vb);
      // fmod: exact here (q·b fits 52 bits, and the difference is a float); its zero takes
      // a's sign, as fmod's does.
      xsimd::copysign(va - q * vb, va).store_aligned(r + j);
      const auto good = (vb != DoubleBatch(0.0)) & xsimd::isfinite(va) & xsimd::isfinite(vb) &
                        (xsimd::abs(q) < limit);
      xsimd::select(good, DoubleBatch(1.0), DoubleBatch(0.0)).store_aligned(ok + j);
    }
    for (int64_t j = 0; j < m; ++j) {
      const float fa = float(da[j]), fb = float(db[j]);
      if (ok[j] != 0.0) {
        const float rf = float(r[j]);  // exact: fmod(a, b) is a float
        o[i + j] = (rf != 0 && ((fb < 0) != (rf < 0))) ? rf + fb : rf;
      } else {
        o[i + j] = detail::ops::FloorMod{}(fa, fb);
      }
    }
  }
}

}  // namespace tapeflow::cpu::vec
