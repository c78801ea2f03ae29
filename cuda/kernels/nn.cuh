#pragma once

// Sliding windows over NHWC images (Conv2DAttrs): im2col / col2im and the pools with their
// gradients. One thread per element of the array written, so nothing needs atomics: the
// adjoints (col2im, the pool gradients) *gather* from every window that covers an image
// element, in the CPU's order (window rows, then columns), and so give the CPU's sums bit for
// bit. Max pooling takes each window's *first* maximum (strict >), as the CPU does.

#include "common.cuh"
#include "core/window.hpp"

namespace tapeflow::cuda::kern {

using detail::Conv2DAttrs;

/// The windows covering image coordinate `i` on one axis: outputs [lo, hi] (empty if lo > hi).
struct Cover {
  int64_t lo, hi;
};
TF_HD inline Cover covering(int64_t i, int64_t pad, int64_t k, int64_t s, int64_t out) {
  // o covers i when o·s − pad ≤ i < o·s − pad + k.
  int64_t lo = floor_div(i + pad - k, s) + 1, hi = floor_div(i + pad, s);
  if (lo < 0) lo = 0;
  if (hi > out - 1) hi = out - 1;
  return {lo, hi};
}
/// The taps of a window inside the image: the CPU's own clipping (core/window.hpp).
using detail::Span;
using detail::valid_span;

/// Pixel index (iy·w + ix) of the first maximum of channel c in window (oy, ox) of `img`
/// (image n's first element); −1 for a window with no valid cell (SAME never makes one).
template <class T>
TF_HD inline int64_t window_argmax(
    const T* img, const Conv2DAttrs& a, int64_t oy, int64_t ox, int64_t c) {
  const int64_t y0 = oy * a.sh - a.pad_top, x0 = ox * a.sw - a.pad_left;
  const Span ty = valid_span(y0, a.kh, a.h), tx = valid_span(x0, a.kw, a.w);
  int64_t at = -1;
  T best = T(0);
  for (int64_t ky = ty.k0; ky < ty.k1; ++ky)
    for (int64_t kx = tx.k0; kx < tx.k1; ++kx) {
      const int64_t pix = (y0 + ky) * a.w + x0 + kx;
      const T v = img[pix * a.c + c];
      if (at < 0 || v > best) {  // strict: the first maximum wins ties
        best = v;
        at = pix;
      }
    }
  return at;
}

/// cols[n·oh·ow, kh·kw·c]: the window's cells, zeros where it hangs over the image.
template <class T>
struct Im2Col {
  const T* x;
  T* col;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const int64_t row_len = a.kh * a.kw * a.c;
    const int64_t row = t / row_len, q = t - row * row_len;
    const int64_t ky = q / (a.kw * a.c), r2 = q - ky * (a.kw * a.c), kx = r2 / a.c,
                  c = r2 - kx * a.c;
    const int64_t n = row / (a.oh * a.ow), p = row - n * (a.oh * a.ow), oy = p / a.ow,
                  ox = p - oy * a.ow;
    const int64_t iy = oy * a.sh - a.pad_top + ky * a.dh, ix = ox * a.sw - a.pad_left + kx * a.dw;
    const bool inside = iy >= 0 && iy < a.h && ix >= 0 && ix < a.w;
    col[t] = inside ? x[((n * a.h + iy) * a.w + ix) * a.c + c] : T(0);
  }
};

/// Decomposes an index of the image [n, h, w, c], with the windows covering it on each axis
/// (the adjoint kernels gather over them).
struct ImageCell {
  int64_t n, iy, ix, c;
  Cover cy, cx;
};
TF_HD inline ImageCell image_cell(int64_t t, const Conv2DAttrs& a) {
  const int64_t c = t % a.c, pix = t / a.c, ix = pix % a.w, r = pix / a.w, iy = r % a.h,
                n = r / a.h;
  return {n,
          iy,
          ix,
          c,
          covering(iy, a.pad_top, a.kh, a.sh, a.oh),
          covering(ix, a.pad_left, a.kw, a.sw, a.ow)};
}

/// Image element (n, iy, ix, c) of the adjoint: the sum of its copies in every window.
template <class T>
struct Col2Im {
  const T* col;
  T* x;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    if (a.dh != 1 || a.dw != 1) return dilated(t);
    const auto [n, iy, ix, c, cy, cx] = image_cell(t, a);
    const int64_t row_len = a.kh * a.kw * a.c;
    T s = T(0);
    for (int64_t oy = cy.lo; oy <= cy.hi; ++oy) {
      const int64_t ky = iy - (oy * a.sh - a.pad_top);
      for (int64_t ox = cx.lo; ox <= cx.hi; ++ox) {
        const int64_t kx = ix - (ox * a.sw - a.pad_left);
        s += col[((n * a.oh + oy) * a.ow + ox) * row_len + (ky * a.kw + kx) * a.c + c];
      }
    }
    x[t] = s;
  }
  /// Dilated windows: tap ky covers row iy from window oy = (iy + pad_top − ky·dh) / sh when
  /// that divides; taps in descending order visit the windows in ascending (CPU) order.
  TF_HD void dilated(int64_t t) const {
    const int64_t c = t % a.c, pix = t / a.c, ix = pix % a.w, r = pix / a.w, iy = r % a.h,
                  n = r / a.h;
    const int64_t row_len = a.kh * a.kw * a.c;
    T s = T(0);
    for (int64_t ky = a.kh - 1; ky >= 0; --ky) {
      const int64_t ty = iy + a.pad_top - ky * a.dh;
      if (ty < 0 || ty % a.sh != 0 || ty / a.sh >= a.oh) continue;
      const int64_t oy = ty / a.sh;
      for (int64_t kx = a.kw - 1; kx >= 0; --kx) {
        const int64_t tx = ix + a.pad_left - kx * a.dw;
        if (tx < 0 || tx % a.sw != 0 || tx / a.sw >= a.ow) continue;
        const int64_t ox = tx / a.sw;
        s += col[((n * a.oh + oy) * a.ow + ox) * row_len + (ky * a.kw + kx) * a.c + c];
      }
    }
    x[t] = s;
  }
};

/// Decomposes an index of [n, oh, ow, c].
struct PooledIndex {
  int64_t n, oy, ox, c;
};
TF_HD inline PooledIndex pooled_index(int64_t t, const Conv2DAttrs& a) {
  const int64_t c = t % a.c, p = t / a.c, ox = p % a.ow, r = p / a.ow, oy = r % a.oh, n = r / a.oh;
  return {n, oy, ox, c};
}

/// y (n, oy, ox, c): the window's first maximum (0 for a window with no valid cell).
template <class T>
struct MaxPool {
  const T* x;
  T* y;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const PooledIndex p = pooled_index(t, a);
    const T* img = x + p.n * a.h * a.w * a.c;
    const int64_t at = window_argmax(img, a, p.oy, p.ox, p.c);  // the value at the first maximum
    y[t] = at < 0 ? T(0) : img[at * a.c + p.c];
  }
};

/// dx (n, iy, ix, c): dy of every window whose first maximum is this element, in window order.
template <class T>
struct MaxPoolGrad {
  const T* x;
  const T* dy;
  T* dx;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const auto [n, iy, ix, c, cy, cx] = image_cell(t, a);
    const T* img = x + n * a.h * a.w * a.c;
    const int64_t here = iy * a.w + ix;
    T s = T(0);
    for (int64_t oy = cy.lo; oy <= cy.hi; ++oy)
      for (int64_t ox = cx.lo; ox <= cx.hi; ++ox)
        if (window_argmax(img, a, oy, ox, c) == here)
          s += dy[((n * a.oh + oy) * a.ow + ox) * a.c + c];
    dx[t] = s;
  }
};

/// out (n, oy, ox, c) = ddx at the window's first maximum.
template <class T>
struct MaxPoolGradGrad {
  const T* x;
  const T* ddx;
  T* y;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const PooledIndex p = pooled_index(t, a);
    const int64_t image = a.h * a.w * a.c;
    const int64_t at = window_argmax(x + p.n * image, a, p.oy, p.ox, p.c);
    y[t] = at < 0 ? T(0) : ddx[p.n * image + at * a.c + p.c];
  }
};

/// Mean over the window's cells inside the image (as TF: padding is not counted).
template <class T>
struct AvgPool {
  const T* x;
  T* y;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const PooledIndex p = pooled_index(t, a);
    const T* img = x + p.n * a.h * a.w * a.c;
    const int64_t y0 = p.oy * a.sh - a.pad_top, x0 = p.ox * a.sw - a.pad_left;
    const Span ty = valid_span(y0, a.kh, a.h), tx = valid_span(x0, a.kw, a.w);
    T s = T(0);
    for (int64_t ky = ty.k0; ky < ty.k1; ++ky)
      for (int64_t kx = tx.k0; kx < tx.k1; ++kx) s += img[((y0 + ky) * a.w + x0 + kx) * a.c + p.c];
    const T inv = T(1) / T((ty.k1 - ty.k0) * (tx.k1 - tx.k0));
    y[t] = mul_rn(s, inv);
  }
};

/// dx (n, iy, ix, c): each covering window's dy over its valid-cell count, in window order.
template <class T>
struct AvgPoolGrad {
  const T* dy;
  T* dx;
  Conv2DAttrs a;
  TF_HD void operator()(int64_t t) const {
    const auto [n, iy, ix, c, cy, cx] = image_cell(t, a);
    T s = T(0);
    for (int64_t oy = cy.lo; oy <= cy.hi; ++oy) {
      const Span ty = valid_span(oy * a.sh - a.pad_top, a.kh, a.h);
      for (int64_t ox = cx.lo; ox <= cx.hi; ++ox) {
        const Span tx = valid_span(ox * a.sw - a.pad_left, a.kw, a.w);
        const T inv = T(1) / T((ty.k1 - ty.k0) * (tx.k1 - tx.k0));
        s = add_rn(s, mul_rn(dy[((n * a.oh + oy) * a.ow + ox) * a.c + c], inv));
      }
    }
    dx[t] = s;
  }
};

// ---- plans --------------------------------------------------------------------------------------

/// Runs F<T> over every element of out; F takes (in0, out) or, with two inputs, (in0, in1, out).
template <template <class> class F, int Inputs, class Exec>
void window_kernel(const KernelArgs& k, const Exec& ex) {
  const auto& a = k.attr<Conv2DAttrs>();
  const int64_t n = k.out().size();
  if (a.c == 0 || n == 0) return;
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    if constexpr (Inputs == 2)
      ex.for_each(n, F<T>{k.in(0).as<const T>(), k.in(1).as<const T>(), k.out().as<T>(), a});
    else
      ex.for_each(n, F<T>{k.in(0).as<const T>(), k.out().as<T>(), a});
  });
}

template <class Exec>
void im2col(const KernelArgs& k, const Exec& ex) {
  window_kernel<Im2Col, 1>(k, ex);
}
template <class Exec>
void col2im(const KernelArgs& k, const Exec& ex) {
  window_kernel<Col2Im, 1>(k, ex);
}
template <class Exec>
void max_pool2d(const KernelArgs& k, const Exec& ex) {
  window_kernel<MaxPool, 1>(k, ex);
}
template <class Exec>
void max_pool2d_grad(const KernelArgs& k, const Exec& ex) {
  window_kernel<MaxPoolGrad, 2>(k, ex);
}
template <class Exec>
void max_pool2d_grad_grad(const KernelArgs& k, const Exec& ex) {
  window_kernel<MaxPoolGradGrad, 2>(k, ex);
}
template <class Exec>
void avg_pool2d(const KernelArgs& k, const Exec& ex) {
  window_kernel<AvgPool, 1>(k, ex);
}
template <class Exec>
void avg_pool2d_grad(const KernelArgs& k, const Exec& ex) {
  window_kernel<AvgPoolGrad, 1>(k, ex);
}

}  // namespace tapeflow::cuda::kern
