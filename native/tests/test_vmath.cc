// Tests for cpu/vmath.h and the activation kernels built on it (cpu/elementwise.cc). Each function is compared
// with a double-precision reference (libm) over the whole float range, at every Nth bit pattern or at all of
// them, and its largest error in ulp is printed and held to the bound that vmath.h states; special
// values (NaN, ±Inf, ±0, overflow, subnormal results) are checked one by one; results are the same bits with
// FMA available as without; and the kernels give exactly the vmath results, on whichever instruction set they
// dispatch to. Standalone: exits non-zero on failure.
//   test_vmath [--stride N]     (every Nth bit pattern; default 17, or 151 under the sanitizers; --stride 1 checks
//                               all 2^32, in some minutes)
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "core/parallel.h"
#include "core/simd.h"
#include "cpu/kernels.h"
#include "cpu/vmath.h"

// As in elementwise.cc, so that the FMA build below may not fuse what the baseline build rounds twice.
NASX_VMATH_NO_CONTRACT

#if defined(__SANITIZE_ADDRESS__)
#define NASX_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NASX_TEST_SANITIZED 1
#endif
#endif

namespace {

using namespace nasx::cpu;
namespace vm = nasx::cpu::vmath;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kInfF = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

enum class Fn { Exp, Tanh, Erf, Sigmoid, NormalCdf, NormalPdf, Gelu, GeluDerivative };

struct FnInfo {
  Fn fn;
  const char* name;
  double bound_ulp;  // as stated in vmath.h
};
// In the order of Fn, which indexes it.
constexpr FnInfo kFunctions[] = {
    {Fn::Exp, "exp", 1},           {Fn::Tanh, "tanh", 2},           {Fn::Erf, "erf", 2},
    {Fn::Sigmoid, "sigmoid", 2.5}, {Fn::NormalCdf, "normal_cdf", 8}, {Fn::NormalPdf, "normal_pdf", 3},
    {Fn::Gelu, "gelu", 8.5},       {Fn::GeluDerivative, "gelu_derivative", 4},
};
constexpr bool in_fn_order() {
  for (std::size_t i = 0; i < std::size(kFunctions); ++i) {
    if (static_cast<std::size_t>(kFunctions[i].fn) != i) return false;
  }
  return true;
}
static_assert(in_fn_order(), "kFunctions must list the functions in the order of Fn");

// y[i] = fn(x[i]); one body for each build below.
NASX_VMATH_INLINE void evaluate_body(Fn fn, const float* x, float* y, std::int64_t n) {
  switch (fn) {
    case Fn::Exp: vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::exp(x[i]); }); break;
    case Fn::Tanh: vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::tanh(x[i]); }); break;
    case Fn::Erf: vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::erf(x[i]); }); break;
    case Fn::Sigmoid:
      vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::sigmoid(x[i]); });
      break;
    case Fn::NormalCdf:
      vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::normal_cdf(x[i]); });
      break;
    case Fn::NormalPdf:
      vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::normal_pdf(x[i]); });
      break;
    case Fn::Gelu: vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::gelu(x[i]); }); break;
    case Fn::GeluDerivative:
      vm::generate(y, n, [&](std::int64_t i) NASX_VMATH_INLINE_LAMBDA { return vm::gelu_derivative(x[i]); });
      break;
  }
}
// Dispatched as the kernels are: AVX-512, AVX2 or baseline, whichever this CPU runs.
NASX_VECTOR_CLONES void evaluate(Fn fn, const float* x, float* y, std::int64_t n) { evaluate_body(fn, x, y, n); }
// The baseline instruction set only (on x86-64: SSE2, no FMA).
void evaluate_baseline(Fn fn, const float* x, float* y, std::int64_t n) { evaluate_body(fn, x, y, n); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NASX_TEST_FMA 1
// With FMA instructions available to the compiler, as in the AVX-512 clone.
__attribute__((target("avx2,fma"))) void evaluate_fma(Fn fn, const float* x, float* y, std::int64_t n) {
  evaluate_body(fn, x, y, n);
}
#endif

float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// ----------------------------------------------------------------------------------------------------
// Reference values in double precision. Where a closed form is exact to double precision (tiny |x|) or the
// float result is plainly 0, ±1 or ±Inf (large |x|), it stands in for libm, which keeps a full sweep short.

constexpr int kFunctionCount = static_cast<int>(std::size(kFunctions));

struct Reference {
  double value;
  double magnitude;  // what the error is measured against: |value|, or the size of the terms of gelu'
};

constexpr double kTwoOverSqrtPi = 1.12837916709551257390;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kInvSqrt2 = 0.70710678118654752440;

// The references of every function at x, indexed by Fn, sharing the libm calls.
std::array<Reference, kFunctionCount> references(float xf) {
  std::array<Reference, kFunctionCount> r;
  const double x = xf;
  const double ax = std::fabs(x);
  if (std::isnan(x)) {
    r.fill({x, 0.0});
    return r;
  }
  auto set = [&](Fn fn, double value) { r[static_cast<int>(fn)] = {value, value}; };
  const bool tiny = ax < 0x1p-30;
  const double ex = !tiny && ax <= 110 ? std::exp(x) : 0.0;
  const double cdf = tiny ? 0.5 + x * kInvSqrt2Pi : x > 10 ? 1.0 : x < -40 ? 0.0 : 0.5 * std::erfc(-x * kInvSqrt2);
  const double gauss = tiny ? 1 - x * x / 2 : ax > 40 ? 0.0 : std::exp(-0.5 * x * x);
  set(Fn::Exp, tiny ? 1.0 + x : x > 110 ? kInf : x < -110 ? 0.0 : ex);
  set(Fn::Tanh, ax < 0x1p-13 ? x - x * x * x / 3 : ax > 16 ? std::copysign(1.0, x) : std::tanh(x));
  set(Fn::Erf, ax < 0x1p-13 ? kTwoOverSqrtPi * x * (1 - x * x / 3) : ax > 6 ? std::copysign(1.0, x) : std::erf(x));
  set(Fn::Sigmoid, tiny ? 0.5 + x / 4 : x > 40 ? 1.0 : x < -110 ? 0.0 : ex / (1 + ex));
  set(Fn::NormalCdf, cdf);
  set(Fn::NormalPdf, kInvSqrt2Pi * gauss);
  set(Fn::Gelu, tiny ? x * (0.5 + x * kInvSqrt2Pi) : x > 10 ? x : x < -40 ? 0.0 : x * cdf);
  const double x_pdf = ax > 40 ? 0.0 : x * kInvSqrt2Pi * gauss;
  r[static_cast<int>(Fn::GeluDerivative)] = {cdf + x_pdf, std::fabs(cdf) + std::fabs(x_pdf)};
  return r;
}

Reference reference(Fn fn, float x) { return references(x)[static_cast<int>(fn)]; }

// The spacing of floats at magnitude m (that of its binade), 2^-149 below FLT_MIN.
double ulp_at(double m) {
  m = std::fabs(m);
  if (m < 0x1p-126) return 0x1p-149;
  std::uint64_t u;
  std::memcpy(&u, &m, sizeof u);
  const std::uint64_t exponent = (u >> 52) & 0x7ff;  // m in [2^(exponent-1023), 2^(exponent-1022))
  const std::uint64_t ulp_bits = (exponent - 23) << 52;
  double ulp;
  std::memcpy(&ulp, &ulp_bits, sizeof ulp);
  return ulp;
}

// |y - reference| in ulp; NaN must meet NaN, and a reference beyond FLT_MAX + half an ulp must meet ±Inf.
double ulp_error(float y, const Reference& r) {
  if (std::isnan(r.value)) return std::isnan(y) ? 0.0 : kInf;
  if (std::isnan(y)) return kInf;
  constexpr double kOverflow = 0x1.ffffffp127;
  if (std::fabs(r.value) >= kOverflow) return y == (r.value > 0 ? kInfF : -kInfF) ? 0.0 : kInf;
  if (std::isinf(y)) return kInf;
  return std::fabs(static_cast<double>(y) - r.value) / ulp_at(r.magnitude);
}

std::string describe(float x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g (0x%08x)", static_cast<double>(x), bits(x));
  return buf;
}

// ----------------------------------------------------------------------------------------------------
// Accuracy over the whole float range

struct Sweep {
  double max_ulp = 0;
  float worst_x = 0;
};

// Every function at every stride-th bit pattern from 0, split over the hardware threads.
std::array<Sweep, kFunctionCount> sweep(std::uint32_t stride, std::uint64_t* inputs) {
  const std::uint64_t total = ((std::uint64_t{1} << 32) + stride - 1) / stride;
  const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  std::vector<std::array<Sweep, kFunctionCount>> parts(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      constexpr std::uint64_t kBatch = 4096;
      std::vector<float> x(kBatch), y(kBatch * kFunctionCount);
      std::array<Sweep, kFunctionCount>& s = parts[t];
      const std::uint64_t begin = total * t / threads, end = total * (t + 1) / threads;
      for (std::uint64_t k = begin; k < end; k += kBatch) {
        const std::uint64_t n = std::min(kBatch, end - k);
        for (std::uint64_t j = 0; j < n; ++j) x[j] = from_bits(static_cast<std::uint32_t>((k + j) * stride));
        for (int f = 0; f < kFunctionCount; ++f) {
          evaluate(kFunctions[f].fn, x.data(), y.data() + f * kBatch, static_cast<std::int64_t>(n));
        }
        for (std::uint64_t j = 0; j < n; ++j) {
          const std::array<Reference, kFunctionCount> r = references(x[j]);
          for (int f = 0; f < kFunctionCount; ++f) {
            const double e = ulp_error(y[f * kBatch + j], r[f]);
            if (e > s[f].max_ulp) s[f] = {e, x[j]};
          }
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  std::array<Sweep, kFunctionCount> all{};
  for (const auto& part : parts) {
    for (int f = 0; f < kFunctionCount; ++f) {
      if (part[f].max_ulp > all[f].max_ulp) all[f] = part[f];
    }
  }
  *inputs = total;
  return all;
}

void test_accuracy(std::uint32_t stride) {
  std::uint64_t inputs = 0;
  const std::array<Sweep, kFunctionCount> s = sweep(stride, &inputs);
  const std::string which = stride == 1 ? "all of them" : "every " + std::to_string(stride) + "th";
  std::printf("vmath accuracy over %llu float bit patterns (%s), max error against libm in double:\n",
              static_cast<unsigned long long>(inputs), which.c_str());
  for (int f = 0; f < kFunctionCount; ++f) {
    const FnInfo& info = kFunctions[f];
    std::printf("  %-16s %6.3f ulp at x = %-28s (bound %g)\n", info.name, s[f].max_ulp, describe(s[f].worst_x).c_str(),
                info.bound_ulp);
    CHECK_MSG(s[f].max_ulp <= info.bound_ulp,
              std::string(info.name) + ": " + std::to_string(s[f].max_ulp) + " ulp at x = " + describe(s[f].worst_x));
  }
}

// ----------------------------------------------------------------------------------------------------
// Special values, through both the vector path (a full block) and the one-at-a-time remainder

float eval(Fn fn, float x) {
  float xs[vm::kBlock + 1], ys[vm::kBlock + 1];
  std::fill(xs, xs + vm::kBlock + 1, x);
  evaluate(fn, xs, ys, vm::kBlock + 1);
  CHECK_MSG(bits(ys[0]) == bits(ys[vm::kBlock]), "block and remainder differ at x = " + describe(x));
  return ys[0];
}

bool is_positive_zero(float y) { return y == 0.0f && !std::signbit(y); }
bool is_negative_zero(float y) { return y == 0.0f && std::signbit(y); }
bool within_ulp(Fn fn, float x, double ulps) { return ulp_error(eval(fn, x), reference(fn, x)) <= ulps; }

void test_special_values() {
  const float tiny = from_bits(1);             // the smallest subnormal
  const float subnormal = from_bits(0x00400000);  // 2^-127
  for (const FnInfo& f : kFunctions) {
    CHECK_MSG(std::isnan(eval(f.fn, kNaN)), f.name);
    CHECK_MSG(std::isnan(eval(f.fn, -kNaN)), f.name);
    CHECK_MSG(std::isnan(eval(f.fn, from_bits(0x7f800001))), f.name);  // a signalling NaN
  }

  CHECK(is_positive_zero(eval(Fn::Exp, -kInfF)));
  CHECK(eval(Fn::Exp, kInfF) == kInfF);
  CHECK(eval(Fn::Exp, 0.0f) == 1.0f && eval(Fn::Exp, -0.0f) == 1.0f);
  const float below_overflow = from_bits(0x42b17217), above_overflow = from_bits(0x42b17218);  // around ln(FLT_MAX)
  CHECK(std::isfinite(eval(Fn::Exp, below_overflow)) && within_ulp(Fn::Exp, below_overflow, 1));
  CHECK(eval(Fn::Exp, above_overflow) == kInfF);
  CHECK(eval(Fn::Exp, 89.0f) == kInfF && eval(Fn::Exp, 1e30f) == kInfF);
  CHECK(is_positive_zero(eval(Fn::Exp, -104.0f)) && is_positive_zero(eval(Fn::Exp, -1e30f)));
  const float e100 = eval(Fn::Exp, -100.0f);  // 3.7e-44, subnormal: not flushed
  CHECK(e100 > 0.0f && e100 < std::numeric_limits<float>::min() && within_ulp(Fn::Exp, -100.0f, 1));
  CHECK(eval(Fn::Exp, -103.0f) > 0.0f);  // 1.4e-45, the smallest subnormal
  CHECK(eval(Fn::Exp, 1.0f) == 2.71828183f);

  CHECK(is_positive_zero(eval(Fn::Tanh, 0.0f)) && is_negative_zero(eval(Fn::Tanh, -0.0f)));
  CHECK(eval(Fn::Tanh, kInfF) == 1.0f && eval(Fn::Tanh, -kInfF) == -1.0f);
  CHECK(eval(Fn::Tanh, 20.0f) == 1.0f && eval(Fn::Tanh, -1e30f) == -1.0f);
  CHECK(eval(Fn::Tanh, tiny) == tiny && eval(Fn::Tanh, -subnormal) == -subnormal);

  CHECK(is_positive_zero(eval(Fn::Erf, 0.0f)) && is_negative_zero(eval(Fn::Erf, -0.0f)));
  CHECK(eval(Fn::Erf, kInfF) == 1.0f && eval(Fn::Erf, -kInfF) == -1.0f);
  CHECK(eval(Fn::Erf, 5.0f) == 1.0f && eval(Fn::Erf, -1e30f) == -1.0f);
  CHECK(within_ulp(Fn::Erf, subnormal, 1) && within_ulp(Fn::Erf, -tiny, 1));

  CHECK(eval(Fn::Sigmoid, kInfF) == 1.0f && is_positive_zero(eval(Fn::Sigmoid, -kInfF)));
  CHECK(eval(Fn::Sigmoid, 0.0f) == 0.5f && eval(Fn::Sigmoid, -0.0f) == 0.5f);
  CHECK(eval(Fn::Sigmoid, 100.0f) == 1.0f);
  const float s100 = eval(Fn::Sigmoid, -100.0f);  // e^-100, subnormal
  CHECK(s100 > 0.0f && s100 < std::numeric_limits<float>::min() && within_ulp(Fn::Sigmoid, -100.0f, 1));

  CHECK(eval(Fn::NormalCdf, kInfF) == 1.0f && is_positive_zero(eval(Fn::NormalCdf, -kInfF)));
  CHECK(eval(Fn::NormalCdf, 0.0f) == 0.5f && eval(Fn::NormalCdf, -0.0f) == 0.5f);
  const float cdf14 = eval(Fn::NormalCdf, -14.0f);  // 8e-45, subnormal
  CHECK(cdf14 > 0.0f && within_ulp(Fn::NormalCdf, -14.0f, 1));
  CHECK(is_positive_zero(eval(Fn::NormalPdf, kInfF)) && is_positive_zero(eval(Fn::NormalPdf, -kInfF)));
  CHECK(eval(Fn::NormalPdf, 0.0f) == 0.398942280f);

  CHECK(eval(Fn::Gelu, kInfF) == kInfF && is_negative_zero(eval(Fn::Gelu, -kInfF)));
  CHECK(is_positive_zero(eval(Fn::Gelu, 0.0f)) && is_negative_zero(eval(Fn::Gelu, -0.0f)));
  CHECK(eval(Fn::Gelu, 1e30f) == 1e30f && is_negative_zero(eval(Fn::Gelu, -1e30f)));
  CHECK(eval(Fn::GeluDerivative, kInfF) == 1.0f && eval(Fn::GeluDerivative, -kInfF) == 0.0f);
  CHECK(eval(Fn::GeluDerivative, 0.0f) == 0.5f);
}

// ----------------------------------------------------------------------------------------------------
// The same bits on every instruction set

std::vector<float> sample_patterns(std::uint32_t stride) {
  std::vector<float> x;
  for (std::uint64_t u = 0; u < (std::uint64_t{1} << 32); u += stride) {
    x.push_back(from_bits(static_cast<std::uint32_t>(u)));
  }
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void test_same_bits_on_every_isa() {
  const std::vector<float> x = sample_patterns(4099);
  const std::int64_t n = static_cast<std::int64_t>(x.size());
  std::vector<float> base(x.size()), other(x.size());
  for (const FnInfo& f : kFunctions) {
    evaluate_baseline(f.fn, x.data(), base.data(), n);
    evaluate(f.fn, x.data(), other.data(), n);
    CHECK_MSG(same_bits(base, other), std::string(f.name) + ": dispatched build differs from the baseline");
#if NASX_TEST_FMA
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      evaluate_fma(f.fn, x.data(), other.data(), n);
      CHECK_MSG(same_bits(base, other), std::string(f.name) + ": FMA build differs from the baseline");
    }
#endif
  }
}

// ----------------------------------------------------------------------------------------------------
// Kernels: exactly the vmath functions, on the dispatched instruction set, whatever the team and length

std::vector<float> kernel_inputs() {
  // Patterns over the whole range (specials included) then ordinary activations in [-8, 8], 100003 in all:
  // more than one chunk per thread and not a multiple of the block.
  std::vector<float> x = sample_patterns(95443);
  const float specials[] = {0.0f, -0.0f, kInfF, -kInfF, kNaN, 1e-40f, -1e-40f, 16.0f, -16.0f, 100.0f, -100.0f};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
  while (x.size() < 100003) x.push_back(dist(rng));
  return x;
}

std::vector<float> baseline(Fn fn, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  evaluate_baseline(fn, x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  return y;
}

void test_kernels(nasx::Team* team) {
  const std::vector<float> x = kernel_inputs();
  const std::int64_t n = static_cast<std::int64_t>(x.size());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> dy(x.size()), dx0(x.size());
  for (float& v : dy) v = dist(rng);
  for (float& v : dx0) v = dist(rng);

  struct Case {
    Activation activation;
    const char* name;
    Fn forward;
  };
  const Case cases[] = {{Activation::Gelu, "gelu", Fn::Gelu}, {Activation::Tanh, "tanh", Fn::Tanh},
                        {Activation::Sigmoid, "sigmoid", Fn::Sigmoid}};
  for (const Case& c : cases) {
    std::vector<float> y(x.size()), dx = dx0;
    activation_forward(c.activation, x.data(), y.data(), n, team);
    CHECK_MSG(same_bits(y, baseline(c.forward, x)), std::string(c.name) + " forward");
    activation_backward(c.activation, x.data(), y.data(), dy.data(), dx.data(), n, team);
    const std::vector<float> gelu_d = baseline(Fn::GeluDerivative, x);
    std::vector<float> expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      switch (c.activation) {
        case Activation::Gelu: expected[i] = dx0[i] + dy[i] * gelu_d[i]; break;
        case Activation::Tanh: expected[i] = dx0[i] + dy[i] * (1.0f - y[i] * y[i]); break;
        default: expected[i] = dx0[i] + dy[i] * y[i] * (1.0f - y[i]); break;
      }
    }
    CHECK_MSG(same_bits(dx, expected), std::string(c.name) + " backward");
  }

  std::vector<float> y(x.size()), dx = dx0, expected(x.size());
  activation_forward(Activation::Relu, x.data(), y.data(), n, team);
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = x[i] < 0.0f ? 0.0f : x[i];
  CHECK_MSG(same_bits(y, expected), "relu forward (NaN passes through)");
  activation_backward(Activation::Relu, x.data(), y.data(), dy.data(), dx.data(), n, team);
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = dx0[i] + (x[i] > 0.0f ? dy[i] : 0.0f);
  CHECK_MSG(same_bits(dx, expected), "relu backward");
  activation_forward(Activation::Identity, x.data(), y.data(), n, team);
  CHECK_MSG(same_bits(y, x), "identity forward");
  dx = dx0;
  activation_backward(Activation::Identity, x.data(), y.data(), dy.data(), dx.data(), n, team);
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = dx0[i] + dy[i];
  CHECK_MSG(same_bits(dx, expected), "identity backward");

  const int rows = 53, cols = 37;  // cols not a multiple of the block
  std::vector<float> m(dx0.begin(), dx0.begin() + rows * cols), bias(dy.begin(), dy.begin() + cols), want = m;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) want[r * cols + c] += bias[c];
  add_bias(m.data(), bias.data(), rows, cols, team);
  CHECK_MSG(same_bits(m, want), "add_bias");
}

}  // namespace

int main(int argc, char** argv) {
#if NASX_TEST_SANITIZED
  std::uint32_t stride = 151;
#else
  std::uint32_t stride = 17;
#endif
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--stride" && i + 1 < argc) {
      stride = static_cast<std::uint32_t>(std::max(1L, std::atol(argv[++i])));
    } else {
      std::fprintf(stderr, "usage: test_vmath [--stride N]\n");
      return 2;
    }
  }
  test_special_values();
  test_same_bits_on_every_isa();
  nasx::SerialTeam serial;
  test_kernels(&serial);
  nasx::ThreadTeam two(2);
  test_kernels(&two);
  test_accuracy(stride);
  return nasx::testing::summary("vmath");
}
