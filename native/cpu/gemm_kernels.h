// Internal to the CPU GEMM: what each instruction-set file (gemm_avx512.cc, gemm_avx2.cc,
// gemm_portable.cc) provides to the blocked driver in gemm.cc. Not part of the public kernel API.
#pragma once

#include <cstddef>
#include <cstring>

// Intrinsics need GCC/Clang function attributes (target("...")), so MSVC builds use the portable
// kernel only; clang-cl defines __clang__ and keeps the SIMD kernels.
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define NASX_GEMM_X86 1
#else
#define NASX_GEMM_X86 0
#endif

#if NASX_GEMM_X86
#include <xmmintrin.h>
#endif

namespace nasx::cpu::detail {

// Computes one register tile: C[rows×cols] = alpha * (A·B) + beta * C, where C is not read when
// beta == 0. K step p of the A panel is the `rows` floats at a + p*a_step, of the B panel the `cols`
// floats at b + p*b_step: either packed panels (a_step = mr, b_step = nr, zero-padded) or, for kernels
// with `reads_unpacked`, the caller's matrices themselves. Every element is computed by the same
// instruction sequence whatever rows/cols are, so results never depend on how C was tiled.
using MicroKernel = void (*)(int kc, const float* a, std::ptrdiff_t a_step, const float* b, std::ptrdiff_t b_step,
                             float* c, std::ptrdiff_t ldc, int rows, int cols, float alpha, float beta);

// Copies a strip of a matrix into consecutive panels of `width` lanes for the micro-kernel:
// element (x, p) of the operand — x along M (for A) or N (for B), p along K — is src[x*sx + p*sp];
// panel q holds x in [x0 + q*width, x0 + (q+1)*width) as kc steps of `width` floats, zero-padded.
using PackPanels = void (*)(const float* src, std::ptrdiff_t sx, std::ptrdiff_t sp, int x0, int count, int p0,
                            int kc, float* dst);

struct GemmKernels {
  const char* isa;   // "avx512", "avx2" or "portable"
  int mr, nr;        // register tile: rows of A per panel, columns of B per panel
  int kc;            // K block depth: an A panel (mr×kc) stays in L1 while B panels stream from L2
  int nc;            // widest column strip of a work tile (its K block of B panels stays in L2)
  MicroKernel kernel;
  bool reads_unpacked;  // kernel reads only the first rows/cols of each step, so panels need no padding
  PackPanels pack_a;  // panels of mr lanes
  PackPanels pack_b;  // panels of nr lanes
};

// Whether this CPU (and OS) can run the named instruction set ("avx512", "avx2", "portable") and this
// build has a kernel for it.
bool cpu_supports(const char* isa);

// nullptr when the file was compiled without that instruction set (non-x86 or MSVC builds).
const GemmKernels* avx512_kernels();
const GemmKernels* avx2_kernels();
const GemmKernels& portable_kernels();

// One packing routine for both operands and all transposition cases; WIDTH is a compile-time
// constant so the copies unroll. Shared by the ISA files, which only pick WIDTH.
template <int WIDTH>
void pack_panels(const float* src, std::ptrdiff_t sx, std::ptrdiff_t sp, int x0, int count, int p0, int kc,
                 float* dst) {
  for (int q0 = 0; q0 < count; q0 += WIDTH, dst += static_cast<std::ptrdiff_t>(WIDTH) * kc) {
    const int lanes = count - q0 < WIDTH ? count - q0 : WIDTH;
    const float* base = src + static_cast<std::ptrdiff_t>(x0 + q0) * sx + static_cast<std::ptrdiff_t>(p0) * sp;
    if (sx == 1) {
      // The lanes of one K step are contiguous in memory: copy rows of the panel.
      for (int p = 0; p < kc; ++p) {
        const float* s = base + static_cast<std::ptrdiff_t>(p) * sp;
        float* d = dst + static_cast<std::ptrdiff_t>(p) * WIDTH;
        if (lanes == WIDTH) {
          std::memcpy(d, s, sizeof(float) * WIDTH);
        } else {
          for (int l = 0; l < lanes; ++l) d[l] = s[l];
          for (int l = lanes; l < WIDTH; ++l) d[l] = 0.0f;
        }
      }
    } else if (sp == 1) {
      // Each lane is a contiguous run along K: a transpose. Four lanes × four K steps at a time with
      // SSE (baseline on x86-64) keeps it near copy speed; leftover lanes go one by one.
      int l = 0;
#if NASX_GEMM_X86
      for (; l + 4 <= lanes; l += 4) {
        const float* s0 = base + static_cast<std::ptrdiff_t>(l) * sx;
        const float* s1 = s0 + sx;
        const float* s2 = s1 + sx;
        const float* s3 = s2 + sx;
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
          __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p), r2 = _mm_loadu_ps(s2 + p),
                 r3 = _mm_loadu_ps(s3 + p);
          _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
          float* d = dst + static_cast<std::ptrdiff_t>(p) * WIDTH + l;
          _mm_storeu_ps(d, r0);
          _mm_storeu_ps(d + WIDTH, r1);
          _mm_storeu_ps(d + 2 * WIDTH, r2);
          _mm_storeu_ps(d + 3 * WIDTH, r3);
        }
        for (; p < kc; ++p) {
          float* d = dst + static_cast<std::ptrdiff_t>(p) * WIDTH + l;
          d[0] = s0[p];
          d[1] = s1[p];
          d[2] = s2[p];
          d[3] = s3[p];
        }
      }
#endif
      for (; l < lanes; ++l) {
        const float* s = base + static_cast<std::ptrdiff_t>(l) * sx;
        for (int p = 0; p < kc; ++p) dst[static_cast<std::ptrdiff_t>(p) * WIDTH + l] = s[p];
      }
      if (lanes < WIDTH)
        for (int p = 0; p < kc; ++p)
          for (int z = lanes; z < WIDTH; ++z) dst[static_cast<std::ptrdiff_t>(p) * WIDTH + z] = 0.0f;
    } else {
      // General strides (not produced by sgemm, kept for completeness).
      for (int p = 0; p < kc; ++p)
        for (int z = 0; z < WIDTH; ++z)
          dst[static_cast<std::ptrdiff_t>(p) * WIDTH + z] =
              z < lanes ? base[static_cast<std::ptrdiff_t>(z) * sx + static_cast<std::ptrdiff_t>(p) * sp] : 0.0f;
    }
  }
}

}  // namespace nasx::cpu::detail
