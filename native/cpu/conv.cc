// Convolution helpers on NHWC images: im2col/col2im, depthwise convolution and pooling.
//
// Every kernel is written so that each output element is produced by exactly one chunk of work with a
// fixed order of operations (gathers rather than scatters), so any partition over a Team gives the same
// bits. The one true reduction — depthwise weight and bias gradients over the batch — goes through
// per-chunk partial sums whose number depends only on the geometry and which are added in chunk order.
// Inner loops run over channels, which are contiguous in NHWC, so the compiler can vectorise them.
#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"

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

// Calls fn(tap, out) for each output position whose window covers input coordinate `i`, in ascending
// tap order (the fixed order in which gathers add their terms).
template <typename Fn>
void for_each_cover(int i, int stride, int pad, int kernel, int out, const Fn& fn) {
  for (int k = 0; k < kernel; ++k) {
    const int t = i + pad - k;
    if (t < 0) break;  // t only decreases with k
    if (t % stride != 0) continue;
    const int o = t / stride;
    if (o < out) fn(k, o);
  }
}

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

void add_to(float* __restrict d, const float* __restrict s, int n) {
  for (int c = 0; c < n; ++c) d[c] += s[c];
}

void multiply_add(float* __restrict d, const float* __restrict a, const float* __restrict b, int n) {
  for (int c = 0; c < n; ++c) d[c] += a[c] * b[c];
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
  const RowChunks rc = split_rows(g.batch * g.in_h, static_cast<double>(g.in_w) * row_len);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.in_h, iy = r % g.in_h;
      for (int ix = 0; ix < g.in_w; ++ix) {
        float* d = dx + pixel(g, b, iy, ix);
        std::fill(d, d + c, 0.0f);
        for_each_cover(iy, g.stride, g.pad_top, k, g.out_h, [&](int ky, int oy) {
          for_each_cover(ix, g.stride, g.pad_left, k, g.out_w, [&](int kx, int ox) {
            add_to(d, col + (((static_cast<std::ptrdiff_t>(b) * g.out_h + oy) * g.out_w + ox) * k + ky) * k * c + kx * c,
                   c);
          });
        });
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
        float* d = y + out_pixel(g, b, oy, ox);
        if (bias != nullptr) {
          std::memcpy(d, bias, sizeof(float) * static_cast<std::size_t>(c));
        } else {
          std::fill(d, d + c, 0.0f);
        }
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        for (int ky = ty.k0; ky < ty.k1; ++ky)
          for (int kx = tx.k0; kx < tx.k1; ++kx)
            multiply_add(d, x + pixel(g, b, ty.start + ky, tx.start + kx),
                         w + static_cast<std::ptrdiff_t>(ky * k + kx) * c, c);
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

  SerialTeam serial;
  Team& workers = team != nullptr ? *team : serial;
  workers.parallel_for(dx_rows.count + dw_rows.count, [&](int chunk) {
    if (chunk < dx_rows.count) {
      const int r0 = chunk * dx_rows.per_chunk, r1 = std::min(dx_rows.rows, r0 + dx_rows.per_chunk);
      for (int r = r0; r < r1; ++r) {
        const int b = r / g.in_h, iy = r % g.in_h;
        for (int ix = 0; ix < g.in_w; ++ix) {
          float* d = dx + pixel(g, b, iy, ix);
          std::fill(d, d + c, 0.0f);
          for_each_cover(iy, g.stride, g.pad_top, k, g.out_h, [&](int ky, int oy) {
            for_each_cover(ix, g.stride, g.pad_left, k, g.out_w, [&](int kx, int ox) {
              multiply_add(d, dy + out_pixel(g, b, oy, ox), w + static_cast<std::ptrdiff_t>(ky * k + kx) * c, c);
            });
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
        add_to(pb, gy, c);
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        for (int ky = ty.k0; ky < ty.k1; ++ky)
          for (int kx = tx.k0; kx < tx.k1; ++kx)
            multiply_add(pw + static_cast<std::ptrdiff_t>(ky * k + kx) * c, gy,
                         x + pixel(g, b, ty.start + ky, tx.start + kx), c);
      }
    }
  });

  for (int part = 0; part < dw_rows.count; ++part) {
    const float* pw = partials.data() + static_cast<std::ptrdiff_t>(part) * partial_len;
    add_to(dw, pw, static_cast<int>(taps_len));
    if (dbias != nullptr) add_to(dbias, pw + taps_len, c);
  }
}

// --- pooling ----------------------------------------------------------------------------------------

void max_pool_forward(const ConvGeometry& g, const float* x, float* y, int* argmax, Team* team) {
  check_geometry("max_pool_forward", g);
  const int k = g.kernel, c = g.channels;
  const RowChunks rc = split_rows(g.batch * g.out_h, static_cast<double>(g.out_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.out_h, oy = r % g.out_h;
      const Taps ty = window_taps(oy, g.stride, g.pad_top, k, g.in_h);
      for (int ox = 0; ox < g.out_w; ++ox) {
        float* __restrict best = y + out_pixel(g, b, oy, ox);
        int* __restrict where = argmax + out_pixel(g, b, oy, ox);
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        // The first real cell seeds the maximum; later cells replace it only when strictly larger (the
        // first of equal values wins), or when NaN, so that a NaN input shows up in the output.
        bool seeded = false;
        for (int ky = ty.k0; ky < ty.k1; ++ky) {
          for (int kx = tx.k0; kx < tx.k1; ++kx) {
            const std::ptrdiff_t at = pixel(g, b, ty.start + ky, tx.start + kx);
            const float* __restrict v = x + at;
            const int base = static_cast<int>(at);
            if (!seeded) {
              for (int ch = 0; ch < c; ++ch) {
                best[ch] = v[ch];
                where[ch] = base + ch;
              }
              seeded = true;
              continue;
            }
            for (int ch = 0; ch < c; ++ch) {
              const bool take = v[ch] > best[ch] || (v[ch] != v[ch] && best[ch] == best[ch]);
              best[ch] = take ? v[ch] : best[ch];
              where[ch] = take ? base + ch : where[ch];
            }
          }
        }
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
      float* d = dx + b * image_in;
      std::fill(d, d + image_in, 0.0f);
      const std::ptrdiff_t lo = b * image_in;
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
        float* d = y + out_pixel(g, b, oy, ox);
        std::fill(d, d + c, 0.0f);
        const Taps tx = window_taps(ox, g.stride, g.pad_left, k, g.in_w);
        for (int ky = ty.k0; ky < ty.k1; ++ky)
          for (int kx = tx.k0; kx < tx.k1; ++kx) add_to(d, x + pixel(g, b, ty.start + ky, tx.start + kx), c);
        const float cells = static_cast<float>((ty.k1 - ty.k0) * (tx.k1 - tx.k0));
        for (int ch = 0; ch < c; ++ch) d[ch] /= cells;
      }
    }
  });
}

void avg_pool_backward(const ConvGeometry& g, const float* dy, float* dx, Team* team) {
  check_geometry("avg_pool_backward", g);
  const int k = g.kernel, c = g.channels;
  // Real cells of each output window per axis; a window's cell count is the product of the two.
  std::vector<float> cells_h(static_cast<std::size_t>(g.out_h)), cells_w(static_cast<std::size_t>(g.out_w));
  for (int o = 0; o < g.out_h; ++o) {
    const Taps t = window_taps(o, g.stride, g.pad_top, k, g.in_h);
    cells_h[static_cast<std::size_t>(o)] = static_cast<float>(t.k1 - t.k0);
  }
  for (int o = 0; o < g.out_w; ++o) {
    const Taps t = window_taps(o, g.stride, g.pad_left, k, g.in_w);
    cells_w[static_cast<std::size_t>(o)] = static_cast<float>(t.k1 - t.k0);
  }
  const RowChunks rc = split_rows(g.batch * g.in_h, static_cast<double>(g.in_w) * k * k * c);
  for_each_chunk(team, rc, [&](int, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int b = r / g.in_h, iy = r % g.in_h;
      for (int ix = 0; ix < g.in_w; ++ix) {
        float* __restrict d = dx + pixel(g, b, iy, ix);
        std::fill(d, d + c, 0.0f);
        for_each_cover(iy, g.stride, g.pad_top, k, g.out_h, [&](int, int oy) {
          for_each_cover(ix, g.stride, g.pad_left, k, g.out_w, [&](int, int ox) {
            const float cells = cells_h[static_cast<std::size_t>(oy)] * cells_w[static_cast<std::size_t>(ox)];
            const float* __restrict s = dy + out_pixel(g, b, oy, ox);
            for (int ch = 0; ch < c; ++ch) d[ch] += s[ch] / cells;
          });
        });
      }
    }
  });
}

}  // namespace nasx::cpu
