// Sliding-window kernels over NHWC images: im2col / col2im (the two halves of conv2d and its
// gradients) and max / average pooling with their gradients. Channels are innermost, so for a
// fixed output pixel and window row the valid window columns are one contiguous run of
// (columns × C) elements: each kernel moves whole runs, never single elements.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dispatch.hpp"
#include "core/window.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/parallel.hpp"

namespace tapeflow::cpu {
namespace {

using detail::Conv2DAttrs;

/// Items of work per parallel task below which a kernel stays on the calling thread.
constexpr int64_t kWindowGrain = int64_t(1) << 15;

using detail::Span;
using detail::valid_span;  // a window's taps inside the image (core/window.hpp)

template <class T>
inline void copy_run(T* dst, const T* src, int64_t n) {
  if (n <= 16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, size_t(n) * sizeof(T));
  }
}

template <class T>
inline void add_run(T* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

/// Grain (in parallel_for items) so that each task does at least kWindowGrain element moves.
inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kWindowGrain / std::max<int64_t>(1, work_per_item));
}

/// The forward walk shared by the pools: for each output pixel (rows split over threads),
/// visit(o, for_each_cell, cells) with o its C outputs, for_each_cell(f) calling f(p) for the
/// C-run p of every window cell inside the image, and cells their count.
template <class T, class Visit>
void pool_windows(const Conv2DAttrs& a, const T* x, T* out, Visit&& visit) {
  const int64_t C = a.c;
  parallel_for(a.n * a.oh, grain_for(a.ow * a.kh * a.kw * C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / a.oh, oy = r % a.oh;
      const T* img = x + n * a.h * a.w * C;
      const int64_t y0 = oy * a.sh - a.pad_top;
      const Span sy = valid_span(y0, a.kh, a.h);
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        const int64_t x0 = ox * a.sw - a.pad_left;
        const Span sx = valid_span(x0, a.kw, a.w);
        auto for_each_cell = [&](auto&& f) {
          for (int64_t ky = sy.k0; ky < sy.k1; ++ky)
            for (int64_t kx = sx.k0; kx < sx.k1; ++kx) f(img + ((y0 + ky) * a.w + x0 + kx) * C);
        };
        visit(out + (r * a.ow + ox) * C, for_each_cell, (sy.k1 - sy.k0) * (sx.k1 - sx.k0));
      }
    }
  });
}

/// im2col of a dilated window (dh or dw > 1): tap (ky, kx) of the window at (y0, x0) reads
/// pixel (y0 + ky·dh, x0 + kx·dw), so each tap is a run of C values of its own.
template <class T>
void im2col_dilated(const T* x, T* col, const Conv2DAttrs& a) {
  const int64_t C = a.c, row = a.kh * a.kw * C;
  parallel_for(a.n * a.oh, grain_for(a.ow * row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / a.oh, oy = r % a.oh;
      const T* img = x + n * a.h * a.w * C;
      T* dst = col + r * a.ow * row;
      const int64_t y0 = oy * a.sh - a.pad_top;
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        const int64_t x0 = ox * a.sw - a.pad_left;
        T* d = dst + ox * row;
        for (int64_t ky = 0; ky < a.kh; ++ky) {
          const int64_t iy = y0 + ky * a.dh;
          for (int64_t kx = 0; kx < a.kw; ++kx, d += C) {
            const int64_t ix = x0 + kx * a.dw;
            if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.w)
              std::fill(d, d + C, T(0));
            else
              copy_run(d, img + (iy * a.w + ix) * C, C);
          }
        }
      }
    }
  });
}

/// col2im of a dilated window: the adjoint of im2col_dilated, windows in (oy, ox) order.
template <class T>
void col2im_dilated(const T* col, T* x, const Conv2DAttrs& a) {
  const int64_t C = a.c, row = a.kh * a.kw * C, image = a.h * a.w * C;
  parallel_for(a.n, grain_for(a.oh * a.ow * row), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* img = x + n * image;
      std::fill(img, img + image, T(0));
      const T* src = col + n * a.oh * a.ow * row;
      for (int64_t oy = 0; oy < a.oh; ++oy) {
        const int64_t y0 = oy * a.sh - a.pad_top;
        for (int64_t ox = 0; ox < a.ow; ++ox) {
          const int64_t x0 = ox * a.sw - a.pad_left;
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = y0 + ky * a.dh;
            for (int64_t kx = 0; kx < a.kw; ++kx, src += C) {
              const int64_t ix = x0 + kx * a.dw;
              if (iy >= 0 && iy < a.h && ix >= 0 && ix < a.w)
                add_run(img + (iy * a.w + ix) * C, src, C);
            }
          }
        }
      }
    }
  });
}

template <class T>
void im2col_impl(const T* x, T* col, const Conv2DAttrs& a) {
  if (a.dh != 1 || a.dw != 1) return im2col_dilated(x, col, a);
  const int64_t C = a.c, row = a.kh * a.kw * C, run = a.kw * C;
  // Output columns whose window lies inside the image horizontally, [in0, in1): there each
  // window row is one copy of kw·C values. Windows that overhang an edge take the general path.
  const int64_t in0 = std::min(a.ow, (a.pad_left + a.sw - 1) / a.sw);
  const int64_t in1 =
      a.w >= a.kw ? std::max(in0, std::min(a.ow, (a.w - a.kw + a.pad_left) / a.sw + 1)) : in0;
  parallel_for(a.n * a.oh, grain_for(a.ow * row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / a.oh, oy = r % a.oh;
      const T* img = x + n * a.h * a.w * C;
      T* dst = col + r * a.ow * row;
      const int64_t y0 = oy * a.sh - a.pad_top;
      // One window row (ky) at a time across the output row: the rows this touches stay in L1.
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        T* d = dst + ky * run;
        const int64_t iy = y0 + ky;
        if (iy < 0 || iy >= a.h) {
          for (int64_t ox = 0; ox < a.ow; ++ox) std::fill(d + ox * row, d + ox * row + run, T(0));
          continue;
        }
        const T* src = img + iy * a.w * C;
        auto edge = [&](int64_t ox) {
          const int64_t x0 = ox * a.sw - a.pad_left;
          const Span sx = valid_span(x0, a.kw, a.w);
          T* e = d + ox * row;
          if (sx.k1 <= sx.k0) {
            std::fill(e, e + run, T(0));
            return;
          }
          std::fill(e, e + sx.k0 * C, T(0));
          copy_run(e + sx.k0 * C, src + (x0 + sx.k0) * C, (sx.k1 - sx.k0) * C);
          std::fill(e + sx.k1 * C, e + run, T(0));
        };
        for (int64_t ox = 0; ox < in0; ++ox) edge(ox);
        for (int64_t ox = in0; ox < in1; ++ox)
          copy_run(d + ox * row, src + (ox * a.sw - a.pad_left) * C, run);
        for (int64_t ox = in1; ox < a.ow; ++ox) edge(ox);
      }
    }
  });
}

template <class T>
void col2im_impl(const T* col, T* x, const Conv2DAttrs& a) {
  if (a.dh != 1 || a.dw != 1) return col2im_dilated(col, x, a);
  const int64_t C = a.c, row = a.kh * a.kw * C, image = a.h * a.w * C;
  // One image per task: windows of one image overlap, different images never do.
  parallel_for(a.n, grain_for(a.oh * a.ow * row), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* img = x + n * image;
      std::fill(img, img + image, T(0));
      const T* src = col + n * a.oh * a.ow * row;
      for (int64_t oy = 0; oy < a.oh; ++oy) {
        const int64_t y0 = oy * a.sh - a.pad_top;
        const Span sy = valid_span(y0, a.kh, a.h);
        for (int64_t ox = 0; ox < a.ow; ++ox, src += row) {
          const int64_t x0 = ox * a.sw - a.pad_left;
          const Span sx = valid_span(x0, a.kw, a.w);
          if (sx.k1 <= sx.k0) continue;
          for (int64_t ky = sy.k0; ky < sy.k1; ++ky)
            add_run(img + ((y0 + ky) * a.w + x0 + sx.k0) * C,
                    src + (ky * a.kw + sx.k0) * C,
                    (sx.k1 - sx.k0) * C);
        }
      }
    }
  });
}

/// For output pixel (oy, ox) of one image: per channel the window's first maximum (`best`) and
/// its pixel index iy·w + ix (`at`). SAME padding never leaves a window without a valid cell.
template <class T>
void window_argmax(
    const T* img, const Conv2DAttrs& a, int64_t oy, int64_t ox, T* best, int64_t* at) {
  const int64_t C = a.c;
  const int64_t y0 = oy * a.sh - a.pad_top, x0 = ox * a.sw - a.pad_left;
  const Span sy = valid_span(y0, a.kh, a.h), sx = valid_span(x0, a.kw, a.w);
  bool first = true;
  for (int64_t ky = sy.k0; ky < sy.k1; ++ky)
    for (int64_t kx = sx.k0; kx < sx.k1; ++kx) {
      const int64_t pix = (y0 + ky) * a.w + x0 + kx;
      const T* p = img + pix * C;
      if (first) {
        for (int64_t c = 0; c < C; ++c) {
          best[c] = p[c];
          at[c] = pix;
        }
        first = false;
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        const bool take = p[c] > best[c];  // strict: the first maximum wins ties
        best[c] = take ? p[c] : best[c];
        at[c] = take ? pix : at[c];
      }
    }
}

/// MaxPoolGrad when the windows tile the image (stride = window, no padding inside it, e.g.
/// 2x2/2 VALID): every input cell lies in at most one window, so each is written exactly once
/// (dy at its window's first maximum, 0 elsewhere) without clearing dx first or scattering.
/// Per window the argmax is found for all C channels together, which vectorizes.
template <class T>
bool max_pool_grad_tiled(const T* x, const T* dy, T* dx, const Conv2DAttrs& a) {
  if (a.sh != a.kh || a.sw != a.kw || a.pad_top != 0 || a.pad_left != 0 || a.oh * a.kh > a.h ||
      a.ow * a.kw > a.w)
    return false;
  const int64_t C = a.c, W = a.w, image = a.h * W * C;
  const int64_t cells = a.kh * a.kw;
  parallel_for(a.n * a.oh, grain_for(a.ow * cells * C), [&](int64_t r0, int64_t r1) {
    std::vector<T> best(static_cast<size_t>(C));
    std::vector<int32_t> at(static_cast<size_t>(C));
    std::vector<int64_t> offset(static_cast<size_t>(cells));  // of cell k from the window's first
    for (int64_t k = 0; k < cells; ++k) offset[size_t(k)] = ((k / a.kw) * W + k % a.kw) * C;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / a.oh, oy = r % a.oh;
      const T* img = x + n * image;
      T* dimg = dx + n * image;
      const T* g = dy + r * a.ow * C;
      for (int64_t ox = 0; ox < a.ow; ++ox, g += C) {
        const int64_t origin = (oy * a.kh * W + ox * a.kw) * C;
        auto cell = [&](int64_t k) { return origin + offset[size_t(k)]; };
        T* __restrict b = best.data();
        int32_t* __restrict idx = at.data();
        const T* p = img + cell(0);
        for (int64_t c = 0; c < C; ++c) {
          b[c] = p[c];
          idx[c] = 0;
        }
        for (int64_t k = 1; k < cells; ++k) {
          p = img + cell(k);
          for (int64_t c = 0; c < C; ++c) {
            const bool take = p[c] > b[c];  // strict: the first maximum wins ties
            b[c] = take ? p[c] : b[c];
            idx[c] = take ? int32_t(k) : idx[c];
          }
        }
        for (int64_t k = 0; k < cells; ++k) {
          T* __restrict d = dimg + cell(k);
          for (int64_t c = 0; c < C; ++c) d[c] = idx[c] == int32_t(k) ? g[c] : T(0);
        }
      }
      // Rows and columns past the last window get no gradient.
      if (a.ow * a.kw < W)
        for (int64_t y = oy * a.kh; y < (oy + 1) * a.kh; ++y)
          std::fill(dimg + (y * W + a.ow * a.kw) * C, dimg + (y + 1) * W * C, T(0));
      if (oy == a.oh - 1 && a.oh * a.kh < a.h)
        std::fill(dimg + a.oh * a.kh * W * C, dimg + image, T(0));
    }
  });
  return true;
}

}  // namespace

void CpuBackend::im2col(const KernelArgs& k) {
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    im2col_impl(k.in(0).as<const T>(), k.out().as<T>(), k.attr<Conv2DAttrs>());
  });
}

void CpuBackend::col2im(const KernelArgs& k) {
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    col2im_impl(k.in(0).as<const T>(), k.out().as<T>(), k.attr<Conv2DAttrs>());
  });
}

void CpuBackend::max_pool2d(const KernelArgs& k) {
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int64_t C = k.attr<Conv2DAttrs>().c;
    pool_windows(k.attr<Conv2DAttrs>(),
                 k.in(0).as<const T>(),
                 k.out().as<T>(),
                 [&](T* o, const auto& for_each_cell, int64_t) {
                   bool first = true;
                   for_each_cell([&](const T* p) {
                     if (first) {
                       copy_run(o, p, C);
                       first = false;
                     } else {
                       for (int64_t c = 0; c < C; ++c) o[c] = p[c] > o[c] ? p[c] : o[c];
                     }
                   });
                 });
  });
}

void CpuBackend::max_pool2d_grad(const KernelArgs& k) {
  const auto& a = k.attr<Conv2DAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    const T* dy = k.in(1).as<const T>();
    T* dx = k.out().as<T>();
    if (max_pool_grad_tiled(x, dy, dx, a)) return;
    const int64_t C = a.c, image = a.h * a.w * C;
    parallel_for(a.n, grain_for(a.oh * a.ow * a.kh * a.kw * C), [&](int64_t n0, int64_t n1) {
      std::vector<T> best(static_cast<size_t>(C));
      std::vector<int64_t> at(static_cast<size_t>(C));
      for (int64_t n = n0; n < n1; ++n) {
        const T* img = x + n * image;
        T* dimg = dx + n * image;
        std::fill(dimg, dimg + image, T(0));
        const T* g = dy + n * a.oh * a.ow * C;
        for (int64_t oy = 0; oy < a.oh; ++oy)
          for (int64_t ox = 0; ox < a.ow; ++ox, g += C) {
            window_argmax(img, a, oy, ox, best.data(), at.data());
            for (int64_t c = 0; c < C; ++c) dimg[at[size_t(c)] * C + c] += g[c];
          }
      }
    });
  });
}

void CpuBackend::max_pool2d_grad_grad(const KernelArgs& k) {
  const auto& a = k.attr<Conv2DAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const T* x = k.in(0).as<const T>();
    const T* ddx = k.in(1).as<const T>();
    T* out = k.out().as<T>();
    const int64_t C = a.c, image = a.h * a.w * C;
    parallel_for(a.n * a.oh, grain_for(a.ow * a.kh * a.kw * C), [&](int64_t r0, int64_t r1) {
      std::vector<T> best(static_cast<size_t>(C));
      std::vector<int64_t> at(static_cast<size_t>(C));
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / a.oh, oy = r % a.oh;
        for (int64_t ox = 0; ox < a.ow; ++ox) {
          window_argmax(x + n * image, a, oy, ox, best.data(), at.data());
          T* o = out + (r * a.ow + ox) * C;
          for (int64_t c = 0; c < C; ++c) o[c] = ddx[n * image + at[size_t(c)] * C + c];
        }
      }
    });
  });
}

void CpuBackend::avg_pool2d(const KernelArgs& k) {
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const int64_t C = k.attr<Conv2DAttrs>().c;
    pool_windows(k.attr<Conv2DAttrs>(),
                 k.in(0).as<const T>(),
                 k.out().as<T>(),
                 [&](T* o, const auto& for_each_cell, int64_t cells) {
                   std::fill(o, o + C, T(0));
                   for_each_cell([&](const T* p) { add_run(o, p, C); });
                   // As TF: divide by the cells inside the image, not the window size.
                   const T inv = T(1) / T(cells);
                   for (int64_t c = 0; c < C; ++c) o[c] *= inv;
                 });
  });
}

void CpuBackend::avg_pool2d_grad(const KernelArgs& k) {
  const auto& a = k.attr<Conv2DAttrs>();
  detail::dispatch_float(k.out().dtype, [&]<class T>() {
    const T* dy = k.in(0).as<const T>();
    T* dx = k.out().as<T>();
    const int64_t C = a.c, image = a.h * a.w * C;
    parallel_for(a.n, grain_for(a.oh * a.ow * a.kh * a.kw * C), [&](int64_t n0, int64_t n1) {
      std::vector<T> share(static_cast<size_t>(C));
      for (int64_t n = n0; n < n1; ++n) {
        T* dimg = dx + n * image;
        std::fill(dimg, dimg + image, T(0));
        const T* g = dy + n * a.oh * a.ow * C;
        for (int64_t oy = 0; oy < a.oh; ++oy) {
          const int64_t y0 = oy * a.sh - a.pad_top;
          const Span sy = valid_span(y0, a.kh, a.h);
          for (int64_t ox = 0; ox < a.ow; ++ox, g += C) {
            const int64_t x0 = ox * a.sw - a.pad_left;
            const Span sx = valid_span(x0, a.kw, a.w);
            const T inv = T(1) / T((sy.k1 - sy.k0) * (sx.k1 - sx.k0));
            for (int64_t c = 0; c < C; ++c) share[size_t(c)] = g[c] * inv;
            for (int64_t ky = sy.k0; ky < sy.k1; ++ky)
              for (int64_t kx = sx.k0; kx < sx.k1; ++kx)
                add_run(dimg + ((y0 + ky) * a.w + x0 + kx) * C, share.data(), C);
          }
        }
      }
    });
  });
}

}  // namespace tapeflow::cpu
