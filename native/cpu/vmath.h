// Float exp, tanh, erf, sigmoid, the standard normal's CDF and density, and gelu with its derivative, for
// element-wise loops that the compiler vectorises (NASX_VECTOR_CLONES, core/simd.h): no libm calls, no tables
// and no branches. Every lane evaluates every piece and a bit mask picks the result, since a conditional
// division or exp is not vectorised (the compiler may not execute a trapping operation that the source made
// conditional).
//
// Maximum error against a double-precision reference, measured over all 2^32 floats (tests/test_vmath.cc,
// --stride 1; by default it checks every 17th pattern):
//   exp          1 ulp (0.98)      sigmoid      2.5 ulp (2.40)    gelu             8.5 ulp (8.16)
//   tanh         2 ulp (1.52)      normal_cdf   8 ulp   (7.76)    gelu_derivative  4 ulp   (3.83)
//   erf          2 ulp (1.55)      normal_pdf   3 ulp   (2.78)
// An ulp is the spacing of floats at the exact result (2^-149 below FLT_MIN), so the bounds are relative down
// to FLT_MIN and absolute below it; gelu_derivative's is relative to |Φ(x)| + |x·φ(x)|, the size of its terms
// (it crosses zero near x = -0.75). normal_cdf's tail, and so gelu for x < 0, owes most of its error to the
// rounding of the rational erfcx in float; both are relative all the way down the tail.
//
// Special values: NaN in gives NaN out. exp(-Inf) = 0 and exp overflows to +Inf above ln(FLT_MAX); its results
// below FLT_MIN are subnormal numbers rounded once from the polynomial (never flushed), and 0 below 2^-150.
// tanh and erf saturate to exactly ±1, the sigmoid and normal_cdf to 0 and 1, ±Inf included; tanh and erf keep
// the sign of zero, as libm does. gelu(+Inf) = +Inf and gelu(-Inf) = -0; gelu_derivative gives 1 and 0.
//
// Rounding: each function is a fixed sequence of IEEE operations, so it gives the same bits on every
// instruction set provided no a·b + c is contracted into a fused multiply-add. GCC applies the contraction
// setting of the function a call is inlined into, so a translation unit that needs identical results from its
// AVX-512 clone (which has FMA) and its AVX2 and baseline clones (which have not) begins with
// NASX_VMATH_NO_CONTRACT. Clang decides per expression where it is written; the functions below are kept
// uncontracted for it here.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__clang__)
#define NASX_VMATH_NO_CONTRACT _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define NASX_VMATH_NO_CONTRACT _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define NASX_VMATH_NO_CONTRACT
#endif

#if defined(__GNUC__) || defined(__clang__)
// Inlined into every caller, whatever its size: an out-of-line call inside a loop stops vectorisation, and a
// function compiled once would not follow the instruction set of each clone that calls it. The _LAMBDA form
// goes after a lambda's parameter list.
#define NASX_VMATH_INLINE inline __attribute__((always_inline))
#define NASX_VMATH_INLINE_LAMBDA __attribute__((always_inline))
#else
#define NASX_VMATH_INLINE inline
#define NASX_VMATH_INLINE_LAMBDA
#endif

#if defined(__clang__)
#pragma float_control(push)
#pragma clang fp contract(off)
#endif

namespace nasx::cpu::vmath {

namespace detail {

NASX_VMATH_INLINE std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
NASX_VMATH_INLINE float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
NASX_VMATH_INLINE float abs(float x) { return from_bits(bits(x) & 0x7fffffffu); }
// |magnitude| with the sign bit of `sign` (magnitude's own sign bit is clear in every use here, NaN aside).
NASX_VMATH_INLINE float with_sign_of(float magnitude, float sign) {
  return from_bits((bits(magnitude) & 0x7fffffffu) | (bits(sign) & 0x80000000u));
}
// c ? if_true : if_false, as a bit mask over both operands, which are therefore both computed.
NASX_VMATH_INLINE float select(bool c, float if_true, float if_false) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return from_bits((bits(if_true) & mask) | (bits(if_false) & ~mask));
}
// min(x, hi) and max(x, lo) that keep a NaN x (every comparison with NaN is false).
NASX_VMATH_INLINE float at_most(float x, float hi) { return select(x > hi, hi, x); }
NASX_VMATH_INLINE float at_least(float x, float lo) { return select(x < lo, lo, x); }

// exp(a²)·erfc(a) for 0 <= a <= 11.32 (it falls from 1 at 0 like 1/(a·√π)): a rational minimax fit of degree
// 4/5 for relative error (7e-9, 3e-8 with the coefficients rounded to float). All coefficients are positive,
// so Horner's rule has no cancellation; its rounding, some 6·2^-24, is most of normal_cdf's error.
NASX_VMATH_INLINE float erfcx(float a) {
  float p = 0.0337555185f;
  p = p * a + 0.233765036f;
  p = p * a + 0.741116047f;
  p = p * a + 1.2474606f;
  p = p * a + 1.0f;
  float q = 0.059829548f;
  q = q * a + 0.414359927f;
  q = q * a + 1.34312916f;
  q = q * a + 2.42195368f;
  q = q * a + 2.37584043f;
  q = q * a + 1.0f;
  return p / q;
}

// e^x·2^k for an integer 0 <= k <= 16 (vmath::exp has k = 0; k > 0 keeps e^x of very negative x normal until it
// is multiplied by the other factors of a result). x = n·ln2 + r with n = round(x/ln2) and |r| <= ln2/2
// (Cody-Waite: ln2 split into a head of 9 significant bits, so that n·head and x - n·head are exact, and a
// tail); e^r = 1 + r + r²·P(r) with P a degree-4 minimax fit for relative error (3e-9 in exact arithmetic);
// 2^(n+k) applied as two exact powers of two, so that a result in the subnormal range is rounded once and
// one near FLT_MAX does not overflow early.
NASX_VMATH_INLINE float exp_times_pow2(float x, int k) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  // 1.5·2^23: adding it rounds to an integer, which the low mantissa bits of the sum then hold.
  constexpr float kShifter = 12582912.0f;
  // Beyond these bounds e^x·2^k is below 2^-150 (so 0) or above FLT_MAX whatever x is, so x is clamped there and
  // still goes through the same arithmetic, which rounds to exactly 0 or overflows to +Inf; n stays in
  // [-168, 128].
  const float xc = at_least(at_most(x, 89.0f), -116.0f);
  const float t = xc * kLog2e + kShifter;
  const float n = t - kShifter;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 0.00138145522f;
  p = p * r + 0.00836873427f;
  p = p * r + 0.041668389f;
  p = p * r + 0.166665211f;
  p = p * r + 0.49999994f;
  const float er = 1.0f + (r + (r * r) * p);
  // n from the low bits of t as a signed integer (a NaN's bits give some integer; the result is NaN anyway),
  // split as n = n1 + n2 with n1 in [-84, 64] and n2 + k in [-84, 80], where 2^n1 and 2^(n2+k) are normal.
  const std::int32_t ni = static_cast<std::int32_t>(bits(t) - bits(kShifter));
  const std::int32_t n1 = ni >> 1;
  const std::int32_t n2 = ni - n1 + k;
  const float s1 = from_bits(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float s2 = from_bits(static_cast<std::uint32_t>(n2 + 127) << 23);
  return (er * s1) * s2;
}

}  // namespace detail

// e^x (see detail::exp_times_pow2).
NASX_VMATH_INLINE float exp(float x) { return detail::exp_times_pow2(x, 0); }

namespace detail {

// 2^16·exp(-x²/2). The factor 2^16 keeps it normal (exp(-x²/2) is subnormal beyond |x| = 13.2)
// wherever a product with it, scaled back last, is still above FLT_MIN, so that such a product is rounded once
// instead of inheriting the few significant bits of a subnormal. x² is formed exactly as hi + lo (Dekker's
// product, x split into two halves of 12 significant bits by masking), and exp(-hi/2 - lo/2) is taken as
// exp(-hi/2)·(1 - lo/2): the rounding of x² alone would cost up to x²/2·2^-24 of relative error, over a
// hundred ulp near |x| = 14.
constexpr int kGaussScaleLog2 = 16;
constexpr float kInvSqrt2Pi = 0.398942280401432678f;
constexpr float kInvGaussScale = 1.0f / 65536.0f;
NASX_VMATH_INLINE float scaled_gauss(float x) {
  const float a = at_most(abs(x), 16.0f);  // exp(-128) is 0 whatever the scale, and hi + lo stays finite
  const float ah = from_bits(bits(a) & 0xfffff000u);
  const float al = a - ah;
  const float hi = a * a;
  const float lo = ((ah * ah - hi) + 2.0f * ah * al) + al * al;
  const float e = exp_times_pow2(-0.5f * hi, kGaussScaleLog2);
  return e - e * (0.5f * lo);
}

// erfcx(|x|/√2) for the normal tail, |x| clamped at 16 where the Gaussian factor is 0.
NASX_VMATH_INLINE float normal_erfcx(float x) {
  constexpr float kInvSqrt2 = 0.707106781186547524f;
  return erfcx(at_most(abs(x), 16.0f) * kInvSqrt2);
}

}  // namespace detail

// tanh x, computed for |x| and given the sign of x. |x| < 0.55: |x| + |x|³·P(x²), P a degree-4 minimax fit for
// relative error (1e-9). Otherwise (1 - e)/(1 + e) with e = exp(-2|x|) <= 0.333, which has no cancellation.
NASX_VMATH_INLINE float tanh(float x) {
  const float a = detail::abs(x);
  const float s = a * a;
  float p = -0.00627424009f;
  p = p * s + 0.0210716799f;
  p = p * s - 0.0538523085f;
  p = p * s + 0.13332586f;
  p = p * s - 0.333333164f;
  const float small = a + (a * s) * p;
  const float e = vmath::exp(-2.0f * a);
  const float large = (1.0f - e) / (1.0f + e);
  return detail::with_sign_of(detail::select(a < 0.55f, small, large), x);
}

// erf x, computed for |x| and given the sign of x. |x| < 0.875: |x| + |x|·P(x²), P a degree-6 minimax fit for
// relative error (2e-10). Otherwise 1 - exp(-x²)·erfcx(|x|), where the subtracted term is below erfc(0.875) =
// 0.22, so that its rounding errors count a fifth in the result; |x| is clamped at 4, past which erf rounds
// to 1.
NASX_VMATH_INLINE float erf(float x) {
  const float a = detail::abs(x);
  const float s = a * a;
  float p = 8.67536219e-05f;
  p = p * s - 0.000821109687f;
  p = p * s + 0.00520674698f;
  p = p * s - 0.0268615838f;
  p = p * s + 0.11283733f;
  p = p * s - 0.376126349f;
  p = p * s + 0.128379166f;
  const float small = a + a * p;
  const float ac = detail::at_most(a, 4.0f);
  const float large = 1.0f - vmath::exp(-(ac * ac)) * detail::erfcx(ac);
  return detail::with_sign_of(detail::select(a < 0.875f, small, large), x);
}

// 1/(1 + e^-x), as e/(1 + e) for x < 0 and 1/(1 + e) otherwise with e = exp(-|x|) <= 1: the small results
// of very negative x are then e^x itself (down to the subnormals) rather than 1/Inf.
NASX_VMATH_INLINE float sigmoid(float x) {
  const float e = vmath::exp(-detail::abs(x));
  return detail::select(x < 0.0f, e, 1.0f) / (1.0f + e);
}

// Φ(x) = ½·erfc(-x/√2), the standard normal CDF. Its tail T = ½·erfc(|x|/√2) = ½·exp(-x²/2)·erfcx(|x|/√2)
// is accurate relative to itself, so Φ is T for x < 0 (down to the subnormals; 0 below x ≈ -14.2) and 1 - T
// for x >= 0, where T <= 1/2.
NASX_VMATH_INLINE float normal_cdf(float x) {
  const float tail = (detail::scaled_gauss(x) * detail::normal_erfcx(x)) * (0.5f * detail::kInvGaussScale);
  return detail::select(x < 0.0f, tail, 1.0f - tail);
}

// φ(x) = exp(-x²/2)/√(2π), the standard normal density.
NASX_VMATH_INLINE float normal_pdf(float x) {
  return (detail::kInvSqrt2Pi * detail::scaled_gauss(x)) * detail::kInvGaussScale;
}

// gelu(x) = x·Φ(x): x·T for x < 0, multiplied in before the scale so that it is rounded once when T is
// subnormal, and x·(1 - T) otherwise. Below x = -16, where T is 0, x is taken as -16: gelu(-Inf) is then -0,
// its limit, rather than -Inf·0.
NASX_VMATH_INLINE float gelu(float x) {
  const float xc = detail::at_least(x, -16.0f);
  const float g = detail::scaled_gauss(x), r = detail::normal_erfcx(x);
  const float negative = ((xc * g) * r) * (0.5f * detail::kInvGaussScale);
  const float positive = xc * (1.0f - (g * r) * (0.5f * detail::kInvGaussScale));
  return detail::select(x < 0.0f, negative, positive);
}

// gelu'(x) = Φ(x) + x·φ(x), x·φ(x) formed before the scale as in gelu, with x clamped to ±16 (where φ is 0)
// so that ±Inf gives 1 and 0. normal_cdf(x) and this share exp(-x²/2) once inlined into one loop.
NASX_VMATH_INLINE float gelu_derivative(float x) {
  const float xc = detail::at_least(detail::at_most(x, 16.0f), -16.0f);
  return normal_cdf(x) + ((xc * detail::kInvSqrt2Pi) * detail::scaled_gauss(x)) * detail::kInvGaussScale;
}

// y[i] = f(i) for 0 <= i < n, shaped for the vectoriser: at -O2, GCC takes only loops whose trip count is a
// multiple of the vector width and whose stores cannot alias their loads (y may be one of f's inputs, and f
// may read y[i] itself to accumulate). So f fills a local block of kBlock values, which is then stored; the
// last n % kBlock values go one at a time through the same operations, hence the same bits. Pass f as a lambda
// marked NASX_VMATH_INLINE_LAMBDA.
constexpr std::int64_t kBlock = 16;  // a multiple of every float vector width: 4, 8 and 16
template <typename F>
NASX_VMATH_INLINE void generate(float* y, std::int64_t n, F&& f) {
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float block[kBlock];
    for (std::int64_t j = 0; j < kBlock; ++j) block[j] = f(i + j);
    for (std::int64_t j = 0; j < kBlock; ++j) y[i + j] = block[j];
  }
  for (; i < n; ++i) y[i] = f(i);
}

}  // namespace nasx::cpu::vmath

#if defined(__clang__)
#pragma float_control(pop)
#endif
