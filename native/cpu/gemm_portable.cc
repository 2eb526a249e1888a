// Portable GEMM micro-kernel in plain C++: the fallback on every CPU and the only kernel on non-x86
// builds. The tile is written so that the compiler can keep the accumulators in vector registers
// (4×8 fits the 16 SSE registers of baseline x86-64; AArch64 has 32 NEON registers, so 4×16).
#include "gemm_kernels.h"

namespace nasx::cpu::detail {

namespace {

constexpr int kMr = 4;
#if defined(__aarch64__) || defined(_M_ARM64)
constexpr int kNr = 16;
#else
constexpr int kNr = 8;
#endif

// Always computes the full kMr×kNr tile (so it needs packed, zero-padded panels) so that every element
// goes through one instruction sequence; only the write-back is limited to rows×cols.
void kernel(int kc, const float* a, std::ptrdiff_t a_step, const float* b, std::ptrdiff_t b_step, float* c,
            std::ptrdiff_t ldc, int rows, int cols, float alpha, float beta) {
  float acc[kMr][kNr] = {};
  for (int p = 0; p < kc; ++p) {
#if defined(__GNUC__)
#pragma GCC unroll 4
#endif
    for (int r = 0; r < kMr; ++r) {
      const float ar = a[r];
#if defined(__GNUC__)
#pragma GCC unroll 16
#endif
      for (int j = 0; j < kNr; ++j) acc[r][j] += ar * b[j];
    }
    a += a_step;
    b += b_step;
  }
  for (int r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    if (beta == 0.0f) {
      // C is not read: it may hold NaN or uninitialised memory.
      for (int j = 0; j < cols; ++j) cr[j] = alpha * acc[r][j];
    } else {
      for (int j = 0; j < cols; ++j) cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
  }
}

}  // namespace

const GemmKernels& portable_kernels() {
  static const GemmKernels kernels{"portable", kMr, kNr, 256, 512, &kernel, false, &pack_panels<kMr>,
                                   &pack_panels<kNr>};
  return kernels;
}

}  // namespace nasx::cpu::detail
