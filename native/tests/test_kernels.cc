// Tests for the CPU kernels (native/cpu/kernels.h): GEMM on every instruction set this CPU has,
// against a double-precision reference, plus bitwise determinism over team sizes; im2col/col2im,
// depthwise convolution and pooling against naive references. Standalone: exits non-zero on failure.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "core/parallel.h"
#include "cpu/kernels.h"

namespace {

using nasx::SerialTeam;
using nasx::Team;
using nasx::ThreadTeam;
using namespace nasx::cpu;

using nasx::testing::failed;

// Runs fn and returns the message of the std::invalid_argument it throws ("" if none).
std::string invalid_argument_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string shape(const char* what, std::initializer_list<int> dims) {
  std::string s = what;
  for (int d : dims) s += " " + std::to_string(d);
  return s;
}

// ----------------------------------------------------------------------------------------------------
// GEMM

struct GemmCase {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  int pad;  // extra columns in each leading dimension
};

std::string describe(const GemmCase& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "isa=%s ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g pad=%d", gemm_isa(), c.ta, c.tb,
                c.m, c.n, c.k, static_cast<double>(c.alpha), static_cast<double>(c.beta), c.pad);
  return buf;
}

// Runs one sgemm case and compares with a double-precision reference. Padding of A, B and C is NaN
// (and C is all NaN when beta == 0), so reading anything outside the matrices shows up as an error.
// Returns C so callers can compare bits between runs.
std::vector<float> run_gemm_case(const GemmCase& c, Team* team, std::mt19937& rng, bool verify = true) {
  const int a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  std::vector<float> a(static_cast<std::size_t>(a_rows) * lda, kNaN), b(static_cast<std::size_t>(b_rows) * ldb, kNaN);
  std::vector<float> cm(static_cast<std::size_t>(c.m) * ldc, kNaN);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int i = 0; i < a_rows; ++i)
    for (int j = 0; j < a_cols; ++j) a[static_cast<std::size_t>(i) * lda + j] = dist(rng);
  for (int i = 0; i < b_rows; ++i)
    for (int j = 0; j < b_cols; ++j) b[static_cast<std::size_t>(i) * ldb + j] = dist(rng);
  if (c.beta != 0.0f)
    for (int i = 0; i < c.m; ++i)
      for (int j = 0; j < c.n; ++j) cm[static_cast<std::size_t>(i) * ldc + j] = dist(rng);
  const std::vector<float> c0 = cm;

  sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, cm.data(), ldc, team);
  if (!verify) return cm;

  auto element = [](const std::vector<float>& m, int ld, int row, int col) {
    return static_cast<double>(m[static_cast<std::size_t>(row) * ld + col]);
  };
  auto at = [&](int i, int p) { return c.ta ? element(a, lda, p, i) : element(a, lda, i, p); };
  auto bt = [&](int p, int j) { return c.tb ? element(b, ldb, j, p) : element(b, ldb, p, j); };
  // Worst-case float error of a k-term dot product is about k·eps·Σ|a·b|; anything near that scale is
  // rounding, while an indexing bug is off by whole terms.
  const double tol = 2.0 * (c.k + 2) * std::numeric_limits<float>::epsilon();
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      double sum = 0.0, mag = 0.0;
      for (int p = 0; p < c.k; ++p) {
        sum += at(i, p) * bt(p, j);
        mag += std::fabs(at(i, p) * bt(p, j));
      }
      const double old = c0[static_cast<std::size_t>(i) * ldc + j];
      double ref = c.alpha * sum, scale = std::fabs(c.alpha) * mag + 1e-30;
      if (c.beta != 0.0f) {
        ref += c.beta * old;
        scale += std::fabs(c.beta * old);
      }
      const double got = cm[static_cast<std::size_t>(i) * ldc + j];
      if (!(std::fabs(got - ref) <= tol * scale)) {
        CHECK_MSG(false, describe(c) + " at (" + std::to_string(i) + "," + std::to_string(j) + "): got " +
                             std::to_string(got) + ", expected " + std::to_string(ref));
        return cm;
      }
    }
    for (int j = c.n; j < ldc; ++j) {
      if (!std::isnan(cm[static_cast<std::size_t>(i) * ldc + j])) {
        CHECK_MSG(false, describe(c) + ": wrote into the padding of C at column " + std::to_string(j));
        return cm;
      }
    }
  }
  CHECK(true);
  return cm;
}

void test_gemm_isa(std::mt19937& rng) {
  const int edge[] = {1, 5, 11, 12, 13, 31, 32, 33, 70};
  const float alphas[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.25f}, {2.0f, -1.0f}};
  int variant = 0;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      // Every combination of sizes around the register tiles (6, 12 rows; 8, 16, 32 columns).
      for (int m : edge)
        for (int n : edge)
          for (int k : edge) {
            const auto& ab = alphas[variant % 4];
            run_gemm_case({ta != 0, tb != 0, m, n, k, ab[0], ab[1], variant % 3 == 0 ? 0 : 3 + variant % 5}, nullptr,
                          rng);
            ++variant;
          }
      // Each dimension swept over 1..70 while the other two vary.
      for (int s = 1; s <= 70; ++s) {
        const int o1 = 1 + (s * 37) % 70, o2 = 1 + (s * 53) % 70;
        const auto& ab = alphas[s % 4];
        run_gemm_case({ta != 0, tb != 0, s, o1, o2, ab[0], ab[1], s % 2}, nullptr, rng);
        run_gemm_case({ta != 0, tb != 0, o1, s, o2, ab[0], ab[1], s % 3}, nullptr, rng);
        run_gemm_case({ta != 0, tb != 0, o1, o2, s, ab[0], ab[1], 0}, nullptr, rng);
      }
      // Larger than one K block (k > 256) and than one tile, with odd sizes everywhere.
      run_gemm_case({ta != 0, tb != 0, 257, 129, 300, 1.0f, 0.0f, 5}, nullptr, rng);
      run_gemm_case({ta != 0, tb != 0, 257, 129, 300, 0.75f, -0.5f, 0}, nullptr, rng);
      run_gemm_case({ta != 0, tb != 0, 37, 1100, 70, 1.0f, 1.0f, 1}, nullptr, rng);
      run_gemm_case({ta != 0, tb != 0, 131, 7, 530, 1.0f, 0.0f, 2}, nullptr, rng);
      // Leading dimensions of 512 floats: operands that are otherwise read in place get packed.
      run_gemm_case({ta != 0, tb != 0, 40, 40, 70, 1.0f, 0.5f, 472}, nullptr, rng);
    }
  }
}

void test_gemm() {
  std::mt19937 rng(1234);
  const std::string initial = gemm_isa();
  std::printf("gemm: default ISA %s\n", initial.c_str());
  CHECK(!force_gemm_isa("bogus"));
  CHECK(gemm_isa() == initial);
  CHECK(!force_gemm_isa(nullptr));

  for (const char* isa : {"avx512", "avx2", "portable"}) {
    if (!force_gemm_isa(isa)) {
      std::printf("gemm: %s not available on this CPU, skipped\n", isa);
      CHECK(gemm_isa() == initial);
      continue;
    }
    CHECK(std::string(gemm_isa()) == isa);
    std::printf("gemm: testing %s\n", isa);
    const int failed_before = failed();
    test_gemm_isa(rng);

    // Bitwise identical for every team size (and for no team at all).
    ThreadTeam team1(1), team2(2), team3(3);
    const GemmCase det[] = {
        {false, false, 128, 256, 784, 1.0f, 0.0f, 0},  // MLP forward
        {true, false, 784, 256, 128, 1.0f, 0.0f, 0},   // weight gradient
        {false, true, 128, 784, 256, 1.0f, 0.0f, 0},   // input gradient
        {false, false, 257, 129, 300, -1.5f, 0.5f, 3},
        {true, true, 300, 513, 260, 1.0f, 1.0f, 0},
    };
    for (const GemmCase& c : det) {
      std::mt19937 r0(99), r1(99), r2(99), r3(99);
      const auto serial = run_gemm_case(c, nullptr, r0);
      CHECK_MSG(same_bits(serial, run_gemm_case(c, &team1, r1, false)), describe(c) + " team of 1");
      CHECK_MSG(same_bits(serial, run_gemm_case(c, &team2, r2, false)), describe(c) + " team of 2");
      CHECK_MSG(same_bits(serial, run_gemm_case(c, &team3, r3, false)), describe(c) + " team of 3");
    }
    std::printf("gemm: %s %s\n", isa, failed() == failed_before ? "ok" : "FAILED");
  }
  CHECK(force_gemm_isa(initial.c_str()));

  // Products whose packed copies exceed the 64 MiB bound are done in column blocks.
  {
    std::mt19937 r(7);
    run_gemm_case({false, false, 3, 20000, 900, 1.0f, 0.0f, 0}, nullptr, r);
    ThreadTeam team2(2);
    std::mt19937 ra(8), rb(8);
    const GemmCase big{true, true, 5, 19000, 900, 1.0f, 0.5f, 1};
    CHECK(same_bits(run_gemm_case(big, nullptr, ra), run_gemm_case(big, &team2, rb, false)));
  }

  // k == 0 and alpha == 0 only scale C; beta == 0 then clears it, NaN included.
  {
    std::vector<float> c = {1.0f, kNaN, 3.0f, 4.0f};
    sgemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c.data(), 2);
    CHECK(c[0] == 0.5f && std::isnan(c[1]) && c[2] == 1.5f && c[3] == 2.0f);
    sgemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, c.data(), 2);
    CHECK(c[0] == 0.0f && c[1] == 0.0f && c[2] == 0.0f && c[3] == 0.0f);
    const std::vector<float> a = {kNaN, kNaN, kNaN, kNaN}, b = a;
    c = {kNaN, 1.0f, 2.0f, 3.0f};
    sgemm(false, false, 2, 2, 2, 0.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
    CHECK(c[0] == 0.0f && c[1] == 0.0f && c[2] == 0.0f && c[3] == 0.0f);
    sgemm(false, false, 0, 2, 2, 1.0f, nullptr, 2, nullptr, 2, 0.0f, nullptr, 2);  // empty: no-op
    CHECK(true);
  }

  // Bad arguments are reported with the rule and the values.
  {
    std::vector<float> a(64), b(64), c(64);
    // sgemm(trans_a, trans_b, m, n, k, lda, ldb, ldc) with valid buffers and alpha = 1, beta = 0.
    auto call = [&](bool ta, bool tb, int m, int n, int k, int lda, int ldb, int ldc) {
      return invalid_argument_message(
          [&] { sgemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), ldc); });
    };
    CHECK(call(false, false, 2, 3, 5, 4, 3, 3) == "sgemm: lda must be >= max(1, k) = 5, but got lda=4");
    CHECK(call(true, false, 2, 3, 5, 1, 3, 3) == "sgemm: lda must be >= max(1, m) = 2, but got lda=1");
    CHECK(call(false, true, 2, 3, 5, 5, 3, 3) == "sgemm: ldb must be >= max(1, k) = 5, but got ldb=3");
    CHECK(call(false, false, 2, 3, 5, 5, 3, 2) == "sgemm: ldc must be >= max(1, n) = 3, but got ldc=2");
    CHECK(call(false, false, -1, 3, 5, 5, 3, 3) == "sgemm: m, n and k must be >= 0, but got m=-1, n=3, k=5");
    CHECK(invalid_argument_message([&] { sgemm(false, false, 2, 3, 5, 1, nullptr, 5, b.data(), 3, 0, c.data(), 3); }) ==
          "sgemm: a and b must not be null when k > 0 and alpha != 0");
  }
}

void test_fma_peak() {
  const double peak = measure_fma_peak_gflops(1, 0.02);
  CHECK_MSG(peak > 0.1 && std::isfinite(peak), "peak " + std::to_string(peak));
}

// ----------------------------------------------------------------------------------------------------
// Convolution helpers

// Input coordinate of tap k of output o, or -1 when it falls in the padding.
int tap_coord(int o, int k, int stride, int pad, int in) {
  const int i = o * stride - pad + k;
  return i >= 0 && i < in ? i : -1;
}

std::size_t in_index(const ConvGeometry& g, int b, int y, int x, int c) {
  return ((static_cast<std::size_t>(b) * g.in_h + y) * g.in_w + x) * g.channels + c;
}
std::size_t out_index(const ConvGeometry& g, int b, int y, int x, int c) {
  return ((static_cast<std::size_t>(b) * g.out_h + y) * g.out_w + x) * g.channels + c;
}
std::size_t in_size(const ConvGeometry& g) { return static_cast<std::size_t>(g.batch) * g.in_h * g.in_w * g.channels; }
std::size_t out_size(const ConvGeometry& g) {
  return static_cast<std::size_t>(g.batch) * g.out_h * g.out_w * g.channels;
}

// Calls fn(b, oy, ox, c, ky, kx, input index) for every (output, tap) pair that reads a real input cell.
void for_each_tap(const ConvGeometry& g, const std::function<void(int, int, int, int, int, int, std::size_t)>& fn) {
  for (int b = 0; b < g.batch; ++b)
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox)
        for (int ky = 0; ky < g.kernel; ++ky)
          for (int kx = 0; kx < g.kernel; ++kx) {
            const int iy = tap_coord(oy, ky, g.stride, g.pad_top, g.in_h);
            const int ix = tap_coord(ox, kx, g.stride, g.pad_left, g.in_w);
            if (iy < 0 || ix < 0) continue;
            for (int c = 0; c < g.channels; ++c) fn(b, oy, ox, c, ky, kx, in_index(g, b, iy, ix, c));
          }
}

bool close(double got, double want, double scale, double tol = 1e-5) {
  return std::fabs(got - want) <= tol * (std::fabs(want) + scale);
}

// First index where got and want differ by more than the tolerance, or -1.
long first_mismatch(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  if (got.size() != want.size()) return 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!close(got[i], want[i], 1.0, tol)) return static_cast<long>(i);
  return -1;
}

struct ConvCase {
  int batch, h, w, channels, kernel, stride;
};

std::string describe(const ConvCase& c) {
  return shape("batch h w channels kernel stride =", {c.batch, c.h, c.w, c.channels, c.kernel, c.stride});
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases;
  const int sizes[][2] = {{1, 1}, {3, 3}, {5, 7}, {8, 6}, {9, 9}, {2, 11}};
  int i = 0;
  for (int kernel : {1, 3, 5})
    for (int stride : {1, 2})
      for (const auto& hw : sizes) {
        // Channel counts below, at and across the vector blocks (4, 8 and 16 lanes).
        const int channel_counts[] = {1, 3, 8, 17, 24};
        const int channels = channel_counts[i % 5];
        cases.push_back({1 + i % 3, hw[0], hw[1], channels, kernel, stride});
        ++i;
      }
  return cases;
}

void test_geometry() {
  ConvGeometry g = same_geometry(2, 7, 6, 3, 3, 2);
  CHECK(g.out_h == 4 && g.out_w == 3);
  CHECK(g.pad_top == 1 && g.pad_left == 0);  // pad totals: 2*3+3-7 = 2, 2*2+3-6 = 1
  g = same_geometry(1, 5, 5, 1, 5, 1);
  CHECK(g.out_h == 5 && g.pad_top == 2 && g.pad_left == 2);
  g = same_geometry(1, 6, 6, 1, 1, 2);
  CHECK(g.out_h == 3 && g.pad_top == 0);
  g = same_geometry(1, 3, 3, 1, 5, 1);  // kernel wider than the image
  CHECK(g.out_h == 3 && g.pad_top == 2);
  CHECK(invalid_argument_message([] { same_geometry(1, 5, 5, 1, 0, 1); }) ==
        "same_geometry: kernel must be >= 1, but got 0");
  CHECK(invalid_argument_message([] { same_geometry(1, 5, 5, 1, 3, 0); }) ==
        "same_geometry: stride must be >= 1, but got 0");
  ConvGeometry bad = same_geometry(1, 5, 5, 1, 3, 1);
  bad.pad_top = 3;
  std::vector<float> x(25), y(25);
  CHECK(invalid_argument_message([&] { avg_pool_forward(bad, x.data(), y.data()); }) ==
        "avg_pool_forward: geometry.pad_top must be in [0, kernel) = [0, 3), but got 3");
}

void test_im2col(const ConvCase& cc, Team& team, std::mt19937& rng) {
  const ConvGeometry g = same_geometry(cc.batch, cc.h, cc.w, cc.channels, cc.kernel, cc.stride);
  const std::size_t row_len = static_cast<std::size_t>(g.kernel) * g.kernel * g.channels;
  const std::size_t col_rows = static_cast<std::size_t>(g.batch) * g.out_h * g.out_w;
  const auto x = random_floats(in_size(g), rng);

  // im2col against a direct construction.
  std::vector<float> col(col_rows * row_len, kNaN), want(col_rows * row_len, 0.0f);
  im2col_nhwc(g, x.data(), col.data(), &team);
  for_each_tap(g, [&](int b, int oy, int ox, int c, int ky, int kx, std::size_t in) {
    want[((static_cast<std::size_t>(b) * g.out_h + oy) * g.out_w + ox) * row_len +
         (static_cast<std::size_t>(ky) * g.kernel + kx) * g.channels + c] = x[in];
  });
  CHECK_MSG(same_bits(col, want), "im2col " + describe(cc));

  // im2col followed by a GEMM is a convolution: compare with a direct convolution.
  const int out_channels = 5;
  const auto wt = random_floats(row_len * out_channels, rng);
  std::vector<float> y(col_rows * out_channels);
  sgemm(false, false, static_cast<int>(col_rows), out_channels, static_cast<int>(row_len), 1.0f, col.data(),
        static_cast<int>(row_len), wt.data(), out_channels, 0.0f, y.data(), out_channels, &team);
  std::vector<double> y_ref(col_rows * out_channels, 0.0);
  for_each_tap(g, [&](int b, int oy, int ox, int c, int ky, int kx, std::size_t in) {
    const std::size_t row = (static_cast<std::size_t>(b) * g.out_h + oy) * g.out_w + ox;
    for (int f = 0; f < out_channels; ++f)
      y_ref[row * out_channels + f] +=
          static_cast<double>(x[in]) *
          wt[((static_cast<std::size_t>(ky) * g.kernel + kx) * g.channels + c) * out_channels + f];
  });
  CHECK_MSG(first_mismatch(y, y_ref) < 0, "im2col+sgemm vs direct convolution " + describe(cc));

  // col2im against a direct scatter, and the adjoint identity <col2im(c), x> == <c, im2col(x)>.
  const auto cv = random_floats(col.size(), rng);
  std::vector<float> dx(in_size(g), kNaN);
  col2im_nhwc(g, cv.data(), dx.data(), &team);
  std::vector<double> dx_ref(in_size(g), 0.0);
  for_each_tap(g, [&](int b, int oy, int ox, int c, int ky, int kx, std::size_t in) {
    dx_ref[in] += cv[((static_cast<std::size_t>(b) * g.out_h + oy) * g.out_w + ox) * row_len +
                     (static_cast<std::size_t>(ky) * g.kernel + kx) * g.channels + c];
  });
  CHECK_MSG(first_mismatch(dx, dx_ref) < 0, "col2im " + describe(cc));
  double lhs = 0.0, rhs = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < dx.size(); ++i) {
    lhs += static_cast<double>(dx[i]) * x[i];
    scale += std::fabs(static_cast<double>(dx[i]) * x[i]);
  }
  for (std::size_t i = 0; i < col.size(); ++i) rhs += static_cast<double>(cv[i]) * col[i];
  CHECK_MSG(close(lhs, rhs, scale), "adjoint " + describe(cc));
}

void test_depthwise(const ConvCase& cc, Team& team, std::mt19937& rng) {
  const ConvGeometry g = same_geometry(cc.batch, cc.h, cc.w, cc.channels, cc.kernel, cc.stride);
  const std::size_t taps = static_cast<std::size_t>(g.kernel) * g.kernel * g.channels;
  const auto x = random_floats(in_size(g), rng);
  const auto w = random_floats(taps, rng);
  const auto bias = random_floats(static_cast<std::size_t>(g.channels), rng);
  auto w_index = [&](int ky, int kx, int c) { return (static_cast<std::size_t>(ky) * g.kernel + kx) * g.channels + c; };

  for (bool with_bias : {true, false}) {
    std::vector<float> y(out_size(g), kNaN);
    depthwise_forward(g, x.data(), w.data(), with_bias ? bias.data() : nullptr, y.data(), &team);
    std::vector<double> y_ref(out_size(g), 0.0);
    for (int b = 0; b < g.batch; ++b)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox)
          for (int c = 0; c < g.channels; ++c) y_ref[out_index(g, b, oy, ox, c)] = with_bias ? bias[c] : 0.0;
    for_each_tap(g, [&](int b, int oy, int ox, int c, int ky, int kx, std::size_t in) {
      y_ref[out_index(g, b, oy, ox, c)] += static_cast<double>(x[in]) * w[w_index(ky, kx, c)];
    });
    CHECK_MSG(first_mismatch(y, y_ref) < 0, std::string("depthwise forward bias=") + (with_bias ? "yes " : "no ") +
                                                describe(cc));
  }

  // Backward against the naive adjoint; dw and dbias accumulate onto what they held.
  const auto dy = random_floats(out_size(g), rng);
  std::vector<float> dx(in_size(g), kNaN), dw(taps, 0.5f), db(static_cast<std::size_t>(g.channels), -0.25f);
  depthwise_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), &team);
  std::vector<double> dx_ref(in_size(g), 0.0), dw_ref(taps, 0.5), db_ref(static_cast<std::size_t>(g.channels), -0.25);
  for (int b = 0; b < g.batch; ++b)
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox)
        for (int c = 0; c < g.channels; ++c) db_ref[c] += dy[out_index(g, b, oy, ox, c)];
  for_each_tap(g, [&](int b, int oy, int ox, int c, int ky, int kx, std::size_t in) {
    const double gy = dy[out_index(g, b, oy, ox, c)];
    dx_ref[in] += gy * w[w_index(ky, kx, c)];
    dw_ref[w_index(ky, kx, c)] += gy * x[in];
  });
  CHECK_MSG(first_mismatch(dx, dx_ref) < 0, "depthwise dx " + describe(cc));
  CHECK_MSG(first_mismatch(dw, dw_ref, 1e-4) < 0, "depthwise dw " + describe(cc));
  CHECK_MSG(first_mismatch(db, db_ref, 1e-4) < 0, "depthwise dbias " + describe(cc));

  // A finite-difference check of one weight: d<dy, y>/dw = dw (the forward is linear in w).
  {
    const std::size_t t = w_index(g.kernel / 2, g.kernel / 2, g.channels - 1);
    auto objective = [&](float delta) {
      std::vector<float> w2 = w, y(out_size(g));
      w2[t] += delta;
      depthwise_forward(g, x.data(), w2.data(), nullptr, y.data(), &team);
      double s = 0.0;
      for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * dy[i];
      return s;
    };
    const double fd = (objective(1e-2f) - objective(-1e-2f)) / 2e-2;
    CHECK_MSG(close(dw[t] - 0.5, fd, 1.0, 1e-3), "depthwise dw finite difference " + describe(cc));
  }

  // dx may be skipped, and dbias may be null.
  std::vector<float> dw2(taps, 0.5f);
  depthwise_backward(g, x.data(), w.data(), dy.data(), nullptr, dw2.data(), nullptr, &team);
  CHECK_MSG(same_bits(dw2, dw), "depthwise dw without dx " + describe(cc));
}

void test_pooling(const ConvCase& cc, Team& team, std::mt19937& rng) {
  const ConvGeometry g = same_geometry(cc.batch, cc.h, cc.w, cc.channels, cc.kernel, cc.stride);
  auto x = random_floats(in_size(g), rng);
  // Some exact ties, to pin down that the first maximum in scan order wins.
  for (std::size_t i = 0; i + 1 < x.size(); i += 7) x[i + 1] = x[i];

  std::vector<float> y(out_size(g), kNaN);
  std::vector<int> argmax(out_size(g), -1);
  max_pool_forward(g, x.data(), y.data(), argmax.data(), &team);
  std::vector<float> y_ref(out_size(g), -std::numeric_limits<float>::infinity());
  std::vector<int> arg_ref(out_size(g), -1);
  std::vector<double> sum(out_size(g), 0.0), count(out_size(g), 0.0);
  for_each_tap(g, [&](int b, int oy, int ox, int c, int, int, std::size_t in) {
    const std::size_t o = out_index(g, b, oy, ox, c);
    if (arg_ref[o] < 0 || x[in] > y_ref[o]) {
      y_ref[o] = x[in];
      arg_ref[o] = static_cast<int>(in);
    }
    sum[o] += x[in];
    count[o] += 1.0;
  });
  CHECK_MSG(same_bits(y, y_ref), "max pool values " + describe(cc));
  CHECK_MSG(argmax == arg_ref, "max pool argmax " + describe(cc));

  const auto dy = random_floats(out_size(g), rng);
  std::vector<float> dx(in_size(g), kNaN);
  max_pool_backward(g, dy.data(), argmax.data(), dx.data(), &team);
  std::vector<double> dx_ref(in_size(g), 0.0);
  for (std::size_t o = 0; o < dy.size(); ++o) dx_ref[static_cast<std::size_t>(arg_ref[o])] += dy[o];
  CHECK_MSG(first_mismatch(dx, dx_ref) < 0, "max pool backward " + describe(cc));

  std::vector<float> ya(out_size(g), kNaN);
  avg_pool_forward(g, x.data(), ya.data(), &team);
  std::vector<double> ya_ref(out_size(g));
  for (std::size_t o = 0; o < ya_ref.size(); ++o) ya_ref[o] = sum[o] / count[o];
  CHECK_MSG(first_mismatch(ya, ya_ref) < 0, "avg pool forward " + describe(cc));

  std::vector<float> dxa(in_size(g), kNaN);
  avg_pool_backward(g, dy.data(), dxa.data(), &team);
  std::vector<double> dxa_ref(in_size(g), 0.0);
  for_each_tap(g, [&](int b, int oy, int ox, int c, int, int, std::size_t in) {
    const std::size_t o = out_index(g, b, oy, ox, c);
    dxa_ref[in] += dy[o] / count[o];
  });
  CHECK_MSG(first_mismatch(dxa, dxa_ref) < 0, "avg pool backward " + describe(cc));
}

void test_pooling_nan_and_errors() {
  // A NaN in a window propagates to the max (and its argmax points at it).
  const ConvGeometry g = same_geometry(1, 2, 2, 1, 2, 2);
  const std::vector<float> x = {1.0f, kNaN, 3.0f, 2.0f};
  std::vector<float> y(1);
  std::vector<int> argmax(1);
  max_pool_forward(g, x.data(), y.data(), argmax.data());
  CHECK(std::isnan(y[0]) && argmax[0] == 1);

  const ConvGeometry g2 = same_geometry(2, 2, 2, 1, 2, 2);
  const std::vector<float> dy = {1.0f, 1.0f};
  const std::vector<int> bad = {0, 1};  // the second image's output points into the first image
  std::vector<float> dx(8);
  CHECK(invalid_argument_message([&] { max_pool_backward(g2, dy.data(), bad.data(), dx.data()); }) ==
        "max_pool_backward: argmax[1] must index image 1, i.e. lie in [4, 8), but got 1");
}

// Every conv kernel gives the same bits for teams of 1, 2 and 3 threads (and no team).
void test_conv_determinism() {
  std::mt19937 rng(5);
  const ConvGeometry g = same_geometry(8, 17, 13, 24, 3, 1);
  const auto x = random_floats(in_size(g), rng);
  const auto w = random_floats(static_cast<std::size_t>(9) * g.channels, rng);
  const auto bias = random_floats(static_cast<std::size_t>(g.channels), rng);
  const auto dy = random_floats(out_size(g), rng);
  auto run = [&](Team* team) {
    std::vector<float> out;
    std::vector<float> col(static_cast<std::size_t>(g.batch) * g.out_h * g.out_w * 9 * g.channels);
    std::vector<float> dx(in_size(g)), y(out_size(g)), dw(9 * static_cast<std::size_t>(g.channels), 0.0f);
    std::vector<float> db(static_cast<std::size_t>(g.channels), 0.0f);
    std::vector<int> argmax(out_size(g));
    im2col_nhwc(g, x.data(), col.data(), team);
    col2im_nhwc(g, col.data(), dx.data(), team);
    out.insert(out.end(), dx.begin(), dx.end());
    depthwise_forward(g, x.data(), w.data(), bias.data(), y.data(), team);
    out.insert(out.end(), y.begin(), y.end());
    depthwise_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), team);
    out.insert(out.end(), dx.begin(), dx.end());
    out.insert(out.end(), dw.begin(), dw.end());
    out.insert(out.end(), db.begin(), db.end());
    max_pool_forward(g, x.data(), y.data(), argmax.data(), team);
    max_pool_backward(g, dy.data(), argmax.data(), dx.data(), team);
    out.insert(out.end(), dx.begin(), dx.end());
    avg_pool_backward(g, dy.data(), dx.data(), team);
    out.insert(out.end(), dx.begin(), dx.end());
    return out;
  };
  const auto serial = run(nullptr);
  for (int size : {1, 2, 3}) {
    ThreadTeam team(size);
    CHECK_MSG(same_bits(serial, run(&team)), "conv kernels, team of " + std::to_string(size));
  }
}

void test_conv() {
  test_geometry();
  std::mt19937 rng(42);
  ThreadTeam team(3);
  SerialTeam serial;
  int i = 0;
  for (const ConvCase& cc : conv_cases()) {
    Team& t = (i++ % 2 == 0) ? static_cast<Team&>(team) : static_cast<Team&>(serial);
    test_im2col(cc, t, rng);
    test_depthwise(cc, t, rng);
    test_pooling(cc, t, rng);
  }
  test_pooling_nan_and_errors();
  test_conv_determinism();
}

}  // namespace

int main() {
  test_gemm();
  test_fma_peak();
  test_conv();
  return nasx::testing::summary("kernels");
}
