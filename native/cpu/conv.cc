// Convolution helpers on NHWC images: im2col/col2im, depthwise convolution and pooling.
//
// Every kernel is written so that each output element is produced by exactly one chunk of work with a
// fixed order of operations (a gather, or a scatter confined to the images of one chunk), so results
// do not depend on the team. The one true reduction — depthwise weight and bias gradients over the
// batch — goes through per-chunk partial sums whose number depends only on the geometry and which are
// added in chunk order. Inner loops run over channels, which are contiguous in NHWC.
#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"

// SSE2 is part of every x86-64 CPU, so it needs no target attribute or run-time check. (MSVC, which
// does not define __SSE2__, takes the scalar path.)
#if defined(__SSE2__)
#include <emmintrin.h>
#define NASX_CONV_SSE2 1
#else
#define NASX_CONV_SSE2 0
#endif

namespace nasx::cpu {

namespace {

// --- geometry ---------------------------------------------------------------------------------------

[[noreturn]] void bad_argument(const char* fn, const std::string& message) {
  throw std::invalid_argument(std::string(fn) + ": " + message);
}

// Rejects geometries the kernels cannot honour; in particular every pooling window must overlap the
// image (true for same_geometry), so that a max or an average is always defined.
void check_geometry(const char* fn, const ConvGeometry& g) {
  auto positive = [&](const char* name, int v) {
    if (v < 1) bad_argument(fn, std::string("geometry.") + name + " must be >= 1, but got " + std::to_string(v));
  };
  if (g.batch < 0) bad_argument(fn, "geometry.batch must be >= 0, but got " + std::to_string(g.batch));
  positive("in_h", g.in_h);
  positive("in_w", g.in_w);
  positive("channels", g.channels);
  positive("kernel", g.kernel);
  positive("stride", g.stride);
  positive("out_h", g.out_h);
  positive("out_w", g.out_w);
  auto check_axis = [&](const char* pad_name, int pad, const char* out_name, int out, int in) {
    if (pad < 0 || pad >= g.kernel)
      bad_argument(fn, std::string("geometry.") + pad_name + " must be in [0, kernel) = [0, " +
                           std::to_string(g.kernel) + "), but got " + std::to_string(pad));
    if (static_cast<long long>(out - 1) * g.stride - pad >= in)
      bad_argument(fn, std::string("the last window must start inside the image: (geometry.") + out_name +
                           " - 1) * stride - " + pad_name + " < " + std::to_string(in) + " must hold, but got " +
                           std::to_string(static_cast<long long>(out - 1) * g.stride - pad));
  };
  check_axis("pad_top", g.pad_top, "out_h", g.out_h, g.in_h);
  check_axis("pad_left", g.pad_left, "out_w", g.out_w, g.in_w);
  const long long in_size = static_cast<long long>(g.batch) * g.in_h * g.in_w * g.channels;
  if (in_size > INT_MAX)
    bad_argument(fn, "the input must have at most " + std::to_string(INT_MAX) +
                         " elements (indices are int), but has " + std::to_string(in_size));
}

// Kernel taps [k0, k1) of output position `o` that fall inside an input axis of length `in`.
struct Taps {
  int k0, k1, start;  // start: input coordinate of tap 0 (may be negative)
};

Taps window_taps(int o, int stride, int pad, int kernel, int in) {
  const int start = o * stride - pad;
  return {std::max(0, -start), std::min(kernel, in - start), start};
}

// For each input coordinate along one axis, the (tap, output) pairs whose window covers it, in
// ascending tap order — the fixed order in which the gathers below add their terms. Computed once per
// call instead of per pixel.
class Cover {
 public:
  Cover(int in, int out, int kernel, int stride, int pad) : begin_(static_cast<std::size_t>(in) + 1, 0) {
    for (int i = 0; i < in; ++i) {
      begin_[static_cast<std::size_t>(i)] = static_cast<int>(taps_.size());
      for (int k = 0; k < kernel; ++k) {
        const int t = i + pad - k;
        if (t < 0) break;  // t only decreases with k
        if (t % stride != 0 || t / stride >= out) continue;
        taps_.push_back(k);
        outs_.push_back(t / stride);
      }
    }
    begin_[static_cast<std::size_t>(in)] = static_cast<int>(taps_.size());
  }
  int begin(int i) const { return begin_[static_cast<std::size_t>(i)]; }
  int end(int i) const { return begin_[static_cast<std::size_t>(i) + 1]; }
  int tap(int e) const { return taps_[static_cast<std::size_t>(e)]; }
  int out(int e) const { return outs_[static_cast<std::size_t>(e)]; }

 private:
  std::vector<int> begin_, taps_, outs_;
};

// --- partition --------------------------------------------------------------------------------------

// Rows of work (an output or input row of one image) grouped into chunks of roughly kChunkWork
// multiply-adds. The grouping depends only on the problem, never on the team.
constexpr double kChunkWork = 1 << 16;
constexpr int kMaxChunks = 64;

struct RowChunks {
  int rows, per_chunk, count;
};

RowChunks split_rows(int rows, double work_per_row) {
  if (rows <= 0) return {0, 1, 0};
  int per = static_cast<int>(std::clamp(kChunkWork / std::max(1.0, work_per_row), 1.0, static_cast<double>(rows)));
  if ((rows + per - 1) / per > kMaxChunks) per = (rows + kMaxChunks - 1) / kMaxChunks;
  return {rows, per, (rows + per - 1) / per};
}

template <typename Fn>
void for_each_chunk(Team* team, const RowChunks& rc, const Fn& fn) {
  SerialTeam serial;
  Team& workers = team != nullptr ? *team : serial;
  workers.parallel_for(rc.count, [&](int chunk) {
    const int r0 = chunk * rc.per_chunk;
    fn(chunk, r0, std::min(rc.rows, r0 + rc.per_chunk));
  });
}

std::ptrdiff_t pixel(const ConvGeometry& g, int b, int y, int x) {
  return ((static_cast<std::ptrdiff_t>(b) * g.in_h + y) * g.in_w + x) * g.channels;
}

std::ptrdiff_t out_pixel(const ConvGeometry& g, int b, int y, int x) {
  return ((static_cast<std::ptrdiff_t>(b) * g.out_h + y) * g.out_w + x) * g.channels;
}

// --- channel loops (the vectorisable inner work) ----------------------------------------------------

// Channels are processed in blocks of kLanes with a fixed-count inner loop: compilers vectorise those
// at -O2 (a loop with a run-time trip count needs -O3 or a cost model GCC only enables there), and the
// accumulator block stays in registers across all taps of a window. The leftover channels run the same
// operations one by one, so every element sees the same sequence of operations.
constexpr int kLanes = 8;

// dst[c] = sum over terms t of term(t, c), terms visited in the order given: for_terms(fn) calls
// fn(const float* a, const float* b) once per term; b may be nullptr (then the term is a[c], else
// a[c] * b[c]). `init` (may be nullptr) seeds the sum; `divisor` (0: none) divides it at the end.
template <typename ForTerms>
void reduce_channels(float* __restrict dst, int n, const float* __restrict init, float divisor,
                     const ForTerms& for_terms) {
  int c0 = 0;
  for (; c0 + kLanes <= n; c0 += kLanes) {
    float acc[kLanes];
    for (int l = 0; l < kLanes; ++l) acc[l] = init != nullptr ? init[c0 + l] : 0.0f;
    for_terms([&](const float* __restrict a, const float* __restrict b) {
      if (b != nullptr) {
        for (int l = 0; l < kLanes; ++l) acc[l] += a[c0 + l] * b[c0 + l];
      } else {
        for (int l = 0; l < kLanes; ++l) acc[l] += a[c0 + l];
      }
    });
    if (divisor != 0.0f)
      for (int l = 0; l < kLanes; ++l) acc[l] /= divisor;
    for (int l = 0; l < kLanes; ++l) dst[c0 + l] = acc[l];
  }
  for (int c = c0; c < n; ++c) {
    float acc = init != nullptr ? init[c] : 0.0f;
    for_terms([&](const float* __restrict a, const float* __restrict b) { acc += b != nullptr ? a[c] * b[c] : a[c]; });
    if (divisor != 0.0f) acc /= divisor;
    dst[c] = acc;
  }
}

// d[c] += a[c] * b[c], or d[c] += a[c] when b is nullptr.
void accumulate(float* __restrict d, const float* __restrict a, const float* __restrict b, int n) {
  int c0 = 0;
  if (b != nullptr) {
    for (; c0 + kLanes <= n; c0 += kLanes)
      for (int l = 0; l < kLanes; ++l) d[c0 + l] += a[c0 + l] * b[c0 + l];
    for (int c = c0; c < n; ++c) d[c] += a[c] * b[c];
  } else {
    for (; c0 + kLanes <= n; c0 += kLanes)
      for (int l = 0; l < kLanes; ++l) d[c0 + l] += a[c0 + l];
    for (int c = c0; c < n; ++c) d[c] += a[c];
  }
}

}  // namespace

ConvGeometry same_geometry(int batch, int in_h, int in_w, int channels, int kernel, int stride) {
  const char* fn = "same_geometry";
  if (batch < 0) bad_argument(fn, "batch must be >= 0, but got " + std::to_string(batch));
  auto positive = [&](const char* name, int v) {
    if (v < 1) bad_argument(fn, std::string(name) + " must be >= 1, but got " + std::to_string(v));
  };
  positive("in_h", in_h);
  positive("in_w", in_w);
  positive("channels", channels);
  positive("kernel", kernel);
  positive("stride", stride);
  ConvGeometry g{};
  g.batch = batch;
  g.in_h = in_h;
  g.in_w = in_w;
  g.channels = channels;
  g.kernel = kernel;
  g.stride = stride;
  g.out_h = (in_h + stride - 1) / stride;
  g.out_w = (in_w + stride - 1) / stride;
  g.pad_top = std::max((g.out_h - 1) * stride + kernel - in_h, 0) / 2;
  g.pad_left = std::max((g.out_w - 1) * stride + kernel - in_w, 0) / 2;
  return g;
}

// --- im2col / col2im --------------------------------------------------------------------------------

void im2col_nhwc(const ConvGeometry& g, const float* x, float* col, Team* team) {
  check_geometry("im2col_nhwc", g);
  const int k = g.kernel, c = g.channels;
  const std::ptrdiff_t row_len = static_cast<std::ptrdiff_t>(k) * k * c;
  const RowChunks rc = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * row_len);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        float* dst = col + (static_cast<std::ptrdiff_t>(r) * g.out_w + ox) * row_len;
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        for (int ky = 0; ky < k; ++ky) {
          float* d = dst + static_cast<std::ptrdiff_t>(ky) * k * c;
          if (ky < ty.k0 || ky >= ty.k1) {
            std::fill(d, d + static_cast<std::ptrdiff_t>(k) * c, 0.0f);
            continue;
          }
          // The taps inside the image are one contiguous run of NHWC pixels.
          std::fill(d, d + static_cast<std::ptrdiff_t>(tx.k0) * c, 0.0f);
          std::memcpy(d + static_cast<std::ptrdiff_t>(tx.k0) * c, x + pixel(g, b, ty.start + ky, tx.start + tx.k0),
                      sizeof(float) * static_cast<std::size_t>(tx.k1 - tx.k0) * c);
          std::fill(d + static_cast<std::ptrdiff_t>(tx.k1) * c, d + static_cast<std::ptrdiff_t>(k) * c, 0.0f);
        }
      }
    }
  });
}

void col2im_nhwc(const ConvGeometry& g, const float* col, float* dx, Team* team) {
  check_geometry("col2im_nhwc", g);
  const int k = g.kernel, c = g.channels;
  const std::ptrdiff_t row_len = static_cast<std::ptrdiff_t>(k) * k * c;
  const std::ptrdiff_t image = static_cast<std::ptrdiff_t>(g.in_h) * g.in_w * c;
  // A scatter that reads col in order (a gather would jump across the large col buffer); each image's
  // dx is written by one chunk only, in a fixed order, so chunks are whole images.
  const RowChunks rc = split_rows(g.batch, static_cast<double>(g.out_h) * g.out_w * row_len);
  for_each_chunk(team, rc, [&](int, int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      std::fill(dx + b * image, dx + (b + 1) * image, 0.0f);
      for (int oy = 0; oy < g.out_h; ++oy) {
        const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
        for (int ox = 0; ox < g.out_w; ++ox) {
          const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
          const float* src = col + ((static_cast<std::ptrdiff_t>(b) * g.out_h + oy) * g.out_w + ox) * row_len;
          // The taps of one kernel row that land inside the image are contiguous in both buffers.
          for (int ky = ty.k0; ky < ty.k1; ++ky)
            accumulate(dx + pixel(g, b, ty.start + ky, tx.start + tx.k0),
                       src + (static_cast<std::ptrdiff_t>(ky) * k + tx.k0) * c, nullptr, (tx.k1 - tx.k0) * c);
        }
      }
    }
  });
}

// --- depthwise convolution --------------------------------------------------------------------------

void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y,
                       Team* team) {
  check_geometry("depthwise_forward", g);
  const int k = g.kernel, c = g.channels;
  const RowChunks rc = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        reduce_channels(y + out_pixel(g, b, oy, ox), c, bias, 0.0f, [&](const auto& term) {
          for (int ky = ty.k0; ky < ty.k1; ++ky)
            for (int kx = tx.k0; kx < tx.k1; ++kx)
              term(x + pixel(g, b, ty.start + ky, tx.start + kx), w + static_cast<std::ptrdiff_t>(ky * k + kx) * c);
        });
      }
    }
  });
}

void depthwise_backward(const ConvGeometry& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* dbias, Team* team) {
  check_geometry("depthwise_backward", g);
  const int k = g.kernel, c = g.channels;
  const std::ptrdiff_t taps_len = static_cast<std::ptrdiff_t>(k) * k * c;
  // dx is gathered per input row; dw and dbias are reduced per output row into per-chunk partials.
  // Both kinds of chunk go into one parallel_for so that the team is woken once.
  const RowChunks dx_rows = dx != nullptr ? split_rows(g.batch * g.in_h, static_cast<double>(g.in_w) * k * k * c)
                                          : RowChunks{0, 1, 0};
  const RowChunks dw_rows = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * k * k * c);
  const std::ptrdiff_t partial_len = taps_len + c;
  std::vector<float> partials(static_cast<std::size_t>(dw_rows.count) * static_cast<std::size_t>(partial_len), 0.0f);
  const Cover cy(g.in_h, g.out_h, k, g.stride, g.pad_top), cx(g.in_w, g.out_w, k, g.stride, g.pad_left);

  SerialTeam serial;
  Team& workers = team != nullptr ? *team : serial;
  workers.parallel_for(dx_rows.count + dw_rows.count, [&](int chunk) {
    if (chunk < dx_rows.count) {
      const int r0 = chunk * dx_rows.per_chunk, r1 = std::min(dx_rows.rows, r0 + dx_rows.per_chunk);
      for (int r = r0; r < r1; ++r) {
        const int b = r / g.in_h, iy = r % g.in_h;
        for (int ix = 0; ix < g.in_w; ++ix) {
          reduce_channels(dx + pixel(g, b, iy, ix), c, nullptr, 0.0f, [&](const auto& term) {
            for (int ey = cy.begin(iy); ey < cy.end(iy); ++ey)
              for (int ex = cx.begin(ix); ex < cx.end(ix); ++ex)
                term(dy + out_pixel(g, b, cy.out(ey), cx.out(ex)),
                     w + static_cast<std::ptrdiff_t>(cy.tap(ey) * k + cx.tap(ex)) * c);
          });
        }
      }
      return;
    }
    const int part = chunk - dx_rows.count;
    float* pw = partials.data() + static_cast<std::ptrdiff_t>(part) * partial_len;
    float* pb = pw + taps_len;
    const int r0 = part * dw_rows.per_chunk, r1 = std::min(dw_rows.rows, r0 + dw_rows.per_chunk);
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const float* gy = dy + out_pixel(g, b, oy, ox);
        accumulate(pb, gy, nullptr, c);
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        for (int ky = ty.k0; ky < ty.k1; ++ky)
          for (int kx = tx.k0; kx < tx.k1; ++kx)
            accumulate(pw + static_cast<std::ptrdiff_t>(ky * k + kx) * c, gy,
                       x + pixel(g, b, ty.start + ky, tx.start + kx), c);
      }
    }
  });

  for (int part = 0; part < dw_rows.count; ++part) {
    const float* pw = partials.data() + static_cast<std::ptrdiff_t>(part) * partial_len;
    accumulate(dw, pw, nullptr, static_cast<int>(taps_len));
    if (dbias != nullptr) accumulate(dbias, pw + taps_len, nullptr, c);
  }
}

// --- pooling ----------------------------------------------------------------------------------------

namespace {

#if NASX_CONV_SSE2
// V groups of 4 channels at a time: independent chains hide the compare-and-blend latency.
template <int V>
int window_max_sse(const float* x, int first, int rows, int cols, int row_step, int n, int c0, float* best,
                   int* where) {
  const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
  for (; c0 + 4 * V <= n; c0 += 4 * V) {
    // The running maxima and their indices stay in registers across the window.
    __m128 m[V];
    __m128i w[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      m[v] = _mm_loadu_ps(x + first + c0 + 4 * v);
      w[v] = _mm_add_epi32(_mm_set1_epi32(first + c0 + 4 * v), lane);
    }
    for (int i = 0; i < rows; ++i) {
      for (int j = i == 0 ? 1 : 0; j < cols; ++j) {
        const int at = first + i * row_step + j * n + c0;
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
          const __m128 val = _mm_loadu_ps(x + at + 4 * v);
          const __m128 take =
              _mm_or_ps(_mm_cmpgt_ps(val, m[v]), _mm_and_ps(_mm_cmpunord_ps(val, val), _mm_cmpord_ps(m[v], m[v])));
          m[v] = _mm_or_ps(_mm_and_ps(take, val), _mm_andnot_ps(take, m[v]));
          const __m128i t = _mm_castps_si128(take);
          w[v] = _mm_or_si128(_mm_and_si128(t, _mm_add_epi32(_mm_set1_epi32(at + 4 * v), lane)),
                              _mm_andnot_si128(t, w[v]));
        }
      }
    }
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      _mm_storeu_ps(best + c0 + 4 * v, m[v]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(where + c0 + 4 * v), w[v]);
    }
  }
  return c0;
}
#endif

// Max and argmax over one window of `rows` × `cols` cells, n channels each, starting at flat index
// `first` with rows `row_step` apart; cells are visited in scan order. A cell replaces the running
// maximum when strictly larger (so the first of equal values wins), or when it is NaN and the maximum
// is not (so a NaN input shows up in the output).
void window_max(const float* x, int first, int rows, int cols, int row_step, int n, float* __restrict best,
                int* __restrict where) {
  int c0 = 0;
#if NASX_CONV_SSE2
  c0 = window_max_sse<4>(x, first, rows, cols, row_step, n, c0, best, where);
  c0 = window_max_sse<1>(x, first, rows, cols, row_step, n, c0, best, where);
#endif
  for (int c = c0; c < n; ++c) {
    float m = x[first + c];
    int w = first + c;
    for (int i = 0; i < rows; ++i) {
      for (int j = i == 0 ? 1 : 0; j < cols; ++j) {
        const int at = first + i * row_step + j * n + c;
        if (x[at] > m || (x[at] != x[at] && m == m)) {
          m = x[at];
          w = at;
        }
      }
    }
    best[c] = m;
    where[c] = w;
  }
}

}  // namespace

void max_pool_forward(const ConvGeometry& g, const float* x, float* y, int* argmax, Team* team) {
  check_geometry("max_pool_forward", g);
  const int k = g.kernel, c = g.channels;
  const RowChunks rc = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        // Every window has at least one real cell (check_geometry).
        window_max(x, static_cast<int>(pixel(g, b, ty.start + ty.k0, tx.start + tx.k0)), ty.k1 - ty.k0, tx.k1 - tx.k0,
                   g.in_w * c, c, y + out_pixel(g, b, oy, ox), argmax + out_pixel(g, b, oy, ox));
      }
    }
  });
}

void max_pool_backward(const ConvGeometry& g, const float* dy, const int* argmax, float* dx, Team* team) {
  check_geometry("max_pool_backward", g);
  const std::ptrdiff_t image_in = static_cast<std::ptrdiff_t>(g.in_h) * g.in_w * g.channels;
  const std::ptrdiff_t image_out = static_cast<std::ptrdiff_t>(g.out_h) * g.out_w * g.channels;
  // A scatter, so the chunks are whole images: each argmax points into its own image, and within an
  // image the outputs are added in a fixed order.
  const RowChunks rc = split_rows(g.batch, static_cast<double>(image_out));
  for_each_chunk(team, rc, [&](int, int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const std::ptrdiff_t lo = b * image_in;
      std::fill(dx + lo, dx + lo + image_in, 0.0f);
      for (std::ptrdiff_t o = b * image_out; o < (b + 1) * image_out; ++o) {
        const std::ptrdiff_t at = argmax[o];
        if (at < lo || at >= lo + image_in)
          bad_argument("max_pool_backward", "argmax[" + std::to_string(o) + "] must index image " + std::to_string(b) +
                                                ", i.e. lie in [" + std::to_string(lo) + ", " +
                                                std::to_string(lo + image_in) + "), but got " + std::to_string(at));
        dx[at] += dy[o];
      }
    }
  });
}

void avg_pool_forward(const ConvGeometry& g, const float* x, float* y, Team* team) {
  check_geometry("avg_pool_forward", g);
  const int k = g.kernel, c = g.channels;
  const RowChunks rc = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        const float cells = static_cast<float>((ty.k1 - ty.k0) * (tx.k1 - tx.k0));
        reduce_channels(y + out_pixel(g, b, oy, ox), c, nullptr, cells, [&](const auto& term) {
          for (int ky = ty.k0; ky < ty.k1; ++ky)
            for (int kx = tx.k0; kx < tx.k1; ++kx) term(x + pixel(g, b, ty.start + ky, tx.start + kx), nullptr);
        });
      }
    }
  });
}

void avg_pool_backward(const ConvGeometry& g, const float* dy, float* dx, Team* team) {
  check_geometry("avg_pool_backward", g);
  const int k = g.kernel, c = g.channels;
  // dx gathers dy / cells of every window covering it. The quotients are formed once per output (as
  // the backward of y = sum / cells), then gathered like col2im.
  std::vector<float> scaled(static_cast<std::size_t>(g.batch) * g.out_h * g.out_w * c);
  const RowChunks out_rows = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * c);
  for_each_chunk(team, out_rows, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        const float cells = static_cast<float>((ty.k1 - ty.k0) * (tx.k1 - tx.k0));
        const std::ptrdiff_t o = (static_cast<std::ptrdiff_t>(r) * g.out_w + ox) * c;
        reduce_channels(scaled.data() + o, c, nullptr, cells, [&](const auto& term) { term(dy + o, nullptr); });
      }
    }
  });
  const Cover cy(g.in_h, g.out_h, k, g.stride, g.pad_top), cx(g.in_w, g.out_w, k, g.stride, g.pad_left);
  const RowChunks rc = split_rows(g.batch * g.in_h, static_cast<double>(g.in_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.in_h, iy = r % g.in_h;
      for (int ix = 0; ix < g.in_w; ++ix) {
        reduce_channels(dx + pixel(g, b, iy, ix), c, nullptr, 0.0f, [&](const auto& term) {
          for (int ey = cy.begin(iy); ey < cy.end(iy); ++ey)
            for (int ex = cx.begin(ix); ex < cx.end(ix); ++ex)
              term(scaled.data() + out_pixel(g, b, cy.out(ey), cx.out(ex)), nullptr);
        });
      }
    }
  });
}

}  // namespace nasx::cpu
